"""Daphnet Freezing of Gait (Baechlin et al. 2010): 64 Hz, accelerometers on
the ankle, thigh and trunk (forward, vertical, lateral) in mg, labels 0 (not
part of the experiment), 1 (no freeze), 2 (freeze).  Only 7 of the 17
recordings are available here (see ../shared/data/PROVENANCE.md)."""

import glob
import os

import numpy as np

RATE_HZ = 64.0
RAW_NAMES = ["ankle_fwd", "ankle_vert", "ankle_lat", "thigh_fwd", "thigh_vert", "thigh_lat",
             "trunk_fwd", "trunk_vert", "trunk_lat"]
RAW_UNITS = ["mg"] * 9
CLASSES = ["NO_FREEZE", "FREEZE"]


class Recording:
    """One file SxxRyy: t_ns [n] int64 (from the ms column), raw [n, 9] in mg,
    label [n] (0, 1, 2 as in the file)."""

    def __init__(self, name, t_ns, raw, label):
        self.name, self.t_ns, self.raw, self.label = name, t_ns, raw, label
        self.subject = int(name[1:3])

    def __repr__(self):
        return "Recording(%s, %d samples, %d freeze)" % (self.name, len(self.raw),
                                                        int((self.label == 2).sum()))


def load_recordings(data_dir, cache_dir=None):
    out = []
    for p in sorted(glob.glob(os.path.join(data_dir, "daphnet", "dataset", "S*R*.txt"))):
        name = os.path.basename(p)[:-4]
        cp = os.path.join(cache_dir, "daphnet-%s.npy" % name) if cache_dir else None
        if cp and os.path.exists(cp):
            a = np.load(cp)
        else:
            a = np.loadtxt(p, dtype=np.float64)
            if cp:
                os.makedirs(cache_dir, exist_ok=True)
                np.save(cp, a)
        t_ns = np.round(a[:, 0] * 1e6).astype(np.int64)
        out.append(Recording(name, t_ns, a[:, 1:10], a[:, 10].astype(np.int64)))
    return out
