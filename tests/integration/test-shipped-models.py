#!/usr/bin/python3
"""The shipped models (models/*.gwm) reproduce the figures recorded for them
on the committed data excerpts (tests/data/models/expected.json, written by
train/make_excerpts.py expected) within the recorded tolerance (1 point of
macro-F1), through the real `gaitway eval`; they load, hold FP32 and INT8
sets, and their INT8 weights fit in 11 KiB.  Needs nothing outside the
repository.  Usage: test-shipped-models.py GAITWAY SOURCE_ROOT

Prints `gaitway-test: shipped-models: N passed, N failed` (scripts/test-summary)."""

import json
import os
import subprocess
import sys

GAITWAY, ROOT = sys.argv[1], sys.argv[2]
results = []


def check(name, cond, detail=""):
    results.append(bool(cond))
    print(("ok     " if cond else "FAILED ") + name + ("" if cond else ": " + str(detail)))


def run(*args):
    p = subprocess.run([GAITWAY, *args], capture_output=True, text=True, timeout=300)
    return p.returncode, p.stdout, p.stderr


with open(os.path.join(ROOT, "tests", "data", "models", "expected.json")) as f:
    spec = json.load(f)
tol = spec["tolerance"]

for model, excerpts in spec["excerpts"].items():
    path = os.path.join(ROOT, "models", model + ".gwm")
    rc, out, err = run("model", "info", path, "--json")
    check("%s: loads and validates" % model, rc == 0, err)
    if rc != 0:
        continue
    info = json.loads(out)
    wb = info["weight_bytes"]
    check("%s: holds FP32 and INT8 sets" % model, wb["fp32"] > 0 and wb["int8"] > 0, wb)
    check("%s: INT8 weights, biases and requantisation fit in 11 KiB (%d bytes)" % (model, wb["int8"]),
          wb["int8"] <= 11 * 1024, wb["int8"])
    for name, args in excerpts.items():
        args = [os.path.join(ROOT, a) if a.startswith(("tests/", "models/")) else a for a in args]
        rc, out, err = run("eval", path, *args, "--json")
        check("%s on %s: gaitway eval succeeds" % (model, name), rc == 0, err)
        if rc != 0:
            continue
        got = json.loads(out)
        want = spec["figures"][model][name]
        check("%s on %s: same windows scored (%d)" % (model, name, want["windows"]),
              got["windows"] == want["windows"], (got["windows"], want["windows"]))
        for eng in ("int8", "fp32"):
            g = got["engines"][eng]["macro_f1"]
            w = want["%s_macro_f1" % eng]
            check("%s on %s: %s macro-F1 %.4f reproduces the recorded %.4f within %.2f"
                  % (model, name, eng.upper(), g, w, tol), abs(g - w) <= tol, (g, w))

print("gaitway-test: shipped-models: %d passed, %d failed" % (results.count(True), results.count(False)))
sys.exit(0 if results and all(results) else 1)
