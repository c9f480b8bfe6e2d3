#!/usr/bin/python3
"""gaitwayd against real components: mosquitto (plain, TLS with passwords and
client certificates), a private dbus-daemon, a NOTIFY_SOCKET, and gaitwayd
replaying a synthetic trace, compared with `gaitway replay` on the same
trace and configuration.

    test-gaitwayd.py BUILD_ROOT [GROUP...]     groups: mqtt tls dbus systemd restart
"""

import json
import os
import signal
import subprocess
import sys
import time

from gwtest import (Accounts, Certs, DbusDaemon, Gaitwayd, Mosquitto, NotifySocket, Subscriber, case, check,
                    event_key, mqtt_events, read_monitor, run, stop, wait_for)

FAST = "speed = max"


def started(ctx, proc):
    ctx.cleanup.append(proc.stop)
    return proc


# ---- MQTT ------------------------------------------------------------------------------------

@case("the events on MQTT equal gaitway replay on the same trace", "mqtt")
def mqtt_equals_replay(ctx):
    broker = started(ctx, Mosquitto(ctx.dir).start())
    sub = started(ctx, Subscriber(ctx.dir, broker, ["gaitway/#"]))
    gw = Gaitwayd(ctx, ctx.config(FAST, mqtt=broker), ["--exit-when-done"]).start()
    check(gw.wait() == 0, "gaitwayd exit status")
    time.sleep(0.5)
    got = mqtt_events(sub.stop())
    want, _ = ctx.replay_events(gw.conf)
    check(len(want) > 20, "the trace gives events (%d)" % len(want))
    check(len(got) == len(want), "%d events on MQTT, %d from gaitway replay" % (len(got), len(want)))
    for i, ((kind, d), w) in enumerate(zip(got, want)):
        check(kind == w["type"], "event %d: %s on MQTT, %s from replay" % (i, kind, w["type"]))
        check(event_key(d) == event_key(w), "event %d differs:\n  mqtt   %s\n  replay %s" % (i, d, w))
        check(d["v"] == 1 and d["gateway"] == "gw1", "event %d: version and gateway" % i)


@case("after the run: offline, the last activity and the stats are retained", "mqtt")
def retained_after_run(ctx):
    broker = started(ctx, Mosquitto(ctx.dir).start())
    gw = Gaitwayd(ctx, ctx.config(FAST, mqtt=broker), ["--exit-when-done"]).start()
    check(gw.wait() == 0, "gaitwayd exit status")
    sub = Subscriber(ctx.dir, broker, ["gaitway/gw1/#"], retained_only=True)
    msgs = {t: (r, p) for r, q, t, p in sub.wait(10)}
    check(msgs.get("gaitway/gw1/status") == (True, "offline"), "status: %r" % (msgs.get("gaitway/gw1/status"),))
    want, summary = ctx.replay_events(gw.conf)
    last = [w for w in want if w["type"] == "activity"][-1]
    r, p = msgs.get("gaitway/gw1/synth/activity", (False, "{}"))
    check(r and json.loads(p)["activity"] == last["activity"], "retained activity %s, last change %s"
          % (p, last["activity"]))
    r, p = msgs.get("gaitway/gw1/stats", (False, "{}"))
    stats = json.loads(p)
    check(r and stats["devices"]["synth"]["samples"] == summary["samples"],
          "retained stats count %s samples" % stats.get("devices"))
    check(stats["mqtt"]["dropped"] == 0, "no message dropped")


@case("Home Assistant discovery is retained and re-sent when homeassistant/status says online", "mqtt")
def ha_discovery(ctx):
    broker = started(ctx, Mosquitto(ctx.dir).start())
    gw = started(ctx, Gaitwayd(ctx, ctx.config("speed = 1\nloop = yes", mqtt=broker)).start())
    topic = "homeassistant/device/gaitway_gw1_synth/config"
    sub = started(ctx, Subscriber(ctx.dir, broker, ["homeassistant/device/#"]))
    wait_for(lambda: any(t == topic for _, _, t, _ in sub.messages()), 10, what="discovery")
    first = [m for m in sub.messages() if m[2] == topic][0]
    d = json.loads(first[3])
    check(d["cmps"]["gaitway_gw1_synth_activity"]["device_class"] == "enum", "activity is an enum sensor")
    check(d["cmps"]["gaitway_gw1_synth_fog"]["p"] == "event", "FoG is an event entity")
    check(d["availability"][0]["topic"] == "gaitway/gw1/status", "availability topic")
    n = len([m for m in sub.messages() if m[2] == topic])
    subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(broker.port), "-t", "homeassistant/status",
                    "-m", "online"], check=True)
    wait_for(lambda: len([m for m in sub.messages() if m[2] == topic]) > n, 10, what="discovery re-sent")
    check(gw.alive(), "gaitwayd still running")


