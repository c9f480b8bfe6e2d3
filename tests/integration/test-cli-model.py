#!/usr/bin/python3
"""`gaitway model`: the real tool on the committed test models and on files
broken in a temporary directory.  Usage: test-cli-model.py GAITWAY MODELDIR

Prints `gaitway-test: cli-model: N passed, N failed` (scripts/test-summary)."""

import json
import os
import struct
import subprocess
import sys
import tempfile

GAITWAY, MODELS = sys.argv[1], sys.argv[2]
UCI = os.path.join(MODELS, "uci-9x6x128.gwm")
WIDE = os.path.join(MODELS, "wide-128x64x8-int8.gwm")
results = []


def run(*args):
    p = subprocess.run([GAITWAY, *args], capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout, p.stderr


def check(name, cond, detail=""):
    results.append(bool(cond))
    print(("ok     " if cond else "FAILED ") + name + ("" if cond else ": " + detail))


def test_json_has_the_documented_keys():
    rc, out, err = run("model", "info", UCI, "--json")
    check("json: exit 0", rc == 0, err)
    d = json.loads(out)
    want = {"channels", "classes", "window", "hop", "sample_rate_hz", "params", "macs",
            "weight_bytes", "model_id", "model_version", "task", "arch", "frontend", "checksum"}
    check("json: required keys", want <= set(d), sorted(want - set(d)))
    check("json: channels are {name, unit} in order",
          d["channels"][0] == {"name": "body_acc_x", "unit": "g"} and
          d["channels"][3] == {"name": "body_gyro_x", "unit": "rad/s"} and len(d["channels"]) == 9,
          d["channels"][:4])
    check("json: classes are names in order",
          d["classes"] == ["WALKING", "WALKING_UPSTAIRS", "WALKING_DOWNSTAIRS", "SITTING",
                           "STANDING", "LAYING"], d["classes"])
    check("json: window, hop, rate", (d["window"], d["hop"], d["sample_rate_hz"]) == (128, 64, 50.0))
    check("json: params and MACs of model.md", (d["params"], d["macs"]) == (10454, 420128),
          (d["params"], d["macs"]))
    check("json: weight bytes", d["weight_bytes"] == {"fp32": 31576, "int8": 11228}, d["weight_bytes"])
    check("json: arch", d["arch"] == {"name": "microbi-convlstm", "channels": 9, "classes": 6,
                                      "window": 128, "filters": 16, "kernel": 5, "hidden": 24},
          d["arch"])
    check("json: front end outputs name their input and signal",
          d["frontend"]["outputs"][0] == {"name": "body_acc_x", "input": "acc_x", "signal": "body"},
          d["frontend"]["outputs"][0])
    check("json: checksum format", d["checksum"].startswith("crc32:") and len(d["checksum"]) == 14,
          d["checksum"])
    check("json: identity", (d["model_id"], d["model_version"], d["task"]) ==
          ("test-9x6x128", "0.0.1", "activity"))


def test_json_of_int8_only_model():
    rc, out, err = run("model", "info", "--json", WIDE)
    d = json.loads(out) if rc == 0 else {}
    check("json: option before FILE, INT8-only model", rc == 0 and d["weight_bytes"]["fp32"] == 0
          and len(d["channels"]) == 128 and len(d["classes"]) == 64, err)


def test_text_output():
    rc, out, err = run("model", "info", UCI)
    check("text: exit 0", rc == 0, err)
    for needle in ("test-9x6x128", "0.0.1", "activity", "50 Hz", "window 128", "hop 64",
                   "body_gyro_x", "rad/s", "WALKING_DOWNSTAIRS", "low-pass", "10454", "420128",
                   "FP32 31576 bytes, INT8 11228 bytes", "scratch", "crc32:"):
        check("text: shows " + needle, needle in out, out[:200])
    lines = out.splitlines()
    check("text: channels in order",
          [l.split()[1] for l in lines if l.strip().startswith(("0 body_acc_x", "8 total_acc_z"))] ==
          ["body_acc_x", "total_acc_z"])


def test_band_power_outputs():
    """The shipped freeze-of-gait model feeds the network band powers
    (signal log_power): info names the signal, its band and smoothing."""
    fog = os.path.join(MODELS, "..", "..", "..", "models", "fog-daphnet.gwm")
    rc, out, err = run("model", "info", "--json", fog)
    outs = json.loads(out)["frontend"]["outputs"] if rc == 0 else []
    power = [o for o in outs if o["signal"] == "log_power"]
    check("json: log_power outputs of the FoG model", rc == 0 and power, err or outs)
    check("json: no output of an unknown signal", all(o["signal"] != "?" for o in outs), outs)
    check("json: each log_power output has its band and smoothing",
          all(0 < o["band_hz"][0] < o["band_hz"][1] and o["smooth_s"] > 0 for o in power), power)
    rc, out, err = run("model", "info", fog)
    first = power[0] if power else {"input": "?", "band_hz": [0, 0]}
    needle = "log_power(%s) %g-%g Hz" % (first["input"], first["band_hz"][0], first["band_hz"][1])
    check("text: shows " + needle, rc == 0 and needle in out, out[:600])


def test_bad_file_names_the_field():
    blob = open(UCI, "rb").read()
    (n,) = struct.unpack_from("<Q", blob)
    with tempfile.TemporaryDirectory() as tmp:
        cut = os.path.join(tmp, "cut.gwm")
        open(cut, "wb").write(blob[:8 + n + 100])
        rc, out, err = run("model", "info", cut)
        check("bad file: exit 1", rc == 1, (rc, err))
        check("bad file: stderr names the tensor and the file",
              'tensor "conv1.weight": data_offsets' in err and cut in err and out == "", err)

        flipped = os.path.join(tmp, "flipped.gwm")
        open(flipped, "wb").write(blob[:-1] + bytes([blob[-1] ^ 1]))
        rc, out, err = run("model", "info", "--json", flipped)
        check("bad checksum: exit 1 naming checksum", rc == 1 and 'metadata "checksum"' in err, err)

    rc, out, err = run("model", "info", "/nonexistent/m.gwm")
    check("missing file: exit 1", rc == 1 and "/nonexistent/m.gwm" in err, err)


def test_usage():
    rc, out, err = run("model", "--help")
    check("--help: exit 0 on stdout", rc == 0 and "gaitway model info FILE" in out and err == "")
    rc, out, err = run("model", "info", "--help")
    check("info --help: exit 0", rc == 0 and "--json" in out)
    for args in (("model",), ("model", "info"), ("model", "info", UCI, UCI),
                 ("model", "info", "--yaml", UCI), ("model", "show", UCI)):
        rc, out, err = run(*args)
        check("usage error %s: exit 2" % " ".join(args[1:]), rc == 2 and err and out == "", (rc, err))
    rc, out, err = run("--help")
    check("gaitway --help lists model", rc == 0 and "model" in out)


for t in (test_json_has_the_documented_keys, test_json_of_int8_only_model, test_text_output,
          test_band_power_outputs, test_bad_file_names_the_field, test_usage):
    try:
        t()
    except Exception as e:  # a crash in one test is one failure, not the end of the run
        check(t.__name__, False, repr(e))

print("gaitway-test: cli-model: %d passed, %d failed" % (results.count(True), results.count(False)))
sys.exit(0 if all(results) else 1)
