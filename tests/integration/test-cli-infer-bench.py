#!/usr/bin/python3
"""`gaitway infer` and `gaitway bench`: the real tool on the golden vectors of
train/golden.py (tests/data/golden).  Usage: test-cli-infer-bench.py GAITWAY GOLDENDIR

- infer prints, per window, the class of the argmax of the golden logits (the
  integer reference's INT8 logits; PyTorch's FP32 logits with --fp32), on
  every INT8 path the CPU supports (GW_ENGINE_ISA);
- a bad row is reported with its line and column, exit 1, the rows before it
  printed;
- bench --json has the documented keys, one object per engine.

Prints `gaitway-test: cli-infer-bench: N passed, N failed` (scripts/test-summary)."""

import json
import os
import struct
import subprocess
import sys
import tempfile

GAITWAY, GOLDEN = sys.argv[1], sys.argv[2]
results = []


def run(*args, env=None, stdin=None):
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run([GAITWAY, *args], capture_output=True, text=True, timeout=120, env=e,
                       input=stdin)
    return p.returncode, p.stdout, p.stderr


def check(name, cond, detail=""):
    results.append(bool(cond))
    print(("ok     " if cond else "FAILED ") + name + ("" if cond else ": " + str(detail)[:2000]))


def manifest():
    shapes = {}
    with open(os.path.join(GOLDEN, "manifest.txt")) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            name, *nums = line.split()
            n, C, K, T, F, k, H, lsb = map(int, nums)
            shapes[name] = dict(n=n, C=C, K=K, T=T, lsb=lsb)
    return shapes


def read_array(name, fmt, count):
    with open(os.path.join(GOLDEN, name), "rb") as f:
        data = f.read()
    size = struct.calcsize("<" + fmt)
    assert len(data) == size * count, (name, len(data), size * count)
    return list(struct.unpack("<%d%s" % (count, fmt), data))


def argmax(row):
    best = 0
    for i, v in enumerate(row):
        if v > row[best]:
            best = i
    return best


def class_names(model):
    rc, out, err = run("model", "info", model, "--json")
    assert rc == 0, err
    return json.loads(out)["classes"]


def windows_csv(shape, name, path):
    """The golden windows as rows of T x C numbers (count * 2^-lsb, exact in
    float32 and printed exactly)."""
    n, C, T = shape["n"], shape["C"], shape["T"]
    counts = read_array(name + ".x.i16", "h", n * T * C)
    scale = 2.0 ** -shape["lsb"]
    with open(path, "w") as f:
        f.write("# golden windows of %s\n" % name)
        for w in range(n):
            row = counts[w * T * C:(w + 1) * T * C]
            f.write(",".join(repr(c * scale) for c in row) + "\n")


def supported_isas(model):
    isas = []
    for isa in ("c", "sse41", "avx2", "neon"):
        rc, out, _ = run("bench", model, "--windows", "1", "--engine", "int8", "--json",
                         env={"GW_ENGINE_ISA": isa})
        if rc == 0 and json.loads(out)["int8"]["isa"] == isa:
            isas.append(isa)
    return isas


def test_infer_prints_the_golden_argmax(work):
    shapes = manifest()
    for name in ("uci-har", "ragged", "odd"):
        s = shapes[name]
        model = os.path.join(GOLDEN, name + ".gwm")
        names = class_names(model)
        x = os.path.join(work, name + ".csv")
        windows_csv(s, name, x)
        q = read_array(name + ".int8.i32", "i", s["n"] * s["K"])
        want_q = [names[argmax(q[w * s["K"]:(w + 1) * s["K"]])] for w in range(s["n"])]
        isas = supported_isas(model)
        check("%s: at least the C path runs" % name, "c" in isas, isas)
        for isa in isas:
            rc, out, err = run("infer", model, "--windows", x, env={"GW_ENGINE_ISA": isa})
            got = out.split()
            check("%s [%s]: infer exits 0" % (name, isa), rc == 0, err)
            check("%s [%s]: one class per window, the argmax of the reference's INT8 logits"
                  % (name, isa), got == want_q,
                  [(i, a, b) for i, (a, b) in enumerate(zip(got, want_q)) if a != b][:5] or
                  (len(got), len(want_q)))
        f = read_array(name + ".fp32.f32", "f", s["n"] * s["K"])
        want_f = [names[argmax(f[w * s["K"]:(w + 1) * s["K"]])] for w in range(s["n"])]
        rc, out, err = run("infer", model, "--windows", x, "--fp32")
        check("%s: --fp32 gives the argmax of PyTorch's logits" % name,
              rc == 0 and out.split() == want_f, (rc, err, out.split()[:5], want_f[:5]))


