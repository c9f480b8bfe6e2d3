#!/usr/bin/python3
"""Generates the reference vectors of tests/unit/test-dsp.c with scipy/numpy.

Run from anywhere with Debian's /usr/bin/python3:

    /usr/bin/python3 tests/data/dsp/generate.py [--data ../shared/data]

The real-signal excerpt (hapt-excerpt.txt) is cut from the HAPT raw
recordings once, when it is missing; every other file is derived from it or
from fixed seeds, so regenerating needs no data set.  Formats are plain
whitespace-separated text read by fscanf; every file starts with a comment
line (#) saying what it holds.
"""

import argparse
import gzip
import os

import numpy as np
from scipy import signal

HERE = os.path.dirname(os.path.abspath(__file__))

# HAPT, experiment 1, user 1: samples 7301..8300 (1-based lines), the end of a
# rest and the start of a walking segment (labels.txt: walking from 7496).
EXCERPT = ("exp01_user01", 7301, 1000)


def out(name):
    return os.path.join(HERE, name)


def cut_excerpt(data):
    exp, first, n = EXCERPT
    cols = []
    for kind in ("acc", "gyro"):
        path = os.path.join(data, "hapt", "RawData", "%s_%s.txt.gz" % (kind, exp))
        with gzip.open(path, "rt") as f:
            rows = f.read().split("\n")[first - 1:first - 1 + n]
        cols.append(np.array([[float(v) for v in r.split()] for r in rows]))
    x = np.hstack(cols).astype(np.float32)
    with open(out("hapt-excerpt.txt"), "w") as f:
        f.write("# HAPT raw %s lines %d..%d: acc_x acc_y acc_z (g) gyro_x gyro_y gyro_z (rad/s), "
                "50 Hz. Reyes-Ortiz et al., Neurocomputing 171, 2016; CC BY 4.0\n"
                % (exp, first, first + n - 1))
        for r in x:
            f.write(" ".join("%.9g" % v for v in r) + "\n")


def load_excerpt():
    return np.loadtxt(out("hapt-excerpt.txt"), dtype=np.float32)


def butter_cases():
    cases = []
    for order in range(1, 9):
        for cut, rate in ((20.0, 50.0), (0.3, 50.0), (12.0, 64.0), (1.5, 100.0), (7.0, 30.0),
                          (24.0, 50.0)):
            for btype in ("lowpass", "highpass"):
                cases.append((order, cut, rate, btype))
    return cases


def write_butter():
    with open(out("butter.txt"), "w") as f:
        f.write("# order cutoff_hz rate_hz type(0 low, 1 high) sections, then 6 coefficients "
                "per section: scipy.signal.butter(order, cutoff, type, fs=rate, output='sos')\n")
        for order, cut, rate, btype in butter_cases():
            sos = signal.butter(order, cut, btype, fs=rate, output="sos")
            f.write("%d %.17g %.17g %d %d" % (order, cut, rate, btype == "highpass", len(sos)))
            for c in sos.ravel():
                f.write(" %.17g" % c)
            f.write("\n")


SOSFILT_CASES = [  # order, cutoff, rate, type, input column of the excerpt
    (3, 20.0, 50.0, "lowpass", 0),
    (3, 0.3, 50.0, "lowpass", 0),
    (3, 0.3, 50.0, "lowpass", 1),
    (4, 0.5, 50.0, "highpass", 2),
    (8, 5.0, 50.0, "lowpass", 3),
    (1, 2.0, 50.0, "highpass", 4),
]


