#!/usr/bin/python3
"""gaitwayd's replay throughput, memory and idle cost, next to a Python
pipeline (pandas, scipy, PyTorch) doing the same work on the same trace.

    /usr/bin/python3 bench/replay.py BUILD_ROOT [--hours 1] [--runs 3] [--write]

- Throughput: one device replaying an H-hour synthetic trace (tests/integration/synth.py, 50 Hz,
  acc + gyro) as fast as possible through the whole pipeline: CSV parsing, front end (median,
  low-pass, gravity), per-sample quantiser, windows (128, hop 64), the INT8 engine, smoothing,
  events, and MQTT publishing to a mosquitto on loopback (the activity model alone, then with the
  freeze-of-gait model too).  CPU time of gaitwayd (user + system, from wait4) and wall time from
  exec to exit (start-up, broker connect and the final flush included); best of --runs.
- The Python pipeline: pandas.read_csv, scipy.signal median and Butterworth filters (causal
  sosfilt, as the daemon), numpy windows, the same model's FP32 weights in PyTorch
  (train/gaitway/net.py, batch 256, one thread) and the same hysteresis smoothing.
- Memory: gaitwayd with 10 devices (both models each), MQTT and D-Bus connected: VmRSS and
  VmHWM from /proc after 5 s.
- Idle: the same 10 devices after their traces ended: context switches (wake-ups) of gaitwayd
  over 10 s, no watchdog.

With --write the report replaces its section of docs/benchmarks.md."""

import argparse
import datetime
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

from gwtest import PYTHON, Context, DbusDaemon, Mosquitto, stop, wait_for  # noqa: E402

import benchlib  # noqa: E402

MODELS = os.path.join(ROOT, "tests", "data", "daemon")


def write_trace(path, hours):
    segments = int(round(hours * 3600 / 20))
    subprocess.run([PYTHON, os.path.join(ROOT, "tests", "integration", "synth.py"), path,
                    "--segments", str(segments)], check=True, stdout=subprocess.DEVNULL)
    with open(path) as f:
        return sum(1 for line in f if line[:1].isdigit())


def config(trace, broker=None, bus="none", fog=True, devices=1, speed="max", loop=False):
    lines = ["[gateway]", "id = bench", "activity_model = %s/activity.gwm" % MODELS,
             "fog_model = %s" % ("%s/fog.gwm" % MODELS if fog else ""), "log_events = no",
             "[mqtt]"]
    lines += (["host = 127.0.0.1", "port = %d" % broker.port] if broker else ["enabled = no"])
    lines += ["[dbus]", "bus = " + bus]
    for i in range(devices):
        lines += ["[device dev%02d]" % i, "source = replay", "path = " + trace, "speed = " + speed,
                  "loop = %s" % ("yes" if loop else "no")]
    return "\n".join(lines) + "\n"


def run_timed(args, env=None):
    """(wall s, cpu s, maxrss kB) of one child run to completion."""
    t0 = time.perf_counter()
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    err = p.stderr.read().decode(errors="replace")
    if p.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (args[0], p.returncode, err[-2000:]))
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss, err


def gaitwayd_throughput(ctx, work, trace, samples, broker, fog, runs):
    conf = os.path.join(work, "thr-%s.conf" % ("fog" if fog else "act"))
    with open(conf, "w") as f:
        f.write(config(trace, broker, fog=fog))
    best = None
    for _ in range(runs):
        wall, cpu, rss, err = run_timed([ctx.gaitwayd, "--config", conf, "--exit-when-done"])
        if "end of stream after %d samples" % samples not in err:
            raise RuntimeError("gaitwayd did not replay the whole trace: " + err[-1000:])
        if best is None or cpu < best[1]:
            best = (wall, cpu, rss)
    return {"wall_s": best[0], "cpu_s": best[1], "maxrss_kb": best[2],
            "samples_per_s_cpu": samples / best[1], "samples_per_s_wall": samples / best[0]}


def replay_cli_throughput(ctx, trace, samples, runs):
    best = None
    for _ in range(runs):
        wall, cpu, rss, _ = run_timed([ctx.gaitway, "replay", "--activity-model", MODELS + "/activity.gwm",
                                       "--fog-model", "", "--events", "--no-progress", trace])
        if best is None or cpu < best[1]:
            best = (wall, cpu)
    return {"wall_s": best[0], "cpu_s": best[1], "samples_per_s_cpu": samples / best[1]}


