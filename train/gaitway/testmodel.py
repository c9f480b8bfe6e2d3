"""Structurally valid random model containers for tests.

The tensors are random (not a trained model) but every shape, dtype and
value range satisfies docs/model-format.md, so lib/model-load.c accepts the
file and the engines can run it.  Written through container.encode(), the
same writer the trained models use.

    /usr/bin/python3 -m gaitway.testmodel --channels 9 --classes 6 --window 128 OUT
"""

import argparse

import numpy as np

from . import container

UCI_CHANNELS = [("body_acc_x", "g"), ("body_acc_y", "g"), ("body_acc_z", "g"),
                ("body_gyro_x", "rad/s"), ("body_gyro_y", "rad/s"), ("body_gyro_z", "rad/s"),
                ("total_acc_x", "g"), ("total_acc_y", "g"), ("total_acc_z", "g")]
UCI_CLASSES = ["WALKING", "WALKING_UPSTAIRS", "WALKING_DOWNSTAIRS", "SITTING", "STANDING",
               "LAYING"]
MAX_INPUTS = 32


def _uci_frontend():
    axes = "xyz"
    inputs = [{"name": "acc_" + a, "unit": "g"} for a in axes] + \
             [{"name": "gyro_" + a, "unit": "rad/s"} for a in axes]
    outputs = [{"name": "body_acc_" + a, "input": "acc_" + a, "signal": "body"} for a in axes] + \
              [{"name": "body_gyro_" + a, "input": "gyro_" + a, "signal": "filtered"} for a in axes] + \
              [{"name": "total_acc_" + a, "input": "acc_" + a, "signal": "filtered"} for a in axes]
    return inputs, outputs


def description(C, K, T, F, k, H, hop, rate=50.0, int8=True, model_id=None):
    """The model description (the `gaitway` metadata) of a test model.  C=9
    with K=6 uses UCI-HAR's channels, classes and front end; anything else
    uses generic names."""
    uci = C == 9 and K == 6
    if uci:
        channels = [{"name": n, "unit": u} for n, u in UCI_CHANNELS]
        classes = list(UCI_CLASSES)
        inputs, outputs = _uci_frontend()
    else:
        n_in = min(C, MAX_INPUTS)
        channels = [{"name": "ch%03d" % i, "unit": "g"} for i in range(C)]
        classes = ["class%02d" % i for i in range(K)]
        inputs = [{"name": "in%02d" % i, "unit": "g"} for i in range(n_in)]
        outputs = [{"name": channels[i]["name"], "input": inputs[i % n_in]["name"],
                    "signal": "filtered"} for i in range(C)]
    frontend = {
        "inputs": inputs,
        "antialias": {"order": 4, "cutoff_hz": 0.4 * rate},
        "median": 3,
        "lowpass": {"order": 3, "cutoff_hz": 0.4 * rate},
        "highpass": {"order": 0},
        "gravity": {"order": 3, "cutoff_hz": 0.3} if uci else {"order": 0},
        "outputs": outputs,
    }
    desc = {
        "model_id": model_id or "test-%dx%dx%d" % (C, K, T),
        "model_version": "0.0.1",
        "task": "activity",
        "arch": {"name": "microbi-convlstm", "channels": C, "classes": K, "window": T,
                 "filters": F, "kernel": k, "hidden": H},
        "classes": classes,
        "channels": channels,
        "sample_rate_hz": rate,
        "hop": hop,
        "frontend": frontend,
        "training": {"note": "random test model, not trained"},
    }
    if int8:
        desc["quant"] = {"scheme": "gw-int8-v1"}
    return desc


def _requant(rng, rows, shifts):
    """Rows of (multiplier in [2^30, 2^31), shift); the first row of a
    multi-row tensor has multiplier 0, as for an all-zero weight row."""
    rq = np.empty((rows, 2), dtype=np.int32)
    rq[:, 0] = rng.integers(1 << 30, 1 << 31, size=rows, dtype=np.int64)
    rq[:, 1] = rng.integers(shifts[0], shifts[1] + 1, size=rows)
    if rows > 1:
        rq[0, 0] = 0
    return rq


