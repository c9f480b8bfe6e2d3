#!/usr/bin/python3
"""The service files of systemd/ and conf/ do what they claim.

- gaitwayd.service: `systemd-analyze verify` prints nothing, the offline
  security exposure is at most 2.5, and the unit holds the settings the
  service contract asks for (notify, watchdog, restarts, reload by SIGHUP,
  the dedicated account, the sandbox, IIO devices only, credentials).
- gaitway.sysusers creates the accounts the unit and the policy name.
- 60-gaitway-iio.rules hands the IIO attributes a capture writes, and only
  those, to the group iio (its RUN program on a fake device directory).
- org.gaitway.Gateway1.conf on a real dbus-daemon, with gaitwayd owning the
  name as an unprivileged user: everyone may read properties, introspect,
  list devices and receive signals; only root and the admin group get past
  the bus to Reload, and the daemon ([dbus] admin_group) lets them call it;
  nobody else may own the name.

    test-service.py BUILD_ROOT SOURCE_ROOT GAITWAYD
"""

import os
import pwd
import grp
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pkgtest import Tally, is_root, run, stop, wait_for  # noqa: E402

BUILD, ROOT, GAITWAYD = (os.path.abspath(a) for a in sys.argv[1:4])
t = Tally("service")
work = tempfile.mkdtemp(prefix="gw-service-")
os.chmod(work, 0o755)
EXPOSURE_MAX = 25        # systemd-analyze's threshold scale: 25 = exposure 2.5


def unit_settings(path):
    """[(section, key, value)] of a unit file, comments dropped."""
    out, section = [], None
    for line in open(path):
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line.strip("[]")
        else:
            k, v = line.split("=", 1)
            out.append((section, k.strip(), v.strip()))
    return out


# ---- gaitwayd.service ----------------------------------------------------------------------------

built_unit = os.path.join(BUILD, "systemd", "gaitwayd.service")
settings = unit_settings(built_unit)
svc = {}
for sec, k, v in settings:
    if sec == "Service":
        svc.setdefault(k, []).append(v)

prefix_sbin = [v for _, k, v in settings if k == "ExecStart"]
intro = run(["meson", "introspect", "--installed", BUILD])[1]
t.check(prefix_sbin and '"' + prefix_sbin[0] + '"' in intro,
        "ExecStart= is where meson installs gaitwayd (%s)" % (prefix_sbin[0] if prefix_sbin else "?"))

unit = os.path.join(work, "gaitwayd.service")
with open(unit, "w") as f:
    f.write(open(built_unit).read().replace("ExecStart=" + prefix_sbin[0], "ExecStart=" + GAITWAYD))
r, out, err = run(["systemd-analyze", "verify", "--man=no", unit], cwd=work)
t.check(r == 0 and not (out + err).strip(), "systemd-analyze verify --man=no prints nothing", out + err)

r, out, err = run(["systemd-analyze", "security", "--offline=true", "--threshold=%d" % EXPOSURE_MAX, unit],
                  cwd=work)
m = re.search(r"Overall exposure level for gaitwayd.service: ([0-9.]+)", out)
t.check(r == 0 and m and float(m.group(1)) <= EXPOSURE_MAX / 10,
        "systemd-analyze security --offline=true: exposure %s (at most %.1f)"
        % (m.group(1) if m else "?", EXPOSURE_MAX / 10), out + err)
for line in out.splitlines():
    if line.startswith("\u2717"):
        t.note("exposed: " + " ".join(line[1:].split()))

want = {
    "Type": "notify", "Restart": "on-failure", "ExecReload": "kill -HUP $MAINPID",
    "User": "gaitwayd", "Group": "gaitwayd", "SupplementaryGroups": "iio bluetooth",
    "ConfigurationDirectory": "gaitway", "ProtectSystem": "strict", "ProtectHome": "yes",
    "PrivateTmp": "yes", "NoNewPrivileges": "yes", "ProtectKernelModules": "yes",
    "ProtectControlGroups": "yes", "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
    "RestrictNamespaces": "yes", "LockPersonality": "yes", "MemoryDenyWriteExecute": "yes",
    "CapabilityBoundingSet": "", "DevicePolicy": "closed", "DeviceAllow": "char-iio rw",
}
wrong = ["%s=%s (want %s)" % (k, svc.get(k), v) for k, v in want.items() if svc.get(k) != [v]]
t.check(not wrong, "the unit has the service contract's settings", "\n".join(wrong))
t.check("WatchdogSec" in svc and "@system-service" in svc.get("SystemCallFilter", []),
        "WatchdogSec= and SystemCallFilter=@system-service are set")