@case("per-window probabilities are published only when enabled", "mqtt")
def probabilities(ctx):
    broker = started(ctx, Mosquitto(ctx.dir).start())
    sub = started(ctx, Subscriber(ctx.dir, broker, ["gaitway/gw1/synth/probabilities/#"]))
    gw = Gaitwayd(ctx, ctx.config(FAST, mqtt=broker), ["--exit-when-done"]).start()
    check(gw.wait() == 0, "gaitwayd exit status")
    time.sleep(0.3)
    check(len(sub.messages()) == 0, "no probabilities by default")
    conf = ctx.config(FAST, mqtt=broker).replace("[mqtt]", "[mqtt]\nprobabilities = yes")
    gw = Gaitwayd(ctx, conf, ["--exit-when-done"], name="p.conf").start()
    check(gw.wait() == 0, "gaitwayd exit status")
    time.sleep(0.5)
    msgs = sub.stop()
    p = subprocess.run([ctx.gaitway, "replay", "--config", gw.conf, "--device", "synth", "--json", ctx.trace()],
                       capture_output=True, text=True, check=True)
    windows = [json.loads(l) for l in p.stdout.splitlines() if l.startswith('{"type":"window"')]
    check(len(msgs) == len(windows), "%d probability messages for %d windows" % (len(msgs), len(windows)))
    act = [json.loads(m[3]) for m in msgs if m[2].endswith("/activity")]
    w0 = [w for w in windows if w["model"]["id"] == act[0]["model"]["id"]][0]
    check(act[0]["p"] == w0["p"] and act[0]["window"] == 0, "first window's probabilities agree")


# ---- TLS -------------------------------------------------------------------------------------

@case("TLS with a CA, a client certificate and a password delivers every event", "tls")
def tls_password(ctx):
    certs = Certs(ctx.dir)
    broker = started(ctx, Mosquitto(ctx.dir, tls=certs, users={"gw": "s3cret", "sub": "sub"},
                                    require_cert=True).start())
    sub = started(ctx, Subscriber(ctx.dir, broker, ["gaitway/#"], user=("sub", "sub"), tls_client=True))
    pw = os.path.join(ctx.dir, "mqtt.password")
    with open(pw, "w") as f:
        f.write("s3cret\n")
    os.chmod(pw, 0o600)
    conf = ctx.config(FAST, mqtt=broker).replace(
        "[mqtt]", "[mqtt]\nusername = gw\npassword_file = %s\ntls_ca = %s\ntls_cert = %s\ntls_key = %s"
        % (pw, certs.ca, certs.client_cert, certs.client_key))
    gw = Gaitwayd(ctx, conf, ["--exit-when-done"]).start()
    check(gw.wait() == 0, "gaitwayd exit status")
    time.sleep(0.5)
    got = mqtt_events(sub.stop())
    want, _ = ctx.replay_events(gw.conf)
    check([event_key(d) for _, d in got] == [event_key(w) for w in want],
          "%d events over TLS, %d from replay" % (len(got), len(want)))
    check("(TLS)" in gw.log(), "log says TLS")
    check("s3cret" not in gw.log(), "the password is never logged (debug level)")
    key = [l for l in open(certs.client_key).read().splitlines() if l and not l.startswith("-----")]
    check(not any(l in gw.log() for l in key), "no line of the private key is logged")


@case("a wrong password is refused with a clear log line and retried", "tls")
def tls_wrong_password(ctx):
    certs = Certs(ctx.dir)
    broker = started(ctx, Mosquitto(ctx.dir, tls=certs, users={"gw": "right"}).start())
    pw = os.path.join(ctx.dir, "mqtt.password")
    with open(pw, "w") as f:
        f.write("wrong\n")
    os.chmod(pw, 0o600)
    conf = ctx.config("speed = 1\nloop = yes", mqtt=broker).replace(
        "[mqtt]", "[mqtt]\nusername = gw\npassword_file = %s\ntls_ca = %s" % (pw, certs.ca))
    gw = started(ctx, Gaitwayd(ctx, conf).start())
    wait_for(lambda: "refused" in gw.log(), 10, what="a refusal in the log")
    wait_for(lambda: gw.log().count("refused") >= 2 or "mqtt: " in gw.log(), 5, what="a retry")
    time.sleep(1.5)
    check(gw.alive(), "gaitwayd keeps running")
    check("wrong" not in gw.log(), "the password is never logged")


def tls_refused(ctx, certs, ca, name):
    """gaitwayd against a TLS broker whose certificate it must refuse: one
    clear warning, retries with backoff, still running; returns the log."""
    broker = started(ctx, Mosquitto(ctx.dir, tls=certs).start())
    conf = ctx.config("speed = 1\nloop = yes", mqtt=broker).replace("[mqtt]", "[mqtt]\ntls_ca = " + ca)
    gw = started(ctx, Gaitwayd(ctx, conf, name=name).start())
    line = "mqtt: 127.0.0.1:%d: TLS error: certificate verify failed" % broker.port
    wait_for(lambda: line in gw.log(), 10, what="the TLS failure in the log")
    time.sleep(2.0)
    log = gw.log()
    delays = [float(l.split("reconnecting in ")[1].split()[0]) for l in log.splitlines() if "reconnecting in" in l]
    check(gw.alive(), "gaitwayd keeps running")
    check(len(delays) >= 3 and all(0.05 <= d <= 0.5 for d in delays), "retried with backoff (0.1..0.5 s): %s" % delays)
    warnings = [l for l in log.splitlines() if l.startswith("<4>") and "TLS error" in l]
    check(len(warnings) == 1, "the failure is a warning once, then debug lines: %s" % warnings)
    check("mqtt: connected" not in log, "never connected")
    return log


