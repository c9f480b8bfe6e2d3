#!/usr/bin/python3
"""Golden vectors for the engine tests (tests/unit/test-engine.c).

Builds MicroBi-ConvLSTM networks with fixed random weights and non-trivial
BatchNorm statistics for several shapes, exports each as a container, makes
input windows of realistic scale, and records PyTorch's FP32 logits
(eval mode, float32) and the integer reference's (intsim) INT8 logits and
Q0.15 probabilities.  The C tests read the committed files, so they need
neither torch nor Python.

    /usr/bin/python3 train/golden.py [tests/data/golden] [--check]

Per shape NAME (all little-endian, row-major):
  NAME.gwm        the model container (FP32 and INT8 sets)
  NAME.x.i16      [N][T][C] inputs as int16 sensor counts; the value in the
                  channel's unit is count * 2^-LSB_BITS, exact in float32
  NAME.fp32.f32   [N][K] PyTorch logits
  NAME.xqsum.i32  [N] sum over i of (i + 1) * xq[i] of the quantised window
  NAME.int8.i32   [N][K] INT8 logits, Q16.16
  NAME.prob.i32   [N][K] gw_softmax_q15 probabilities, Q0.15
odd-fp32.gwm and odd-int8.gwm hold the odd shape with one tensor set each.
manifest.txt lists one shape per line: NAME N C K T F k H LSB_BITS.
--check also runs the C engines (libgaitway through ctypes) and prints the
agreement figures.
"""

import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from gaitway import container, export, intsim, net, testmodel  # noqa: E402

LSB_BITS = 12          # 1/4096 of a g or rad/s per count, range +-8
SEED = 20260211

# name, C, K, T, F, k, H, windows, rate, hop, LSTM gain
SHAPES = [
    ("uci-har", 9, 6, 128, 16, 5, 24, 100, 50.0, 64, 1.0),
    ("daphnet", 9, 2, 64, 16, 5, 24, 12, 32.0, 8, 1.0),
    ("motionsense", 6, 6, 128, 16, 5, 24, 12, 50.0, 64, 1.0),
    ("odd", 1, 2, 4, 3, 3, 5, 16, 50.0, 4, 1.0),
    ("ragged", 3, 3, 100, 8, 7, 12, 12, 50.0, 50, 1.0),
    ("wide", 128, 64, 8, 16, 5, 8, 8, 50.0, 8, 1.0),
    # LSTM weights and biases x6: gate pre-activations beyond +-8 and cell
    # states at the Q3.12 limits, so the saturations are exercised.
    ("saturating", 4, 3, 64, 8, 5, 8, 16, 50.0, 32, 6.0),
]


def make_net(C, K, T, F, k, H, gen, gain=1.0):
    """A network with the author's initialisation, then every parameter
    perturbed so biases, BatchNorm statistics and affine terms all matter."""
    torch.manual_seed(int(gen.integers(2**31)))
    m = net.MicroBiConvLSTM(C, K, T, filters=F, kernel=k, hidden=H, dropout=0.15)
    with torch.no_grad():
        for conv in (m.conv1, m.conv2):
            conv.bias.uniform_(-0.2, 0.2)
        for bn in (m.bn1, m.bn2):
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.running_var.uniform_(0.3, 2.5)
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.3, 0.3)
        for name, p in m.lstm.named_parameters():
            if "bias" in name:
                p.add_(torch.empty_like(p).uniform_(-0.3, 0.3))
        m.classifier.bias.uniform_(-0.5, 0.5)
        for p in m.lstm.parameters():
            p.mul_(gain)
    m.eval()
    return m


def make_windows(n, C, T, rate, gen):
    """Windows in sensor counts: per channel a few sinusoids at gait
    frequencies plus noise over an offset (gravity-like on some channels),
    with a mix of active and nearly still windows."""
    t = np.arange(T) / rate
    x = np.zeros((n, T, C))
    for i in range(n):
        active = gen.random() < 0.7
        for c in range(C):
            kind = c % 3
            amp = {0: 0.4, 1: 1.2, 2: 0.3}[kind] * (1.0 if active else 0.05)
            offset = gen.normal(0, 0.6) if kind == 2 else gen.normal(0, 0.02)
            s = np.full(T, offset)
            for _ in range(3):
                f = gen.uniform(0.5, 3.0)
                s += amp * gen.uniform(0.2, 1.0) * np.sin(2 * np.pi * f * t + gen.uniform(0, 6.3))
            s += gen.normal(0, 0.02 + 0.05 * amp, T)
            x[i, :, c] = s
    counts = np.clip(np.rint(x * (1 << LSB_BITS)), -32767, 32767).astype(np.int16)
    return counts


