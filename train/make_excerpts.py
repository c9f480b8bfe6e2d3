#!/usr/bin/python3
"""Cuts the committed data excerpts and records the shipped models' figures
on them.

    /usr/bin/python3 train/make_excerpts.py [--data DIR] cut        # write the excerpts
    /usr/bin/python3 train/make_excerpts.py [--data DIR] expected   # score models/*.gwm on them

`cut` writes, from ../shared/data (never committed whole):
  models/sample/hapt-user09.csv (+ .labels.csv): 204 s of HAPT test subject 9
      (experiment 17) with all six activities and the postural transitions,
      in the gaitway trace format, for the demo, `gaitway replay` and the
      streaming regression test;
  tests/data/models/uci-official-windows.csv (+ -labels.txt): 7 official
      UCI-HAR test windows per class, as published (5 significant digits);
  tests/data/models/motionsense-test.csv (+ .labels.csv): 20 s of one trial
      per activity of the MotionSense test subjects, rebuilt into the raw
      accelerometer (IIO sign) and gyroscope, trials separated by 10 s gaps;
  models/sample/daphnet-S02R02.csv (+ .labels.csv): 2 minutes of
      Daphnet S02R02 with freezes, in mg as recorded, for the demo and the
      freeze-of-gait regression test.
`expected` runs `gaitway eval --json` with the shipped models on them and
writes tests/data/models/expected.json, the figures the regression test
(tests/integration/test-shipped-models.py) must reproduce within 1 point."""

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402

from gaitway import data_daphnet, data_hapt, data_motionsense, evaluate  # noqa: E402

ROOT = os.path.dirname(HERE)
OUT = os.path.join(ROOT, "tests", "data", "models")
SAMPLE = os.path.join(ROOT, "models", "sample")
HAPT_NAMES = {1: "WALKING", 2: "WALKING_UPSTAIRS", 3: "WALKING_DOWNSTAIRS", 4: "SITTING",
              5: "STANDING", 6: "LAYING", 7: "STAND_TO_SIT", 8: "SIT_TO_STAND",
              9: "SIT_TO_LIE", 10: "LIE_TO_SIT", 11: "STAND_TO_LIE", 12: "LIE_TO_STAND"}

HAPT_CITE = ("J.-L. Reyes-Ortiz, L. Oneto, A. Sama, X. Parra, D. Anguita, Transition-Aware Human "
             "Activity Recognition Using Smartphones, Neurocomputing 171:754-767, 2016 (HAPT, "
             "UCI ML repository #341)")

# The excerpts, as used by the regression test: model, eval arguments.
EXCERPTS = {
    "activity-ucihar": {
        "uci-official-windows": ["--windows", "tests/data/models/uci-official-windows.csv",
                                 "--labels", "tests/data/models/uci-official-windows-labels.txt"],
        "hapt-user09-stream": ["--trace", "models/sample/hapt-user09.csv",
                               "--labels", "models/sample/hapt-user09.labels.csv"],
    },
    "activity-pocket": {
        "motionsense-test": ["--trace", "tests/data/models/motionsense-test.csv",
                             "--labels", "tests/data/models/motionsense-test.labels.csv"],
    },
    "fog-daphnet": {
        "daphnet-S02R02": ["--trace", "models/sample/daphnet-S02R02.csv",
                           "--labels", "models/sample/daphnet-S02R02.labels.csv",
                           "--min-cover", "0.7"],
    },
}


def fmt_time(t_ns):
    sec, ns = divmod(int(t_ns), 1_000_000_000)
    return ("%d.%09d" % (sec, ns)).rstrip("0").rstrip(".")


def write_trace(path, t_ns, values, names, units, rate, meta, fmt="%.6g"):
    with open(path, "w") as f:
        f.write("# gaitway-trace 1\n# rate_hz: %s\n" % ("%g" % rate))
        for k, v in meta:
            f.write("# %s: %s\n" % (k, v))
        f.write("time[s]," + ",".join("%s[%s]" % (n, u) for n, u in zip(names, units)) + "\n")
        for t, row in zip(t_ns, values):
            f.write(fmt_time(t) + "," + ",".join(fmt % v for v in row) + "\n")


