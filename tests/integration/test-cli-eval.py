#!/usr/bin/python3
"""`gaitway eval`: the real tool on a committed test model, with windows and
traces written to a temporary directory.  Its figures are checked against
`gaitway infer` (the same engines, one prediction per window) and against
window arithmetic on traces.  Usage: test-cli-eval.py GAITWAY MODELDIR

Prints `gaitway-test: cli-eval: N passed, N failed` (scripts/test-summary)."""

import json
import os
import random
import subprocess
import sys
import tempfile

GAITWAY, MODELS = sys.argv[1], sys.argv[2]
UCI = os.path.join(MODELS, "uci-9x6x128.gwm")
FP32_ONLY = os.path.join(MODELS, "fp32-9x2x64.gwm")
CLASSES = ["WALKING", "WALKING_UPSTAIRS", "WALKING_DOWNSTAIRS", "SITTING", "STANDING", "LAYING"]
T, C = 128, 9
results = []
tmp = tempfile.mkdtemp(prefix="gw-cli-eval-")


def run(*args):
    p = subprocess.run([GAITWAY, *args], capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def check(name, cond, detail=""):
    results.append(bool(cond))
    print(("ok     " if cond else "FAILED ") + name + ("" if cond else ": " + str(detail)))


def write(name, text):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def macro_f1(truth, pred, k):
    """scikit-learn's f1_score(average='macro') over the labels present."""
    f1 = []
    for c in range(k):
        tp = sum(1 for a, b in zip(truth, pred) if a == c and b == c)
        sup = truth.count(c)
        npred = pred.count(c)
        if sup or npred:
            f1.append(2.0 * tp / (sup + npred))
    return sum(f1) / len(f1)


def random_windows(n, seed):
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        vals = []
        for t in range(T):
            for c in range(C):
                scale = 0.3 if c < 3 else (1.0 if c < 6 else 0.5)
                vals.append("%.6g" % rng.gauss(0.0, scale))
        rows.append(",".join(vals))
    return rows


def trace(name, n, value, rate=50.0):
    lines = ["# gaitway-trace 1", "# rate_hz: %g" % rate,
             "time[s],acc_x[g],acc_y[g],acc_z[g],gyro_x[rad/s],gyro_y[rad/s],gyro_z[rad/s]"]
    for i in range(n):
        lines.append("%.2f,%s" % (i / rate, ",".join("%g" % v for v in value)))
    return write(name, "\n".join(lines) + "\n")


def test_windows_match_infer():
    rows = random_windows(40, 1)
    rng = random.Random(2)
    truth = [rng.randrange(6) for _ in rows]
    x = write("x.csv", "# forty random windows\n" + "\n".join(rows) + "\n")
    # labels as names and as indices, with a comment and a blank line
    y = write("y.txt", "# truth\n" + "\n".join(CLASSES[t] if i % 2 else str(t)
                                                for i, t in enumerate(truth)) + "\n\n")
    rc, out, err = run("eval", UCI, "--windows", x, "--labels", y, "--json")
    check("windows: exit 0", rc == 0, err)
    d = json.loads(out)
    check("windows: counts", d["windows"] == 40 and d["unscored"] == 0, (d["windows"], d["unscored"]))
    check("windows: both engines", set(d["engines"]) == {"fp32", "int8"}, list(d["engines"]))
    preds = {}
    for eng, flag in (("fp32", ["--fp32"]), ("int8", [])):
        rc, out2, err = run("infer", UCI, "--windows", x, *flag)
        pred = [CLASSES.index(s) for s in out2.split()]
        preds[eng] = pred
        e = d["engines"][eng]
        want = [[0] * 6 for _ in range(6)]
        for a, b in zip(truth, pred):
            want[a][b] += 1
        check("windows %s: confusion equals infer's predictions" % eng, e["confusion"] == want,
              (e["confusion"], want))
        check("windows %s: macro-F1 as scikit-learn" % eng,
              abs(e["macro_f1"] - macro_f1(truth, pred, 6)) < 1e-6, (e["macro_f1"], macro_f1(truth, pred, 6)))
        acc = sum(a == b for a, b in zip(truth, pred)) / len(truth)
        check("windows %s: accuracy" % eng, abs(e["accuracy"] - acc) < 1e-6, (e["accuracy"], acc))
        sup = [truth.count(c) for c in range(6)]
        check("windows %s: per-class support" % eng, [c["support"] for c in e["classes"]] == sup)
        c0 = e["classes"][0]
        tp = want[0][0]
        npred = sum(want[r][0] for r in range(6))
        check("windows %s: per-class precision and recall" % eng,
              abs(c0["precision"] - (tp / npred if npred else 0)) < 1e-6 and
              abs(c0["recall"] - (tp / sup[0] if sup[0] else 0)) < 1e-6, c0)
    agree = sum(a == b for a, b in zip(preds["fp32"], preds["int8"])) / 40
    check("windows: agreement of the engines", abs(d["agreement"] - agree) < 1e-6,
          (d["agreement"], agree))

    rc, out, err = run("eval", UCI, "--windows", x, "--labels", y)
    check("windows: text table names every class and both engines",
          rc == 0 and all(c in out for c in CLASSES) and "FP32: macro-F1" in out and
          "INT8: macro-F1" in out and "agree on" in out, out[:300])
    rc, out, err = run("eval", UCI, "--windows", x, "--labels", y, "--int8", "--json")
    check("windows: --int8 runs one engine", rc == 0 and list(json.loads(out)["engines"]) == ["int8"]
          and "agreement" not in json.loads(out), out[:200])
    rc, out, err = run("eval", FP32_ONLY, "--windows", write("x64.csv", ""), "--labels",
                       write("y64.txt", ""), "--json")
    check("windows: an FP32-only model is scored with FP32 only (empty input: 0 windows)",
          rc == 0 and list(json.loads(out)["engines"]) == ["fp32"] and json.loads(out)["windows"] == 0,
          (rc, out, err))


def test_windows_errors_name_the_line():
    rows = random_windows(3, 3)
    x = write("x3.csv", "\n".join(rows) + "\n")
    rc, out, err = run("eval", UCI, "--windows", x, "--labels", write("bad.txt", "WALKING\nJOGGING\nLAYING\n"))
    check("unknown class: exit 1 naming file and line", rc == 1 and "bad.txt:2" in err and "JOGGING" in err, err)
    rc, out, err = run("eval", UCI, "--windows", x, "--labels", write("six.txt", "6\n0\n0\n"))
    check("class index out of range: exit 1", rc == 1 and "six.txt:1" in err, err)
    rc, out, err = run("eval", UCI, "--windows", x, "--labels", write("two.txt", "0\n1\n"))
    check("fewer labels than windows: exit 1", rc == 1 and "more rows" in err, err)
    short = write("short.csv", rows[0] + "\n" + ",".join(rows[1].split(",")[:-1]) + "\n")
    rc, out, err = run("eval", UCI, "--windows", short, "--labels", write("y2.txt", "0\n1\n"))
    check("short row: exit 1 naming line and count", rc == 1 and "short.csv:2" in err and "1151 values" in err, err)
    bad = rows[0].split(",")
    bad[10] = "nan"
    rc, out, err = run("eval", UCI, "--windows", write("nan.csv", ",".join(bad) + "\n"),
                       "--labels", write("y1.txt", "0\n"))
    check("non-finite value: exit 1 naming the column", rc == 1 and "nan.csv:1" in err and "column 11" in err, err)
    rc, out, err = run("eval", UCI, "--windows", "/nonexistent/x.csv", "--labels", write("y0.txt", ""))
    check("missing file: exit 1 naming it", rc == 1 and "/nonexistent/x.csv" in err, err)


def test_trace_scores_windows_by_label_cover():
    n = 128 + 64 * 9            # exactly 10 windows at hop 64
    value = (0.05, -0.98, 0.12, 0.01, -0.02, 0.03)
    tr = trace("flat.csv", n, value)
    full = write("full.csv", "0,%g,WALKING\n" % (n / 50.0))
    rc, out, err = run("eval", UCI, "--trace", tr, "--labels", full, "--json")
    check("trace: exit 0", rc == 0, err)
    d = json.loads(out)
    check("trace: 10 windows scored against the covering label",
          d["windows"] == 10 and d["unscored"] == 0 and
          sum(d["engines"]["int8"]["confusion"][0]) == 10, (d["windows"], d["unscored"]))
    row = d["engines"]["int8"]["confusion"][0]
    check("trace: a constant signal gives one prediction for every window",
          max(row) == 10, row)

    # The first 3.0 s are a transition (not a class); then SITTING.  Windows
    # start every 1.28 s and last 2.56 s: windows 0 and 1 are mostly in the
    # transition (unscored), window 2 (2.56-5.12 s) mostly SITTING.
    segs = write("segs.csv", "# start,end,class\n0,3.0,STAND_TO_SIT\n3.0,%g,SITTING\n" % (n / 50.0))
    rc, out, err = run("eval", UCI, "--trace", tr, "--labels", segs, "--json")
    d = json.loads(out)
    check("trace: labels that are not classes leave windows unscored",
          rc == 0 and d["windows"] == 8 and d["unscored"] == 2 and
          sum(d["engines"]["fp32"]["confusion"][3]) == 8, (rc, d.get("windows"), d.get("unscored"), err))
    gap = write("gap.csv", "0,5.0,SITTING\n")
    rc, out, err = run("eval", UCI, "--trace", tr, "--labels", gap, "--json")
    d = json.loads(out)
    # window k covers [1.28 k, 1.28 k + 2.56): covered at least half by [0, 5) for k <= 2
    check("trace: unlabelled time leaves windows unscored", rc == 0 and d["windows"] == 3 and d["unscored"] == 7,
          (d.get("windows"), d.get("unscored")))
    rc, out, err = run("eval", UCI, "--trace", tr, "--labels", gap, "--min-cover", "1", "--json")
    d = json.loads(out)
    check("trace: --min-cover 1 keeps only windows inside one label", rc == 0 and d["windows"] == 2,
          d.get("windows"))
    rc, out, err = run("eval", UCI, "--trace", tr, "--labels", full, "--trace", tr, "--labels", segs,
                       "--hop", "32", "--json")
    d = json.loads(out)
    check("trace: several traces add up, --hop sets the window step",
          rc == 0 and d["windows"] + d["unscored"] == 2 * 19, (rc, d.get("windows"), d.get("unscored"), err))


def test_trace_errors():
    tr = trace("flat2.csv", 300, (0, 0, 1, 0, 0, 0))
    rc, out, err = run("eval", UCI, "--trace", tr, "--labels", write("l1.csv", "0,2,WALKING\n2,1,SITTING\n"))
    check("segment ending before it starts: exit 1 naming line", rc == 1 and "l1.csv:2" in err, err)
    rc, out, err = run("eval", UCI, "--trace", tr, "--labels", write("l2.csv", "0,2\n"))
    check("segment with two fields: exit 1 naming line", rc == 1 and "l2.csv:1" in err, err)
    rc, out, err = run("eval", UCI, "--trace", tr, "--labels", write("l3.csv", "0,x,WALKING\n"))
    check("segment time not a number: exit 1", rc == 1 and "l3.csv:1" in err, err)
    one = write("one.csv", "# gaitway-trace 1\n# rate_hz: 50\ntime[s],acc_x[g]\n0,1\n")
    rc, out, err = run("eval", UCI, "--trace", one, "--labels", write("l4.csv", "0,1,WALKING\n"))
    check("trace lacking the model's inputs: exit 1 naming the channel", rc == 1 and "acc_y" in err, err)
    bad = write("badrow.csv", "# gaitway-trace 1\n# rate_hz: 50\n"
                "time[s],acc_x[g],acc_y[g],acc_z[g],gyro_x[rad/s],gyro_y[rad/s],gyro_z[rad/s]\n"
                "0,0,0,1,0,0,0\n0.02,0,0,1,0,zero,0\n")
    rc, out, err = run("eval", UCI, "--trace", bad, "--labels", write("l5.csv", "0,1,WALKING\n"))
    check("bad trace row: exit 1 naming file and line", rc == 1 and "badrow.csv:5" in err, err)


def test_usage():
    rc, out, err = run("eval", "--help")
    check("--help: exit 0 on stdout", rc == 0 and "gaitway eval MODEL" in out and err == "")
    x = write("u.csv", "")
    for args in (("eval",), ("eval", UCI), ("eval", UCI, "--windows", x),
                 ("eval", UCI, "--windows", x, "--labels", x, "--trace", x, "--labels", x),
                 ("eval", UCI, "--trace", x), ("eval", UCI, "--labels", x),
                 ("eval", UCI, "--windows", x, "--labels", x, "--fp32", "--int8"),
                 ("eval", UCI, "--windows", x, "--labels", x, "--hop", "4"),
                 ("eval", UCI, "--trace", x, "--labels", x, "--hop", "0"),
                 ("eval", UCI, "--trace", x, "--labels", x, "--min-cover", "0.2"),
                 ("eval", UCI, "--windows", x, "--labels", x, "--yaml")):
        rc, out, err = run(*args)
        check("usage error %s: exit 2" % " ".join(a if a not in (UCI, x) else "F" for a in args[1:]),
              rc == 2 and err and out == "", (rc, err))
    rc, out, err = run("--help")
    check("gaitway --help lists eval", rc == 0 and "eval" in out)


for t in (test_windows_match_infer, test_windows_errors_name_the_line,
          test_trace_scores_windows_by_label_cover, test_trace_errors, test_usage):
    try:
        t()
    except Exception as e:  # a crash in one test is one failure, not the end of the run
        check(t.__name__, False, repr(e))

print("gaitway-test: cli-eval: %d passed, %d failed" % (results.count(True), results.count(False)))
sys.exit(0 if all(results) else 1)