t.check("ProtectKernelTunables" not in svc and "PrivateDevices" not in svc,
        "IIO sysfs attributes stay writable and /dev/iio:* visible (no ProtectKernelTunables=, "
        "PrivateDevices=)")
creds = dict(v.split(":", 1) for v in svc.get("LoadCredential", []))
t.check(creds == {"mqtt-password": "gaitway-mqtt-password", "mqtt-tls-key": "gaitway-mqtt-tls-key"},
        "MQTT password and TLS key come as credentials from the credential store (missing ones skipped)",
        str(creds))
text = open(os.path.join(ROOT, "systemd", "gaitwayd.service.in")).read()
relaxed = ["ProtectKernelTunables", "PrivateDevices", "PrivateUsers", "PrivateNetwork", "IPAddressDeny",
           "AF_UNIX"]
t.check(all(re.search(r"^#.*\b%s\b" % re.escape(w), text, re.M) for w in relaxed),
        "every relaxation is explained in a comment (%s)" % ", ".join(relaxed))

# ---- sysusers ------------------------------------------------------------------------------------

root = os.path.join(work, "sysroot")
os.makedirs(os.path.join(root, "etc"))
r, out, err = run(["systemd-sysusers", "--root=" + root, os.path.join(ROOT, "systemd", "gaitway.sysusers")])
users = {l.split(":")[0]: l.split(":") for l in open(os.path.join(root, "etc", "passwd")) if l.strip()} \
    if r == 0 else {}
groups = {l.split(":")[0] for l in open(os.path.join(root, "etc", "group"))} if r == 0 else set()
u = users.get("gaitwayd")
t.check(u and u[6].strip().endswith("nologin") and int(u[2]) < 1000,
        "sysusers: system user gaitwayd without a login shell", out + err)
t.check({"gaitwayd", "gaitway", "iio", "bluetooth"} <= groups,
        "sysusers: groups gaitwayd, gaitway (admins), iio, bluetooth", str(groups))

# ---- udev rule -------------------------------------------------------------------------------------

rules = open(os.path.join(ROOT, "systemd", "60-gaitway-iio.rules")).read()
t.check(re.search(r'^GROUP="iio", MODE="0660"$', rules, re.M) and
        re.search(r'^KERNEL!="iio:device\*", GOTO=', rules, re.M),
        "udev: /dev/iio:deviceN goes to group iio, mode 0660")
prog = re.search(r"^RUN\+=\"/bin/sh -c '(.*)'\"$", rules, re.M)
if is_root() and prog:
    group = "iio" if grp.getgrnam.__call__ and any(g.gr_name == "iio" for g in grp.getgrall()) else "plugdev"
    dev = os.path.join(work, "devices", "iio:device0")
    files = ["name", "sampling_frequency", "sampling_frequency_available", "in_accel_x_raw",
             "in_accel_scale", "in_anglvel_sampling_frequency", "buffer/enable", "buffer/length",
             "buffer/watermark", "scan_elements/in_accel_x_en", "scan_elements/in_accel_x_index",
             "scan_elements/in_accel_x_type", "scan_elements/in_timestamp_en", "trigger/current_trigger",
             "uevent"]
    for f in files:
        p = os.path.join(dev, f)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as fh:
            fh.write("0\n")
        os.chmod(p, 0o644)
    script = prog.group(1).replace("$$", "$").replace("/sys%p", dev).replace(" iio ", " %s " % group)
    r, out, err = run(["/bin/sh", "-c", script])
    gid = grp.getgrnam(group).gr_gid
    writable = sorted(f for f in files if os.stat(os.path.join(dev, f)).st_gid == gid and
                      os.stat(os.path.join(dev, f)).st_mode & 0o020)
    t.check(r == 0 and writable == sorted(["sampling_frequency", "in_anglvel_sampling_frequency",
                                           "buffer/enable", "buffer/length", "buffer/watermark",
                                           "scan_elements/in_accel_x_en", "scan_elements/in_timestamp_en",
                                           "trigger/current_trigger"]),
            "udev: the group may write the rate, buffer, scan-element and trigger attributes, nothing else",
            "status %d %s\nwritable: %s" % (r, err, writable))
else:
    t.check(bool(prog), "udev: the rule has its RUN program")

# ---- D-Bus policy ------------------------------------------------------------------------------------

policy_src = os.path.join(ROOT, "conf", "org.gaitway.Gateway1.conf")
try:
    tree = ET.parse(policy_src)
    owners = [p.get("user") for p in tree.getroot().iter("policy")
              if any(a.get("own") == "org.gaitway.Gateway1" for a in p.iter("allow"))]
    t.check(sorted(owners) == ["gaitwayd", "root"], "policy: only gaitwayd (and root) may own the name",
            str(owners))