def python_pipeline(trace, runs):
    """The same work in pandas/scipy/PyTorch; returns timings and the
    number of activity changes."""
    import numpy as np
    import pandas as pd
    import scipy.signal as sig
    import torch
    sys.path.insert(0, HERE)
    from torch_window import load_net
    torch.set_num_threads(1)

    net, mean, std, desc = load_net(os.path.join(MODELS, "activity.gwm"))
    fe = desc["frontend"]
    rate = desc["sample_rate_hz"]
    T, hop = desc["arch"]["window"], desc["hop"]
    lp = sig.butter(fe["lowpass"]["order"], fe["lowpass"]["cutoff_hz"], "low", fs=rate, output="sos")
    grav = sig.butter(fe["gravity"]["order"], fe["gravity"]["cutoff_hz"], "low", fs=rate, output="sos")
    best = None
    for _ in range(runs):
        t0 = time.perf_counter()
        c0 = time.process_time()
        df = pd.read_csv(trace, comment="#")
        raw = df.iloc[:, 1:7].to_numpy(np.float32)
        x = sig.medfilt(raw, (fe["median"], 1))
        filt = sig.sosfilt(lp, x, axis=0, zi=sig.sosfilt_zi(lp)[:, :, None] * x[0][None, None, :])[0]
        g = sig.sosfilt(grav, filt[:, :3], axis=0,
                        zi=sig.sosfilt_zi(grav)[:, :, None] * filt[0, :3][None, None, :])[0]
        body = filt[:, :3] - g
        chans = np.hstack([body, filt[:, 3:6], filt[:, :3]]).astype(np.float32)
        w = np.lib.stride_tricks.sliding_window_view(chans, T, axis=0)[::hop]   # [N, C, T]
        xn = (np.transpose(w, (0, 2, 1)) - mean) / std
        probs = []
        with torch.inference_mode():
            for i in range(0, len(xn), 256):
                logits = net(torch.from_numpy(np.ascontiguousarray(xn[i:i + 256], np.float32)))
                probs.append(torch.softmax(logits, 1).numpy())
        p = np.concatenate(probs)
        # hysteresis smoothing, dwell 2, enter 0.6 (the daemon's default)
        state, cand, n, changes = -1, -1, 0, 0
        for row in p:
            k = int(row.argmax())
            if k != state and row[k] >= 0.6:
                n = n + 1 if k == cand else 1
                cand = k
                if n >= 2:
                    state, changes, n = k, changes + 1, 0
            else:
                cand, n = -1, 0
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        if best is None or cpu < best[1]:
            best = (wall, cpu, changes, len(p))
    return {"wall_s": best[0], "cpu_s": best[1], "changes": best[2], "windows": best[3]}