def test_infer_reads_stdin(work):
    shapes = manifest()
    s = shapes["odd"]
    model = os.path.join(GOLDEN, "odd.gwm")
    x = os.path.join(work, "odd-stdin.csv")
    windows_csv(s, "odd", x)
    with open(x) as f:
        text = f.read()
    rc1, out1, _ = run("infer", model, "--windows", x)
    rc2, out2, err = run("infer", model, "--windows", "-", stdin=text)
    check("infer --windows - reads stdin like a file", rc1 == rc2 == 0 and out1 == out2, err)


def test_bad_row_names_line_and_column(work):
    shapes = manifest()
    s = shapes["odd"]
    model = os.path.join(GOLDEN, "odd.gwm")
    x = os.path.join(work, "odd-good.csv")
    windows_csv(s, "odd", x)
    with open(x) as f:
        lines = f.read().splitlines()
    # line 1 is the comment: rows are lines 2.., so the third row is line 4
    fields = lines[3].split(",")
    fields[2] = "1.5x"
    lines[3] = ",".join(fields)
    bad = os.path.join(work, "odd-bad.csv")
    with open(bad, "w") as f:
        f.write("\n".join(lines) + "\n")
    rc, out, err = run("infer", model, "--windows", bad)
    check("bad value: exit 1", rc == 1, (rc, err))
    check("bad value: the message names the file, line 4 and column 3",
          bad + ":4: column 3" in err and '"1.5x"' in err, err)
    check("bad value: the two rows before it were printed", len(out.split()) == 2, out)

    short = os.path.join(work, "odd-short.csv")
    lines2 = list(lines)
    lines2[2] = ",".join(lines2[2].split(",")[:-1])
    with open(short, "w") as f:
        f.write("\n".join(lines2) + "\n")
    rc, out, err = run("infer", model, "--windows", short)
    check("short row: exit 1 naming line 3", rc == 1 and short + ":3:" in err, (rc, err))


def test_bench_json_has_the_documented_keys(work):
    model = os.path.join(GOLDEN, "uci-har.gwm")
    rc, out, err = run("bench", model, "--windows", "50", "--json")
    check("bench --json: exit 0", rc == 0, err)
    d = json.loads(out)
    keys = {"median_us", "p99_us", "windows_per_s", "p10_us"}
    check("bench --json: an fp32 and an int8 object", set(d) == {"fp32", "int8"}, d)
    check("bench --json: fp32 has median_us, p99_us, windows_per_s, p10_us",
          set(d.get("fp32", {})) == keys, d.get("fp32"))
    check("bench --json: int8 has the same keys and isa", set(d.get("int8", {})) == keys | {"isa"},
          d.get("int8"))
    ok = all(isinstance(v, (int, float)) and v > 0 for e in d.values() for k, v in e.items()
             if k != "isa")
    check("bench --json: every figure is a positive number", ok, d)
    check("bench --json: p10 <= median <= p99",
          all(e["p10_us"] <= e["median_us"] <= e["p99_us"] for e in d.values()), d)
    check("bench --json: isa names a path", d["int8"]["isa"] in ("avx2", "sse41", "neon", "c"), d)

    rc, out, err = run("bench", model, "--windows", "20", "--json", "--engine", "int8",
                       env={"GW_ENGINE_ISA": "c"})
    d = json.loads(out) if rc == 0 else {}
    check("bench --engine int8 with GW_ENGINE_ISA=c: only int8, on the C path",
          rc == 0 and set(d) == {"int8"} and d["int8"]["isa"] == "c", (rc, err, out))

    rc, out, err = run("bench", os.path.join(GOLDEN, "odd-fp32.gwm"), "--windows", "10", "--json")
    d = json.loads(out) if rc == 0 else {}
    check("bench --json of an FP32-only model has only fp32", rc == 0 and set(d) == {"fp32"},
          (rc, err, out))
    rc, out, err = run("bench", model, "--windows", "0")
    check("bench --windows 0: usage error, exit 2", rc == 2, (rc, err))
    rc, out, err = run("bench", os.path.join(work, "missing.gwm"))
    check("bench of a missing file: exit 1 naming it", rc == 1 and "missing.gwm" in err, (rc, err))


with tempfile.TemporaryDirectory(prefix="gw-infer-bench-") as work:
    for t in (test_infer_prints_the_golden_argmax, test_infer_reads_stdin,
              test_bad_row_names_line_and_column, test_bench_json_has_the_documented_keys):
        try:
            t(work)
        except Exception as e:  # a crash is a failure, not a skip
            check(t.__name__ + " ran", False, repr(e))

print("gaitway-test: cli-infer-bench: %d passed, %d failed" % (results.count(True), results.count(False)))
sys.exit(0 if all(results) and results else 1)
