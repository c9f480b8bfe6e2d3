"""MotionSense windows through libgaitway's front end and window ring.

The pocket model's front end: the raw accelerometer (gravity plus the
wearer's acceleration, IIO sign) split by the 0.3 Hz gravity low-pass into
body (userAcceleration-like) and gravity; the gyroscope minus its own 0.1 Hz
low-pass, which removes a raw MEMS gyroscope's bias and drift (Core Motion's
rotationRate has them removed already, a raw IIO gyroscope does not).  No
median or 20 Hz low-pass: Core Motion's signals are already smoothed.  The
anti-alias low-pass acts only on sources faster than 50 Hz."""

import numpy as np

from . import cfrontend, data_motionsense as dm

CHANNELS = ["body_acc_x", "body_acc_y", "body_acc_z", "gyro_x", "gyro_y", "gyro_z"]
UNITS = ["g"] * 3 + ["rad/s"] * 3

SPEC = {
    "inputs": ([{"name": "acc_" + a, "unit": "g"} for a in "xyz"]
               + [{"name": "gyro_" + a, "unit": "rad/s", "gravity": {"order": 2, "cutoff_hz": 0.1}}
                  for a in "xyz"]),
    "antialias": {"order": 4, "cutoff_hz": 20.0},
    "gravity": {"order": 3, "cutoff_hz": 0.3},
    "outputs": ([{"name": "body_acc_" + a, "input": "acc_" + a, "signal": "body"} for a in "xyz"]
                + [{"name": "gyro_" + a, "input": "gyro_" + a, "signal": "body"}
                   for a in "xyz"]),
}


def trial_windows(trial, hop=64, T=128, spec=SPEC):
    """Windows of one trial (one stream from its first sample): x [N, T, 6]."""
    fe = cfrontend.Frontend(spec, dm.RATE_HZ, dm.RAW_NAMES, dm.RAW_UNITS, dm.RATE_HZ)
    try:
        t, out, flags = fe.process(trial.timestamps_ns(), trial.raw.astype(np.float32))
    finally:
        fe.close()
    w, _, _ = cfrontend.windows(t, out, flags, T, hop, rate_hz=dm.RATE_HZ)
    return w


def build(trials, hop=64, T=128, spec=SPEC):
    """(x [N, T, 6], y [N], subject [N], trial id [N]) over trials."""
    xs, ys, ss, ts = [], [], [], []
    for i, tr in enumerate(trials):
        w = trial_windows(tr, hop, T, spec)
        if len(w) == 0:
            continue
        xs.append(w)
        ys.append(np.full(len(w), tr.label))
        ss.append(np.full(len(w), tr.subject))
        ts.append(np.full(len(w), i))
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(ss), np.concatenate(ts)
