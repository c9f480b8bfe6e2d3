"""Synthetic IMU signals for gaitwayd's tests and demo: six UCI-HAR-like
activities and a freeze-of-gait tremor, distinct enough that a tiny model
learns them in seconds.  Not physiological data: acceleration in g and
angular rate in rad/s that merely look different per class.

    python3 synth.py OUT.csv [--seconds-per-segment 20] [--segments 24] [--seed 1]

writes a gaitway trace (docs/trace-format.md) cycling through the classes;
the segment plan is in `# segment.NN: start_s class` metadata lines (the
first 48 segments)."""

import argparse
import math

import numpy as np

RATE = 50.0
ACTIVITIES = ["WALKING", "WALKING_UPSTAIRS", "WALKING_DOWNSTAIRS", "SITTING", "STANDING", "LAYING"]
FOG = ["no_freeze", "freeze"]


def segment(kind, n, rng, t0=0.0):
    """n samples [n, 6] (acc x y z in g, gyro x y z in rad/s) of one kind:
    an activity name or "freeze"."""
    t = t0 + np.arange(n) / RATE
    acc = np.zeros((n, 3))
    gyr = np.zeros((n, 3))
    ph = rng.uniform(0, 2 * math.pi)
    amp = rng.uniform(0.85, 1.15)
    if kind in ("WALKING", "no_freeze"):
        f = 1.8 * rng.uniform(0.95, 1.05)
        acc[:, 2] = 1 + 0.25 * amp * np.sin(2 * math.pi * f * t + ph)
        acc[:, 0] = 0.10 * amp * np.sin(2 * math.pi * f / 2 * t + ph)
        gyr[:, 1] = 0.5 * amp * np.sin(2 * math.pi * f * t + ph)
    elif kind == "WALKING_UPSTAIRS":
        f = 1.4 * rng.uniform(0.95, 1.05)
        acc[:, 2] = 1 + 0.35 * amp * np.sin(2 * math.pi * f * t + ph)
        acc[:, 1] = 0.15 * amp * np.sin(2 * math.pi * f * t + ph + 1)
        gyr[:, 0] = 0.8 * amp * np.sin(2 * math.pi * f * t + ph)
    elif kind == "WALKING_DOWNSTAIRS":
        f = 2.2 * rng.uniform(0.95, 1.05)
        acc[:, 2] = 1 + 0.45 * amp * np.sin(2 * math.pi * f * t + ph) + 0.1 * np.sin(4 * math.pi * f * t)
        gyr[:, 2] = 0.6 * amp * np.sin(2 * math.pi * f * t + ph)
    elif kind == "SITTING":
        acc[:, 0] = 0.5
        acc[:, 2] = 0.85
    elif kind == "STANDING":
        acc[:, 2] = 1.0
    elif kind == "LAYING":
        acc[:, 0] = 1.0
    elif kind == "freeze":
        f = 6.0 * rng.uniform(0.9, 1.1)
        acc[:, 2] = 1 + 0.15 * amp * np.sin(2 * math.pi * f * t + ph)
        acc[:, 1] = 0.10 * amp * np.sin(2 * math.pi * f * t + ph + 0.5)
        gyr[:, 1] = 0.3 * amp * np.sin(2 * math.pi * f * t + ph)
    else:
        raise ValueError(kind)
    acc += rng.normal(0, 0.01, acc.shape)
    gyr += rng.normal(0, 0.01, gyr.shape)
    return np.hstack([acc, gyr])


def plan(segments, seconds, seed):
    """[(kind, n_samples)]: activities in a shuffled cycle, with freeze
    episodes inside some walking bouts."""
    rng = np.random.default_rng(seed)
    out = []
    kinds = list(ACTIVITIES)
    for i in range(segments):
        if i % len(kinds) == 0:
            rng.shuffle(kinds)
        k = kinds[i % len(kinds)]
        n = int(seconds * RATE)
        if k == "WALKING":
            third = n // 3
            out += [("WALKING", third), ("freeze", third), ("WALKING", n - 2 * third)]
        else:
            out.append((k, n))
    return out


def write_trace(path, segments=24, seconds=20.0, seed=1):
    rng = np.random.default_rng(seed + 1000)
    rows = []
    meta = []
    t0 = 0
    for kind, n in plan(segments, seconds, seed):
        if len(meta) < 48:      # the trace format allows 64 metadata lines
            meta.append("# segment.%02d: %.2f %s" % (len(meta), t0 / RATE, kind))
        rows.append(segment(kind, n, rng, t0 / RATE))
        t0 += n
    x = np.vstack(rows)
    with open(path, "w") as f:
        f.write("# gaitway-trace 1\n# rate_hz: 50\n# source: synthetic (tests/integration/synth.py)\n")
        f.write("\n".join(meta) + "\n")
        f.write("time[s],acc_x[g],acc_y[g],acc_z[g],gyro_x[rad/s],gyro_y[rad/s],gyro_z[rad/s]\n")
        for i, r in enumerate(x):
            f.write("%.2f,%s\n" % (i / RATE, ",".join("%.5f" % v for v in r)))
    return len(x)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("output")
    p.add_argument("--segments", type=int, default=24)
    p.add_argument("--seconds-per-segment", type=float, default=20.0)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    n = write_trace(a.output, a.segments, a.seconds_per_segment, a.seed)
    print("%s: %d samples" % (a.output, n))


if __name__ == "__main__":
    main()
