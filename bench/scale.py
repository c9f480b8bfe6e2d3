#!/usr/bin/python3
"""N simulated wearables streaming into ONE gaitwayd at 50 Hz: CPU share,
sample-to-event latency, RSS and bytes per device.

    /usr/bin/python3 bench/scale.py BUILD_ROOT [--devices 10,100,1000,5000]
                                    [--seconds 20] [--warmup 8] [--probes 8]
                                    [--queue-limit N] [--write]

Source path: the replay source paced in real time (speed = realtime, loop),
one [device] per wearable, each reading its own copy of the trace through
gaitwayd's own file reader and event loop timers, with both test models
(activity 9x6x128 hop 64, freeze of gait 6x2x64 hop 16) per device and the
MQTT sink connected to a mosquitto on loopback.  Why this path: it is the
one of gaitwayd's sources that reaches thousands of devices on one machine
without emulating a radio stack (BlueZ serves a few dozen links and its
D-Bus object tree grows with every device; each libiio network context
parses its own device tree), and it exercises the same loop, pipelines,
engines and sinks as live data.  What it does not measure: the kernel's
socket work per notification of a live source (bench/ble_live.py measures
that for 50 streams).

- CPU: gaitwayd's user + system time over --seconds after --warmup.
- Latency: [mqtt] probabilities = yes makes gaitwayd publish every window;
  a subscriber listens to --probes devices only.  A replay's event times are
  its samples' times anchored at the wall clock of its first sample, so the
  message's time_ms is the moment the window's last sample was due, and
  arrival minus time_ms is sample-to-published-event latency (gaitwayd's
  wait and work, plus the broker hop; 1 ms resolution).  Every device
  publishes its windows (conservative: more work than events only).
- gaitwayd's own part: the `lag` of its stats (every --stats-interval s),
  from a window's last sample being due to its hand-off to the MQTT sink,
  over ALL devices' windows: the median of the intervals' p50 and the
  worst interval's p99 and maximum within the measured seconds.  The end
  to end figure minus this one is the MQTT queue, the broker and the probe.
- The broker's CPU share (mosquitto, one thread) over the same seconds.
- Windows handed over against those due (both models: 50/64 + 50/16 per
  device-second) in the same stats intervals (the lag counts activity and
  freeze events too, a few per cent more): below 100 % gaitwayd falls
  behind.  CPU per device-second divides gaitwayd's CPU by the
  device-seconds it actually handed over (what one more wearable costs,
  whether or not this machine gave gaitwayd the core it needed).
- RSS: VmRSS and VmHWM of gaitwayd; bytes per device from the slope
  between the smallest and each larger N.

All devices start together, so their windows complete at the same
instants: the worst case for latency (bursts of N windows).
"""

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

from gwtest import PYTHON, Context, Mosquitto, stop, wait_for  # noqa: E402

import benchlib  # noqa: E402

MODELS = os.path.join(ROOT, "tests", "data", "daemon")
# Windows per device-second of the two test models at 50 Hz (hops 64 and 16).
WINDOWS_PER_DEVICE_S = 50.0 / 64 + 50.0 / 16


def config(trace, n, broker, stats_interval, queue_limit=0):
    lines = ["[gateway]", "id = scale", "activity_model = %s/activity.gwm" % MODELS,
             "fog_model = %s/fog.gwm" % MODELS, "log_events = no",
             "stats_interval = %g" % stats_interval,
             "[mqtt]", "host = 127.0.0.1", "port = %d" % broker.port, "probabilities = yes"]
    if queue_limit:
        lines.append("queue_limit = %d" % queue_limit)
    lines += ["[dbus]", "bus = none"]
    for i in range(n):
        lines += ["[device w%04d]" % i, "source = replay", "path = " + trace,
                  "speed = realtime", "loop = yes"]
    return "\n".join(lines) + "\n"


