"""gaitwayd's BLE source against BlueZ's D-Bus API: python3-dbusmock's bluez5
template with the GATT objects of tests/integration/ble/wearable.py, on a
private dbus-daemon that is gaitwayd's "system bus" (for BlueZ) and the bus
of its own D-Bus interface.  Only the radio is simulated: gaitwayd talks to
org.bluez exactly as to bluetoothd (Connect, ServicesResolved, ObjectManager,
AcquireNotify / StartNotify, PropertiesChanged).

    test-ble.py BUILD_ROOT [GROUP...]"""

import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from gwtest import (PYTHON, HERE, DbusDaemon, Gaitwayd, Mosquitto, Subscriber, case, check,  # noqa: E402
                    mqtt_events, read_monitor, run, stop, wait_for)

TEMPLATE = os.path.join(HERE, "ble", "wearable.py")
DEV_IFACE = "org.gaitway.Device1"
WRIST = "C0:FF:EE:00:00:01"
ANKLE = "C0:FF:EE:00:00:02"
ACCEL_FS, GYRO_FS = 8, 2000         # wearable.py's full scales


class Bluez:
    """The mock BlueZ on the private bus, with one adapter."""

    def __init__(self, ctx, bus):
        self.bus = bus
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=bus.address)
        self.logf = open(os.path.join(ctx.dir, "bluez-mock.log"), "ab")
        self.proc = subprocess.Popen([PYTHON, "-m", "dbusmock", "--system", "--template", TEMPLATE,
                                      "-l", os.path.join(ctx.dir, "bluez-calls.log")],
                                     env=env, stdout=self.logf, stderr=self.logf)
        ctx.cleanup.append(lambda: stop(self.proc))
        wait_for(lambda: bus.busctl("status", "org.bluez", check_rc=False).returncode == 0, 15,
                 what="the BlueZ mock")
        self.call("AddAdapter", "ss", "hci0", "gateway")

    def call(self, method, sig, *args):
        p = self.bus.busctl("--json=short", "call", "org.bluez", "/", "org.bluez.Mock", method, sig,
                            *[str(a) for a in args])
        return json.loads(p.stdout)["data"] if p.stdout.strip() else None

    def add(self, address, profile="gaitway", acquire=True):
        self.call("AddWearable", "ssssa{sv}", "hci0", address, "wearable", profile,
                  1, "acquire", "b", "true" if acquire else "false")

    def stream(self, address, trace="", per_packet=10, rate=50, loop=True):
        self.call("StartStream", "ssudb", address, trace, per_packet, rate, "true" if loop else "false")

    def stats(self, address):
        d = self.call("WearableStats", "s", address)[0]
        return {k: v["data"] for k, v in d.items()}


def setup(ctx, wearables=((WRIST, "gaitway", True),), mqtt=None, device_extra="", gateway_extra=""):
    bus = DbusDaemon(ctx.dir)
    ctx.cleanup.append(bus.stop)
    bz = Bluez(ctx, bus)
    lines = ["[gateway]", "id = gw1", "activity_model = %s/activity.gwm" % ctx.models,
             "fog_model = %s/fog.gwm" % ctx.models, "log_events = no", gateway_extra, "[mqtt]"]
    if mqtt:
        lines += ["host = 127.0.0.1", "port = %d" % mqtt.port]
    else:
        lines += ["enabled = no"]
    lines += ["[dbus]", "bus = " + bus.address]
    for i, (addr, profile, acquire) in enumerate(wearables):
        bz.add(addr, profile, acquire)
        lines += ["[device %s]" % ("wrist" if i == 0 else "w%d" % i), "source = ble", "address = " + addr,
                  "profile = " + profile, "sample_rate = 50", "reconnect_min = 0.1", "reconnect_max = 0.5",
                  device_extra]
    gw = Gaitwayd(ctx, "\n".join(lines) + "\n", env={"DBUS_SYSTEM_BUS_ADDRESS": bus.address})
    return bus, bz, gw


def dev(bus, prop, device="wrist"):
    return bus.get("/org/gaitway/Gateway1/device/" + device, DEV_IFACE, prop)


def streaming(bus, device="wrist", timeout=15):
    wait_for(lambda: bus.busctl("status", "org.gaitway.Gateway1", check_rc=False).returncode == 0, 10,
             what="gaitwayd on the bus")
    wait_for(lambda: dev(bus, "Connected", device) and dev(bus, "Samples", device) > 0, timeout, step=0.1,
             what="%s streaming" % device)