@case("a broker certificate from another CA is refused: one clear warning, retries, no crash", "tls")
def tls_wrong_ca(ctx):
    mine, theirs = Certs(ctx.dir), Certs(ctx.dir)
    tls_refused(ctx, theirs, mine.ca, "wrong-ca.conf")


@case("an expired broker certificate is refused: one clear warning, retries, no crash", "tls")
def tls_expired(ctx):
    certs = Certs(ctx.dir, server_expired=True)
    log = tls_refused(ctx, certs, certs.ca, "expired.conf")
    check("has expired" in log, "the warning lists expiry among the causes")


@case("certificate checks are on by default; tls_insecure = yes says it is off with a warning", "tls")
def tls_insecure_warns(ctx):
    certs = Certs(ctx.dir)
    broker = started(ctx, Mosquitto(ctx.dir, tls=certs).start())
    conf = ctx.config(FAST, mqtt=broker).replace("[mqtt]", "[mqtt]\ntls_ca = " + certs.ca)
    gw = Gaitwayd(ctx, conf, ["--exit-when-done"]).start()
    check(gw.wait() == 0, "gaitwayd exit status")
    check("mqtt: connected to 127.0.0.1:%d (TLS)" % broker.port in gw.log() and "tls_insecure" not in gw.log(),
          "verified TLS without a warning")
    gw = Gaitwayd(ctx, conf.replace("[mqtt]", "[mqtt]\ntls_insecure = yes"), ["--exit-when-done"],
                  name="insecure.conf").start()
    check(gw.wait() == 0, "gaitwayd exit status")
    check("<4>mqtt: tls_insecure = yes: the broker's host name is not verified" in gw.log(),
          "a warning says host name verification is off")


# ---- D-Bus -----------------------------------------------------------------------------------

@case("busctl reads the device properties and receives the signals", "dbus")
def dbus_properties_and_signals(ctx):
    bus = DbusDaemon(ctx.dir)
    ctx.cleanup.append(bus.stop)
    mon, mon_path = bus.monitor(ctx.dir)
    ctx.cleanup.append(lambda: stop(mon))
    gw = started(ctx, Gaitwayd(ctx, ctx.config("speed = 200", dbus=bus.address)).start())
    path = "/org/gaitway/Gateway1/device/synth"
    wait_for(lambda: bus.busctl("status", "org.gaitway.Gateway1", check_rc=False).returncode == 0, 10,
             what="the bus name")
    check(bus.get("/org/gaitway/Gateway1", "org.gaitway.Gateway1", "GatewayId") == "gw1", "GatewayId")
    check(bus.get("/org/gaitway/Gateway1", "org.gaitway.Gateway1", "Devices") == [path], "Devices")
    check(bus.get(path, "org.gaitway.Device1", "Source").startswith("replay:"), "Source")
    check(bus.get(path, "org.gaitway.Device1", "SampleRate") == 50.0, "SampleRate")
    ld = json.loads(bus.busctl("--json=short", "call", "org.gaitway.Gateway1", "/org/gaitway/Gateway1",
                               "org.gaitway.Gateway1", "ListDevices").stdout)
    check(ld["data"] == [[["synth", path]]], "ListDevices: %s" % ld)
    # The replay (480 s at 200x) ends after about 2.4 s; the device stays.
    wait_for(lambda: bus.get(path, "org.gaitway.Device1", "Connected") is False, 30, step=0.2,
             what="the end of the replay")
    time.sleep(0.3)
    want, summary = ctx.replay_events(gw.conf)
    acts = [w for w in want if w["type"] == "activity"]
    fogs = [w for w in want if w["type"] == "fog"]
    check(bus.get(path, "org.gaitway.Device1", "Activity") == acts[-1]["activity"], "Activity")
    check(abs(bus.get(path, "org.gaitway.Device1", "ActivityConfidence") - acts[-1]["confidence"]) < 1e-4,
          "ActivityConfidence")
    check(bus.get(path, "org.gaitway.Device1", "ActivitySince") > 0, "ActivitySince")
    check(bus.get(path, "org.gaitway.Device1", "FreezeEpisodes") == fogs[-1]["episode"], "FreezeEpisodes")
    check(bus.get(path, "org.gaitway.Device1", "FreezeActive") is False, "FreezeActive")
    check(bus.get(path, "org.gaitway.Device1", "Samples") == summary["samples"], "Samples")
    check(bus.get(path, "org.gaitway.Device1", "WindowsProcessed") > 0, "WindowsProcessed")
    stop(mon)
    msgs = read_monitor(mon_path)
    changed = [m["payload"]["data"] for m in msgs if m.get("member") == "ActivityChanged"]
    freezes = [m["payload"]["data"] for m in msgs if m.get("member") == "FreezeOfGait"]
    props = [m for m in msgs if m.get("member") == "PropertiesChanged"]
    check([c[1] for c in changed] == [a["activity"] for a in acts],
          "%d ActivityChanged signals for %d changes" % (len(changed), len(acts)))
    check([(f[0], f[1]) for f in freezes] == [(w["event_type"], w["episode"]) for w in fogs],
          "%d FreezeOfGait signals for %d events" % (len(freezes), len(fogs)))
    check(len(props) >= len(acts) + len(fogs), "PropertiesChanged on every change")


