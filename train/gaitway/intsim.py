"""The integer reference of the INT8 engine (scheme gw-int8-v1).

A line-by-line numpy (int64) rendering of docs/int8.md; lib/engine-int8.c
and lib/softmax.c must produce the same integers, which the golden tests
check on every window.  Windows are processed in batches: arrays carry a
leading window axis N.

    q = {name: array}                    # the q.* tensors of a container
    xq = quantize_input(x, mean, std, q["q.input.scale"])
    logits = run(q, xq)                  # int64 [N, K], Q16.16
    probs, best = softmax_q15(logits)
"""

import numpy as np

from . import tables

Q_NAMES = ("q.input.scale", "q.conv1.weight", "q.conv1.bias", "q.conv1.requant",
           "q.conv2.weight", "q.conv2.bias", "q.conv2.requant",
           "q.lstm.fwd.weight_ih", "q.lstm.fwd.requant_ih", "q.lstm.fwd.weight_hh",
           "q.lstm.fwd.requant_hh", "q.lstm.fwd.bias",
           "q.lstm.bwd.weight_ih", "q.lstm.bwd.requant_ih", "q.lstm.bwd.bias",
           "q.head.weight", "q.head.requant", "q.head.bias")

_SIG = tables.SIGMOID.astype(np.int64)
_TANH = tables.TANH.astype(np.int64)
_EXP = tables.EXP.astype(np.int64)


def input_mul(std, in_scale):
    """1 / (std * in_scale) in float32, two rounded float32 operations (§1)."""
    std = np.asarray(std, np.float32)
    in_scale = np.asarray(in_scale, np.float32)
    return np.float32(1.0) / (std * in_scale)


def quantize_input(x, mean, std, in_scale):
    """docs/int8.md §1 on raw windows x [..., C] (float32): int8 in
    [-127, 127], non-finite samples -> 0."""
    x = np.asarray(x, np.float32)
    mul = input_mul(std, in_scale)
    with np.errstate(invalid="ignore", over="ignore"):
        v = (x - np.asarray(mean, np.float32)) * mul
    v = np.where(np.isfinite(x), v, np.float32(0))
    v = np.clip(v, np.float32(-127), np.float32(127))
    return np.rint(v).astype(np.int8)


def rq(acc, ms):
    """(acc * m + 2^(s-1)) >> s, int64, arithmetic shift; ms [..., 2]
    broadcasts against acc's last axis."""
    m = ms[..., 0].astype(np.int64)
    s = ms[..., 1].astype(np.int64)
    return (acc * m + (np.int64(1) << (s - 1))) >> s


def sat16(v):
    return np.clip(v, -32768, 32767)


def sat32(v):
    return np.clip(v, -2**31, 2**31 - 1)


def table_q15(tab, x):
    """§4: interpolated lookup of Q3.12 int16 x in a 257-entry table."""
    u = x.astype(np.int64) + 32768
    i = u >> 8
    frac = u & 255
    t0 = tab[i]
    return t0 + (((tab[i + 1] - t0) * frac + 128) >> 8)


def conv_acc(xin, w, bias):
    """Accumulators [N, T, F] of a 'same' conv: xin [N, T, Cin] ints,
    w [F, Cin, k], bias [F]; zero padding k//2 each side."""
    n, t, cin = xin.shape
    k = w.shape[2]
    p = k // 2
    xp = np.zeros((n, t + k - 1, cin), np.int64)
    xp[:, p:p + t] = xin
    acc = np.zeros((n, t, w.shape[0]), np.int64)
    w = w.astype(np.int64)
    for j in range(k):
        acc += xp[:, j:j + t, :] @ w[:, :, j].T
    return acc + bias.astype(np.int64)


def conv_block(xin, w, bias, requant):
    """§2: conv -> max-pool 2 on the accumulators -> requant -> clamp to
    [0, 127].  Returns [N, T/2, F]."""
    acc = conv_acc(xin, w, bias)
    pooled = np.maximum(acc[:, 0::2], acc[:, 1::2])
    return np.clip(rq(pooled, requant.astype(np.int64)), 0, 127)


def lstm_input(x, wih, requant, bias):
    """px = sat16(rq(Wih x, mih, sih) + bias): x [..., F] -> [..., 4H]."""
    acc = x.astype(np.int64) @ wih.astype(np.int64).T
    return sat16(rq(acc, requant.astype(np.int64)) + bias.astype(np.int64))