def samples_after(bus, n, device="wrist", timeout=15):
    start = dev(bus, "Samples", device)
    wait_for(lambda: dev(bus, "Samples", device) >= start + n, timeout, step=0.1,
             what="%d more samples from %s" % (n, device))


def read_trace(path):
    """(header names, [(t, [values])]) of a gaitway trace."""
    names, rows = None, []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split(",")
            if names is None:
                names = parts
                continue
            rows.append((float(parts[0]), [float(x) for x in parts[1:]]))
    return names, rows


def ramp_index(values):
    """The sample index k of wearable.py's synthetic ramp behind a decoded
    sample, from acc_x = (k % 2000 - 1000) * 8 g / 32768."""
    return round(values[0] * 32768 / ACCEL_FS) + 1000


def ramp_expected(k):
    raw = [(k % 2000) - 1000, 4096, -4096, ((k * 7) % 3000) - 1500, 100, -100]
    return [r * ACCEL_FS / 32768 for r in raw[:3]] + [r * GYRO_FS / 32768 for r in raw[3:]]


# ---- streaming --------------------------------------------------------------

@case("connects, finds the service by UUID, streams through AcquireNotify; samples decode exactly", "stream")
def decoded_samples(ctx):
    rec = os.path.join(ctx.dir, "wrist.csv")
    bus, bz, gw = setup(ctx, device_extra="record = " + rec)
    bz.stream(WRIST)
    gw.start()
    ctx.cleanup.append(gw.stop)
    streaming(bus)
    check(dev(bus, "Link") == "streaming", "Link: %s" % dev(bus, "Link"))
    check(bz.stats(WRIST)["mode"] == "acquired", "AcquireNotify was not used: %s" % bz.stats(WRIST))
    samples_after(bus, 150)
    check(abs(dev(bus, "SourceRate") - 50) < 1e-9, "SourceRate")
    check(dev(bus, "Packets") > 0 and dev(bus, "PacketsLost") == 0 and dev(bus, "PacketsMalformed") == 0,
          "packet counters")
    check(gw.stop() == 0, "gaitwayd exit status")
    names, rows = read_trace(rec)
    check(names == ["time[s]", "acc_x[g]", "acc_y[g]", "acc_z[g]", "gyro_x[deg/s]", "gyro_y[deg/s]",
                    "gyro_z[deg/s]"], "header: %s" % names)
    check(len(rows) >= 150, "%d rows recorded" % len(rows))
    k0 = ramp_index(rows[0][1])
    # Device time spaces the samples 20 ms apart; between packets (10
    # samples, 200 ms of device time) the clock may slew by 0.1 % of that
    # towards a lower arrival latency (docs/ble-profile.md, "Timestamps"),
    # plus the trace's microsecond rounding.
    slew = 0.001 * 10 * 0.02 + 2e-6
    for i, (t, v) in enumerate(rows):
        want = ramp_expected(k0 + i)
        check(all(abs(a - b) < 1e-6 for a, b in zip(v, want)), "row %d: %s, expected %s" % (i, v, want))
        if i:
            check(abs(t - rows[i - 1][0] - 0.02) <= slew, "row %d: spacing %.6f s" % (i, t - rows[i - 1][0]))
    mean = (rows[-1][0] - rows[0][0]) / (len(rows) - 1)
    check(abs(mean - 0.02) < 1e-4, "mean spacing %.7f s over %d rows" % (mean, len(rows)))


@case("StartNotify and PropertiesChanged when AcquireNotify is not offered; Thingy:52 rate written", "stream")
def start_notify_and_thingy(ctx):
    bus, bz, gw = setup(ctx, wearables=((ANKLE, "thingy52", False),))
    bz.stream(ANKLE, per_packet=1)
    gw.start()
    ctx.cleanup.append(gw.stop)
    streaming(bus)
    samples_after(bus, 60)
    s = bz.stats(ANKLE)
    check(s["mode"] == "notify", "StartNotify not used: %s" % s)
    check(s["config_rate"] == 50, "the motion rate written to the Thingy: %s" % s["config_rate"])
    check(dev(bus, "Source").startswith("ble:C0:FF:EE:00:00:02/thingy52"), "Source")


