"""gaitwayd with an IIO device over libiio's network backend (the iiod
protocol responder of tests/integration/iio, as a process): the link state
on D-Bus and in the MQTT stats through a stall and a disappearance, and the
events of the live run equal gaitway replay of its recording.

    test-iio-daemon.py BUILD_ROOT"""

import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from gwtest import (DbusDaemon, Gaitwayd, Mosquitto, Subscriber, case, check, mqtt_events,  # noqa: E402
                    read_monitor, run, stop, wait_for)

DEV = "/org/gaitway/Gateway1/device/imu"


class Responder:
    def __init__(self, ctx):
        exe = os.path.join(ctx.build, "tests", "integration", "iiod-responder")
        self.proc = subprocess.Popen([exe, "--rate", "50"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)
        ctx.cleanup.append(self.quit)
        line = self.proc.stdout.readline().split()
        check(line[:1] == ["port"], "iiod-responder did not start")
        self.port = int(line[1])

    def send(self, cmd):
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()

    def quit(self):
        if self.proc.poll() is None:
            self.send("quit")
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                stop(self.proc)


def setup(ctx, mqtt=None, extra=""):
    bus = DbusDaemon(ctx.dir)
    ctx.cleanup.append(bus.stop)
    resp = Responder(ctx)
    lines = ["[gateway]", "id = gw1", "activity_model = %s/activity.gwm" % ctx.models,
             "fog_model = %s/fog.gwm" % ctx.models, "log_events = no", "stats_interval = 0.5", "[mqtt]"]
    lines += ["host = 127.0.0.1", "port = %d" % mqtt.port] if mqtt else ["enabled = no"]
    lines += ["[dbus]", "bus = " + bus.address,
              "[device imu]", "source = iio", "uri = ip:127.0.0.1:%d" % resp.port, "device = net",
              "sample_rate = 50", "stall_timeout = 0.5", "reopen_min = 0.05", "reopen_max = 0.3", extra]
    gw = Gaitwayd(ctx, "\n".join(lines) + "\n")
    return bus, resp, gw


def prop(bus, name):
    return bus.get(DEV, "org.gaitway.Device1", name)


def streaming(bus, timeout=15):
    wait_for(lambda: bus.busctl("status", "org.gaitway.Gateway1", check_rc=False).returncode == 0, 10,
             what="gaitwayd on the bus")
    wait_for(lambda: prop(bus, "Connected") and prop(bus, "Samples") > 0, timeout, step=0.1,
             what="the IIO device streaming")


@case("a stalled and a vanished IIO device show on D-Bus and in MQTT stats, and resume", "link")
def link_state(ctx):
    mq = Mosquitto(ctx.dir).start()
    ctx.cleanup.append(mq.stop)
    sub = Subscriber(ctx.dir, mq, ["gaitway/gw1/stats"])
    ctx.cleanup.append(lambda: stop(sub.proc))
    bus, resp, gw = setup(ctx, mqtt=mq)
    gw.start()
    ctx.cleanup.append(gw.stop)
    streaming(bus)
    mon, mon_path = bus.monitor(ctx.dir)
    ctx.cleanup.append(lambda: stop(mon))
    check(prop(bus, "Link") == "streaming", "Link")
    check(prop(bus, "Source").startswith("iio:ip:127.0.0.1:%d/net" % resp.port), "Source")
    check(prop(bus, "SampleRate") == 50.0, "SampleRate")

    resp.send("stall")
    wait_for(lambda: not prop(bus, "Connected"), 10, step=0.05, what="Connected false on a stall")
    resp.send("resume")
    wait_for(lambda: prop(bus, "Connected"), 10, step=0.05, what="Connected again")
    resp.send("vanish")
    wait_for(lambda: not prop(bus, "Connected"), 10, step=0.05, what="Connected false when gone")
    time.sleep(1.0)
    check(prop(bus, "Link") == "waiting", "Link while gone: %s" % prop(bus, "Link"))
    resp.send("return")
    wait_for(lambda: prop(bus, "Connected"), 10, step=0.05, what="Connected when back")
    n = prop(bus, "Samples")
    wait_for(lambda: prop(bus, "Samples") > n + 50, 10, step=0.1, what="samples after the return")
    check(prop(bus, "Reconnects") >= 2, "Reconnects: %d" % prop(bus, "Reconnects"))
    stop(mon)
    changes = [m["payload"]["data"][1]["Connected"]["data"] for m in read_monitor(mon_path)
               if m.get("member") == "PropertiesChanged" and "Connected" in m["payload"]["data"][1]]
    check(changes[:4] == [False, True, False, True], "Connected signals: %s" % changes)
    stats = [json.loads(p) for _, _, t, p in sub.messages() if p]
    links = {s["devices"]["imu"]["link"] for s in stats if "imu" in s.get("devices", {})}
    check("streaming" in links, "MQTT stats carry the link: %s" % links)
    last = stats[-1]["devices"]["imu"]
    check(last["reconnects"] >= 2 and last["connected"], "MQTT stats: %s" % last)


@case("the events of a live IIO stream equal gaitway replay of its recording", "e2e")
def live_equals_replay(ctx):
    rec = os.path.join(ctx.dir, "imu.csv")
    mq = Mosquitto(ctx.dir).start()
    ctx.cleanup.append(mq.stop)
    sub = Subscriber(ctx.dir, mq, ["gaitway/#"])
    ctx.cleanup.append(lambda: stop(sub.proc))
    bus, resp, gw = setup(ctx, mqtt=mq, extra="record = " + rec)
    gw.start()
    ctx.cleanup.append(gw.stop)
    streaming(bus)
    n = prop(bus, "Samples")
    wait_for(lambda: prop(bus, "Samples") >= n + 1000, 40, step=0.2, what="20 s of samples")
    check(gw.stop() == 0, "gaitwayd exit status")
    live = [(k, d) for k, d in mqtt_events(sub.stop())]
    conf = os.path.join(ctx.dir, "replay.conf")
    with open(conf, "w") as f:
        f.write("[gateway]\nid = gw1\nactivity_model = %s/activity.gwm\nfog_model = %s/fog.gwm\n"
                "[mqtt]\nenabled = no\n[dbus]\nbus = none\n" % (ctx.models, ctx.models))
    p = subprocess.run([ctx.gaitway, "replay", "--config", conf, "--device", "imu", "--events", rec],
                       capture_output=True, text=True, timeout=120)
    check(p.returncode == 0, "gaitway replay: " + p.stderr)
    replayed = [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")]
    replayed = [e for e in replayed if e["type"] in ("activity", "fog")]

    def key(kind, e):
        return (kind, e.get("activity"), e.get("event_type"), e.get("episode"), round(e["stream_s"], 3),
                round(e.get("confidence", 0), 4))
    want = [key(e["type"], e) for e in replayed]
    got = [key(k, d) for k, d in live]
    check(len(got) >= 1, "no event in 20 s")
    check(got == want, "live %s\nreplayed %s" % (got, want))


if __name__ == "__main__":
    sys.exit(run("test-iio-daemon" + "".join("-" + g for g in sys.argv[2:]), sys.argv[2:]))
