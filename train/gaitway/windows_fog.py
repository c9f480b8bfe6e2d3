"""Daphnet windows through libgaitway's front end and window ring.

Front end (the author's recipe, in the daemon's code): a 4th-order 12 Hz
Butterworth anti-alias low-pass at the recordings' 64 Hz, then resampling to
32 Hz on the timestamps; the 9 channels pass through in g.  Windows of 64
samples (2 s).  A window is labelled by the raw samples it spans: the label
(1 no freeze, 2 freeze) of at least `purity` of them, else it is dropped;
label 0 (not part of the experiment) never labels a window."""

import numpy as np

from . import cfrontend, data_daphnet as dd

RATE_HZ = 32.0
CHANNELS = ["ankle_fwd", "ankle_vert", "ankle_lat", "thigh_fwd", "thigh_vert", "thigh_lat",
            "trunk_fwd", "trunk_vert", "trunk_lat"]

SPEC = {
    "inputs": [{"name": n, "unit": "g"} for n in dd.RAW_NAMES],
    "antialias": {"order": 4, "cutoff_hz": 12.0},
    "outputs": [{"name": n, "input": n, "signal": "filtered"} for n in dd.RAW_NAMES],
}


def frontend_output(rec, spec=SPEC):
    fe = cfrontend.Frontend(spec, RATE_HZ, dd.RAW_NAMES, dd.RAW_UNITS, dd.RATE_HZ)
    try:
        return fe.process(rec.t_ns, rec.raw.astype(np.float32))
    finally:
        fe.close()


def window_labels(rec, t_first, t_last, purity=0.7):
    """Per window: 0 no freeze, 1 freeze, -1 dropped (mixed, or mostly label
    0).  Also returns the fraction of freeze samples."""
    i0 = np.searchsorted(rec.t_ns, t_first, side="left")
    i1 = np.searchsorted(rec.t_ns, t_last, side="right")
    lab = rec.label
    c = np.zeros((len(lab) + 1, 3), np.int64)
    for k in range(3):
        c[1:, k] = np.cumsum(lab == k)
    cnt = c[i1] - c[i0]
    n = np.maximum(cnt.sum(1), 1)
    y = np.full(len(t_first), -1, np.int64)
    y[cnt[:, 1] >= purity * n] = 0
    y[cnt[:, 2] >= purity * n] = 1
    return y, cnt[:, 2] / n


def recording_windows(rec, hop=8, T=64, purity=0.7, spec=SPEC, out=None):
    """(x [N, T, 9], y [N] in {0, 1, -1}, t_first [N], t_last [N], freeze
    fraction [N]) over the whole recording, windows cut by the daemon's ring."""
    if out is None:
        out = frontend_output(rec, spec)
    t, o, f = out
    w, t_first, t_last = cfrontend.windows(t, o, f, T, hop, rate_hz=RATE_HZ)
    y, frac = window_labels(rec, t_first, t_last, purity)
    return w, y, t_first, t_last, frac
