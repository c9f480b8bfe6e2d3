#!/usr/bin/python3
"""How UCI-HAR's official windows were made: an offline study of their
inputs (never their labels) against the HAPT raw recordings of the same
subjects.

    /usr/bin/python3 train/study_uci_signals.py [--data DIR] [--json OUT]

1. Locates every official test window in the raw recordings (least squares
   of total_acc against the raw accelerometer over every offset).
2. Compares where UCI's windows start with the HAPT segment labels.
3. Scores candidate filter chains (scipy, offline: this is analysis, not the
   pipeline) by the error each leaves on the located windows, relative to
   each channel's spread, and does the same for libgaitway's own front end
   (gaitway.cfrontend), whose median delays its output by one sample.

Findings (docs/models/activity-ucihar.md quotes this script's output):
gravity is a CAUSAL 3rd-order 0.3 Hz Butterworth run over the whole
recording, not a zero-phase one; body_gyro is the gyroscope minus a causal
2nd-order 0.1 Hz Butterworth low-pass of itself (a bias/drift removal UCI
does not document); windows start one sample before the HAPT segment's
first labelled sample and step by 64 inside each segment."""

import argparse
import collections
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402
from numpy.lib.stride_tricks import sliding_window_view  # noqa: E402
from scipy import signal  # noqa: E402

from gaitway import data_hapt, windows_uci  # noqa: E402

ROOT = os.path.dirname(HERE)
FS = 50.0


def locate(x_off, subj_off, recs):
    """Per official window: (recording, 0-based start, residual rms) of the
    best match of its total_acc in the raw accelerometer, by
    |v - w|^2 = |v|^2 + |w|^2 - 2 v.w over every offset of every recording
    of the same subject."""
    out = [None] * len(x_off)
    for s in sorted(set(subj_off.tolist())):
        idx = np.where(subj_off == s)[0]
        W = x_off[idx, :, 6:9].reshape(len(idx), -1).astype(np.float64)
        best = np.full(len(idx), np.inf)
        where = [None] * len(idx)
        for r in (r for r in recs if r.user == s):
            V = sliding_window_view(r.raw[:, :3], (128, 3))[:, 0].reshape(-1, 384)
            d = (V ** 2).sum(1)[:, None] + (W ** 2).sum(1)[None, :] - 2.0 * (V @ W.T)
            j = d.argmin(0)
            dj = d[j, np.arange(len(idx))]
            for k in np.where(dj < best)[0]:
                best[k] = dj[k]
                where[k] = (r, int(j[k]))
        for k, i in enumerate(idx):
            out[i] = (where[k][0], where[k][1], float(np.sqrt(max(best[k], 0.0) / 384)))
    return out


def ss_filt(sos, x):
    """Causal filtering started at steady state (as libgaitway's front end)."""
    zi = signal.sosfilt_zi(sos)[:, :, None] * x[0]
    return signal.sosfilt(sos, x, axis=0, zi=zi)[0]


def butter(order, fc, btype="lowpass"):
    return signal.butter(order, fc, btype=btype, fs=FS, output="sos")


def chain(raw, noise="causal", gravity="causal", gyro_lp=None):
    """A candidate UCI chain on a whole recording: 9 channels in UCI order."""
    med = signal.medfilt(raw, (3, 1))
    lp = butter(3, 20.0)
    f = ss_filt(lp, med) if noise == "causal" else signal.sosfiltfilt(lp, med, axis=0)
    g03 = butter(3, 0.3)
    acc, gyro = f[:, :3], f[:, 3:]
    grav = ss_filt(g03, acc) if gravity == "causal" else signal.sosfiltfilt(g03, acc, axis=0)
    if gyro_lp:
        gyro = gyro - ss_filt(butter(*gyro_lp), gyro)
    return np.concatenate([acc - grav, gyro, acc], axis=1)