@case("several wearables at once, each with its own link state and counters", "stream")
def several(ctx):
    bus, bz, gw = setup(ctx, wearables=((WRIST, "gaitway", True), (ANKLE, "thingy52", True),
                                        ("C0:FF:EE:00:00:03", "gaitway", False)))
    for a, per in ((WRIST, 10), (ANKLE, 1), ("C0:FF:EE:00:00:03", 5)):
        bz.stream(a, per_packet=per)
    gw.start()
    ctx.cleanup.append(gw.stop)
    for d in ("wrist", "w1", "w2"):
        streaming(bus, d)
    for d in ("wrist", "w1", "w2"):
        samples_after(bus, 50, d)
        check(dev(bus, "Link", d) == "streaming", "%s link" % d)
    bz.call("DropLink", "s", ANKLE)
    wait_for(lambda: dev(bus, "Reconnects", "w1") == 1, 10, step=0.1, what="w1 reconnecting")
    check(dev(bus, "Reconnects", "wrist") == 0 and dev(bus, "Reconnects", "w2") == 0,
          "the other wearables kept their links")


# ---- faults -----------------------------------------------------------------

@case("lost packets are counted by sequence number and show as a gap", "faults")
def lost_packets(ctx):
    rec = os.path.join(ctx.dir, "wrist.csv")
    bus, bz, gw = setup(ctx, device_extra="record = " + rec)
    bz.stream(WRIST)
    gw.start()
    ctx.cleanup.append(gw.stop)
    streaming(bus)
    samples_after(bus, 50)
    bz.call("DropPackets", "su", WRIST, 3)
    wait_for(lambda: dev(bus, "PacketsLost") == 3, 10, step=0.1, what="PacketsLost = 3")
    samples_after(bus, 50)
    check(bz.stats(WRIST)["lost_on_air"] == 3, "the mock dropped 3")
    check(gw.stop() == 0, "gaitwayd exit status")
    _, rows = read_trace(rec)
    ks = [ramp_index(v) for _, v in rows]
    jumps = [(i, ks[i] - ks[i - 1]) for i in range(1, len(ks)) if (ks[i] - ks[i - 1]) % 2000 != 1]
    check(len(jumps) == 1 and jumps[0][1] % 2000 == 31, "one gap of 30 samples: %s" % jumps)
    i = jumps[0][0]
    check(abs(rows[i][0] - rows[i - 1][0] - 0.62) < 1e-3, "the gap lasts 0.62 s: %.4f" % (rows[i][0] - rows[i - 1][0]))


@case("malformed packets (short, wrong length, wrong version) are refused and counted", "faults")
def malformed(ctx):
    bus, bz, gw = setup(ctx)
    bz.stream(WRIST)
    gw.start()
    ctx.cleanup.append(gw.stop)
    streaming(bus)
    good = bytes([1, 1, 0, 0, 0, 0, 0, 0, 0xF4, 0x01, 0xD0, 0x07, 8, 0] + [0] * 12)
    bad = [good[:5],                            # shorter than the header
           good + b"\x00",                      # length does not match n
           bytes([2]) + good[1:],               # version 2
           bytes([1, 0]) + good[2:14]]          # no samples
    for b in bad:
        bz.call("SendRaw", "say", WRIST, len(b), *b)
    wait_for(lambda: dev(bus, "PacketsMalformed") == 4, 10, step=0.1, what="PacketsMalformed = 4")
    samples_after(bus, 50)
    check(gw.alive() and dev(bus, "Connected"), "still streaming")
    log = gw.log()
    check("refused a notification: gaitway packet: 5 bytes, shorter than the 14-byte header" in log, log)
    check("version 2, expected 1" in log, "the wrong version is named")


@case("a disconnect followed by a reconnect re-arms streaming", "faults")
def reconnect(ctx):
    bus, bz, gw = setup(ctx)
    bz.stream(WRIST)
    gw.start()
    ctx.cleanup.append(gw.stop)
    streaming(bus)
    mon, mon_path = bus.monitor(ctx.dir)
    ctx.cleanup.append(lambda: stop(mon))
    for n in (1, 2):
        bz.call("DropLink", "s", WRIST)
        wait_for(lambda: dev(bus, "Reconnects") == n, 10, step=0.05, what="reconnect %d" % n)
        wait_for(lambda: dev(bus, "Connected"), 10, step=0.05, what="connected again")
        samples_after(bus, 50)
    check(bz.stats(WRIST)["connects"] == 3, "Connect called for each link: %s" % bz.stats(WRIST))
    check(bz.stats(WRIST)["mode"] == "acquired", "notifications re-acquired")
    stop(mon)
    changes = [m["payload"]["data"][1].get("Connected", {}).get("data") for m in read_monitor(mon_path)
               if m.get("member") == "PropertiesChanged" and "Connected" in m["payload"]["data"][1]]
    check(changes == [False, True, False, True], "Connected signals: %s" % changes)


