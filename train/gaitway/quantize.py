"""Post-training static quantisation to the INT8 set (scheme gw-int8-v1).

    q = quantize(fp32, mean, std, calib)      # calib: raw windows [N, T, C]

`fp32` is the FP32 tensor set (net.fp32_tensors(), BatchNorm folded); the
result holds every q.* tensor of docs/model-format.md.  The scale choices
are those of docs/int8.md "Scale choices": per-channel symmetric int8
weights, per-channel input scales, one calibrated output scale per conv
block.  Calibration runs the integer pipeline itself (intsim), so each
block's output scale is fitted to what the quantised layers before it
really produce."""

import math

import numpy as np

from . import intsim

# Percentile of |activation| mapped to 127.  Not the maximum: one outlier
# window would otherwise cost every other window resolution.
PERCENTILE = 99.99

INT32_MAX = 2**31 - 1

# Candidates for choose_percentile().  Which clips best depends on the model:
# the pocket model's inputs and activations have long tails (jogging), where
# a lower percentile buys resolution for every other window (on its training
# windows the INT8 engine agreed with FP32 on 95.1 % at 99.999 and 98.9 % at
# 99.5).
PERCENTILE_CANDIDATES = (99.0, 99.5, 99.9, 99.99)


def requant_param(M):
    """(m, s) with m / 2^s ~= M, m in [2^30, 2^31), s in [1, 62]; M == 0
    (or below 2^-32, where every product rounds to 0 or +-1) -> (0, 1)."""
    M = float(M)
    if not math.isfinite(M) or M < 0:
        raise ValueError("requant multiplier %r is not a finite non-negative number" % M)
    if M < 2.0**-32:
        return 0, 1
    f, e = math.frexp(M)              # M = f * 2^e, f in [0.5, 1)
    m = int(round(f * 2.0**31))
    s = 31 - e
    if m == 2**31:
        m, s = 2**30, s - 1
    if s < 1:
        raise ValueError("requant multiplier %g too large for the scheme" % M)
    return m, s


def requant_table(Ms):
    return np.array([requant_param(M) for M in np.ravel(Ms)], np.int32).reshape(-1, 2)


def _scale_of(values, percentile):
    """Real value mapped to 127: the percentile of |values|, falling back to
    the maximum, then 1."""
    a = np.abs(np.asarray(values, np.float64)).ravel()
    if a.size == 0:
        return 1.0 / 127
    v = float(np.percentile(a, percentile))
    if v <= 0:
        v = float(a.max())
    if v <= 0:
        v = 1.0
    return v / 127.0


def _quant_rows(w, in_scale, bias, bias_limit):
    """Per-row symmetric quantisation of w [rows, ...] (real weights times
    the real input step `in_scale`, broadcast along w's trailing axes).
    Returns (wq int8, step per row, bias in accumulator units or None).
    A row's step is raised when its bias would not fit bias_limit."""
    w = np.asarray(w, np.float64)
    rows = w.shape[0]
    weff = w * in_scale
    amax = np.abs(weff.reshape(rows, -1)).max(axis=1)
    step = amax / 127.0
    if bias is not None:
        need = np.abs(np.asarray(bias, np.float64)) / bias_limit
        step = np.maximum(step, need)
    step = np.where(step > 0, step, 1.0)
    shape = (rows,) + (1,) * (w.ndim - 1)
    wq = np.clip(np.rint(weff / step.reshape(shape)), -127, 127).astype(np.int8)
    bq = None
    if bias is not None:
        bq = np.clip(np.rint(np.asarray(bias, np.float64) / step), -bias_limit,
                     bias_limit).astype(np.int32)
    return wq, step, bq