def run_one(ctx, work, trace, n, broker, a):
    conf = os.path.join(work, "scale-%d.conf" % n)
    with open(conf, "w") as f:
        f.write(config(trace, n, broker, a.stats_interval, a.queue_limit))
    log = open(os.path.join(work, "scale-%d.log" % n), "w")
    cmd = [ctx.gaitwayd, "--config", conf]
    if a.nice:
        cmd = ["nice", "-n", str(a.nice)] + cmd
    p = subprocess.Popen(cmd, stdout=log, stderr=log)
    probes = min(a.probes, n)
    topics = []
    for i in range(probes):
        topics += ["-t", "gaitway/scale/w%04d/probabilities/#" % (i * n // probes)]
    sub_out = os.path.join(work, "sub-%d.txt" % n)
    topics += ["-t", "gaitway/scale/stats"]
    sub = subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(broker.port), "-F",
                            "%U %t %p"] + topics, stdout=open(sub_out, "w"), stderr=subprocess.DEVNULL)
    try:
        time.sleep(a.warmup)
        if p.poll() is not None:
            raise RuntimeError("gaitwayd exited: see " + log.name)
        t0, c0 = time.monotonic(), benchlib.cpu_seconds(p.pid)
        b0 = benchlib.cpu_seconds(broker.proc.pid)
        wall0 = time.time()
        mark = os.path.getsize(sub_out)
        time.sleep(a.seconds)
        t1, c1 = time.monotonic(), benchlib.cpu_seconds(p.pid)
        b1 = benchlib.cpu_seconds(broker.proc.pid)
        wall1 = time.time()
        rss_kb, hwm_kb = benchlib.memory_kb(p.pid)
    finally:
        stop(sub)
        stop(p)
        log.close()
    lat, lags = [], []
    with open(sub_out) as f:
        f.seek(mark)
        for line in f:
            stamp, _, rest = line.partition(" ")
            topic, _, payload = rest.partition(" ")
            try:
                arrived = float(stamp)
                msg = json.loads(payload)
                if topic.endswith("/stats"):
                    # The intervals that ended within the measured seconds.
                    if wall0 + a.stats_interval <= msg["time_ms"] / 1000.0 <= wall1 and msg["lag"]["events"]:
                        lags.append(msg["lag"])
                else:
                    lat.append(arrived * 1000.0 - msg["time_ms"])
            except (ValueError, KeyError):
                continue
    nan = float("nan")
    due = n * WINDOWS_PER_DEVICE_S * a.stats_interval * len(lags)
    handed = sum(l["events"] for l in lags) / due if due else nan
    cpu_share = (c1 - c0) / (t1 - t0)
    return {"devices": n, "cpu_share": cpu_share, "rss_kb": rss_kb,
            "handed_over": handed,
            "cpu_us_per_device_s": cpu_share * 1e6 / (n * min(handed, 1.0)) if handed == handed and handed else nan,
            "hwm_kb": hwm_kb, "windows": len(lat),
            "p50_ms": benchlib.percentile(lat, 0.5), "p99_ms": benchlib.percentile(lat, 0.99),
            "max_ms": max(lat) if lat else nan,
            "broker_cpu_share": (b1 - b0) / (t1 - t0),
            "own_events": sum(l["events"] for l in lags),
            "own_p50_ms": benchlib.percentile([l["p50_ms"] for l in lags], 0.5) if lags else nan,
            "own_p99_ms": max(l["p99_ms"] for l in lags) if lags else nan,
            "own_max_ms": max(l["max_ms"] for l in lags) if lags else nan}


