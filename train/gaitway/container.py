"""Reading and writing the gaitway model container (docs/model-format.md).

The writer is the only producer of model files; lib/model-load.c is the
reader the daemon trusts.  Both follow docs/model-format.md."""

import json
import struct
import zlib

import numpy as np

FORMAT = "gaitway-model"
FORMAT_VERSION = "1"

_DTYPES = {"F32": np.dtype("<f4"), "I8": np.dtype("i1"), "I32": np.dtype("<i4")}


def _dtype_name(arr):
    for name, dt in _DTYPES.items():
        if arr.dtype == dt or arr.dtype == dt.newbyteorder("="):
            return name
    raise TypeError(f"unsupported dtype {arr.dtype}")


def encode(description, tensors):
    """Returns the bytes of a container holding `tensors` (name -> numpy
    array of float32, int8 or int32) described by `description` (a dict)."""
    desc = json.dumps(description, separators=(",", ":"), sort_keys=False)
    header = {}
    chunks = []
    offset = 0
    for name, arr in tensors.items():
        arr = np.ascontiguousarray(arr)
        kind = _dtype_name(arr)
        raw = arr.astype(_DTYPES[kind], copy=False).tobytes()
        header[name] = {"dtype": kind, "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    data = b"".join(chunks)
    crc = zlib.crc32(desc.encode("utf-8"))
    crc = zlib.crc32(data, crc) & 0xFFFFFFFF
    header["__metadata__"] = {"format": FORMAT, "format_version": FORMAT_VERSION,
                              "gaitway": desc, "checksum": "crc32:%08x" % crc}
    hjson = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hjson += b" " * ((8 - len(hjson) % 8) % 8)
    return struct.pack("<Q", len(hjson)) + hjson + data


def write(path, description, tensors):
    blob = encode(description, tensors)
    with open(path, "wb") as f:
        f.write(blob)
    return len(blob)


def decode(blob):
    """Returns (description dict, tensors dict, header dict).  Checks only what
    Python needs; the C loader is the validating reader."""
    (n,) = struct.unpack_from("<Q", blob, 0)
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    data = blob[8 + n:]
    meta = header.get("__metadata__", {})
    tensors = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        b, e = t["data_offsets"]
        tensors[name] = np.frombuffer(data[b:e], dtype=_DTYPES[t["dtype"]]).reshape(t["shape"])
    return json.loads(meta["gaitway"]), tensors, header


def read(path):
    with open(path, "rb") as f:
        return decode(f.read())