@case("Reload over D-Bus adds a device with InterfacesAdded; a broken config is refused by name", "dbus")
def dbus_reload(ctx):
    bus = DbusDaemon(ctx.dir)
    ctx.cleanup.append(bus.stop)
    gw = started(ctx, Gaitwayd(ctx, ctx.config("speed = 1\nloop = yes", dbus=bus.address)).start())
    wait_for(lambda: bus.busctl("status", "org.gaitway.Gateway1", check_rc=False).returncode == 0, 10,
             what="the bus name")
    mon, mon_path = bus.monitor(ctx.dir)
    ctx.cleanup.append(lambda: stop(mon))
    gw.write(ctx.config("speed = 1\nloop = yes", dbus=bus.address, devices=("synth", "second")))
    bus.busctl("call", "org.gaitway.Gateway1", "/org/gaitway/Gateway1", "org.gaitway.Gateway1", "Reload")
    devs = bus.get("/org/gaitway/Gateway1", "org.gaitway.Gateway1", "Devices")
    check(sorted(devs) == ["/org/gaitway/Gateway1/device/second", "/org/gaitway/Gateway1/device/synth"],
          "Devices after reload: %s" % devs)
    objs = json.loads(bus.busctl("--json=short", "call", "org.gaitway.Gateway1", "/org/gaitway/Gateway1",
                                 "org.freedesktop.DBus.ObjectManager", "GetManagedObjects").stdout)
    check(len(objs["data"][0]) == 2, "ObjectManager lists two devices")
    gw.write(ctx.config("speed = 1\nloop = yes\nsmoothing = sideways", dbus=bus.address))
    p = bus.busctl("call", "org.gaitway.Gateway1", "/org/gaitway/Gateway1", "org.gaitway.Gateway1", "Reload",
                   check_rc=False)
    check(p.returncode != 0 and "smoothing" in p.stderr and gw.conf in p.stderr,
          "Reload refused naming the file and key: %s" % p.stderr.strip())
    time.sleep(0.3)
    stop(mon)
    added = [m for m in read_monitor(mon_path) if m.get("member") == "InterfacesAdded"]
    check(any(m["payload"]["data"][0] == "/org/gaitway/Gateway1/device/second" for m in added),
          "InterfacesAdded for the new device")
    check(len(bus.get("/org/gaitway/Gateway1", "org.gaitway.Gateway1", "Devices")) == 2,
          "the old configuration keeps running")
    p = bus.busctl("call", "org.gaitway.Gateway1", "/org/gaitway/Gateway1", "org.gaitway.Gateway1",
                   "GetDevice", "s", "nope", check_rc=False)
    check("org.gaitway.Error.NoSuchDevice" in p.stderr or "No device" in p.stderr, "named error: " + p.stderr)


@case("Reload: root and the admin group's members may, others are refused by name; anyone may read", "dbus")
def dbus_unprivileged(ctx):
    accounts = Accounts(ctx)
    admins = accounts.group("gwitadm")
    admin = accounts.user("gwitadmin", groups=[admins])
    other = accounts.user("gwitother")
    bus = DbusDaemon(ctx.dir)
    ctx.cleanup.append(bus.stop)
    os.chmod(ctx.dir, 0o755)
    conf = ctx.config("speed = 1\nloop = yes", dbus=bus.address).replace("[dbus]", "[dbus]\nadmin_group = " + admins)
    gw = started(ctx, Gaitwayd(ctx, conf).start())
    wait_for(lambda: bus.busctl("status", "org.gaitway.Gateway1", check_rc=False).returncode == 0, 10,
             what="the bus name")
    M = ("org.gaitway.Gateway1", "/org/gaitway/Gateway1", "org.gaitway.Gateway1")
    for who in ("nobody", other):
        p = bus.busctl("call", *M, "ListDevices", user=who, check_rc=False)
        check(p.returncode == 0 and "synth" in p.stdout, "%s may list devices: %s" % (who, p.stderr))
        p = bus.busctl("get-property", "org.gaitway.Gateway1", "/org/gaitway/Gateway1/device/synth",
                       "org.gaitway.Device1", "Connected", user=who, check_rc=False)
        check(p.returncode == 0, "%s may read properties: %s" % (who, p.stderr))
        res = bus.call_as(who, M[1], M[2], "Reload")
        check(res == "org.freedesktop.DBus.Error.AccessDenied: Reload needs root or membership of the "
              "group '%s'" % admins, "Reload refused to %s with AccessDenied naming the group: %s" % (who, res))
    reloads = gw.log().count("configuration reloaded")
    res = bus.call_as(admin, M[1], M[2], "Reload")
    check(res == "ok", "a member of %s may Reload: %s" % (admins, res))
    p = bus.busctl("call", *M, "Reload", check_rc=False)
    check(p.returncode == 0, "root may Reload: %s" % p.stderr)
    check(gw.log().count("configuration reloaded") == reloads + 2, "exactly the two permitted reloads ran")
    check("dbus: Reload refused to" in gw.log(), "a refusal is logged")
    # Without the group, its members are refused too.
    gw.write(conf.replace("admin_group = " + admins, "admin_group ="))
    bus.busctl("call", *M, "Reload")
    res = bus.call_as(admin, M[1], M[2], "Reload")
    check(res == "org.freedesktop.DBus.Error.AccessDenied: Reload needs root",
          "admin_group empty: root only: %s" % res)


