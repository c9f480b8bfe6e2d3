"""Trains the two small models gaitwayd's tests use (tests/data/daemon/):
an activity model with UCI-HAR's channels and classes, and a freeze-of-gait
model, both on synthetic signals (synth.py) cut into windows by libgaitway's
own front end (train/gaitway/cfrontend.py).  They recognise synth.py's
signals, nothing real; the shipped models live in models/.

    GAITWAY_LIB=build/lib/libgaitway.so /usr/bin/python3 tests/integration/make-models.py OUTDIR
"""

import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "train"))

import synth  # noqa: E402
from gaitway import cfrontend, export, fit  # noqa: E402

INPUTS = [("acc_x", "g"), ("acc_y", "g"), ("acc_z", "g"),
          ("gyro_x", "rad/s"), ("gyro_y", "rad/s"), ("gyro_z", "rad/s")]


def frontend(gravity):
    axes = "xyz"
    if gravity:
        outputs = [{"name": "body_acc_" + a, "input": "acc_" + a, "signal": "body"} for a in axes] + \
                  [{"name": "body_gyro_" + a, "input": "gyro_" + a, "signal": "filtered"} for a in axes] + \
                  [{"name": "total_acc_" + a, "input": "acc_" + a, "signal": "filtered"} for a in axes]
    else:
        outputs = [{"name": n, "input": n, "signal": "filtered"} for n, _ in INPUTS]
    return {
        "inputs": [{"name": n, "unit": u} for n, u in INPUTS],
        "antialias": {"order": 4, "cutoff_hz": 20.0},
        "median": 3,
        "lowpass": {"order": 3, "cutoff_hz": 20.0},
        "highpass": {"order": 0},
        "gravity": {"order": 3, "cutoff_hz": 0.3} if gravity else {"order": 0},
        "outputs": outputs,
    }


def windows_of(spec, kinds, classes, T, hop, seconds, rng):
    xs, ys = [], []
    for kind in kinds:
        for rep in range(6):
            n = int(seconds * synth.RATE)
            raw = synth.segment(kind, n, rng).astype(np.float32)
            t = (np.arange(n) * 20_000_000).astype(np.int64)
            fe = cfrontend.Frontend(spec, synth.RATE, names=[n_ for n_, _ in INPUTS],
                                    units=[u for _, u in INPUTS], input_rate_hz=synth.RATE)
            t_out, out, flags = fe.process(t, raw)
            w, _, _ = cfrontend.windows(t_out, out, flags, T=T, hop=hop, rate_hz=synth.RATE)
            w = w[2:]          # past the filters' start-up
            xs.append(w)
            ys.append(np.full(len(w), classes.index(kind if kind != "WALKING" or "WALKING" in classes
                                                    else "no_freeze")))
    return np.concatenate(xs).astype(np.float32), np.concatenate(ys)


def build(path, task, classes, kinds, gravity, T, hop, model_id, seed):
    rng = np.random.default_rng(seed)
    spec = frontend(gravity)
    x, y = windows_of(spec, kinds, classes, T, hop, 40.0, rng)
    net, mean, std, _ = fit.train(x, y, len(classes), epochs=6, batch=64, lr=3e-3, dropout=0.0,
                                  seed=seed, threads=2, log=lambda *a: None)
    channels = [{"name": o["name"], "unit": dict(INPUTS)[o["input"]]} for o in spec["outputs"]]
    desc = {
        "model_id": model_id,
        "model_version": "0.0.1",
        "task": task,
        "classes": classes,
        "channels": channels,
        "sample_rate_hz": synth.RATE,
        "hop": hop,
        "frontend": spec,
        "training": {"note": "synthetic signals of tests/integration/synth.py; for tests only"},
    }
    calib = x[rng.choice(len(x), size=min(len(x), 256), replace=False)]
    export.export_model(path, net, mean, std, desc, calib)
    pred = fit.predict_torch(net, x, mean, std).argmax(1)
    print("%s: %d windows, training accuracy %.3f" % (path, len(x), float((pred == y).mean())))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "data", "daemon")
    build(os.path.join(out, "activity.gwm"), "activity", synth.ACTIVITIES, synth.ACTIVITIES, True,
          128, 64, "test-synthetic-activity", 1)
    build(os.path.join(out, "fog.gwm"), "fog", synth.FOG, ["WALKING", "freeze"], False,
          64, 16, "test-synthetic-fog", 2)


if __name__ == "__main__":
    main()
