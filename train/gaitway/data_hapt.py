"""HAPT raw recordings, their labelled segments, UCI-HAR's subject split and
the official UCI-HAR test windows.

HAPT (Reyes-Ortiz et al. 2016) holds the raw 50 Hz accelerometer (g) and
gyroscope (rad/s) recordings of the same 30 volunteers and the same phone as
UCI-HAR (Anguita et al. 2013); RawData/labels.txt marks each activity segment
by experiment, user, activity (1..12) and first/last sample (1-based,
inclusive).  Activities 1..6 are UCI-HAR's six classes; 7..12 are postural
transitions, which UCI-HAR does not have.

This module only reads files.  Filtering and windowing happen in libgaitway
(gaitway.cfrontend); see gaitway.windows_uci for how segments become
windows."""

import glob
import gzip
import os
import re

import numpy as np

CLASSES = ["WALKING", "WALKING_UPSTAIRS", "WALKING_DOWNSTAIRS", "SITTING", "STANDING", "LAYING"]
RATE_HZ = 50.0
RAW_NAMES = ["acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z"]
RAW_UNITS = ["g"] * 3 + ["rad/s"] * 3
OFFICIAL_CHANNELS = ["body_acc_x", "body_acc_y", "body_acc_z", "body_gyro_x", "body_gyro_y",
                     "body_gyro_z", "total_acc_x", "total_acc_y", "total_acc_z"]
UCI_DIR = os.path.join("uci_har", "UCI HAR Dataset")


def _cache_path(cache_dir, name):
    os.makedirs(cache_dir, exist_ok=True)
    return os.path.join(cache_dir, name)


def _read_txt(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as f:
        return np.loadtxt(f, dtype=np.float64)


def _find(data_dir, stem):
    for p in (stem, stem + ".gz"):
        full = os.path.join(data_dir, p)
        if os.path.exists(full):
            return full
    raise FileNotFoundError(os.path.join(data_dir, stem) + "[.gz]")


class Recording:
    """One HAPT experiment: raw [n, 6] float64 (acc xyz in g, gyro xyz in
    rad/s) and its labelled segments [(activity, first, last)] as 0-based
    inclusive sample indices."""

    def __init__(self, exp, user, raw, segments):
        self.exp, self.user, self.raw, self.segments = exp, user, raw, segments

    def timestamps_ns(self):
        return np.arange(len(self.raw), dtype=np.int64) * int(round(1e9 / RATE_HZ))

    def __repr__(self):
        return "Recording(exp=%d, user=%d, %d samples, %d segments)" % (
            self.exp, self.user, len(self.raw), len(self.segments))


def load_labels(data_dir):
    """labels.txt as int array [n, 5]: exp, user, activity, first, last
    (1-based, inclusive, as in the file)."""
    return np.loadtxt(os.path.join(data_dir, "hapt", "RawData", "labels.txt"), dtype=np.int64)


def load_recordings(data_dir, users=None, cache_dir=None):
    """All HAPT experiments (of `users` if given), sorted by experiment.
    Parsed text is cached as .npz under cache_dir when given."""
    raw_dir = os.path.join(data_dir, "hapt", "RawData")
    labels = load_labels(data_dir)
    pairs = sorted({(int(e), int(u)) for e, u in labels[:, :2]})
    for p in glob.glob(os.path.join(raw_dir, "acc_exp*_user*.txt*")):
        m = re.search(r"acc_exp(\d+)_user(\d+)", p)
        pairs.append((int(m.group(1)), int(m.group(2))))
    pairs = sorted(set(pairs))
    out = []
    for exp, user in pairs:
        if users is not None and user not in users:
            continue
        stem = "exp%02d_user%02d" % (exp, user)
        raw = None
        if cache_dir:
            cp = _cache_path(cache_dir, "hapt-%s.npy" % stem)
            if os.path.exists(cp):
                raw = np.load(cp)
        if raw is None:
            acc = _read_txt(_find(raw_dir, "acc_%s.txt" % stem))
            gyro = _read_txt(_find(raw_dir, "gyro_%s.txt" % stem))
            if acc.shape != gyro.shape or acc.shape[1] != 3:
                raise ValueError("%s: acc %s and gyro %s differ" % (stem, acc.shape, gyro.shape))
            raw = np.concatenate([acc, gyro], axis=1)
            if cache_dir:
                np.save(cp, raw)
        seg = labels[(labels[:, 0] == exp) & (labels[:, 1] == user)]
        segments = [(int(a), int(s) - 1, int(e) - 1) for _, _, a, s, e in seg]
        out.append(Recording(exp, user, raw, segments))
    return out


def uci_subjects(data_dir):
    """(train subjects, test subjects) of UCI-HAR's official split."""
    tr = np.loadtxt(os.path.join(data_dir, UCI_DIR, "train", "subject_train.txt"), dtype=int)
    te = np.loadtxt(os.path.join(data_dir, UCI_DIR, "test", "subject_test.txt"), dtype=int)
    return sorted(set(tr.tolist())), sorted(set(te.tolist()))


def uci_official_index(data_dir, split):
    """(labels 0..5, subjects) of the official windows of `split` in file
    order."""
    d = os.path.join(data_dir, UCI_DIR, split)
    y = np.loadtxt(os.path.join(d, "y_%s.txt" % split), dtype=int) - 1
    s = np.loadtxt(os.path.join(d, "subject_%s.txt" % split), dtype=int)
    return y, s


def uci_official_test_windows(data_dir, cache_dir=None):
    """The official test windows [2947, 128, 9] float32 in OFFICIAL_CHANNELS
    order (from the 5-significant-digit CSV re-export) and their labels
    (0..5) and subjects."""
    x = None
    if cache_dir:
        cp = _cache_path(cache_dir, "uci-test-windows.npy")
        if os.path.exists(cp):
            x = np.load(cp)
    if x is None:
        d = os.path.join(data_dir, "uci_har", "test_inertial_5sigdig_csv")
        x = np.stack([np.loadtxt(os.path.join(d, "%s_test.csv" % n), delimiter=",",
                                 dtype=np.float32) for n in OFFICIAL_CHANNELS], axis=-1)
        if cache_dir:
            np.save(cp, x)
    y, s = uci_official_index(data_dir, "test")
    if len(x) != len(y):
        raise ValueError("official test windows: %d rows, y_test has %d" % (len(x), len(y)))
    return x, y, s