def memory_and_idle(ctx, work, trace, broker):
    bus = DbusDaemon(work)
    try:
        res = {}
        conf = os.path.join(work, "mem.conf")
        with open(conf, "w") as f:
            f.write(config(trace, broker, bus=bus.address, devices=10, speed="1", loop=True))
        p = subprocess.Popen([ctx.gaitwayd, "--config", conf], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        time.sleep(5)
        res["rss_kb"], res["hwm_kb"] = benchlib.memory_kb(p.pid)
        stop(p)

        # Idle: ten short traces that end at once, then nothing.
        short = os.path.join(work, "short.csv")
        with open(trace) as src, open(short, "w") as dst:
            n = 0
            for line in src:
                dst.write(line)
                n += line[:1].isdigit()
                if n >= 500:
                    break
        conf = os.path.join(work, "idle.conf")
        with open(conf, "w") as f:
            f.write(config(short, broker, bus=bus.address, devices=10, speed="max"))
        log = os.path.join(work, "idle.log")
        with open(log, "w") as lf:
            p = subprocess.Popen([ctx.gaitwayd, "--config", conf, "-v"], stdout=lf, stderr=lf)
        wait_for(lambda: open(log).read().count("end of stream") == 10, 20, what="the traces' end")
        time.sleep(2)

        def switches():
            s = benchlib.proc_status(p.pid)
            return int(s["voluntary_ctxt_switches"]) + int(s["nonvoluntary_ctxt_switches"])

        a = switches()
        time.sleep(10)
        res["idle_wakeups_10s"] = switches() - a
        stop(p)
        return res
    finally:
        bus.stop()


def machine():
    info = benchlib.machine_info()
    return "%s, %d CPUs, Linux %s" % (info.get("cpu", "?"), os.cpu_count(), info["kernel"])


def report(r):
    h = r["hours"]
    s = r["samples"]
    L = ["## gaitwayd replay: throughput, memory, idle (bench/replay.py)", "",
         "`%s` (%s; %s build; load average %s at the start: the figures are CPU time of one "
         "process, inflated but not multiplied by a busy machine)." % (r["cmd"], r["date"], r["buildtype"],
                                                                         r["load"]), "",
         "Machine: %s. Trace: %d samples (%g h at 50 Hz, 6 channels) of tests/integration/synth.py; "
         "models: the test models of tests/data/daemon (UCI-HAR-sized activity model, 9x6x128, "
         "hop 64; freeze-of-gait model 6x2x64, hop 16)." % (r["machine"], s, h), "",
         "| pipeline | CPU s | wall s | samples/s (CPU) | an hour of 50 Hz data |",
         "|---|---|---|---|---|"]

    def row(name, d):
        per_hour = d["cpu_s"] * 180000 / s
        L.append("| %s | %.3f | %.3f | %s | %.3f s |" % (name, d["cpu_s"], d["wall_s"],
                                                       "{:,.0f}".format(s / d["cpu_s"]), per_hour))

    row("gaitwayd, activity, MQTT publishing", r["gaitwayd_activity"])
    row("gaitwayd, activity + FoG, MQTT publishing", r["gaitwayd_both"])
    row("gaitway replay (no daemon, no MQTT), activity", r["replay_cli"])
    row("Python: pandas + scipy + PyTorch FP32 batch 256, activity", r["python"])
    m = r["memory"]
    L += ["",
          "- Target >= 1,000,000 samples/s on one core (an hour of 50 Hz data in under 0.2 s): "
          "%s with the activity model (%s samples/s)." % (
              "met" if r["gaitwayd_activity"]["samples_per_s_cpu"] >= 1e6 else "NOT met",
              "{:,.0f}".format(r["gaitwayd_activity"]["samples_per_s_cpu"])),
          "- gaitwayd with 10 devices (both models each), MQTT and D-Bus connected: VmRSS %d kB, "
          "VmHWM %d kB; target <= 8 MB (8192 kB): %s." % (m["rss_kb"], m["hwm_kb"],
                                                          "met" if m["rss_kb"] <= 8192 else "NOT met"),
          "- Idle (the same 10 devices after their traces ended, MQTT and D-Bus connected, no "
          "watchdog): %d wake-ups in 10 s." % m["idle_wakeups_10s"]]
    for o in r.get("memory_other", []):
        L.append("- The same with %s (`-Diio=%s`): VmRSS %d kB, VmHWM %d kB (%s); %d idle wake-ups in "
                 "10 s.  Most of the difference is libiio's dependencies (libxml2, ICU, libstdc++) "
                 "mapped at start-up." % (o["build"], o["iio"], o["rss_kb"], o["hwm_kb"],
                                          "met" if o["rss_kb"] <= 8192 else "NOT met",
                                          o["idle_wakeups_10s"]))
    L += [
          "- Python gives %d activity changes over %d windows; gaitwayd's INT8 pipeline on the same "
          "trace gives %d (the filters start differently: the daemon settles them on the first "
          "sample)." % (r["python"]["changes"], r["python"]["windows"], r["daemon_changes"])]
    return "\n".join(L)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("build")
    ap.add_argument("--hours", type=float, default=1.0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--rss-build", action="append", default=[],
                    help="also measure memory and idle cost of another build (e.g. -Diio=disabled)")
    a = ap.parse_args()

    ctx = Context(os.path.abspath(a.build))
    work = tempfile.mkdtemp(prefix="gw-bench-")
    broker = Mosquitto(work).start()
    try:
        trace = os.path.join(work, "trace.csv")
        samples = write_trace(trace, a.hours)
        with open(os.path.join(a.build, "meson-info", "intro-buildoptions.json")) as f:
            bt = [o["value"] for o in json.load(f) if o["name"] == "buildtype"][0]
        r = {"hours": a.hours, "samples": samples, "build": os.path.basename(os.path.abspath(a.build)),
             "buildtype": bt, "machine": machine(), "date": datetime.date.today().isoformat(),
             "load": "%.2f" % os.getloadavg()[0],
             "cmd": "/usr/bin/python3 bench/replay.py " + " ".join(sys.argv[1:])}
        r["gaitwayd_activity"] = gaitwayd_throughput(ctx, work, trace, samples, broker, False, a.runs)
        r["gaitwayd_both"] = gaitwayd_throughput(ctx, work, trace, samples, broker, True, a.runs)
        r["replay_cli"] = replay_cli_throughput(ctx, trace, samples, a.runs)
        ev = subprocess.run([ctx.gaitway, "replay", "--activity-model", MODELS + "/activity.gwm",
                             "--fog-model", "", "--events", "--no-progress", trace],
                            capture_output=True, text=True, check=True).stdout
        r["daemon_changes"] = sum(1 for l in ev.splitlines() if l.startswith('{"type":"activity"'))
        r["python"] = python_pipeline(trace, max(1, a.runs - 1))
        r["memory"] = memory_and_idle(ctx, work, trace, broker)
        r["memory_other"] = []
        for b in a.rss_build:
            m = memory_and_idle(Context(os.path.abspath(b)), work, trace, broker)
            m["build"] = os.path.basename(os.path.abspath(b))
            with open(os.path.join(b, "meson-info", "intro-buildoptions.json")) as f:
                m["iio"] = [o["value"] for o in json.load(f) if o["name"] == "iio"][0]
            r["memory_other"].append(m)
    finally:
        broker.stop()
    text = report(r)
    print(text)
    print(json.dumps(r, indent=1), file=sys.stderr)
    if a.write:
        benchlib.write_doc("replay.py", text)


if __name__ == "__main__":
    main()