@case("Connect retries BlueZ's transient failures with backoff", "faults")
def connect_retries(ctx):
    bus, bz, gw = setup(ctx)
    bz.call("FailConnect", "suss", WRIST, 3, "org.bluez.Error.Failed", "le-connection-abort-by-local")
    bz.stream(WRIST)
    gw.start()
    ctx.cleanup.append(gw.stop)
    streaming(bus, timeout=20)
    check(bz.stats(WRIST)["connects"] == 1, "one successful Connect")
    check(gw.log().count("le-connection-abort-by-local") >= 3, "the failures are logged")


@case("a full recording disk stops the recording with an error while processing continues", "faults")
def disk_full(ctx):
    bus, bz, gw = setup(ctx, device_extra="record = /dev/full")
    bz.stream(WRIST)
    gw.start()
    ctx.cleanup.append(gw.stop)
    streaming(bus)
    wait_for(lambda: "recording to /dev/full stopped" in gw.log(), 10, what="the recording error")
    check("No space left on device" in gw.log(), "the error names ENOSPC")
    samples_after(bus, 100)
    check(gw.alive(), "gaitwayd still runs")


# ---- end to end ---------------------------------------------------------------

def replay_config(ctx):
    path = os.path.join(ctx.dir, "replay.conf")
    with open(path, "w") as f:
        f.write("[gateway]\nid = gw1\nactivity_model = %s/activity.gwm\nfog_model = %s/fog.gwm\n"
                "[mqtt]\nenabled = no\n[dbus]\nbus = none\n" % (ctx.models, ctx.models))
    return path


def replay(ctx, conf, trace):
    p = subprocess.run([ctx.gaitway, "replay", "--config", conf, "--device", "wrist", "--events", trace],
                       capture_output=True, text=True, timeout=120)
    check(p.returncode == 0, "gaitway replay: " + p.stderr)
    return [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{") and '"summary"' not in l]


@case("a live BLE stream's events equal gaitway replay of its recording and of the source trace", "e2e")
def live_equals_replay(ctx):
    trace = os.path.join(ctx.dir, "synth.csv")
    subprocess.run([PYTHON, os.path.join(HERE, "synth.py"), trace, "--seconds-per-segment", "5",
                    "--segments", "6"], check=True, stdout=subprocess.DEVNULL)
    rec = os.path.join(ctx.dir, "recording.csv")
    mq = Mosquitto(ctx.dir).start()
    ctx.cleanup.append(mq.stop)
    sub = Subscriber(ctx.dir, mq, ["gaitway/#"])
    ctx.cleanup.append(lambda: stop(sub.proc))
    bus, bz, gw = setup(ctx, mqtt=mq, device_extra="record = " + rec)
    gw.start()
    ctx.cleanup.append(gw.stop)
    wait_for(lambda: "streaming gaitway notifications" in gw.log(), 15, what="the subscription")
    bz.stream(WRIST, trace, per_packet=10, rate=50, loop=False)
    n_rows = sum(1 for l in open(trace) if l[:1].isdigit())
    wait_for(lambda: bz.stats(WRIST)["samples"] >= n_rows, 60, step=0.5, what="the whole trace streamed")
    time.sleep(1.0)
    check(gw.stop() == 0, "gaitwayd exit status")
    live = [d for kind, d in mqtt_events(sub.stop()) if kind == "activity"]
    check(len(live) >= 3, "%d activity events live" % len(live))
    conf = replay_config(ctx)
    from_rec = [e for e in replay(ctx, conf, rec) if e["type"] == "activity"]
    key = lambda e: (e["activity"], e.get("previous"), round(e["stream_s"], 3), round(e["confidence"], 4))  # noqa: E731
    check([key(e) for e in live] == [key(e) for e in from_rec],
          "live %s\nreplayed %s" % ([key(e) for e in live], [key(e) for e in from_rec]))
    # The source trace, without the int16 quantisation and radio timing, gives
    # the same sequence of activities.
    from_trace = [e["activity"] for e in replay(ctx, conf, trace) if e["type"] == "activity"]
    check([e["activity"] for e in live] == from_trace,
          "activities live %s, from the source trace %s" % ([e["activity"] for e in live], from_trace))


if __name__ == "__main__":
    sys.exit(run("test-ble" + "".join("-" + g for g in sys.argv[2:]), sys.argv[2:]))