def counts_to_float(counts):
    return counts.astype(np.float32) * np.float32(2.0 ** -LSB_BITS)


def xq_checksum(xq):
    flat = xq.reshape(len(xq), -1).astype(np.int64)
    w = np.arange(1, flat.shape[1] + 1, dtype=np.int64)
    return (flat * w).sum(axis=1).astype(np.int32)


def build(outdir, check=False):
    os.makedirs(outdir, exist_ok=True)
    gen = np.random.default_rng(SEED)
    manifest = []
    report = []
    for name, C, K, T, F, k, H, n, rate, hop, gain in SHAPES:
        m = make_net(C, K, T, F, k, H, gen, gain)
        # Normalisation and calibration from windows that are not the
        # golden inputs, as a training split would provide.
        train = counts_to_float(make_windows(max(64, n), C, T, rate, gen))
        mean = train.reshape(-1, C).mean(axis=0).astype(np.float32)
        std = train.reshape(-1, C).std(axis=0).astype(np.float32) + np.float32(1e-3)
        desc = testmodel.description(C, K, T, F, k, H, hop, rate=rate,
                                     model_id="golden-" + name)
        desc["training"] = {"note": "golden test model: fixed random weights, not trained"}
        path = os.path.join(outdir, name + ".gwm")
        _, tensors = export.export_model(path, m, mean, std, desc, train)
        q = {key: v for key, v in tensors.items() if key.startswith("q.")}

        counts = make_windows(n, C, T, rate, gen)
        x = counts_to_float(counts)
        xn = (x - mean) / std
        fp32 = net.predict(m, xn).astype(np.float32)
        xq = intsim.quantize_input(x, mean, std, q["q.input.scale"])
        stats = {}
        lq = intsim.run(q, xq, stats)
        prob, best = intsim.softmax_q15(lq)

        counts.astype("<i2").tofile(os.path.join(outdir, name + ".x.i16"))
        fp32.astype("<f4").tofile(os.path.join(outdir, name + ".fp32.f32"))
        xq_checksum(xq).astype("<i4").tofile(os.path.join(outdir, name + ".xqsum.i32"))
        lq.astype("<i4").tofile(os.path.join(outdir, name + ".int8.i32"))
        prob.astype("<i4").tofile(os.path.join(outdir, name + ".prob.i32"))
        manifest.append("%s %d %d %d %d %d %d %d %d" % (name, n, C, K, T, F, k, H, LSB_BITS))
        agree = float((best == fp32.argmax(axis=1)).mean())
        err = float(np.abs(lq / 65536.0 - fp32).max())
        report.append((name, n, agree, err))
        print("%-12s N=%3d  int8/fp32 argmax agreement %.3f  max |logit diff| %.4f  %s"
              % (name, n, agree, err, " ".join("%s=%d" % kv for kv in sorted(stats.items()))))
        if check:
            check_c(path, x, fp32, xq, lq, prob)
        if name == "odd":
            write_single_sets(outdir, name, desc, tensors)

    with open(os.path.join(outdir, "manifest.txt"), "w") as f:
        f.write("# name N C K T F k H lsb_bits (train/golden.py)\n")
        f.write("\n".join(manifest) + "\n")
    return report


def write_single_sets(outdir, name, desc, tensors):
    """NAME-fp32.gwm and NAME-int8.gwm: the same model with one tensor set."""
    fp32 = {key: v for key, v in tensors.items() if not key.startswith("q.")}
    d = dict(desc)
    d.pop("quant", None)
    container.write(os.path.join(outdir, name + "-fp32.gwm"), d, fp32)
    int8 = {key: v for key, v in tensors.items()
            if key.startswith("q.") or key.startswith("input.")}
    container.write(os.path.join(outdir, name + "-int8.gwm"), desc, int8)


def check_c(path, x, fp32, xq, lq, prob):
    from gaitway import cengine
    with cengine.Model(path) as cm:
        lf = cm.run_fp32(x)
        cxq = cm.quantize(x)
        cl = cm.run_int8(cxq)
        cp, _ = cengine.softmax_q15(cl)
    print("    C: fp32 max |err| %.3g, xq %s, int8 %s, prob %s" % (
        np.abs(lf - fp32).max(), "equal" if np.array_equal(cxq, xq) else "DIFFER",
        "equal" if np.array_equal(cl, lq) else "DIFFER",
        "equal" if np.array_equal(cp, prob) else "DIFFER"))


def main():
    ap = argparse.ArgumentParser(description="Writes the engine golden vectors.")
    ap.add_argument("outdir", nargs="?", default=os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "data", "golden"))
    ap.add_argument("--check", action="store_true", help="also run the C engines and compare")
    args = ap.parse_args()
    build(args.outdir, args.check)


if __name__ == "__main__":
    main()