def _count(stats, key, n):
    if stats is not None:
        stats[key] = stats.get(key, 0) + int(n)


def lstm_step(px, ph, c, stats=None):
    """One step from pre-activation parts px [N, 4H] (Q3.12, saturated to
    int16), ph [N, 4H] (Q3.12, exact) and cell c [N, H]; returns (h8, c).
    `stats`, a dict, counts the saturations taken."""
    H = c.shape[-1]
    pre_exact = px + ph
    pre = sat16(pre_exact)
    _count(stats, "pre_saturated", (pre != pre_exact).sum())
    i = table_q15(_SIG, pre[:, 0:H])
    f = table_q15(_SIG, pre[:, H:2 * H])
    g = table_q15(_TANH, pre[:, 2 * H:3 * H])
    o = table_q15(_SIG, pre[:, 3 * H:4 * H])
    c_exact = ((f * c + (1 << 14)) >> 15) + ((i * g + (1 << 17)) >> 18)
    c = sat16(c_exact)
    _count(stats, "cell_saturated", (c != c_exact).sum())
    h15 = (o * table_q15(_TANH, c) + (1 << 14)) >> 15
    h8 = np.clip((h15 + 128) >> 8, -127, 127)
    return h8, c


def features(q, xq, stats=None):
    """Everything up to the head: returns (c1, c2, h8 [N, 2H]).  `stats`, a
    dict, receives counts of the clamps and saturations taken, so tests can
    show that their inputs reach them."""
    xq = np.asarray(xq)
    if xq.ndim == 2:
        xq = xq[None]
    x = np.maximum(xq.astype(np.int64), -127)
    c1 = conv_block(x, q["q.conv1.weight"], q["q.conv1.bias"], q["q.conv1.requant"])
    c2 = conv_block(c1, q["q.conv2.weight"], q["q.conv2.bias"], q["q.conv2.requant"])
    _count(stats, "conv_at_127", (c1 == 127).sum() + (c2 == 127).sum())
    n, t4, _ = c2.shape
    H = q["q.lstm.fwd.weight_hh"].shape[1]

    px = lstm_input(c2, q["q.lstm.fwd.weight_ih"], q["q.lstm.fwd.requant_ih"],
                    q["q.lstm.fwd.bias"])
    _count(stats, "px_saturated", ((px == 32767) | (px == -32768)).sum())
    whh = q["q.lstm.fwd.weight_hh"].astype(np.int64)
    rq_hh = q["q.lstm.fwd.requant_hh"].astype(np.int64)
    h = np.zeros((n, H), np.int64)
    c = np.zeros((n, H), np.int64)
    for t in range(t4):
        ph = rq(h @ whh.T, rq_hh)
        h, c = lstm_step(px[:, t], ph, c, stats)

    pxb = lstm_input(c2[:, -1], q["q.lstm.bwd.weight_ih"], q["q.lstm.bwd.requant_ih"],
                     q["q.lstm.bwd.bias"])
    hb, _ = lstm_step(pxb, np.zeros_like(pxb), np.zeros((n, H), np.int64), stats)
    return c1, c2, np.concatenate([h, hb], axis=1)


def run(q, xq, stats=None):
    """INT8 logits (int64 [N, K], Q16.16) of quantised windows xq
    [N, T, C] (or one window [T, C])."""
    _, _, h8 = features(q, xq, stats)
    acc = h8 @ q["q.head.weight"].astype(np.int64).T
    return sat32(rq(acc, q["q.head.requant"].astype(np.int64)) +
                 q["q.head.bias"].astype(np.int64))


def softmax_q15(logits):
    """§6 on logits [N, K] (Q16.16): returns (probabilities [N, K] in Q0.15,
    argmax [N], lowest index on ties)."""
    logits = np.atleast_2d(np.asarray(logits, np.int64))
    mx = logits.max(axis=1, keepdims=True)
    d = mx - logits
    inside = d < (16 << 16)
    dd = np.where(inside, d, 0)
    i = dd >> 12
    frac = dd & 4095
    e0 = _EXP[i]
    e = np.where(inside, e0 + (((_EXP[i + 1] - e0) * frac + 2048) >> 12), 0)
    s = e.sum(axis=1, keepdims=True)
    p = (e * 32768 + s // 2) // s
    return p, logits.argmax(axis=1)


def logits_to_float(logits):
    return np.asarray(logits, np.float64) / 65536.0
