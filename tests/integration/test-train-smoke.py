#!/usr/bin/python3
"""Keeps the training pipeline alive without the data sets: one epoch on the
committed HAPT sample (models/sample/hapt-user09.csv) through the C front
end and window ring (train/gaitway/cfrontend.py), PyTorch training, export
with INT8 quantisation, and scoring with the C engines and metrics.  Needs
Debian's python3-torch: without it the test FAILS (it does not skip), since
a build without torch cannot retrain the shipped models.
Usage: test-train-smoke.py LIBGAITWAY.so SOURCE_ROOT

Prints `gaitway-test: train-smoke: N passed, N failed` (scripts/test-summary)."""

import os
import sys
import tempfile
import time

LIB, ROOT = sys.argv[1], sys.argv[2]
os.environ["GAITWAY_LIB"] = os.path.abspath(LIB)
sys.path.insert(0, os.path.join(ROOT, "train"))
results = []


def check(name, cond, detail=""):
    results.append(bool(cond))
    print(("ok     " if cond else "FAILED ") + name + ("" if cond else ": " + str(detail)))


def finish():
    print("gaitway-test: train-smoke: %d passed, %d failed" % (results.count(True),
                                                             results.count(False)))
    sys.exit(0 if results and all(results) else 1)


try:
    import numpy as np
    import torch  # noqa: F401
except ImportError as e:
    check("python3-torch and numpy are importable (apt install python3-torch python3-numpy)",
          False, e)
    finish()

from gaitway import cfrontend, evaluate, export, fit, windows_uci  # noqa: E402
from gaitway import data_hapt  # noqa: E402

t0 = time.time()
sample = os.path.join(ROOT, "models", "sample", "hapt-user09.csv")
rows = []
with open(sample) as f:
    for line in f:
        if line.startswith("#") or line.startswith("time"):
            continue
        rows.append([float(v) for v in line.split(",")])
a = np.array(rows)
t_ns = np.round(a[:, 0] * 1e9).astype(np.int64)
raw = a[:, 1:7].astype(np.float32)
fe = cfrontend.Frontend(windows_uci.SPEC, 50.0, data_hapt.RAW_NAMES, data_hapt.RAW_UNITS, 50.0)
t, out, flags = fe.process(t_ns, raw)
check("front end: one output per input at 50 Hz", len(out) == len(raw) and out.shape[1] == 9,
      out.shape)
w, t_first, t_last = cfrontend.windows(t, out, flags, 128, 16)
labels = []
with open(os.path.join(ROOT, "models", "sample", "hapt-user09.labels.csv")) as f:
    for line in f:
        if not line.startswith("#"):
            s, e, c = line.strip().split(",")
            labels.append((float(s), float(e), c))
y = np.full(len(w), -1)
for i, (a0, a1) in enumerate(zip(t_first / 1e9, t_last / 1e9)):
    for s, e, c in labels:
        if s <= a0 and a1 < e and c in data_hapt.CLASSES:
            y[i] = data_hapt.CLASSES.index(c)
m = y >= 0
check("windows: every class of the sample is present", set(y[m].tolist()) == set(range(6)),
      sorted(set(y[m].tolist())))

net, mean, std, hist = fit.train(w[m], y[m], 6, epochs=1, batch=64, lr=2e-3, seed=0, log=None,
                                 augment=fit.Augment(triples=[(0, 1, 2), (3, 4, 5), (6, 7, 8)],
                                                     rotate_deg=10, scale=0.1))
check("training: one epoch with a finite loss", np.isfinite(hist[0]["loss"]), hist)
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "smoke.gwm")
    desc = {"model_id": "smoke", "model_version": "0.0.0", "task": "activity",
            "classes": data_hapt.CLASSES,
            "channels": [{"name": c, "unit": u} for c, u in
                         zip(data_hapt.OFFICIAL_CHANNELS, ["g"] * 3 + ["rad/s"] * 3 + ["g"] * 3)],
            "sample_rate_hz": 50.0, "hop": 64, "frontend": windows_uci.SPEC, "training": {}}
    export.export_model(path, net, mean, std, desc, w[m][:256])
    r = evaluate.evaluate_model(path, w[m], y[m], data_hapt.CLASSES)
    check("export: the C engines load the model and score every window",
          r["windows"] == int(m.sum()) and 0.0 <= r["int8"]["macro_f1"] <= 1.0, r["windows"])
    torch_pred = fit.predict_torch(net, w[m], mean, std).argmax(1)
    pf, pq = evaluate.c_predict(path, w[m])
    check("export: the C FP32 engine agrees with PyTorch on at least 99% of windows",
          np.mean(pf == torch_pred) >= 0.99, np.mean(pf == torch_pred))
    check("quantisation: INT8 agrees with FP32 on at least 90% of windows after one epoch",
          r["agreement"] >= 0.9, r["agreement"])
check("the whole smoke run takes under two minutes", time.time() - t0 < 120, time.time() - t0)
finish()