def cut_hapt_sample(data):
    rec = [r for r in data_hapt.load_recordings(data, users=[9]) if r.exp == 17][0]
    a, b = 2200, 12400
    t = (np.arange(b - a, dtype=np.int64) * 20_000_000)
    os.makedirs(SAMPLE, exist_ok=True)
    write_trace(os.path.join(SAMPLE, "hapt-user09.csv"), t, rec.raw[a:b].astype(np.float32),
                data_hapt.RAW_NAMES, data_hapt.RAW_UNITS, 50.0,
                [("device", "Samsung Galaxy S II on the waist"),
                 ("source", "HAPT RawData acc_exp17_user09.txt, gyro_exp17_user09.txt, "
                            "samples %d-%d" % (a, b - 1)),
                 ("license", "CC-BY-4.0"),
                 ("attribution", HAPT_CITE)])
    with open(os.path.join(SAMPLE, "hapt-user09.labels.csv"), "w") as f:
        f.write("# start[s],end[s],activity: HAPT RawData/labels.txt, experiment 17, user 9, "
                "on this trace's clock\n")
        for act, first, last in rec.segments:
            lo, hi = max(first, a), min(last + 1, b)
            if hi > lo:
                f.write("%g,%g,%s\n" % ((lo - a) / 50.0, (hi - a) / 50.0, HAPT_NAMES[act]))


def cut_uci_windows(data):
    x, y, s = data_hapt.uci_official_test_windows(data)
    pick = []
    for c in range(6):
        idx = np.where(y == c)[0]
        pick += idx[np.linspace(0, len(idx) - 1, 7).round().astype(int)].tolist()
    pick.sort()
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "uci-official-windows.csv"), "w") as f:
        f.write("# UCI-HAR official test windows (rows of y_test.txt: %s), 128 x 9 time-major in "
                "the order body_acc xyz, body_gyro xyz, total_acc xyz; 5 significant digits as "
                "in the published re-export\n" % " ".join(str(i + 1) for i in pick))
        for i in pick:
            f.write(",".join("%.5g" % v for v in x[i].reshape(-1)) + "\n")
    with open(os.path.join(OUT, "uci-official-windows-labels.txt"), "w") as f:
        for i in pick:
            f.write(data_hapt.CLASSES[y[i]] + "\n")


def cut_motionsense(data):
    _, test = data_motionsense.paper_split(data_motionsense.subjects(data))
    trials = {(t.activity, t.subject): t for t in
              data_motionsense.load_trials(data, subs=test)}
    # one long trial per activity, each from another test subject
    plan = [("dws", 1, 5), ("ups", 3, 6), ("wlk", 7, 7), ("jog", 9, 8), ("sit", 5, 9),
            ("std", 6, 5)]
    rows_t, rows_v, labels = [], [], []
    t0 = 0
    n = 1000                       # 20 s at 50 Hz
    for act, trial, subj in plan:
        tr = [t for t in data_motionsense.load_trials(data, subs=[subj])
              if t.activity == act and t.trial == trial][0]
        start = 500 if len(tr.raw) > 1500 + n else 0   # skip the first 10 s (putting the phone away)
        seg = tr.raw[start:start + n]
        t = t0 + np.arange(len(seg), dtype=np.int64) * 20_000_000
        rows_t.append(t)
        rows_v.append(seg)
        labels.append((t[0] / 1e9, (t[-1] + 20_000_000) / 1e9,
                       data_motionsense.CLASSES[tr.label], act, trial, subj, start))
        t0 = int(t[-1]) + 10_000_000_000
    write_trace(os.path.join(OUT, "motionsense-test.csv"), np.concatenate(rows_t),
                np.concatenate(rows_v).astype(np.float32), data_motionsense.RAW_NAMES,
                data_motionsense.RAW_UNITS, 50.0,
                [("device", "iPhone 6s in the front trouser pocket"),
                 ("source", "MotionSense A_DeviceMotion_data, rebuilt as acc = -(gravity + "
                            "userAcceleration), gyro = rotationRate; trials in labels file"),
                 ("license", "MIT (MotionSense, (c) 2018 Mohammad Malekzadeh)"),
                 ("attribution", "M. Malekzadeh, R. G. Clegg, A. Cavallaro, H. Haddadi, Mobile "
                                 "Sensor Data Anonymization, IoTDI 2019")])
    with open(os.path.join(OUT, "motionsense-test.labels.csv"), "w") as f:
        f.write("# start[s],end[s],activity (MotionSense trial, subject, first sample used)\n")
        for a, b, c, act, trial, subj, start in labels:
            f.write("# %s_%d/sub_%d.csv from sample %d\n%g,%g,%s\n" % (act, trial, subj, start,
                                                                        a, b, c))