def rel_errors(x_off, located, series, shift=0):
    """Error of each channel relative to its spread over the official windows,
    overall and on the static classes' windows."""
    ours = np.zeros_like(x_off)
    ok = np.zeros(len(x_off), bool)
    for i, (r, j, res) in enumerate(located):
        s = series[(r.exp, r.user)]
        a = j + shift
        if res < 0.05 and 0 <= a and a + 128 <= len(s):
            ours[i] = s[a:a + 128]
            ok[i] = True
    e = np.sqrt(((ours[ok] - x_off[ok]) ** 2).mean((0, 1)))
    return e / x_off[ok].reshape(-1, 9).std(0), ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data"))
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    cache = os.path.join(ROOT, "build-cache", "train")
    x_off, y_off, s_off = data_hapt.uci_official_test_windows(args.data, cache)
    _, test_s = data_hapt.uci_subjects(args.data)
    recs = data_hapt.load_recordings(args.data, users=test_s, cache_dir=cache)
    print("locating %d official windows in %d recordings ..." % (len(x_off), len(recs)), flush=True)
    loc = locate(x_off, s_off, recs)
    res = np.array([l[2] for l in loc])
    report = {"windows": len(x_off), "located_residual_g": {
        "median": float(np.median(res)), "p90": float(np.percentile(res, 90)),
        "below_0.05": int((res < 0.05).sum())}}

    # Window starts against the segment labels.
    starts = collections.Counter()
    for (r, j, rr), y in zip(loc, y_off):
        segs = [(a, f, l) for a, f, l in r.segments if a == y + 1 and f - 3 <= j <= f + 1]
        if segs:
            starts[j - segs[0][1]] += 1
    report["window_start_minus_segment_first_sample"] = dict(starts.most_common(5))
    print("official window starts minus the HAPT segment's first sample (first windows of "
          "segments): %s" % dict(starts.most_common(5)))

    names = data_hapt.OFFICIAL_CHANNELS
    cands = {
        "zero-phase noise and gravity filters": dict(noise="zero-phase", gravity="zero-phase"),
        "causal noise and gravity filters": dict(noise="causal", gravity="causal"),
        "causal, gyro minus causal LP 2nd order 0.1 Hz": dict(noise="causal", gravity="causal",
                                                              gyro_lp=(2, 0.1)),
        "causal, gyro minus causal LP 3rd order 0.3 Hz": dict(noise="causal", gravity="causal",
                                                              gyro_lp=(3, 0.3)),
        "causal, gyro minus causal LP 1st order 0.1 Hz": dict(noise="causal", gravity="causal",
                                                              gyro_lp=(1, 0.1)),
    }
    report["candidates"] = {}
    static = np.isin(y_off, [3, 4, 5])
    for name, kw in cands.items():
        series = {(r.exp, r.user): chain(r.raw, **kw) for r in recs}
        rel, ok = rel_errors(x_off, loc, series)
        rel_s, _ = rel_errors(x_off[static], [l for l, m in zip(loc, static) if m], series)
        report["candidates"][name] = {"all": dict(zip(names, rel.tolist())),
                                      "static": dict(zip(names, rel_s.tolist()))}
        print("%-50s %s" % (name, " ".join("%5.1f" % (100 * v) for v in rel)))
    print("%-50s %s" % ("(relative rms error %, channels:)", " ".join(
        "%5s" % (n.replace("body_", "b").replace("total_", "t").replace("acc_", "a")
                 .replace("gyro_", "g")) for n in names)))

    # libgaitway's own front end (the daemon's code).
    report["libgaitway"] = {}
    for label, spec in (("documented chain", windows_uci.SPEC_PLAIN_GYRO),
                        ("with the gyro gravity stage", windows_uci.SPEC)):
        series = {}
        for r in recs:
            _, out, _ = windows_uci.frontend_output(r, spec)
            series[(r.exp, r.user)] = out.astype(np.float64)
        for shift in (0, 1):
            rel, _ = rel_errors(x_off, loc, series, shift)
            report["libgaitway"]["%s, shift %d" % (label, shift)] = dict(zip(names, rel.tolist()))
            print("%-50s %s" % ("libgaitway %s, output shifted %d" % (label, shift),
                                " ".join("%5.1f" % (100 * v) for v in rel)))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
