#!/usr/bin/python3
"""gaitwayd under faults, with real components:

- clock: the wall clock (CLOCK_REALTIME) stepped forwards and backwards
  under a running gaitwayd (clock/fakeclock.c preloaded), during a paced
  replay and during live BLE streaming; and a trace whose sample clock
  jumps backwards and forwards.  Event times come from the sample clock,
  anchored once at the wall clock (docs/mqtt.md): a stepped wall clock
  must change neither the pacing nor the events nor their times.
- ble: a wearable whose link drops in the middle of a packet, and a flood
  of malformed packets, next to a second wearable and a replayed device.
- iio: a sensor (libiio's network backend against the iiod responder)
  stalling and vanishing next to a replayed device.

    test-faults.py BUILD_ROOT [GROUP...]     groups: clock ble iio
"""

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import gwtest  # noqa: E402
from gwtest import (HERE, PYTHON, DbusDaemon, Gaitwayd, Mosquitto, NotifySocket, Subscriber, case,  # noqa: E402
                    check, event_key, mqtt_events, run, stop, wait_for)


def helpers(name):
    """Another test file's helpers (its cases are not run here)."""
    n = len(gwtest.CASES)
    spec = importlib.util.spec_from_file_location(name.replace("-", "_"), os.path.join(HERE, name + ".py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    del gwtest.CASES[n:]
    return mod


ble = helpers("test-ble")
iio = helpers("test-iio-daemon")
DEV = "org.gaitway.Device1"


def synth(ctx, name, seconds_per_segment, segments):
    path = os.path.join(ctx.dir, name)
    subprocess.run([PYTHON, os.path.join(HERE, "synth.py"), path, "--seconds-per-segment",
                    str(seconds_per_segment), "--segments", str(segments)], check=True,
                   stdout=subprocess.DEVNULL)
    return path


def replay_of(ctx, conf, trace, device="synth"):
    """The events of `gaitway replay --events` on a trace."""
    p = subprocess.run([ctx.gaitway, "replay", "--config", conf, "--device", device, "--events", trace],
                       capture_output=True, text=True, timeout=120)
    check(p.returncode == 0 and not gwtest.sanitizer_report(p.stderr), "gaitway replay: " + p.stderr)
    return [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{") and '"summary"' not in l]


def base_config(ctx, mqtt=None, bus=None, stats_interval=None):
    lines = ["[gateway]", "id = gw1", "activity_model = %s/activity.gwm" % ctx.models,
             "fog_model = %s/fog.gwm" % ctx.models, "log_events = no"]
    if stats_interval is not None:
        lines.append("stats_interval = %g" % stats_interval)
    lines.append("[mqtt]")
    lines += ["host = 127.0.0.1", "port = %d" % mqtt.port, "reconnect_min = 0.1", "reconnect_max = 0.5"] \
        if mqtt else ["enabled = no"]
    lines += ["[dbus]", "bus = " + (bus.address if bus else "none")]
    return lines


def replay_device(name, path, extra=""):
    return ["[device %s]" % name, "source = replay", "path = " + path, extra]


def dev(bus, device, prop):
    return bus.get("/org/gaitway/Gateway1/device/" + device, DEV, prop)


def on_bus(bus):
    wait_for(lambda: bus.busctl("status", "org.gaitway.Gateway1", check_rc=False).returncode == 0, 10,
             what="gaitwayd on the bus")


# ---- clock -----------------------------------------------------------------------------------

class FakeClock:
    """The wall-clock offset of processes started with env(): rewrite it to
    step their CLOCK_REALTIME."""

    def __init__(self, ctx):
        self.path = os.path.join(ctx.dir, "clock-offset")
        self.set(0)
        lib = os.path.join(ctx.build, "tests", "integration", "gw-fakeclock.so")
        check(os.path.exists(lib), "the clock shim is built: " + lib)
        preload = [lib]
        # An instrumented gaitwayd needs the sanitizer runtime first.
        ldd = subprocess.run(["ldd", ctx.gaitwayd], capture_output=True, text=True).stdout
        preload = [l.split("=>")[1].split()[0] for l in ldd.splitlines() if "libasan" in l] + preload
        self.preload = " ".join(preload)

    def set(self, seconds):
        tmp = self.path + ".new"
        with open(tmp, "w") as f:
            f.write("%f\n" % seconds)
        os.replace(tmp, self.path)
        # The shim notices a change by the file's mtime.
        time.sleep(0.01)

    def env(self):
        return {"LD_PRELOAD": self.preload, "GW_FAKECLOCK_FILE": self.path}


def stats_of(messages):
    return [json.loads(p) for _, _, t, p in messages if t == "gaitway/gw1/stats" and p]


@case("the wall clock stepped +1 h and -2 h during a paced replay: pacing, events and event times unchanged",
      "clock")
def wall_clock_replay(ctx):
    clock = FakeClock(ctx)
    trace = synth(ctx, "short.csv", 8, 12)          # 96 s at 50 Hz
    broker = Mosquitto(ctx.dir).start()
    ctx.cleanup.append(broker.stop)
    sub = Subscriber(ctx.dir, broker, ["gaitway/gw1/#"])
    ctx.cleanup.append(lambda: stop(sub.proc))
    conf = "\n".join(base_config(ctx, mqtt=broker, stats_interval=0.5) +
                     replay_device("synth", trace, "speed = 16")) + "\n"
    gw = Gaitwayd(ctx, conf, ["--exit-when-done"], env=clock.env())
    t0 = time.monotonic()
    gw.start()
    ctx.cleanup.append(gw.stop)
    time.sleep(2.0)
    clock.set(3600)
    time.sleep(2.0)
    clock.set(-3600)
    check(gw.wait(60) == 0, "gaitwayd exit status")
    took = time.monotonic() - t0
    time.sleep(0.5)
    msgs = sub.stop()
    # 96 s at 16x is 6 s: a replay paced by the wall clock stalls for an
    # hour at the backward step (or rushes at the forward one).
    check(5.0 < took < 12.0, "the replay took %.1f s for 6 s of paced trace" % took)
    got = mqtt_events(msgs)
    want = replay_of(ctx, gw.conf, trace)
    check(len(want) > 5 and [event_key(d) for _, d in got] == [event_key(w) for w in want],
          "%d events, %d from gaitway replay" % (len(got), len(want)))
    # One anchor for the whole stream: time_ms - stream_s is constant.
    anchors = [d["time_ms"] - d["stream_s"] * 1000 for _, d in got]
    check(max(anchors) - min(anchors) < 2, "event times follow the sample clock: anchors spread %.1f ms"
          % (max(anchors) - min(anchors)))
    real = time.time() * 1000
    check(abs(anchors[0] - (real - took * 1000)) < 5000, "anchored at the (real) start")
    stats = [s for s in stats_of(msgs) if s["devices"]["synth"]["samples"] > 0]
    check(any(s["time_ms"] > real + 1800e3 for s in stats) and any(s["time_ms"] < real - 1800e3 for s in stats),
          "the shim worked: stats times (wall clock) show both steps: %s" % [s["time_ms"] for s in stats])
    print("       wall clock +1 h, -2 h: replay %.1f s, %d events as gaitway replay's, 0 lost" % (took, len(got)))


def jumpy_trace(ctx):
    """The synthetic trace with its sample clock jumping: -20 s at 30 s,
    +20 s at 60 s (both beyond max_gap), -0.1 s at 70 s and +0.1 s at 80 s
    (within it)."""
    src = synth(ctx, "src.csv", 10, 12)
    out = os.path.join(ctx.dir, "jumpy.csv")
    with open(src) as f, open(out, "w") as g:
        for line in f:
            if line[:1].isdigit():
                t, rest = line.split(",", 1)
                t = float(t)
                if 30 <= t < 60:
                    t -= 20
                elif 70 <= t < 80:
                    t -= 0.1
                line = "%.3f,%s" % (t, rest)
            g.write(line)
    return out


@case("a sample clock jumping backwards and forwards: windows restart, counted; same events as gaitway replay",
      "clock")
def sample_clock_jumps(ctx):
    trace = jumpy_trace(ctx)
    broker = Mosquitto(ctx.dir).start()
    ctx.cleanup.append(broker.stop)
    sub = Subscriber(ctx.dir, broker, ["gaitway/gw1/#"])
    ctx.cleanup.append(lambda: stop(sub.proc))
    conf = "\n".join(base_config(ctx, mqtt=broker) + replay_device("synth", trace, "speed = max")) + "\n"
    gw = Gaitwayd(ctx, conf, ["--exit-when-done"]).start()
    ctx.cleanup.append(gw.stop)
    check(gw.wait(60) == 0, "gaitwayd exit status")
    time.sleep(0.5)
    msgs = sub.stop()
    got = mqtt_events(msgs)
    want = replay_of(ctx, gw.conf, trace)
    check(len(want) > 5 and [event_key(d) for _, d in got] == [event_key(w) for w in want],
          "%d events, %d from gaitway replay" % (len(got), len(want)))
    last = stats_of(msgs)[-1]["devices"]["synth"]
    check(last["gaps"] == 2, "the two jumps beyond max_gap restart the windows: gaps %d" % last["gaps"])
    check(0 < last["dropped_samples"] <= 6, "the small backward step drops the samples it overlaps: %d"
          % last["dropped_samples"])
    check(last["samples"] == 6000, "every sample was read: %d" % last["samples"])
    print("       sample clock -20 s, +20 s, -0.1 s, +0.1 s: %d gaps, %d samples dropped (counted), %d events"
          % (last["gaps"], last["dropped_samples"], len(got)))


@case("the wall clock stepped during live BLE streaming: samples flow on, no gap, stats follow the clock",
      "clock")
def wall_clock_ble(ctx):
    clock = FakeClock(ctx)
    broker = Mosquitto(ctx.dir).start()
    ctx.cleanup.append(broker.stop)
    sub = Subscriber(ctx.dir, broker, ["gaitway/gw1/stats"])
    ctx.cleanup.append(lambda: stop(sub.proc))
    bus = DbusDaemon(ctx.dir)
    ctx.cleanup.append(bus.stop)
    bz = ble.Bluez(ctx, bus)
    bz.add(ble.WRIST)
    bz.stream(ble.WRIST)
    conf = "\n".join(base_config(ctx, mqtt=broker, bus=bus, stats_interval=0.5) +
                     ["[device wrist]", "source = ble", "address = " + ble.WRIST, "profile = gaitway",
                      "sample_rate = 50"]) + "\n"
    env = dict(clock.env(), DBUS_SYSTEM_BUS_ADDRESS=bus.address)
    gw = Gaitwayd(ctx, conf, env=env).start()
    ctx.cleanup.append(gw.stop)
    on_bus(bus)
    wait_for(lambda: dev(bus, "wrist", "Samples") > 100, 15, step=0.1, what="streaming")
    n0, t0 = dev(bus, "wrist", "Samples"), time.monotonic()
    clock.set(-3600)
    time.sleep(1.5)
    clock.set(3600)
    time.sleep(1.5)
    n1, t1 = dev(bus, "wrist", "Samples"), time.monotonic()
    rate = (n1 - n0) / (t1 - t0)
    check(40 < rate < 60, "%.1f samples/s across the steps (50 Hz)" % rate)
    check(dev(bus, "wrist", "Connected") and dev(bus, "wrist", "Reconnects") == 0, "the link stayed up")
    time.sleep(1.0)
    stats = stats_of(sub.stop())
    last = stats[-1]["devices"]["wrist"]
    check(last["gaps"] == 0 and last["dropped_samples"] == 0, "no gap, no dropped sample: %s" % last)
    real = time.time() * 1000
    check(any(s["time_ms"] < real - 1800e3 for s in stats) and stats[-1]["time_ms"] > real + 1800e3,
          "the shim worked: stats times show both steps")
    print("       wall clock -1 h, +2 h while streaming BLE: %.1f samples/s, 0 gaps, 0 dropped" % rate)


# ---- BLE -------------------------------------------------------------------------------------

def ble_setup(ctx, mqtt=None):
    """Two wearables (wrist, ankle) and a looping replayed device."""
    bus = DbusDaemon(ctx.dir)
    ctx.cleanup.append(bus.stop)
    bz = ble.Bluez(ctx, bus)
    lines = base_config(ctx, mqtt=mqtt, bus=bus)
    for name, addr in (("wrist", ble.WRIST), ("ankle", ble.ANKLE)):
        bz.add(addr, "gaitway", True)
        lines += ["[device %s]" % name, "source = ble", "address = " + addr, "profile = gaitway",
                  "sample_rate = 50", "reconnect_min = 0.1", "reconnect_max = 0.5"]
    lines += replay_device("synth", ctx.trace(), "speed = 5\nloop = yes")
    gw = Gaitwayd(ctx, "\n".join(lines) + "\n", env={"DBUS_SYSTEM_BUS_ADDRESS": bus.address})
    for addr in (ble.WRIST, ble.ANKLE):
        bz.stream(addr)
    gw.start()
    ctx.cleanup.append(gw.stop)
    on_bus(bus)
    for d in ("wrist", "ankle"):
        wait_for(lambda: dev(bus, d, "Connected") and dev(bus, d, "Samples") > 50, 15, step=0.1,
                 what="%s streaming" % d)
    return bus, bz, gw


def progress(bus, devices, seconds):
    """Samples (or windows for replays) each device gained in `seconds`."""
    prop = {d: "WindowsProcessed" if d == "synth" else "Samples" for d in devices}
    before = {d: dev(bus, d, prop[d]) for d in devices}
    time.sleep(seconds)
    return {d: dev(bus, d, prop[d]) - before[d] for d in devices}


@case("a wearable's link drops in the middle of a packet: the part is refused, the link returns, "
      "others unaffected", "ble")
def ble_mid_packet(ctx):
    bus, bz, gw = ble_setup(ctx)
    good = bytes([1, 4, 0, 0, 0, 0, 0, 0, 0xF4, 0x01, 0xD0, 0x07, 8, 0] + [0] * 48)
    half = good[:len(good) // 2]
    bz.call("SendRaw", "say", ble.WRIST, len(half), *half)
    bz.call("DropLink", "s", ble.WRIST)
    wait_for(lambda: dev(bus, "wrist", "Reconnects") == 1, 10, step=0.05, what="the reconnect")
    wait_for(lambda: dev(bus, "wrist", "Connected"), 10, step=0.05, what="connected again")
    gained = progress(bus, ("wrist", "ankle", "synth"), 1.5)
    check(gained["wrist"] > 40, "the wrist streams again: %s" % gained)
    check(dev(bus, "wrist", "PacketsMalformed") == 1, "the partial packet is counted as malformed")
    check(gained["ankle"] > 50 and dev(bus, "ankle", "Reconnects") == 0 and
          dev(bus, "ankle", "PacketsMalformed") == 0, "the ankle was not affected: %s" % gained)
    check(gained["synth"] > 0, "the replayed device was not affected: %s" % gained)
    check("device wrist: refused a notification: gaitway packet: 31 bytes" in gw.log(), "the refusal is logged")
    print("       mid-packet link drop: 1 partial packet refused and counted, 1 reconnect, others unaffected")


@case("a flood of 3000 malformed packets: all counted, five logged, the stream and other devices unaffected",
      "ble")
def ble_flood(ctx):
    import dbus
    bus, bz, gw = ble_setup(ctx)
    b = dbus.bus.BusConnection(bus.address)
    mock = dbus.Interface(b.get_object("org.bluez", "/"), "org.bluez.Mock")
    junk = [bytes([2, 1]) + bytes(12), bytes([1]), bytes([1, 200]) + bytes(20), bytes(range(256)) * 2]
    n = 3000
    t0 = time.monotonic()
    before = {d: dev(bus, d, "Samples") for d in ("wrist", "ankle")}
    failed0 = bz.stats(ble.WRIST).get("send_failed", 0)
    for i in range(n):
        mock.SendRaw(ble.WRIST, dbus.ByteArray(junk[i % len(junk)]))
    took = time.monotonic() - t0
    # A sender faster than gaitwayd fills the socket: the kernel refuses the
    # send (the mock counts it), as a radio would drop on the air.
    refused = bz.stats(ble.WRIST).get("send_failed", 0) - failed0
    wait_for(lambda: n - refused <= dev(bus, "wrist", "PacketsMalformed") <= n, 15, step=0.1,
             what="%d malformed packets counted (%d, %d refused by the socket)"
             % (n - refused, dev(bus, "wrist", "PacketsMalformed"), refused))
    after = {d: dev(bus, d, "Samples") for d in ("wrist", "ankle")}
    # The mock's own pace sags while it floods (it is one Python process);
    # what gaitwayd must not do is lose or refuse any of the good packets.
    check(all(after[d] > before[d] for d in after), "both kept streaming during the flood: %s -> %s"
          % (before, after))
    check(dev(bus, "ankle", "PacketsLost") == 0 and dev(bus, "wrist", "PacketsLost") <= refused,
          "no good packet lost (beyond those the full socket refused): wrist %d, ankle %d"
          % (dev(bus, "wrist", "PacketsLost"), dev(bus, "ankle", "PacketsLost")))
    check(dev(bus, "wrist", "Reconnects") == 0 and dev(bus, "ankle", "PacketsMalformed") == 0,
          "no reconnect, nothing malformed on the ankle")
    check(progress(bus, ("synth",), 1.0)["synth"] > 0, "the replayed device runs on")
    lines = [l for l in gw.log().splitlines() if "refused a notification" in l]
    check(len(lines) == 5, "five refusals logged, the rest counted: %d lines" % len(lines))
    print("       %d malformed packets in %.1f s (%d refused by the full socket): %d counted, %d logged, "
          "other devices unaffected" % (n, took, refused, dev(bus, "wrist", "PacketsMalformed"), len(lines)))


@case("a recording disk that fills up: the recording stops with one error, streaming and others go on",
      "ble")
def ble_disk_fills(ctx):
    # A 24 KiB tmpfs in a private mount namespace of gaitwayd's own: full
    # after a few hundred rows.
    disk = os.path.join(ctx.dir, "disk")
    os.mkdir(disk)
    rec = os.path.join(disk, "wrist.csv")
    bus = DbusDaemon(ctx.dir)
    ctx.cleanup.append(bus.stop)
    bz = ble.Bluez(ctx, bus)
    lines = base_config(ctx, bus=bus)
    for name, addr in (("wrist", ble.WRIST), ("ankle", ble.ANKLE)):
        bz.add(addr, "gaitway", True)
        bz.stream(addr)
        lines += ["[device %s]" % name, "source = ble", "address = " + addr, "profile = gaitway",
                  "sample_rate = 50"] + (["record = " + rec] if name == "wrist" else [])
    wrap = ["unshare", "--mount", "--propagation", "private", "sh", "-ec",
            'mount -t tmpfs -o size=24k gw-full "%s"; exec "$@"' % disk, "sh"]
    gw = Gaitwayd(ctx, "\n".join(lines) + "\n", env={"DBUS_SYSTEM_BUS_ADDRESS": bus.address}, prefix=wrap)
    gw.start()
    ctx.cleanup.append(gw.stop)
    on_bus(bus)
    wait_for(lambda: "recording to %s stopped after" % rec in gw.log(), 30, step=0.2,
             what="the recording to stop on a full disk")
    line = [l for l in gw.log().splitlines() if "recording to %s stopped" % rec in l][0]
    rows = int(line.split("stopped after ")[1].split()[0])
    check(rows > 100 and "No space left on device" in line, "one error line with the rows written: " + line)
    gained = progress(bus, ("wrist", "ankle"), 2.0)
    check(gained["wrist"] > 80 and gained["ankle"] > 80, "both wearables stream on: %s" % gained)
    check(dev(bus, "wrist", "WindowsProcessed") > 0 and dev(bus, "wrist", "Reconnects") == 0,
          "the wrist's models run on, its link untouched")
    check(gw.log().count("stopped after") == 1, "the error is logged once: %s"
          % [l for l in gw.log().splitlines() if "recording" in l])
    print("       recording disk full after %d rows: recording stopped (1 error line), streaming went on" % rows)


# ---- load ------------------------------------------------------------------------------------

@case("paced replays the CPU cannot keep up with lag behind; the watchdog, D-Bus, MQTT and SIGTERM "
      "are still served", "load")
def overload(ctx):
    ns = NotifySocket(ctx.dir)
    broker = Mosquitto(ctx.dir).start()
    ctx.cleanup.append(broker.stop)
    bus = DbusDaemon(ctx.dir)
    ctx.cleanup.append(bus.stop)
    lines = base_config(ctx, mqtt=broker, bus=bus)
    # 4 devices at 50000x ask for 10 million samples/s, each one alone for
    # 2.5 million: more than any build of gaitwayd gets through on one core.
    for i in range(4):
        lines += replay_device("d%d" % i, ctx.trace(), "speed = 50000\nloop = yes")
    gw = Gaitwayd(ctx, "\n".join(lines) + "\n",
                  env={"NOTIFY_SOCKET": ns.path, "WATCHDOG_USEC": "400000"}).start()
    ctx.cleanup.append(gw.stop)
    ns.wait("READY=1", timeout=15)
    on_bus(bus)
    wait_for(lambda: "mqtt: connected" in gw.log(), 10, what="the MQTT connection")
    time.sleep(1.0)
    ns.drain()
    pings = ns.received.count("WATCHDOG=1")
    t0 = time.monotonic()
    samples = [dev(bus, "d0", "Samples") for _ in range(5)]
    answer = (time.monotonic() - t0) / 5
    time.sleep(2.0)
    ns.drain()
    pings = ns.received.count("WATCHDOG=1") - pings
    # Every 200 ms while the replays run flat out.
    check(pings >= 6, "%d watchdog pings in about 2.5 s of overload" % pings)
    check(answer < 2.0 and samples[-1] > samples[0], "D-Bus answers in %.3f s on average" % answer)
    rc, took = stop_timed(gw, 15)
    check(rc == 0, "exit status after SIGTERM")
    check(took < 8.0, "SIGTERM to exit: %.1f s" % took)
    print("       overloaded replays: %d watchdog pings in 2.5 s, D-Bus answers in %.3f s, SIGTERM to exit %.1f s"
          % (pings, answer, took))


def stop_timed(gw, timeout):
    """SIGTERM to gaitwayd: (exit status, seconds until it exited)."""
    t0 = time.monotonic()
    gw.signal(signal.SIGTERM)
    rc = gw.wait(timeout)
    return rc, time.monotonic() - t0


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        return int([l for l in f if l.startswith("VmRSS:")][0].split()[1])


@case("a dbus-daemon that stops reading (SIGSTOP): bounded memory, signals skipped with a warning, "
      "SIGTERM still exits", "load")
def dbus_stalled(ctx):
    bus = DbusDaemon(ctx.dir)
    ctx.cleanup.append(bus.stop)
    lines = base_config(ctx, bus=bus)
    for i in range(20):
        lines += replay_device("d%d" % i, ctx.trace(), "speed = 500\nloop = yes")
    gw = Gaitwayd(ctx, "\n".join(lines) + "\n").start()
    ctx.cleanup.append(gw.stop)
    on_bus(bus)
    time.sleep(2.0)
    before = rss_kb(gw.proc.pid)
    # A sanitized build makes too few events to fill the queue in time:
    # there only the bounded shutdown is checked.
    fill = not gwtest.sanitized(ctx.gaitwayd)
    bus.proc.send_signal(signal.SIGSTOP)
    ctx.cleanup.insert(0, lambda: bus.proc.send_signal(signal.SIGCONT))
    filled = grown = 0
    try:
        t0 = time.monotonic()
        if fill:
            wait_for(lambda: "dbus: the bus is not reading" in gw.log(), 40, step=0.2,
                     what="the skipped signals")
        else:
            time.sleep(5.0)
        filled = time.monotonic() - t0
        time.sleep(1.0)
        grown = rss_kb(gw.proc.pid) - before
        check(not fill or grown < 4096, "memory while the bus is stopped: +%d kB" % grown)
        rc, took = stop_timed(gw, 30)
    finally:
        bus.proc.send_signal(signal.SIGCONT)
    check(rc == 0 and took < 10, "SIGTERM with the bus stopped: exit %d after %.1f s" % (rc, took))
    if fill:
        print("       dbus-daemon stopped: queue full after %.1f s, +%d kB, signals skipped (logged once), "
              "SIGTERM to exit %.1f s" % (filled, grown, took))
    else:
        print("       dbus-daemon stopped for %.0f s (sanitized build: shutdown only), SIGTERM to exit %.1f s"
              % (filled, took))


@case("BlueZ's bus stops reading while wearables stream: SIGTERM still exits, in bounded time", "ble")
def ble_bus_stalled(ctx):
    bus, bz, gw = ble_setup(ctx)
    bus.proc.send_signal(signal.SIGSTOP)
    ctx.cleanup.insert(0, lambda: bus.proc.send_signal(signal.SIGCONT))
    try:
        time.sleep(1.0)
        rc, took = stop_timed(gw, 30)
    finally:
        bus.proc.send_signal(signal.SIGCONT)
    check(rc == 0 and took < 10, "SIGTERM with BlueZ's bus stopped: exit %d after %.1f s" % (rc, took))
    print("       BlueZ's bus stopped: SIGTERM to exit %.1f s" % took)


# ---- IIO -------------------------------------------------------------------------------------

@case("an IIO sensor stalling and vanishing: link state and reconnects counted, rate-limited log, "
      "a replayed device unaffected", "iio")
def iio_stall_vanish(ctx):
    bus = DbusDaemon(ctx.dir)
    ctx.cleanup.append(bus.stop)
    resp = iio.Responder(ctx)
    lines = base_config(ctx, bus=bus)
    lines += ["[device imu]", "source = iio", "uri = ip:127.0.0.1:%d" % resp.port, "device = net",
              "sample_rate = 50", "stall_timeout = 0.5", "reopen_min = 0.05", "reopen_max = 0.3"]
    lines += replay_device("synth", ctx.trace(), "speed = 5\nloop = yes")
    gw = Gaitwayd(ctx, "\n".join(lines) + "\n").start()
    ctx.cleanup.append(gw.stop)
    on_bus(bus)
    wait_for(lambda: dev(bus, "imu", "Connected") and dev(bus, "imu", "Samples") > 50, 15, step=0.1,
             what="the IIO device streaming")
    resp.send("stall")
    wait_for(lambda: not dev(bus, "imu", "Connected"), 10, step=0.05, what="the stall noticed")
    check(progress(bus, ("synth",), 1.0)["synth"] > 0, "the replayed device runs during the stall")
    resp.send("resume")
    wait_for(lambda: dev(bus, "imu", "Connected"), 10, step=0.05, what="streaming again")
    resp.send("vanish")
    wait_for(lambda: not dev(bus, "imu", "Connected"), 10, step=0.05, what="the disappearance noticed")
    gone = progress(bus, ("synth",), 3.0)
    check(gone["synth"] > 0, "the replayed device runs while the sensor is gone")
    log = gw.log().splitlines()
    attempts = [l for l in log if "device imu" in l and l.startswith("<7>")]
    warnings = [l for l in log if "device imu" in l and l.startswith("<4>")]
    resp.send("return")
    wait_for(lambda: dev(bus, "imu", "Connected"), 10, step=0.05, what="streaming after the return")
    check(progress(bus, ("imu",), 1.0)["imu"] > 30, "samples flow after the return")
    check(dev(bus, "imu", "Reconnects") >= 2, "reconnects counted: %d" % dev(bus, "imu", "Reconnects"))
    # 3 s gone at 0.05..0.3 s backoff: many attempts; a warning for the
    # stall, the read error and the first refused reopen, the retries debug.
    check(len(warnings) <= 3 and len(attempts) >= 5, "%d warnings, %d debug lines while gone: %s"
          % (len(warnings), len(attempts), warnings))
    check(gw.alive(), "gaitwayd runs on")
    print("       IIO stall + 3 s gone: %d reconnects, %d warnings, %d debug lines, replayed device unaffected"
          % (dev(bus, "imu", "Reconnects"), len(warnings), len(attempts)))


if __name__ == "__main__":
    sys.exit(run("faults" + "".join("-" + g for g in sys.argv[2:]), sys.argv[2:]))