def quantize(fp32, mean, std, calib, percentile=PERCENTILE):
    """The INT8 tensor set (dict name -> numpy array, file order) of an FP32
    set, calibrated on raw windows calib [N, T, C] (in the channels' units;
    the normalisation is applied here)."""
    mean = np.asarray(mean, np.float32)
    std = np.asarray(std, np.float32)
    calib = np.asarray(calib, np.float32)
    if calib.ndim != 3 or len(calib) == 0:
        raise ValueError("calibration windows must be a non-empty [N, T, C] array")
    w1, b1 = fp32["conv1.weight"], fp32["conv1.bias"]
    w2, b2 = fp32["conv2.weight"], fp32["conv2.bias"]
    F, C, k = w1.shape

    # Input: one step per channel, in normalised units.
    xn = (calib - mean) / std
    xn = np.where(np.isfinite(xn), xn, 0)
    in_scale = np.array([_scale_of(xn[..., c], percentile) for c in range(C)], np.float32)
    xq = intsim.quantize_input(calib, mean, std, in_scale).astype(np.int64)
    # The engine sees exactly these float32 steps (the loader recomputes
    # 1 / (std * scale) in float32), so fold the stored values.
    s_in = in_scale.astype(np.float64)

    # conv1: the per-input-channel step is folded into the weights.
    lim1 = INT32_MAX - 127 * 127 * k * C
    wq1, sw1, bq1 = _quant_rows(w1, s_in[None, :, None], b1, lim1)
    acc = intsim.conv_acc(xq, wq1, bq1)
    pooled = np.maximum(acc[:, 0::2], acc[:, 1::2])
    real1 = np.maximum(pooled * sw1, 0)
    s1 = _scale_of(real1, percentile)
    rq1 = requant_table(sw1 / s1)
    c1 = np.clip(intsim.rq(pooled, rq1.astype(np.int64)), 0, 127)

    # conv2: input step s1 (per tensor).
    lim2 = INT32_MAX - 127 * 127 * k * F
    wq2, sw2, bq2 = _quant_rows(w2, s1, b2, lim2)
    acc = intsim.conv_acc(c1, wq2, bq2)
    pooled = np.maximum(acc[:, 0::2], acc[:, 1::2])
    real2 = np.maximum(pooled * sw2, 0)
    s2 = _scale_of(real2, percentile)
    rq2 = requant_table(sw2 / s2)

    def lstm_dir(prefix, has_hh):
        out = {}
        wih = fp32["lstm.%s.weight_ih" % prefix]
        wq, sw, _ = _quant_rows(wih, 1.0, None, None)
        out["q.lstm.%s.weight_ih" % prefix] = wq
        out["q.lstm.%s.requant_ih" % prefix] = requant_table(s2 * sw * 4096.0)
        if has_hh:
            whh = fp32["lstm.%s.weight_hh" % prefix]
            wq, sw, _ = _quant_rows(whh, 1.0, None, None)
            out["q.lstm.%s.weight_hh" % prefix] = wq
            out["q.lstm.%s.requant_hh" % prefix] = requant_table(sw / 128.0 * 4096.0)
        b = np.asarray(fp32["lstm.%s.bias" % prefix], np.float64)
        out["q.lstm.%s.bias" % prefix] = np.clip(np.rint(b * 4096.0), -32768,
                                                 32767).astype(np.int32)
        return out

    hw, hsw, _ = _quant_rows(fp32["head.weight"], 1.0, None, None)
    hb = np.clip(np.rint(np.asarray(fp32["head.bias"], np.float64) * 65536.0),
                 -2**31, INT32_MAX).astype(np.int32)

    q = {
        "q.input.scale": in_scale,
        "q.conv1.weight": wq1,
        "q.conv1.bias": bq1,
        "q.conv1.requant": rq1,
        "q.conv2.weight": wq2,
        "q.conv2.bias": bq2,
        "q.conv2.requant": rq2,
    }
    q.update(lstm_dir("fwd", True))
    q.update(lstm_dir("bwd", False))
    q["q.head.weight"] = hw
    q["q.head.requant"] = requant_table(hsw / 128.0 * 65536.0)
    q["q.head.bias"] = hb
    return {name: q[name] for name in intsim.Q_NAMES}


def choose_percentile(fp32, mean, std, calib, ref_classes, candidates=PERCENTILE_CANDIDATES):
    """The calibration percentile whose INT8 set (run through intsim, the
    engine's integers) agrees best with the FP32 classes ref_classes on the
    calibration windows themselves (training data: the choice never sees
    test windows).  Ties go to the higher percentile.  Returns (percentile,
    {percentile: agreement})."""
    ref = np.asarray(ref_classes)
    table = {}
    for p in candidates:
        q = quantize(fp32, mean, std, calib, p)
        xq = intsim.quantize_input(calib, mean, std, q["q.input.scale"])
        table[p] = float(np.mean(intsim.run(q, xq).argmax(axis=1) == ref))
    best = max(candidates, key=lambda p: (table[p], p))
    return best, table