except ET.ParseError as e:
    t.check(False, "policy: well-formed XML", str(e))


def as_user(user, groups=()):
    p = pwd.getpwnam(user)
    cmd = ["setpriv", "--reuid=%d" % p.pw_uid, "--regid=%d" % p.pw_gid]
    if groups:
        cmd.append("--groups=" + ",".join(str(grp.getgrnam(g).gr_gid) for g in groups))
    else:
        cmd.append("--clear-groups")
    return cmd


if is_root():
    # The policy's accounts, played by accounts every Debian system has:
    # gaitwayd -> daemon, the admin group gaitway -> plugdev.
    SERVICE, ADMINS = "daemon", "plugdev"
    text = open(policy_src).read().replace('user="gaitwayd"', 'user="%s"' % SERVICE) \
        .replace('group="gaitway"', 'group="%s"' % ADMINS)
    policy = os.path.join(work, "policy.conf")
    with open(policy, "w") as f:
        f.write(text)
    sock = os.path.join(work, "bus")
    busconf = os.path.join(work, "bus.conf")
    # The default context of Debian's system.conf, then the policy, as
    # /usr/share/dbus-1/system.d/ is included there.
    with open(busconf, "w") as f:
        f.write("""<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
  </policy>
  <include>%s</include>
</busconfig>
""" % (sock, policy))
    addr = "unix:path=" + sock
    cfgdir = os.path.join(work, "etc")
    os.mkdir(cfgdir)
    with open(os.path.join(cfgdir, "gaitway.conf"), "w") as f:
        f.write("[gateway]\nid = policy-test\nlog_events = no\n[mqtt]\nenabled = no\n[dbus]\nbus = %s\n"
                "admin_group = %s\n" % (addr, ADMINS))
    for p in (cfgdir, os.path.join(cfgdir, "gaitway.conf")):
        os.chmod(p, 0o755)
    procs = []
    try:
        bus = subprocess.Popen(["dbus-daemon", "--config-file=" + busconf, "--nofork", "--nopidfile"],
                               stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "bus.log"), "w"))
        procs.append(bus)
        wait_for(lambda: os.path.exists(sock), 10)
        gw = subprocess.Popen(as_user(SERVICE) + [GAITWAYD, "-c", os.path.join(cfgdir, "gaitway.conf")],
                              stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "gw.log"), "w"))
        procs.append(gw)

        def busctl(user, *args, groups=()):
            cmd = ["busctl", "--address=" + addr] + list(args)
            return run((as_user(user, groups) if user != "root" else []) + cmd)

        # busctl hides who refused a call; python-dbus shows the bus's
        # "Rejected send message" apart from the daemon's own answer.
        caller = ("import dbus,sys\nb=dbus.bus.BusConnection(sys.argv[1])\n"
                  "o=b.get_object('org.gaitway.Gateway1','/org/gaitway/Gateway1',introspect=False)\n"
                  "a=[dbus.String(x) for x in sys.argv[4:]]\n"
                  "if sys.argv[3]=='Set': a[2]=dbus.String(a[2],variant_level=1)\n"
                  "try:\n  o.get_dbus_method(sys.argv[3],sys.argv[2])(*a); print('ok')\n"
                  "except dbus.exceptions.DBusException as e:\n"
                  "  print(e.get_dbus_name(), e.get_dbus_message())\n")

        def call(user, iface, member, *args, groups=()):
            cmd = ["/usr/bin/python3", "-c", caller, addr, iface, member] + list(args)
            r, out, err = run((as_user(user, groups) if user != "root" else []) + cmd)
            return out.strip() + err.strip()

        owned = wait_for(lambda: busctl("root", "status", "org.gaitway.Gateway1")[0] == 0, 15)
        t.check(owned, "gaitwayd as the service account owns org.gaitway.Gateway1 under the policy",
                open(os.path.join(work, "gw.log")).read() + open(os.path.join(work, "bus.log")).read())
        M = ("org.gaitway.Gateway1", "/org/gaitway/Gateway1")
        r, out, err = busctl("nobody", "get-property", *M, "org.gaitway.Gateway1", "GatewayId")
        t.check(r == 0 and '"policy-test"' in out, "anyone may read a property (Get)", out + err)
        r, out, err = busctl("nobody", "call", *M, "org.freedesktop.DBus.Properties", "GetAll", "s",
                             "org.gaitway.Gateway1")
        t.check(r == 0 and "GatewayId" in out, "anyone may read all properties (GetAll)", out + err)
        r, out, err = busctl("nobody", "introspect", *M)
        t.check(r == 0 and "org.gaitway.Gateway1" in out, "anyone may introspect", out + err)
        r, out, err = busctl("nobody", "call", *M, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects")
        t.check(r == 0, "anyone may call ObjectManager.GetManagedObjects", out + err)
        r, out, err = busctl("nobody", "call", *M, "org.gaitway.Gateway1", "ListDevices")
        t.check(r == 0, "anyone may call the read-only ListDevices", out + err)
        res = call("nobody", "org.gaitway.Gateway1", "Reload")
        t.check(res.startswith("org.freedesktop.DBus.Error.AccessDenied Rejected send message"),
                "others are stopped by the bus before Reload", res)
        res = call("nobody", "org.freedesktop.DBus.Properties", "Set", "org.gaitway.Gateway1", "GatewayId", "x")
        t.check(res.startswith("org.freedesktop.DBus.Error.AccessDenied Rejected send message"),
                "others are stopped by the bus before Properties.Set", res)
        res = call("nobody", "org.gaitway.Gateway1", "Reload", groups=[ADMINS])
        t.check(res == "ok", "members of the admin group get through the bus and the daemon's own check "
                "to Reload", res)
        res = call("root", "org.gaitway.Gateway1", "Reload")
        t.check(res == "ok", "root may call Reload", res)
        own = ("import dbus,sys\nb=dbus.bus.BusConnection(sys.argv[1])\n"
               "try:\n  b.request_name('org.gaitway.Gateway1', dbus.bus.NAME_FLAG_DO_NOT_QUEUE)\n"
               "  print('owned')\nexcept dbus.exceptions.DBusException as e:\n  print(e.get_dbus_name())\n")
        r, out, err = run(as_user("nobody") + ["/usr/bin/python3", "-c", own, addr])
        t.check(out.strip() == "org.freedesktop.DBus.Error.AccessDenied",
                "another account may not own org.gaitway.Gateway1", out + err)
        # A device added by a reload appears as signals on the manager
        # object; an unprivileged subscriber receives them.
        listen = ("import dbus,sys\nfrom dbus.mainloop.glib import DBusGMainLoop\nfrom gi.repository import GLib\n"
                  "DBusGMainLoop(set_as_default=True)\nb=dbus.bus.BusConnection(sys.argv[1])\n"
                  "loop=GLib.MainLoop()\n"
                  "def got(*a, **k):\n  print(k['member'], flush=True); loop.quit()\n"
                  "b.add_signal_receiver(got, sender_keyword='sender', member_keyword='member',"
                  " bus_name='org.gaitway.Gateway1', path='/org/gaitway/Gateway1')\n"
                  "print('ready', flush=True)\nGLib.timeout_add(15000, loop.quit)\nloop.run()\n")
        rx = subprocess.Popen(as_user("nobody") + ["/usr/bin/python3", "-c", listen, addr],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        procs.append(rx)
        ready = rx.stdout.readline().strip()
        trace = os.path.join(work, "trace.csv")
        with open(trace, "w") as f:
            f.write("# gaitway-trace 1\n# rate_hz: 50\ntime[s],acc_x[g],acc_y[g],acc_z[g],"
                    "gyro_x[rad/s],gyro_y[rad/s],gyro_z[rad/s]\n")
            for i in range(500):
                f.write("%.2f,0,-1,0,0,0,0\n" % (i / 50))
        os.chmod(trace, 0o644)
        models = os.path.join(ROOT, "tests", "data", "daemon")
        with open(os.path.join(cfgdir, "gaitway.conf"), "a") as f:
            f.write("[gateway]\nactivity_model = %s/activity.gwm\nfog_model = %s/fog.gwm\n"
                    "[device added]\nsource = replay\npath = %s\nloop = yes\n" % (models, models, trace))
        r, out, err = busctl("root", "call", *M, "org.gaitway.Gateway1", "Reload")
        try:
            member = rx.communicate(timeout=20)[0].strip()
        except subprocess.TimeoutExpired:
            member = "(timeout)"
        t.check(ready == "ready" and r == 0 and member in ("InterfacesAdded", "PropertiesChanged"),
                "anyone receives the signals (a reload adding a device: %s)" % member,
                "subscriber: %s %s\nreload: %s %s\n%s" % (ready, member, out, err,
                                                         open(os.path.join(work, "gw.log")).read()))
    finally:
        for p in reversed(procs):
            stop(p)
else:
    t.note("not root: the policy is not run on a bus")

shutil.rmtree(work, ignore_errors=True)
sys.exit(t.finish())