@case("Reload under ProtectProc=invisible: the groups come from the bus, not from /proc", "dbus")
def dbus_admin_hidden_proc(ctx):
    # gaitwayd as an unprivileged account that cannot see other users'
    # processes (hidepid=invisible, what ProtectProc=invisible gives the
    # service): the caller's groups must come from the bus daemon.
    accounts = Accounts(ctx)
    admins = accounts.group("gwitadm")
    admin = accounts.user("gwitadmin", groups=[admins])
    other = accounts.user("gwitother")
    svc = accounts.user("gwitsvc")
    bus = DbusDaemon(ctx.dir)
    ctx.cleanup.append(bus.stop)
    os.chmod(ctx.dir, 0o755)
    conf = ctx.config("speed = 1\nloop = yes", dbus=bus.address).replace("[dbus]", "[dbus]\nadmin_group = " + admins)
    wrap = ["unshare", "--mount", "--propagation", "private", "sh", "-ec",
            'mount -t proc -o hidepid=invisible proc /proc; '
            'exec setpriv --reuid=%s --regid=%s --clear-groups "$@"' % (svc, svc), "sh"]
    gw = started(ctx, Gaitwayd(ctx, conf, prefix=wrap).start())
    os.chmod(gw.conf, 0o644)
    wait_for(lambda: bus.busctl("status", "org.gaitway.Gateway1", check_rc=False).returncode == 0, 10,
             what="the bus name")
    M = ("/org/gaitway/Gateway1", "org.gaitway.Gateway1")
    check(bus.call_as(admin, *M, "Reload") == "ok", "a member of %s may Reload" % admins)
    res = bus.call_as(other, *M, "Reload")
    check(res.startswith("org.freedesktop.DBus.Error.AccessDenied"), "others are refused: %s" % res)
    check(bus.call_as(None, *M, "Reload") == "ok", "root may Reload")


@case("a restarted dbus-daemon gets the name and objects back", "dbus")
def dbus_restart(ctx):
    bus = DbusDaemon(ctx.dir, socket_path=os.path.join(ctx.dir, "bus.sock"))
    ctx.cleanup.append(bus.stop)
    addr = "unix:path=" + bus.socket_path
    gw = started(ctx, Gaitwayd(ctx, ctx.config("speed = 1\nloop = yes", dbus=addr)).start())
    path = "/org/gaitway/Gateway1/device/synth"
    wait_for(lambda: bus.busctl("status", "org.gaitway.Gateway1", check_rc=False).returncode == 0, 10,
             what="the bus name")
    bus.restart()
    wait_for(lambda: bus.busctl("status", "org.gaitway.Gateway1", check_rc=False).returncode == 0, 15,
             step=0.2, what="the bus name after the restart")
    check(bus.get(path, "org.gaitway.Device1", "Connected") is True, "the device object is back")
    check(gw.alive() and "dbus: connection lost" in gw.log(), "the loss was logged, gaitwayd kept running")
    check("dbus: connected again" in gw.log(), "the reconnect is logged")
    objs = json.loads(bus.busctl("--json=short", "call", "org.gaitway.Gateway1", "/org/gaitway/Gateway1",
                                 "org.freedesktop.DBus.ObjectManager", "GetManagedObjects").stdout)
    check(list(objs["data"][0]) == [path], "the ObjectManager lists the device again: %s" % list(objs["data"][0]))
    mon, mon_path = bus.monitor(ctx.dir)
    ctx.cleanup.append(lambda: stop(mon))
    gw.signal(signal.SIGHUP)
    wait_for(lambda: "configuration reloaded" in gw.log(), 10, what="a reload after the restart")
    time.sleep(0.5)
    stop(mon)
    check(any(m.get("member") == "PropertiesChanged" for m in read_monitor(mon_path)),
          "signals reach the new bus")


# ---- systemd ---------------------------------------------------------------------------------