def cut_daphnet(data):
    rec = [r for r in data_daphnet.load_recordings(data) if r.name == "S02R02"][0]
    # two minutes around the densest freezing
    fr = (rec.label == 2).astype(float)
    n = int(120 * 64)
    dens = np.convolve(fr, np.ones(n), "valid")
    a = int(np.argmax(dens))
    b = a + n
    t = rec.t_ns[a:b] - rec.t_ns[a]
    raw = rec.raw[a:b]
    with open(os.path.join(SAMPLE, "daphnet-S02R02.csv"), "w") as f:
        f.write("# gaitway-trace 1\n# rate_hz: 64\n")
        f.write("# device: Daphnet wearable, accelerometers at the ankle, thigh and trunk\n")
        f.write("# source: Daphnet dataset/S02R02.txt, rows %d-%d, time from the ms column\n"
                % (a + 1, b))
        f.write("# license: CC-BY-4.0\n# attribution: M. Baechlin et al., Wearable Assistant "
                "for Parkinson's Disease Patients With the Freezing of Gait Symptom, IEEE TITB "
                "14(2):436-446, 2010\n")
        f.write("time[s]," + ",".join("%s[mg]" % n_ for n_ in data_daphnet.RAW_NAMES) + "\n")
        for tt, row in zip(t, raw):
            f.write(fmt_time(tt) + "," + ",".join("%d" % v for v in row) + "\n")
    lab = rec.label[a:b]
    with open(os.path.join(SAMPLE, "daphnet-S02R02.labels.csv"), "w") as f:
        f.write("# start[s],end[s],class: Daphnet labels 1 (NO_FREEZE) and 2 (FREEZE); label 0 "
                "(not part of the experiment) is left out\n")
        k = 0
        while k < len(lab):
            j = k
            while j < len(lab) and lab[j] == lab[k]:
                j += 1
            if lab[k] in (1, 2):
                end = t[j] if j < len(t) else t[-1] + 15_625_000
                f.write("%s,%s,%s\n" % (fmt_time(t[k]), fmt_time(end),
                                        data_daphnet.CLASSES[lab[k] - 1]))
            k = j


def cut(data):
    cut_hapt_sample(data)
    cut_uci_windows(data)
    cut_motionsense(data)
    cut_daphnet(data)
    for d in (SAMPLE, OUT):
        for n in sorted(os.listdir(d)):
            print("%8d %s" % (os.path.getsize(os.path.join(d, n)), os.path.join(d, n)))


def expected():
    out = {}
    for model, ex in EXCERPTS.items():
        path = os.path.join(ROOT, "models", model + ".gwm")
        out[model] = {}
        for name, args in ex.items():
            args = [os.path.join(ROOT, a) if a.startswith(("tests/", "models/")) else a
                    for a in args]
            r = evaluate.gaitway_eval(path, args)
            out[model][name] = {
                "windows": r["windows"], "unscored": r["unscored"],
                "int8_macro_f1": r["engines"]["int8"]["macro_f1"],
                "int8_accuracy": r["engines"]["int8"]["accuracy"],
                "fp32_macro_f1": r["engines"]["fp32"]["macro_f1"],
                "agreement": r.get("agreement")}
            print("%-16s %-22s %4d windows: INT8 macro-F1 %.4f, FP32 %.4f, agreement %.4f" % (
                model, name, r["windows"], out[model][name]["int8_macro_f1"],
                out[model][name]["fp32_macro_f1"], out[model][name]["agreement"]))
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump({"excerpts": EXCERPTS, "figures": out, "tolerance": 0.01}, f, indent=1)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("command", choices=["cut", "expected"])
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data"))
    args = ap.parse_args()
    if args.command == "cut":
        cut(args.data)
    else:
        expected()


if __name__ == "__main__":
    main()
