"""From a trained network to a model file, in one call.

    from gaitway import export, net
    export.export_model("uci-har.gwm", model, mean, std, description, calib_windows)

writes a container (docs/model-format.md) holding the normalisation, the FP32
set (BatchNorm folded) and the INT8 set quantised on `calib_windows`
(raw windows from the training split, [N, T, C], in the channels' units).
`description` is the model description without `arch` and `quant`, which
are filled in from the network."""

import copy

import numpy as np

from . import container, net as net_mod, quantize as quantize_mod


def tensor_set(net, mean, std, calib=None, int8=True, percentile=quantize_mod.PERCENTILE):
    """The tensors of the container, in file order."""
    C = net.channels
    mean = np.asarray(mean, np.float32).reshape(-1)
    std = np.asarray(std, np.float32).reshape(-1)
    if mean.shape != (C,) or std.shape != (C,):
        raise ValueError("mean and std need %d values each" % C)
    if not np.all(np.isfinite(mean)) or not np.all(np.isfinite(std)) or np.any(std <= 0):
        raise ValueError("mean must be finite and std finite and > 0")
    tensors = {"input.mean": mean, "input.std": std}
    fp32 = net_mod.fp32_tensors(net)
    tensors.update(fp32)
    if int8:
        if calib is None:
            raise ValueError("the INT8 set needs calibration windows")
        calib = np.asarray(calib, np.float32)
        if calib.ndim != 3 or calib.shape[1:] != (net.window, C):
            raise ValueError("calibration windows must be [N, %d, %d]" % (net.window, C))
        if percentile == "auto":
            ref = net_mod.predict(net, ((calib - mean) / std).astype(np.float32)).argmax(axis=1)
            percentile, _ = quantize_mod.choose_percentile(fp32, mean, std, calib, ref)
        tensors.update(quantize_mod.quantize(fp32, mean, std, calib, percentile))
    return tensors


def requantize(path, calib, percentile="auto"):
    """Replaces the INT8 set of an existing model file by one quantised from
    its own FP32 set on calib (raw training windows); "auto" chooses the
    percentile by agreement with the C FP32 engine on calib.  Returns
    (percentile, {percentile: agreement} or None)."""
    from . import cengine
    desc, tensors = container.read(path)[:2]
    mean, std = tensors["input.mean"], tensors["input.std"]
    fp32 = {k: v for k, v in tensors.items() if not k.startswith(("q.", "input."))}
    calib = np.asarray(calib, np.float32)
    table = None
    if percentile == "auto":
        with cengine.Model(path) as m:
            ref = m.run_fp32(calib).argmax(axis=1)
        percentile, table = quantize_mod.choose_percentile(fp32, mean, std, calib, ref)
    tensors = {k: v for k, v in tensors.items() if not k.startswith("q.")}
    tensors.update(quantize_mod.quantize(fp32, mean, std, calib, percentile))
    container.write(path, desc, tensors)
    return percentile, table


def export_model(path, net, mean, std, description, calib=None, int8=True,
                 percentile=quantize_mod.PERCENTILE):
    """Writes the model file; returns (description as written, tensors)."""
    desc = copy.deepcopy(description)
    desc["arch"] = net.arch()
    if int8:
        desc["quant"] = {"scheme": "gw-int8-v1"}
    else:
        desc.pop("quant", None)
    if len(desc.get("classes", ())) != net.classes:
        raise ValueError("description lists %d classes, the network has %d"
                         % (len(desc.get("classes", ())), net.classes))
    if len(desc.get("channels", ())) != net.channels:
        raise ValueError("description lists %d channels, the network has %d"
                         % (len(desc.get("channels", ())), net.channels))
    tensors = tensor_set(net, mean, std, calib, int8, percentile)
    container.write(path, desc, tensors)
    return desc, tensors


def verify(path, net, windows):
    """Runs a written model file through the C engines (libgaitway via
    cengine) on raw windows [N, T, C] and compares: FP32 logits with the
    PyTorch network, INT8 logits with the integer reference (intsim, bit for
    bit), and the INT8 class with the FP32 class.  Returns a dict of figures;
    raises OSError when the library cannot be loaded."""
    from . import cengine, intsim
    windows = np.asarray(windows, np.float32)
    _, tensors = container.read(path)[:2]
    mean, std = tensors["input.mean"], tensors["input.std"]
    out = {"windows": int(len(windows))}
    with cengine.Model(path) as m:
        ref = net_mod.predict(net, ((windows - mean) / std).astype(np.float32))
        if m.has_fp32:
            lf = m.run_fp32(windows)
            out["fp32_max_abs_error"] = float(np.abs(lf - ref).max())
        if m.has_int8:
            q = {k: v for k, v in tensors.items() if k.startswith("q.")}
            xq = m.quantize(windows)
            lq = m.run_int8(xq)
            out["int8_bit_exact"] = bool(np.array_equal(lq, intsim.run(q, xq)))
            out["int8_fp32_argmax_agreement"] = float((lq.argmax(axis=1) ==
                                                       ref.argmax(axis=1)).mean())
            stats = {}
            intsim.run(q, xq, stats)
            out["int8_saturations"] = stats
    return out