@case("READY=1, STATUS= and WATCHDOG=1 reach NOTIFY_SOCKET; STOPPING=1 on SIGTERM", "systemd")
def notify(ctx):
    ns = NotifySocket(ctx.dir)
    gw = started(ctx, Gaitwayd(ctx, ctx.config("speed = 1\nloop = yes"),
                               env={"NOTIFY_SOCKET": ns.path, "WATCHDOG_USEC": "200000"}).start())
    ns.wait("READY=1")
    check(any(l.startswith("STATUS=") for l in ns.received), "a STATUS= line")
    ns.wait("WATCHDOG=1", timeout=3, count=3)
    gw.signal(signal.SIGTERM)
    check(gw.wait(10) == 0, "exit status 0 after SIGTERM")
    ns.wait("STOPPING=1", timeout=2)


@case("SIGHUP with a broken configuration keeps the old one running; a good one is applied", "systemd")
def sighup(ctx):
    ns = NotifySocket(ctx.dir)
    good = ctx.config("speed = 1\nloop = yes")
    gw = started(ctx, Gaitwayd(ctx, good, env={"NOTIFY_SOCKET": ns.path}).start())
    ns.wait("READY=1")
    gw.write(good.replace("[mqtt]", "[mqtt]\nport = 99999"))
    gw.signal(signal.SIGHUP)
    wait_for(lambda: "reload failed" in gw.log(), 5, what="the reload failure in the log")
    check("%s:" % gw.conf in gw.log() and "[mqtt] port" in gw.log(), "the failure names file and key")
    ns.wait("RELOADING=1")
    ns.wait("READY=1", count=2)
    time.sleep(0.3)
    check(gw.alive(), "still running")
    gw.write(ctx.config("speed = 1\nloop = yes", devices=("synth", "two")))
    gw.signal(signal.SIGHUP)
    wait_for(lambda: "configuration reloaded" in gw.log(), 5, what="the reload")
    check("device two: added" in gw.log(), "the new device was added")
    check("device synth: removed" not in gw.log(), "the unchanged device kept running")


@case("SIGHUP with a missing, a corrupted or a truncated model keeps the old configuration running",
      "systemd")