def report(r):
    L = ["## Scale: N wearables at 50 Hz into one gaitwayd (bench/scale.py)", "",
         "`%s` (%s; %s build; load average %s at the start, %s at the end; gaitwayd at nice %d)."
         % (r["cmd"], r["date"], r["buildtype"], r["load0"], r["load1"], r["nice"]), "",
         "Replay sources paced in real time, both test models per device, MQTT connected with every "
         "window published (%s; probes: %d devices subscribed).  CPU share of one core over %d s after "
         "%d s of warm-up.  End to end: sample due to the probe's receipt of the window, through "
         "the broker.  gaitwayd's own: sample due to hand-off to the MQTT sink, every device's "
         "windows, from its stats every %g s (median of the intervals' p50, worst interval's p99 "
         "and max)." % ("queue_limit %d" % r["queue_limit"] if r["queue_limit"] else "the default queue_limit",
                       r["probes"], r["seconds"], r["warmup"], r["stats_interval"]), "",
         "| wearables | gaitwayd CPU (one core) | windows handed over / due | CPU per device-second "
         "| mosquitto CPU | end to end p50 | p99 | max | windows timed "
         "| gaitwayd's own p50 | p99 | max | windows | VmRSS | VmHWM | bytes per device |",
         "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    base = r["runs"][0]
    for x in r["runs"]:
        per = "-" if x is base else "{:,.0f}".format(
            (x["rss_kb"] - base["rss_kb"]) * 1024.0 / (x["devices"] - base["devices"]))
        L.append("| %d | %.1f %% | %.0f %% | %.0f us | %.1f %% | %.1f ms | %.1f ms | %.1f ms | %d | %.1f ms | %.1f ms "
                 "| %.1f ms | %d | %.1f MB | %.1f MB | %s |" % (
                     x["devices"], 100 * x["cpu_share"], 100 * x["handed_over"], x["cpu_us_per_device_s"],
                     100 * x["broker_cpu_share"], x["p50_ms"],
                     x["p99_ms"], x["max_ms"], x["windows"], x["own_p50_ms"], x["own_p99_ms"],
                     x["own_max_ms"], x["own_events"], x["rss_kb"] / 1024.0, x["hwm_kb"] / 1024.0, per))
    big = r["runs"][-1]
    L += ["", "Target (5000 wearables at 50 Hz on one core, p99 under 10 ms, RSS under 64 MB): "
          "%d wearables: CPU %.0f %% (%.0f %% of the due windows handed over, %.0f us per device-second), "
          "p99 %.1f ms end to end (gaitwayd's own %.1f ms), RSS %.1f MB: %s." % (
              big["devices"], 100 * big["cpu_share"], 100 * big["handed_over"], big["cpu_us_per_device_s"],
              big["p99_ms"], big["own_p99_ms"], big["rss_kb"] / 1024.0,
              "met" if big["devices"] >= 5000 and big["cpu_share"] < 1 and big["p99_ms"] < 10
              and big["rss_kb"] < 65536 else "NOT met")]
    return "\n".join(L)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("build")
    ap.add_argument("--devices", default="10,100,1000,5000")
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--warmup", type=float, default=8)
    ap.add_argument("--probes", type=int, default=8)
    ap.add_argument("--nice", type=int, default=0, help="run gaitwayd at this nice value")
    ap.add_argument("--stats-interval", type=float, default=2,
                    help="gaitwayd's stats_interval: its own lag figures per interval")
    ap.add_argument("--queue-limit", type=int, default=0,
                    help="[mqtt] queue_limit (default: gaitwayd's, 1000 messages): the devices' "
                    "windows complete together, a burst of one per device and model")
    ap.add_argument("--write", action="store_true")
    a = ap.parse_args()

    ctx = Context(os.path.abspath(a.build))
    work = tempfile.mkdtemp(prefix="gw-scale-")
    trace = os.path.join(work, "trace.csv")
    subprocess.run([PYTHON, os.path.join(ROOT, "tests", "integration", "synth.py"), trace,
                    "--segments", "30"], check=True, stdout=subprocess.DEVNULL)
    with open(os.path.join(a.build, "meson-info", "intro-buildoptions.json")) as f:
        bt = [o["value"] for o in json.load(f) if o["name"] == "buildtype"][0]
    r = {"cmd": "/usr/bin/python3 bench/scale.py " + " ".join(sys.argv[1:]), "buildtype": bt,
         "date": datetime.date.today().isoformat(), "load0": "%.1f" % os.getloadavg()[0],
         "seconds": a.seconds, "warmup": a.warmup, "probes": a.probes,
         # gaitwayd's own nice value: this script's (nice -n 5 bench/scale.py) plus --nice.
         "nice": os.nice(0) + a.nice,
         "stats_interval": a.stats_interval, "queue_limit": a.queue_limit, "runs": []}
    broker = Mosquitto(work).start()
    try:
        for n in [int(x) for x in a.devices.split(",")]:
            x = run_one(ctx, work, trace, n, broker, a)
            print(json.dumps(x), file=sys.stderr)
            r["runs"].append(x)
    finally:
        broker.stop()
    r["load1"] = "%.1f" % os.getloadavg()[0]
    text = report(r)
    print(text)
    if a.write:
        benchlib.write_doc("scale.py", text)


if __name__ == "__main__":
    main()
