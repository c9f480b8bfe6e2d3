"""UCI-HAR windows cut from HAPT raw recordings by libgaitway's front end and
window ring (the daemon's code, through gaitway.cfrontend).

Each recording runs through the front end as ONE stream, as UCI filtered each
recording as a whole (its 0.3 Hz gravity filter carries state across activity
boundaries; see docs/models/activity-ucihar.md).  Then:

- segment windows (`segment_windows`): the front-end output of each labelled
  segment of activities 1..6 goes through the window ring on its own, so
  windows start where UCI's start: one sample before the segment's first
  labelled sample, in raw-sample time, which is the front-end output index
  first - 1 + median delay.  With hop 64 this gives UCI's official window
  counts within 3 windows per class for the walking classes; the postures
  differ more (up to 4% more standing windows), as HAPT relabelled the
  postures around its transitions (train_uci.py reports the comparison);
- stream windows (`stream_windows`): the whole recording through the ring,
  as the daemon sees it, each window labelled by the segment it falls in.
"""

import numpy as np

from . import cfrontend, data_hapt

# UCI-HAR's chain as its official windows show it (train/study_uci_signals.py):
# median 3, 20 Hz 3rd-order low-pass, causal 0.3 Hz 3rd-order gravity for the
# accelerometer, and for the gyroscope its own causal 0.1 Hz 2nd-order
# low-pass, subtracted (body_gyro = gyro minus its bias and drift).  Plus an
# anti-alias low-pass that is only active for sources faster than 50 Hz, so a
# 100 Hz IIO accelerometer does not fold 25-50 Hz into the band; at 50 Hz
# (HAPT) it is absent and the windows are unchanged.
GYRO_GRAVITY = {"order": 2, "cutoff_hz": 0.1}
SPEC = {
    "inputs": ([{"name": "acc_" + a, "unit": "g"} for a in "xyz"]
               + [{"name": "gyro_" + a, "unit": "rad/s", "gravity": GYRO_GRAVITY} for a in "xyz"]),
    "antialias": {"order": 4, "cutoff_hz": 20.0},
    "median": 3,
    "lowpass": {"order": 3, "cutoff_hz": 20.0},
    "gravity": {"order": 3, "cutoff_hz": 0.3},
    "outputs": ([{"name": "body_acc_" + a, "input": "acc_" + a, "signal": "body"} for a in "xyz"]
                + [{"name": "body_gyro_" + a, "input": "gyro_" + a, "signal": "body"}
                   for a in "xyz"]
                + [{"name": "total_acc_" + a, "input": "acc_" + a, "signal": "filtered"}
                   for a in "xyz"]),
}
# The documented chain without the gyroscope's stage (body_gyro = filtered
# gyroscope), for comparison.
SPEC_PLAIN_GYRO = dict(cfrontend.UCI_HAR_SPEC, antialias={"order": 4, "cutoff_hz": 20.0})


def spec_delay(spec):
    """Samples by which the front end's fast channels trail the raw input
    (the causal median's (n - 1) / 2)."""
    m = int(spec.get("median", 0) or 0)
    return (m - 1) // 2 if m > 1 else 0


def frontend_output(rec, spec=SPEC):
    """The front end's output for a whole recording: (t_ns, out [n, C],
    flags)."""
    fe = cfrontend.Frontend(spec, data_hapt.RATE_HZ, data_hapt.RAW_NAMES, data_hapt.RAW_UNITS,
                            data_hapt.RATE_HZ)
    try:
        t, out, flags = fe.process(rec.timestamps_ns(), rec.raw.astype(np.float32))
    finally:
        fe.close()
    if len(out) != len(rec.raw):
        raise RuntimeError("front end returned %d samples for %d" % (len(out), len(rec.raw)))
    return t, out, flags


def segment_windows(rec, out=None, hop=64, T=128, spec=SPEC, start_offset=-1):
    """Windows of each activity 1..6 segment: (x [N, T, C], y [N] 0..5,
    seg [N] segment index in rec.segments, start [N] raw index of each
    window's first sample)."""
    if out is None:
        t, out, _ = frontend_output(rec, spec)
    delay = spec_delay(spec)
    xs, ys, ss, st = [], [], [], []
    for k, (act, first, last) in enumerate(rec.segments):
        if not 1 <= act <= 6:
            continue
        a = first + start_offset + delay          # output index of the first window sample
        b = last + delay + 1                       # one past the segment's last sample
        a = max(a, 0)
        b = min(b, len(out))
        if b - a < T:
            continue
        seg_t = (np.arange(a, b, dtype=np.int64) * 20_000_000)
        w, t_first, _ = cfrontend.windows(seg_t, out[a:b], np.zeros(b - a, np.uint32), T, hop,
                                          rate_hz=data_hapt.RATE_HZ)
        if len(w) == 0:
            continue
        xs.append(w)
        ys.append(np.full(len(w), act - 1))
        ss.append(np.full(len(w), k))
        st.append(t_first // 20_000_000 - delay)
    if not xs:
        C = out.shape[1]
        return (np.zeros((0, T, C), np.float32), np.zeros(0, int), np.zeros(0, int),
                np.zeros(0, int))
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(ss), np.concatenate(st)


def raw_labels(rec):
    """Per raw sample: activity 1..12, or 0 where no segment is labelled."""
    lab = np.zeros(len(rec.raw), np.int64)
    for act, first, last in rec.segments:
        lab[first:last + 1] = act
    return lab


def stream_windows(rec, out=None, t=None, flags=None, hop=64, T=128, spec=SPEC):
    """The daemon's windows over the whole recording: (x [N, T, C], label
    [N], full [N]).  label is the activity 1..6 (as 0..5) covering at least
    half of the window's samples, -1 when no activity does (postural
    transitions, unlabelled time): the rule of `gaitway eval --trace`.
    full says the whole window lies in that one segment."""
    if out is None:
        t, out, flags = frontend_output(rec, spec)
    w, t_first, _ = cfrontend.windows(t, out, flags, T, hop, rate_hz=data_hapt.RATE_HZ)
    lab = raw_labels(rec)
    first = t_first // 20_000_000
    y = np.full(len(w), -1, np.int64)
    full = np.zeros(len(w), bool)
    for i, f in enumerate(first):
        seg = lab[f:f + T]
        vals, counts = np.unique(seg, return_counts=True)
        j = int(np.argmax(counts))
        if 1 <= vals[j] <= 6 and counts[j] * 2 >= T:
            y[i] = vals[j] - 1
            full[i] = counts[j] == T
    return w, y, full