def sighup_bad_models(ctx):
    bus = DbusDaemon(ctx.dir)
    ctx.cleanup.append(bus.stop)
    model = os.path.join(ctx.dir, "activity.gwm")
    with open(os.path.join(ctx.models, "activity.gwm"), "rb") as f:
        good = f.read()
    with open(model, "wb") as f:
        f.write(good)
    conf = ctx.config("speed = 5\nloop = yes", dbus=bus.address).replace(
        "activity_model = %s/activity.gwm" % ctx.models, "activity_model = " + model)
    gw = started(ctx, Gaitwayd(ctx, conf).start())
    path = "/org/gaitway/Gateway1/device/synth"
    wait_for(lambda: bus.busctl("status", "org.gaitway.Gateway1", check_rc=False).returncode == 0, 10,
             what="the bus name")
    windows = lambda: bus.get(path, "org.gaitway.Device1", "WindowsProcessed")  # noqa: E731
    wait_for(lambda: windows() > 0, 10, step=0.1, what="windows")

    def refused(what, want):
        n = gw.log().count("reload failed")
        gw.signal(signal.SIGHUP)
        wait_for(lambda: gw.log().count("reload failed") > n, 10, what="the refusal of " + what)
        line = [l for l in gw.log().splitlines() if "reload failed" in l][-1]
        check(want in line, "%s: the failure says %r: %s" % (what, want, line))
        before = windows()
        wait_for(lambda: windows() > before, 10, step=0.1, what="windows after refusing " + what)
        check(bus.get(path, "org.gaitway.Device1", "Models") == ["test-synthetic-activity", "test-synthetic-fog"],
              "the old models keep running")

    gw.write(conf.replace("fog_model = %s/fog.gwm" % ctx.models, "fog_model = %s/missing.gwm" % ctx.dir))
    refused("a missing model", "[gateway] fog_model: %s/missing.gwm: No such file or directory" % ctx.dir)
    gw.write(conf)
    corrupt = bytearray(good)
    corrupt[len(corrupt) // 2] ^= 0xFF
    with open(model, "wb") as f:
        f.write(corrupt)
    refused("a corrupted model", "[gateway] activity_model: ")
    with open(model, "wb") as f:
        f.write(good[:len(good) // 3])
    refused("a truncated model", "[gateway] activity_model: ")
    check("device synth: removed" not in gw.log() and gw.alive(), "the device was never removed")
    with open(model, "wb") as f:
        f.write(good)
    gw.signal(signal.SIGHUP)
    wait_for(lambda: "configuration reloaded" in gw.log(), 10, what="the good reload")


@case("SIGTERM flushes and leaves offline retained", "systemd")
def sigterm_offline(ctx):
    broker = started(ctx, Mosquitto(ctx.dir).start())
    gw = started(ctx, Gaitwayd(ctx, ctx.config("speed = 20\nloop = yes", mqtt=broker)).start())
    wait_for(lambda: "mqtt: connected" in gw.log(), 10, what="the MQTT connection")
    time.sleep(1)
    gw.signal(signal.SIGTERM)
    check(gw.wait(10) == 0, "exit status 0")
    msgs = {t: (r, p) for r, q, t, p in Subscriber(ctx.dir, broker, ["gaitway/gw1/status"],
                                                    retained_only=True).wait(10)}
    check(msgs.get("gaitway/gw1/status") == (True, "offline"), "status %r" % (msgs.get("gaitway/gw1/status"),))


@case("--check-config exits 0 on a good configuration and 1 naming file and line on a bad one; "
      "a world-writable configuration is refused", "systemd")
def check_config(ctx):
    gw = Gaitwayd(ctx, ctx.config(FAST))
    p = subprocess.run([ctx.gaitwayd, "--config", gw.conf, "--check-config"], capture_output=True, text=True)
    check(p.returncode == 0 and "configuration OK" in p.stdout, "good config: %s %s" % (p.stdout, p.stderr))
    gw.write(ctx.config(FAST + "\nsmoothing_dwell = 99"))
    p = subprocess.run([ctx.gaitwayd, "--config", gw.conf, "--check-config"], capture_output=True, text=True)
    check(p.returncode == 1 and "%s:" % gw.conf in p.stderr and "smoothing_dwell" in p.stderr,
          "bad config: %s" % p.stderr)
    gw.write(ctx.config(FAST).replace("fog.gwm", "missing.gwm"))
    p = subprocess.run([ctx.gaitwayd, "--config", gw.conf, "--check-config"], capture_output=True, text=True)
    check(p.returncode == 1 and "fog_model" in p.stderr, "missing model: %s" % p.stderr)
    gw.write(ctx.config(FAST))
    os.chmod(gw.conf, 0o666)
    p = subprocess.run([ctx.gaitwayd, "--config", gw.conf, "-v"], capture_output=True, text=True, timeout=30)
    check(p.returncode == 1 and "%s: writable by every user (mode 0666): refused" % gw.conf in p.stderr,
          "gaitwayd refuses to start on a world-writable configuration: %s" % p.stderr)


@case("a broker that is down at start: READY anyway, retries with backoff, events once it appears", "restart")
def broker_late(ctx):
    ns = NotifySocket(ctx.dir)
    broker = Mosquitto(ctx.dir)
    ctx.cleanup.append(broker.stop)
    gw = Gaitwayd(ctx, ctx.config("speed = 60", mqtt=broker), ["--exit-when-done"],
                  env={"NOTIFY_SOCKET": ns.path}).start()
    ctx.cleanup.append(gw.stop)
    ns.wait("READY=1", timeout=5)

    def delays():
        return [float(l.split("reconnecting in ")[1].split()[0]) for l in gw.log().splitlines()
                if "mqtt: reconnecting in" in l]
    t0 = time.monotonic()
    wait_for(lambda: len(delays()) >= 5, 15, step=0.1, what="five retries")
    took, delays = time.monotonic() - t0, delays()
    # reconnect_min 0.1, reconnect_max 0.5: the n-th delay in [b/2, b], b = min(0.5, 0.1 * 2^n).
    check(all(0.05 <= d <= 0.5 for d in delays) and max(delays) > 0.2 and took > 0.5,
          "retries with growing delays, not a busy loop: %s in %.1f s" % (delays, took))
    check(sum(1 for l in gw.log().splitlines() if l.startswith("<4>mqtt: 127.0.0.1")) == 1,
          "the refused connection is one warning, the retries debug lines")
    broker.start()
    sub = started(ctx, Subscriber(ctx.dir, broker, ["gaitway/gw1/+/fog"], client_id="late", persistent=True))
    check(gw.wait(60) == 0, "gaitwayd exit status")
    time.sleep(0.5)
    got = mqtt_events(sub.stop())
    check(len(got) > 0 and "mqtt: connected" in gw.log(), "events delivered after the broker appeared")


# ---- broker killed ---------------------------------------------------------------------------

def durable_broker(ctx):
    """A broker that writes every change to disk at once, so a SIGKILL
    loses nothing it acknowledged (mosquitto saves periodically otherwise)."""
    b = Mosquitto(ctx.dir, persistence=True)
    with open(b.conf, "a") as f:
        f.write("autosave_on_changes true\n")
    return started(ctx, b.start())


def retained(ctx, broker, topic="gaitway/gw1/#", want=None):
    """The retained messages under topic; tries again (a loaded machine may
    keep mosquitto_sub from connecting within its -W) until `want` is there."""
    for _ in range(5):
        got = {t: p for r, q, t, p in Subscriber(ctx.dir, broker, [topic], retained_only=True).wait(10)}
        if want is None or want in got:
            return got
    return got


@case("a broker SIGKILLed and restarted mid-replay: every QoS 1 event arrives at least once, none dropped",
      "restart")
def broker_restart(ctx):
    broker = durable_broker(ctx)
    topics = ["gaitway/gw1/+/activity", "gaitway/gw1/+/fog"]
    # A persistent session: the broker keeps what arrives while we reconnect.
    sub = started(ctx, Subscriber(ctx.dir, broker, topics, client_id="it-sub", persistent=True))
    gw = Gaitwayd(ctx, ctx.config("speed = 60", mqtt=broker), ["--exit-when-done"]).start()
    ctx.cleanup.append(gw.stop)
    wait_for(lambda: "mqtt: connected" in gw.log(), 10, what="the first connection")
    time.sleep(2.0)
    broker.stop(signal.SIGKILL)
    time.sleep(2.0)
    broker.start()
    check(gw.wait(60) == 0, "gaitwayd exit status")
    time.sleep(1.5)
    got = mqtt_events(sub.stop())
    want, _ = ctx.replay_events(gw.conf)
    got_keys = {event_key(d) for _, d in got}
    missing = [w for w in want if event_key(w) not in got_keys]
    check(not missing, "%d of %d events lost, first %s" % (len(missing), len(want), missing[:1]))
    check(len(got) >= len(want), "at least once: %d received for %d events" % (len(got), len(want)))
    check("connection to 127.0.0.1:%d lost" % broker.port in gw.log(), "the outage was noticed")
    s = json.loads(retained(ctx, broker, "gaitway/gw1/stats", want="gaitway/gw1/stats")["gaitway/gw1/stats"])
    check(s["mqtt"]["dropped"] == 0 and s["mqtt"]["connects"] >= 2, "stats: %s" % s["mqtt"])
    print("       broker SIGKILL: %d events, %d received (%d duplicates), 0 lost, %d dropped"
          % (len(want), len(got), len(got) - len(want), s["mqtt"]["dropped"]))


@case("a broker SIGKILLed without persistence: online and the current activity are retained again at once",
      "restart")
def broker_restart_retained(ctx):
    broker = started(ctx, Mosquitto(ctx.dir).start())
    gw = started(ctx, Gaitwayd(ctx, ctx.config("speed = 20\nloop = yes", mqtt=broker)).start())
    bus_path = "gaitway/gw1/synth/activity"
    wait_for(lambda: bus_path in retained(ctx, broker), 20, step=0.5, what="a retained activity")
    broker.stop(signal.SIGKILL)
    time.sleep(1.0)
    broker.start()
    wait_for(lambda: gw.log().count("mqtt: connected") >= 2, 10, what="the reconnect")
    # Right after the reconnect, before any new change could have come.
    state = retained(ctx, broker)
    check(state.get("gaitway/gw1/status") == "online", "status: %r" % state.get("gaitway/gw1/status"))
    act = json.loads(state.get(bus_path, "{}") or "{}")
    check(act.get("activity") and act.get("reason") in ("republish", "change"),
          "the current activity is retained again: %s" % act)
    check(any(k.startswith("homeassistant/device/gaitway_gw1_synth") for k in
              retained(ctx, broker, "homeassistant/#")), "discovery is retained again")
    gw.signal(signal.SIGTERM)
    check(gw.proc.wait(10) == 0, "exit status")
    check(retained(ctx, broker).get("gaitway/gw1/status") == "offline", "offline retained at the end")


@case("a queue bound smaller than the outage: the oldest are dropped and counted; nothing else is lost",
      "restart")
def queue_bound(ctx):
    broker = durable_broker(ctx)
    topics = ["gaitway/gw1/+/activity", "gaitway/gw1/+/fog"]
    sub = started(ctx, Subscriber(ctx.dir, broker, topics, client_id="it-sub", persistent=True))
    gw = Gaitwayd(ctx, ctx.config("speed = 60", mqtt=broker).replace("[mqtt]", "[mqtt]\nqueue_limit = 3"),
                  ["--exit-when-done"]).start()
    ctx.cleanup.append(gw.stop)
    wait_for(lambda: "mqtt: connected" in gw.log(), 10, what="the first connection")
    time.sleep(1.0)
    broker.stop(signal.SIGKILL)
    time.sleep(4.0)
    broker.start()
    check(gw.wait(60) == 0, "gaitwayd exit status")
    time.sleep(1.5)
    got = {event_key(d) for _, d in mqtt_events(sub.stop())}
    want, _ = ctx.replay_events(gw.conf)
    missing = [w for w in want if event_key(w) not in got]
    s = json.loads(retained(ctx, broker, "gaitway/gw1/stats", want="gaitway/gw1/stats")["gaitway/gw1/stats"])
    check(s["mqtt"]["dropped"] > 0, "drops counted: %s" % s["mqtt"])
    # Status and discovery are QoS 1 too: the counted drops cover at least
    # the missing events.
    check(0 < len(missing) <= s["mqtt"]["dropped"],
          "%d events missing, %d drops counted" % (len(missing), s["mqtt"]["dropped"]))
    print("       queue_limit 3, broker SIGKILLed for 4 s: %d events, %d missing, %d drops counted"
          % (len(want), len(missing), s["mqtt"]["dropped"]))
    check("queue full" in gw.log(), "the drop is logged")


if __name__ == "__main__":
    sys.exit(run("gaitwayd-" + "-".join(sys.argv[2:]) if len(sys.argv) > 2 else "gaitwayd", sys.argv[2:]))
