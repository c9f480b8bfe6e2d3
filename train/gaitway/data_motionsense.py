"""MotionSense (Malekzadeh et al. 2019): an iPhone 6s in the front trouser
pocket, Core Motion "DeviceMotion" at 50 Hz, 24 subjects x 15 trials,
A_DeviceMotion_data/<act>_<trial>/sub_<n>.csv with gravity and
userAcceleration in g and rotationRate in rad/s.

What the daemon sees is a raw accelerometer and gyroscope, not Apple's sensor
fusion.  A raw iPhone accelerometer reads gravity + userAcceleration with
gravity pointing towards the earth (-1 g on z lying face up); Linux IIO and
Android sensors, which gaitway reads, report the opposite sign (+1 g
upwards).  So the raw stream this module rebuilds is

    acc  = -(gravity + userAcceleration)      (g, IIO/Android convention)
    gyro = rotationRate                        (rad/s, right-handed in both)

and the model's userAcceleration-like channels are made from it by the
front end's own gravity separation (gaitway.cfrontend), as in the daemon."""

import glob
import gzip
import os

import numpy as np

ACTIVITIES = ["dws", "ups", "wlk", "jog", "sit", "std"]
CLASSES = ["DOWNSTAIRS", "UPSTAIRS", "WALKING", "JOGGING", "SITTING", "STANDING"]
TRIALS = {"dws": [1, 2, 11], "ups": [3, 4, 12], "wlk": [7, 8, 15], "jog": [9, 16],
          "sit": [5, 13], "std": [6, 14]}
RATE_HZ = 50.0
RAW_NAMES = ["acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z"]
RAW_UNITS = ["g"] * 3 + ["rad/s"] * 3


class Trial:
    """One trial file: raw [n, 6] (acc in g, IIO sign; gyro in rad/s) and
    Apple's own userAcceleration [n, 3] (g, Core Motion sign) for
    comparison."""

    def __init__(self, subject, activity, trial, raw, user_acc):
        self.subject, self.activity, self.trial = subject, activity, trial
        self.label = ACTIVITIES.index(activity)
        self.raw, self.user_acc = raw, user_acc

    def timestamps_ns(self):
        return np.arange(len(self.raw), dtype=np.int64) * int(round(1e9 / RATE_HZ))


def subjects(data_dir):
    """Subject codes found, as ints."""
    names = glob.glob(os.path.join(data_dir, "motionsense", "A_DeviceMotion_data", "*", "sub_*.csv*"))
    return sorted({int(os.path.basename(n).split("_")[1].split(".")[0]) for n in names})


def paper_split(subs):
    """The paper's split: subject names ("sub_N") sorted as strings, the first
    19 train, the rest test.  Returns (train, test) as ints."""
    names = sorted("sub_%d" % s for s in subs)
    tr = [int(n[4:]) for n in names[:19]]
    te = [int(n[4:]) for n in names[19:]]
    return tr, te


def _read(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as f:
        head = f.readline().strip().split(",")
        a = np.loadtxt(f, delimiter=",", dtype=np.float64)
    col = {n: i for i, n in enumerate(head)}
    return a, col


def load_trials(data_dir, subs=None, cache_dir=None):
    out = []
    base = os.path.join(data_dir, "motionsense", "A_DeviceMotion_data")
    for act in ACTIVITIES:
        for tr in TRIALS[act]:
            for s in subs if subs is not None else subjects(data_dir):
                stem = "%s_%d" % (act, tr)
                cp = os.path.join(cache_dir, "ms-%s-sub%d.npz" % (stem, s)) if cache_dir else None
                if cp and os.path.exists(cp):
                    z = np.load(cp)
                    out.append(Trial(s, act, tr, z["raw"], z["user"]))
                    continue
                p = os.path.join(base, stem, "sub_%d.csv" % s)
                p = p if os.path.exists(p) else p + ".gz"
                a, col = _read(p)
                grav = a[:, [col["gravity.%s" % k] for k in "xyz"]]
                user = a[:, [col["userAcceleration.%s" % k] for k in "xyz"]]
                rot = a[:, [col["rotationRate.%s" % k] for k in "xyz"]]
                raw = np.concatenate([-(grav + user), rot], axis=1)
                if cp:
                    os.makedirs(cache_dir, exist_ok=True)
                    np.savez(cp, raw=raw, user=user)
                out.append(Trial(s, act, tr, raw, user))
    return out
