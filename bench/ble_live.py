"""Live-source benchmark: many BLE wearables through BlueZ's D-Bus API into
one gaitwayd, and the latency from a sample's notification to the MQTT
message of the window it completes.

    /usr/bin/python3 bench/ble_live.py BUILD_ROOT [--streams 50] [--rate 100]
        [--per-packet 10] [--seconds 60] [--mode acquire|notify]

Setup (the test harness of tests/integration): a private dbus-daemon, the
BlueZ mock (python3-dbusmock's bluez5 template + tests/integration/ble/
wearable.py), mosquitto on loopback, gaitwayd with the test models
(activity + freeze of gait per device) and its MQTT and D-Bus sinks.

- CPU: gaitwayd's user + system time from /proc over `--seconds` after a
  warm-up, with STREAMS gaitway-profile wearables at RATE Hz, PER_PACKET
  samples per notification, through AcquireNotify sockets (BlueZ's choice)
  or StartNotify + PropertiesChanged on the bus (`--mode notify`).
- Latency: one more wearable, the probe, sends one sample per notification
  at 50 Hz; gaitwayd publishes per-window probabilities, a mosquitto_sub
  stamps their arrival (%U); the latency of a window is its arrival minus
  the send time of the last notification sent before it.  That is the
  notification completing the window as long as latencies stay below the
  20 ms period (the maximum is reported to show they do)."""

import argparse
import bisect
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))

from gwtest import (PYTHON, Context, DbusDaemon, Gaitwayd, Mosquitto, stop, wait_for)  # noqa: E402

import benchlib  # noqa: E402