def tensors(C, K, F, k, H, fp32=True, int8=True, seed=0):
    """name -> array, in the order of docs/model-format.md."""
    rng = np.random.default_rng(seed)
    f32 = np.float32

    def normal(*shape, scale=0.1):
        return (rng.standard_normal(shape) * scale).astype(f32)

    def i8(*shape):
        return rng.integers(-127, 128, size=shape).astype(np.int8)

    def i32(lo, hi, *shape):
        return rng.integers(lo, hi + 1, size=shape).astype(np.int32)

    t = {"input.mean": normal(C, scale=0.5),
         "input.std": rng.uniform(0.5, 2.0, size=C).astype(f32)}
    if fp32:
        t.update({
            "conv1.weight": normal(F, C, k), "conv1.bias": normal(F),
            "conv2.weight": normal(F, F, k), "conv2.bias": normal(F),
            "lstm.fwd.weight_ih": normal(4 * H, F), "lstm.fwd.weight_hh": normal(4 * H, H),
            "lstm.fwd.bias": normal(4 * H),
            "lstm.bwd.weight_ih": normal(4 * H, F), "lstm.bwd.bias": normal(4 * H),
            "head.weight": normal(K, 2 * H), "head.bias": normal(K),
        })
    if int8:
        w1 = i8(F, C, k)
        if F > 1:
            w1[0] = 0        # matches the zero multiplier of row 0
        t.update({
            "q.input.scale": rng.uniform(0.01, 0.05, size=C).astype(f32),
            "q.conv1.weight": w1, "q.conv1.bias": i32(-(1 << 20), 1 << 20, F),
            "q.conv1.requant": _requant(rng, F, (38, 44)),
            "q.conv2.weight": i8(F, F, k), "q.conv2.bias": i32(-(1 << 20), 1 << 20, F),
            "q.conv2.requant": _requant(rng, F, (38, 44)),
            "q.lstm.fwd.weight_ih": i8(4 * H, F),
            "q.lstm.fwd.requant_ih": _requant(rng, 4 * H, (32, 38)),
            "q.lstm.fwd.weight_hh": i8(4 * H, H),
            "q.lstm.fwd.requant_hh": _requant(rng, 4 * H, (32, 38)),
            "q.lstm.fwd.bias": i32(-4096, 4096, 4 * H),
            "q.lstm.bwd.weight_ih": i8(4 * H, F),
            "q.lstm.bwd.requant_ih": _requant(rng, 4 * H, (32, 38)),
            "q.lstm.bwd.bias": i32(-4096, 4096, 4 * H),
            "q.head.weight": i8(K, 2 * H),
            "q.head.requant": _requant(rng, K, (28, 34)),
            "q.head.bias": i32(-65536, 65536, K),
        })
    return t


def build(path, C=9, K=6, T=128, F=16, k=5, H=24, hop=None, rate=50.0, fp32=True, int8=True,
          seed=0, model_id=None):
    """Writes a random valid container to path; returns its size in bytes."""
    if not (fp32 or int8):
        raise ValueError("a model needs the FP32 set, the INT8 set or both")
    hop = hop if hop is not None else max(1, T // 2)
    desc = description(C, K, T, F, k, H, hop, rate, int8, model_id)
    return container.write(path, desc, tensors(C, K, F, k, H, fp32, int8, seed))


def main(argv=None):
    p = argparse.ArgumentParser(description="Write a random, structurally valid gaitway model.")
    p.add_argument("output")
    p.add_argument("--channels", "-C", type=int, default=9)
    p.add_argument("--classes", "-K", type=int, default=6)
    p.add_argument("--window", "-T", type=int, default=128)
    p.add_argument("--filters", "-F", type=int, default=16)
    p.add_argument("--kernel", "-k", type=int, default=5)
    p.add_argument("--hidden", "-H", type=int, default=24)
    p.add_argument("--hop", type=int, default=None)
    p.add_argument("--rate", type=float, default=50.0)
    p.add_argument("--sets", choices=("both", "fp32", "int8"), default="both")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--model-id", default=None)
    a = p.parse_args(argv)
    n = build(a.output, a.channels, a.classes, a.window, a.filters, a.kernel, a.hidden, a.hop,
              a.rate, a.sets != "int8", a.sets != "fp32", a.seed, a.model_id)
    print("%s: %d bytes" % (a.output, n))


if __name__ == "__main__":
    main()
