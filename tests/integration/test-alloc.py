#!/usr/bin/python3
"""gaitwayd allocates nothing per sample or per window: the same replay
three times as long (same header, the data rows repeated with later times)
makes exactly as many allocator calls, counted by an LD_PRELOAD shim
(alloc/alloc-count.c) over the whole process, libraries included.

    test-alloc.py BUILD_ROOT SHIM.so

- both models on a varied trace (activities and freezes), no sinks: the
  pipeline alone (source, front end, windows, engines, decisions, events);
- both models with MQTT publishing to a real mosquitto, on a still wearable
  (no activity change after the first, no freeze): thousands of windows
  more and not one allocation more.  What does allocate is publishing an
  event (the JSON payload and libmosquitto's packet), once per event.

Prints `gaitway-test: alloc: N passed, N failed`."""

import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from gwtest import PYTHON, Context, Mosquitto  # noqa: E402

BUILD, SHIM = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
results = []


def check(name, cond, detail=""):
    results.append(bool(cond))
    print(("ok     " if cond else "FAILED ") + name + ("" if cond else ": " + str(detail)[:2000]))


def split(path):
    with open(path) as f:
        lines = f.read().splitlines()
    head = [l for l in lines if not (l[:1].isdigit() or l[:1] == "-")]
    rows = [l for l in lines if l[:1].isdigit() or l[:1] == "-"]
    return head, rows


def write(path, head, rows):
    with open(path, "w") as f:
        f.write("\n".join(head + rows) + "\n")


def tripled(head, rows):
    period = float(rows[1].split(",")[0]) - float(rows[0].split(",")[0])
    span = float(rows[-1].split(",")[0]) - float(rows[0].split(",")[0]) + period
    out = list(rows)
    for k in (1, 2):
        for r in rows:
            f = r.split(",")
            f[0] = "%.2f" % (float(f[0]) + k * span)
            out.append(",".join(f))
    return out


def config(ctx, trace, broker):
    lines = ["[gateway]", "id = alloc", "activity_model = %s/activity.gwm" % ctx.models,
             "fog_model = %s/fog.gwm" % ctx.models, "log_events = no", "[mqtt]"]
    lines += ["host = 127.0.0.1", "port = %d" % broker.port] if broker else ["enabled = no"]
    lines += ["[dbus]", "bus = none", "[device w]", "source = replay", "path = " + trace,
              "speed = max"]
    return "\n".join(lines) + "\n"


def count(ctx, work, trace, broker, tag):
    conf = os.path.join(work, tag + ".conf")
    out = os.path.join(work, tag + ".count")
    with open(conf, "w") as f:
        f.write(config(ctx, trace, broker))
    env = dict(os.environ, LD_PRELOAD=SHIM, GW_ALLOC_COUNT_OUT=out)
    env.pop("ASAN_OPTIONS", None)
    p = subprocess.run([ctx.gaitwayd, "--config", conf, "--exit-when-done", "-v"], env=env,
                       capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise RuntimeError("gaitwayd exited %d: %s" % (p.returncode, p.stderr[-1500:]))
    with open(out) as f:
        counts = dict(line.split() for line in f)
    samples = [l for l in p.stderr.splitlines() if "end of stream after" in l]
    return int(counts["allocs"]), int(counts["frees"]), samples


def main():
    ctx = Context(BUILD)
    work = tempfile.mkdtemp(prefix="gw-alloc-")
    head, rows = split(ctx.trace())

    one = os.path.join(work, "varied.csv")
    three = os.path.join(work, "varied-x3.csv")
    write(one, head, rows)
    write(three, head, tripled(head, rows))
    a1, f1, s1 = count(ctx, work, one, None, "varied")
    a3, f3, s3 = count(ctx, work, three, None, "varied-x3")
    print("# varied trace, no sinks: %d allocations for %d samples, %d for %d" %
          (a1, len(rows), a3, 3 * len(rows)))
    check("the whole trace was replayed both times",
          str(len(rows)) in "".join(s1) and str(3 * len(rows)) in "".join(s3), (s1, s3))
    check("pipeline: three times the samples and windows, not one allocation more", a1 == a3,
          (a1, a3))
    check("pipeline: as many frees as well", f1 == f3, (f1, f3))

    still = ["%.2f,0.01,-0.02,0.98,0.001,0.002,-0.001" % (i * 0.02) for i in range(len(rows))]
    one = os.path.join(work, "still.csv")
    three = os.path.join(work, "still-x3.csv")
    write(one, head, still)
    write(three, head, tripled(head, still))
    broker = Mosquitto(work).start()
    try:
        a1, f1, _ = count(ctx, work, one, broker, "still")
        a3, f3, _ = count(ctx, work, three, broker, "still-x3")
    finally:
        broker.stop()
    print("# still wearable, MQTT publishing: %d allocations for %d samples, %d for %d" %
          (a1, len(still), a3, 3 * len(still)))
    check("MQTT publishing: three times the windows, not one allocation more", a1 == a3, (a1, a3))


try:
    main()
except Exception as e:  # a crash is a failure, not a skip
    check("the test ran", False, repr(e))
print("gaitway-test: alloc: %d passed, %d failed" % (results.count(True), results.count(False)))
sys.exit(0 if results and all(results) else 1)