def causal_median(x, n):
    """Median of the last n samples, the first padded with x[0]: scipy's
    medfilt delayed by n//2, computed through medfilt itself."""
    if n <= 1:
        return x.copy()
    xp = np.concatenate([np.full(n - 1, x[0], dtype=x.dtype), x])
    m = signal.medfilt(xp, n)
    return m[n // 2: n // 2 + len(x)]


def settled_sosfilt(sos, x):
    """sosfilt starting from the steady state for x[0]: the front end's
    start without a transient."""
    y, _ = signal.sosfilt(sos, x, zi=signal.sosfilt_zi(sos) * x[0])
    return y


def write_sosfilt(x):
    with open(out("sosfilt.txt"), "w") as f:
        f.write("# cases, samples; per case: order cutoff rate type column; then per sample the "
                "outputs of every case: sosfilt(butter(...), x[:, column], zi=sosfilt_zi*x0)\n")
        f.write("%d %d\n" % (len(SOSFILT_CASES), len(x)))
        ys = []
        for order, cut, rate, btype, col in SOSFILT_CASES:
            f.write("%d %.17g %.17g %d %d\n" % (order, cut, rate, btype == "highpass", col))
            sos = signal.butter(order, cut, btype, fs=rate, output="sos")
            ys.append(settled_sosfilt(sos, x[:, col].astype(np.float64)))
        for row in np.array(ys).T:
            f.write(" ".join("%.10g" % v for v in row) + "\n")


def write_medfilt(x):
    ns = (3, 5, 15)
    col = x[:, 0].astype(np.float64)
    with open(out("medfilt.txt"), "w") as f:
        f.write("# lengths, samples; the lengths; then per sample scipy.signal.medfilt(acc_x, n) "
                "for each length (centred, zero-padded edges)\n")
        f.write("%d %d\n%s\n" % (len(ns), len(col), " ".join(str(n) for n in ns)))
        ms = [signal.medfilt(col, n) for n in ns]
        for row in np.array(ms).T:
            f.write(" ".join("%.9g" % v for v in row) + "\n")


def write_uci_chain(x):
    """The UCI-HAR chain, causally: median 3, Butterworth 3rd order low-pass
    at 20 Hz, gravity by a 3rd-order low-pass at 0.3 Hz, body = total -
    gravity; channels body_acc xyz, body_gyro xyz, total_acc xyz."""
    lp = signal.butter(3, 20.0, "lowpass", fs=50.0, output="sos")
    gv = signal.butter(3, 0.3, "lowpass", fs=50.0, output="sos")
    filt = []
    for c in range(6):
        m = causal_median(x[:, c].astype(np.float64), 3)
        filt.append(settled_sosfilt(lp, m))
    grav = [settled_sosfilt(gv, filt[c]) for c in range(3)]
    chans = [filt[c] - grav[c] for c in range(3)] + [filt[c] for c in range(3, 6)] + filt[0:3]
    with open(out("uci-chain.txt"), "w") as f:
        f.write("# samples; then per sample body_acc_x..z body_gyro_x..z total_acc_x..z of "
                "hapt-excerpt.txt through median 3, butter(3, 20 Hz), gravity butter(3, 0.3 Hz), "
                "each stage started from its steady state\n")
        f.write("%d\n" % len(x))
        for row in np.array(chans).T:
            f.write(" ".join("%.10g" % v for v in row) + "\n")


def write_resample(name, t, x, rate_model, comment):
    """Input (t_ns, x) and the expected output on the grid anchored at t[0]:
    numpy.interp at every grid point up to the last input."""
    period = 1e9 / rate_model
    k = np.arange(int(np.floor((t[-1] - t[0]) / period)) + 1)
    g = t[0] + np.round(k * period).astype(np.int64)
    g = g[g <= t[-1]]
    # relative times: absolute nanoseconds (~1.7e18) lose 256 ns in a double
    y = np.interp((g - t[0]).astype(np.float64), (t - t[0]).astype(np.float64),
                  x.astype(np.float64))
    with open(out(name), "w") as f:
        f.write("# %s; n_in n_out model_rate; then n_in lines t_ns x; then n_out lines t_ns "
                "numpy.interp\n" % comment)
        f.write("%d %d %.17g\n" % (len(t), len(g), rate_model))
        for ti, xi in zip(t, x):
            f.write("%d %.9g\n" % (ti, xi))
        for gi, yi in zip(g, y):
            f.write("%d %.17g\n" % (gi, yi))


def write_resampling(x):
    acc = x[:, 1]
    rng = np.random.RandomState(20261129)
    t0 = 1_700_000_000_000_000_000

    # BLE-like jitter: nominal 50 Hz, each timestamp off by up to +-6 ms.
    n = 400
    t = t0 + np.arange(n, dtype=np.int64) * 20_000_000 + rng.randint(-6_000_000, 6_000_001, n)
    write_resample("resample-jitter.txt", t, acc[:n], 50.0,
                   "acc_y of the excerpt at 50 Hz with +-6 ms jitter, to 50 Hz")

    # A rate change: 50 Hz for 200 samples, then 100 Hz (the second half
    # interpolated from the excerpt so the signal stays smooth).
    t1 = t0 + np.arange(200, dtype=np.int64) * 20_000_000
    t2 = t1[-1] + np.arange(1, 401, dtype=np.int64) * 10_000_000
    x2 = np.interp(np.arange(1, 401) / 2.0, np.arange(len(acc) - 200), acc[200:]).astype(np.float32)
    write_resample("resample-ratechange.txt", np.concatenate([t1, t2]),
                   np.concatenate([acc[:200], x2]), 50.0,
                   "acc_y at 50 Hz, then at 100 Hz, to 50 Hz")

    # Upsampling: 20 Hz, irregular, to 50 Hz.
    n = 150
    t = t0 + np.cumsum(rng.randint(40_000_000, 60_000_001, n)).astype(np.int64)
    write_resample("resample-up.txt", t, acc[:n], 50.0,
                   "acc_y at about 20 Hz with irregular steps, to 50 Hz")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=os.path.join(HERE, "..", "..", "..", "..", "shared", "data"),
                    help="data sets folder (only needed to cut the excerpt)")
    args = ap.parse_args()
    if not os.path.exists(out("hapt-excerpt.txt")):
        cut_excerpt(args.data)
    x = load_excerpt()
    write_butter()
    write_sosfilt(x)
    write_medfilt(x)
    write_uci_chain(x)
    write_resampling(x)


if __name__ == "__main__":
    main()