TEMPLATE = os.path.join(HERE, "..", "tests", "integration", "ble", "wearable.py")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--streams", type=int, default=50)
    ap.add_argument("--rate", type=float, default=100)
    ap.add_argument("--per-packet", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--warmup", type=float, default=15)
    ap.add_argument("--mode", choices=("acquire", "notify"), default="acquire")
    ap.add_argument("--priority", action="store_true",
                    help="run gaitwayd, the mock, dbus-daemon, mosquitto and the subscriber as SCHED_FIFO 20, "
                         "shielding the measured path from unrelated load on the machine")
    ap.add_argument("--simultaneous", action="store_true",
                    help="start every stream at once (window boundaries aligned: the worst case)")
    a = ap.parse_args()

    ctx = Context(os.path.abspath(a.build))
    procs = []
    try:
        bus = DbusDaemon(ctx.dir)
        procs.append(bus.proc)
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=bus.address)
        mock = subprocess.Popen([PYTHON, "-m", "dbusmock", "--system", "--template", TEMPLATE, "-l", "/dev/null"],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(mock)
        wait_for(lambda: bus.busctl("status", "org.bluez", check_rc=False).returncode == 0, 15, what="mock")

        def call(method, sig, *args):
            bus.busctl("call", "org.bluez", "/", "org.bluez.Mock", method, sig, *[str(x) for x in args])

        call("AddAdapter", "ss", "hci0", "bench")
        acquire = "true" if a.mode == "acquire" else "false"
        devices = [("probe", "C0:FF:EE:FF:00:00", 50.0, 1)]
        devices += [("w%03d" % i, "C0:FF:EE:%02X:%02X:01" % (i // 256, i % 256), a.rate, a.per_packet)
                    for i in range(a.streams)]
        mq = Mosquitto(ctx.dir).start()
        procs.append(mq.proc)
        lines = ["[gateway]", "id = gw1", "activity_model = %s/activity.gwm" % ctx.models,
                 "fog_model = %s/fog.gwm" % ctx.models, "log_events = no", "stats_interval = 10",
                 "[mqtt]", "host = 127.0.0.1", "port = %d" % mq.port, "probabilities = yes",
                 "[dbus]", "bus = " + bus.address]
        for name, addr, rate, per in devices:
            call("AddWearable", "ssssa{sv}", "hci0", addr, name, "gaitway", 1, "acquire", "b", acquire)
            lines += ["[device %s]" % name, "source = ble", "address = " + addr, "profile = gaitway",
                      "sample_rate = %g" % rate]
        sends = os.path.join(ctx.dir, "probe-sends.txt")
        call("LogSends", "ss", devices[0][1], sends)
        arrivals = os.path.join(ctx.dir, "probe-windows.txt")
        sub = subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(mq.port), "-F", "%U %t",
                                "-t", "gaitway/gw1/probe/probabilities/#"],
                               stdout=open(arrivals, "w"), stderr=subprocess.DEVNULL)
        procs.append(sub)
        gw = Gaitwayd(ctx, "\n".join(lines) + "\n", env={"DBUS_SYSTEM_BUS_ADDRESS": bus.address})
        gw.args = []
        gw.start()
        procs.append(gw.proc)
        time.sleep(0.5)
        if a.priority:
            for p in (gw.proc, mock, bus.proc, mq.proc, sub):
                subprocess.run(["chrt", "-f", "-p", "20", str(p.pid)], check=True)
        # Wearables switched on at random moments: spread the starts over one
        # window hop (1.28 s for the test models) unless asked otherwise.
        t_start = time.monotonic()
        for i, (name, addr, rate, per) in enumerate(devices):
            if not a.simultaneous:
                delay = t_start + 1.28 * i / len(devices) - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            call("StartStream", "ssudb", addr, "", per, rate, "true")

        time.sleep(a.warmup)
        t0, c0 = time.monotonic(), benchlib.cpu_seconds(gw.proc.pid)
        m0, d0 = benchlib.cpu_seconds(mock.pid), benchlib.cpu_seconds(bus.proc.pid)
        time.sleep(a.seconds)
        t1, c1 = time.monotonic(), benchlib.cpu_seconds(gw.proc.pid)
        m1, d1 = benchlib.cpu_seconds(mock.pid), benchlib.cpu_seconds(bus.proc.pid)
        cpu = (c1 - c0) / (t1 - t0) * 100
        stats = subprocess.run(["busctl", "--address=" + bus.address, "get-property", "org.gaitway.Gateway1",
                                "/org/gaitway/Gateway1/device/w000", "org.gaitway.Device1", "Samples",
                                "PacketsLost", "Link"], capture_output=True, text=True).stdout.split()
        stop(sub)

        send_times = []
        with open(sends) as f:
            for line in f:
                k, n, t = line.split()
                send_times.append(int(t))
        lat = []
        with open(arrivals) as f:
            for line in f:
                u = line.split()[0]
                sec, _, frac = u.partition(".")
                r = int(sec) * 1000000000 + int((frac + "000000000")[:9])
                i = bisect.bisect_right(send_times, r) - 1
                if i >= 0 and send_times[i] > send_times[0] + int(a.warmup * 1e9):
                    lat.append((r - send_times[i]) / 1e6)
        with open("/proc/loadavg") as f:
            load = f.read().split()[0]
        print("streams: %d x %g Hz (%d samples/notification, %s, %s starts) + probe 50 Hz (1/notification)%s"
              % (a.streams, a.rate, a.per_packet, "AcquireNotify" if a.mode == "acquire" else
                 "StartNotify + PropertiesChanged", "simultaneous" if a.simultaneous else "staggered",
                 ", SCHED_FIFO" if a.priority else ""))
        print("machine: %d CPUs, load average %s at the end" % (os.cpu_count(), load))
        print("gaitwayd CPU: %.2f %% of one core over %.0f s (mock %.1f %%, dbus-daemon %.1f %%)"
              % (cpu, t1 - t0, (m1 - m0) / (t1 - t0) * 100, (d1 - d0) / (t1 - t0) * 100))
        print("w000: Samples %s PacketsLost %s Link %s" % (stats[1] if len(stats) > 1 else "?",
                                                          stats[3] if len(stats) > 3 else "?",
                                                          stats[5] if len(stats) > 5 else "?"))
        print("latency notification -> MQTT window message: n=%d p50 %.2f ms p90 %.2f ms p99 %.2f ms max %.2f ms"
              % (len(lat), benchlib.percentile(lat, 0.5), benchlib.percentile(lat, 0.9),
                 benchlib.percentile(lat, 0.99), max(lat) if lat else float("nan")))
        gw.stop()
        return 0
    finally:
        for p in reversed(procs):
            stop(p)
        shutil.rmtree(ctx.dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
