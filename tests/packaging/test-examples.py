#!/usr/bin/python3
"""The examples of conf/examples/ are real configurations.

Each gaitway drop-in goes through `gaitwayd --check-config` as
/etc/gaitway/gaitway.conf.d/50-NAME.conf would, after a main file that
points the models at the test models, and before a 99-test.conf that points
replayed traces at test data and switches MQTT on.  For the IIO and BLE
examples every key must pass without the hardware, BlueZ or a bus
(--check-config does not open live devices).  The MQTT examples read their
secrets from systemd's credential directory ($CREDENTIALS_DIRECTORY, made
here), their public TLS files from a test drop-in.  The mosquitto bridge example forwards
a gateway's topics to the central example broker over TLS with client
certificates, and the central ACL keeps a gateway below its own id.

    test-examples.py GAITWAYD SOURCE_ROOT
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pkgtest import Tally, free_port, is_root, make_certs, run, stop, wait_for  # noqa: E402

GAITWAYD, ROOT = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
EXAMPLES = os.path.join(ROOT, "conf", "examples")
MODELS = os.path.join(ROOT, "tests", "data", "daemon")
HAPT = os.path.join(ROOT, "tests", "data", "trace")
t = Tally("conf-examples")
work = tempfile.mkdtemp(prefix="gw-examples-")


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def device_sections(path):
    return re.findall(r"^\[device ([^\]]+)\]", open(path).read(), re.M)


def keys_of(path):
    """(section, key) of every assignment in an INI file."""
    out, section = [], None
    for line in open(path):
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line.strip("[]")
        elif "=" in line:
            out.append((section, line.split("=", 1)[0].strip()))
    return out


def sample_trace(path, seconds=12, rate=50):
    """A gaitway trace (docs/trace-format.md) of a slow sway."""
    import math
    rows = ["# gaitway-trace 1", "# rate_hz: %d" % rate, "# source: test",
            "time[s],acc_x[g],acc_y[g],acc_z[g],gyro_x[rad/s],gyro_y[rad/s],gyro_z[rad/s]"]
    for i in range(seconds * rate):
        s = i / rate
        w = math.sin(2 * math.pi * 1.5 * s)
        rows.append("%.3f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f" % (s, 0.1 * w, -0.98, 0.15, 0.3 * w, 0.01, 0.0))
    write(path, "\n".join(rows) + "\n")
    return path


def check_config(name, example, overrides="", wrap=None, env=None):
    """Runs gaitwayd --check-config on main.conf + 50-NAME.conf + 99-test.conf
    (with env as the environment's changes; None values unset); returns
    (status, output)."""
    d = tempfile.mkdtemp(prefix=name + "-", dir=work)
    main = write(os.path.join(d, "gaitway.conf"),
                 "[gateway]\nactivity_model = %s/activity.gwm\nfog_model = %s/fog.gwm\n"
                 "[mqtt]\nenabled = no\n[dbus]\nbus = none\n" % (MODELS, MODELS))
    os.mkdir(os.path.join(d, "gaitway.conf.d"))
    shutil.copy(example, os.path.join(d, "gaitway.conf.d", "50-%s.conf" % name))
    if overrides:
        write(os.path.join(d, "gaitway.conf.d", "99-test.conf"), overrides)
    cmd = [GAITWAYD, "--check-config", "-c", main]
    if wrap:
        cmd = wrap(cmd)
    e = dict(os.environ)
    e.pop("CREDENTIALS_DIRECTORY", None)
    for k, v in (env or {}).items():
        if v is None:
            e.pop(k, None)
        else:
            e[k] = v
    r, out, err = run(cmd, env=e)
    return r, out + err


def in_namespace(setup):
    """Wraps a command to run in a private mount namespace after the shell
    commands of setup."""
    def wrap(cmd):
        return ["unshare", "--mount", "--propagation", "private", "sh", "-ec",
                setup + '\nexec "$@"', "sh"] + cmd
    return wrap


def ok(r, out, devices):
    return r == 0 and re.search(r"configuration OK: gateway \S+, %d device\(s\)" % devices, out)


# ---- every example is shipped ----------------------------------------------------------------

shipped = re.findall(r"'examples/([^']+)'", open(os.path.join(ROOT, "conf", "meson.build")).read())
present = sorted(f for f in os.listdir(EXAMPLES) if not f.startswith("."))
t.check(sorted(shipped) == present, "every file of conf/examples is installed by conf/meson.build",
        "installed %s, present %s" % (sorted(shipped), present))

# ---- a bad key is caught (the checks below can fail) ------------------------------------------

bad = write(os.path.join(work, "bad.conf"), open(os.path.join(EXAMPLES, "home-assistant.conf")).read()
            + "homeassistant_discovery = yes\n")
r, out = check_config("bad", bad, "[mqtt]\nenabled = yes\npassword_file = /dev/null\n")
t.check(r == 1 and re.search(r"50-bad\.conf:\d+: \[mqtt\] homeassistant_discovery: unknown key", out),
        "a misspelt key in an example fails --check-config naming file, line and key", out)

# ---- replayed traces -----------------------------------------------------------------------------

ex = os.path.join(EXAMPLES, "replay-trace.conf")
trace = sample_trace(os.path.join(work, "sample.csv"))
r, out = check_config("replay", ex,
                      "[device demo]\npath = %s\n[device hapt]\npath = %s/hapt_acc_exp03_user02.txt\n"
                      "gyro_path = %s/hapt_gyro_exp03_user02.txt\n" % (trace, HAPT, HAPT))
t.check(ok(r, out, 2), "replay-trace.conf: a gaitway trace and a two-file UCI HAPT recording pass "
        "--check-config", out)

# ---- MQTT over TLS, Home Assistant: secrets from the credential directory ----------------------


def credentials(name, files):
    """A credential directory as systemd makes it: files readable by the
    service only."""
    d = tempfile.mkdtemp(prefix="creds-%s-" % name, dir=work)
    for f, text in files.items():
        write(os.path.join(d, f), text)
        os.chmod(os.path.join(d, f), 0o400)
    return d


# The public TLS files of mqtt-tls.conf live in /etc/gaitway/tls/: real
# ones from the test drop-in.
tls_dir = tempfile.mkdtemp(prefix="tls-", dir=work)
tls_public = "[mqtt]\nenabled = yes\ntls_ca = %s\ntls_cert = %s\n" % (
    write(os.path.join(tls_dir, "ca.crt"), "ca\n"), write(os.path.join(tls_dir, "gw.crt"), "cert\n"))
secrets = {"mqtt-password": "s3cret#;x\n", "mqtt-tls-key": "key\n"}
for name, first in (("mqtt-tls", "tls_key"), ("home-assistant", "password_file")):
    ex = os.path.join(EXAMPLES, name + ".conf")
    text = open(ex).read()
    t.check(("mqtt", "password_file") in keys_of(ex) and
            re.search(r"^password_file = \$CREDENTIALS_DIRECTORY/mqtt-password$", text, re.M),
            "%s.conf takes its password from the service's credentials" % name)
    over = tls_public if name == "mqtt-tls" else "[mqtt]\nenabled = yes\n"
    r, out = check_config(name, ex, over, env={"CREDENTIALS_DIRECTORY": credentials(name, secrets)})
    t.check(ok(r, out, 0) and "not checked" not in out,
            "%s.conf passes --check-config with its credentials in $CREDENTIALS_DIRECTORY" % name, out)
    empty = credentials(name + "-none", {})
    r, out = check_config(name, ex, over, env={"CREDENTIALS_DIRECTORY": empty})
    t.check(r == 1 and re.search(r"50-%s\.conf:\d+: \[mqtt\] %s: %s/mqtt-\S+: No such file" %
                                 (re.escape(name), first, re.escape(empty)), out),
            "%s.conf without the credential fails naming the file, line and %s" % (name, first), out)
    r, out = check_config(name, ex, over)
    t.check(ok(r, out, 0) and re.search(r"not checked: \S+50-%s\.conf:\d+: \[mqtt\] password_file: "
                                        r"\$CREDENTIALS_DIRECTORY/mqtt-password: \$CREDENTIALS_DIRECTORY "
                                        r"is not set" % re.escape(name), out),
            "%s.conf outside the service: --check-config passes and lists the credentials it could not "
            "check" % name, out)
    loose = credentials(name + "-loose", secrets)
    os.chmod(os.path.join(loose, "mqtt-password"), 0o644)
    os.chmod(os.path.join(loose, "mqtt-tls-key"), 0o644)
    r, out = check_config(name, ex, over, env={"CREDENTIALS_DIRECTORY": loose})
    t.check(r == 1 and re.search(r"\[mqtt\] %s: \S+ is readable by every user \(mode 0644\): refused" % first,
                                 out) and "s3cret" not in out,
            "%s.conf with a credential every user may read is refused naming %s" % (name, first), out)

ex = os.path.join(EXAMPLES, "mqtt-tls.conf")
text = open(ex).read()
t.check(re.search(r"^tls_key = \$CREDENTIALS_DIRECTORY/mqtt-tls-key$", text, re.M) and
        "LoadCredential=mqtt-tls-key:gaitway-mqtt-tls-key" in
        open(os.path.join(ROOT, "systemd", "gaitwayd.service.in")).read(),
        "mqtt-tls.conf's tls_key is the credential gaitwayd.service loads")

# ---- IIO: every key is checked; the device is not opened -------------------------------------

ex = os.path.join(EXAMPLES, "iio-imu.conf")
r, out = check_config("iio-absent", ex,
                      wrap=in_namespace("mount -t tmpfs none /sys/bus") if is_root() else None)
t.check(ok(r, out, 1) and re.search(r"device imu: keys checked; the iio source is not opened", out),
        "iio-imu.conf with no IIO device on the machine: --check-config checks every key and says it "
        "does not open the live device", out)

# ---- BLE: all keys pass without BlueZ ---------------------------------------------------------

ex = os.path.join(EXAMPLES, "ble-wearable.conf")
r, out = check_config("ble", ex, env={"DBUS_SYSTEM_BUS_ADDRESS": "unix:path=/nonexistent"})
t.check(len(device_sections(ex)) == 2 and ok(r, out, 2) and
        len(re.findall(r"device (ankle|wrist): keys checked; the ble source is not opened", out)) == 2,
        "ble-wearable.conf: --check-config passes without BlueZ or a bus, both wearables checked, not "
        "opened", out)

# ---- mosquitto: a gateway's bridge to the central broker ------------------------------------------


def mosquitto_conf(src, subst, extra):
    text = open(src).read()
    for pat, rep in subst:
        text, n = re.subn(pat, rep, text, flags=re.M)
        if n != 1:
            raise RuntimeError("%s: pattern %r matched %d times" % (src, pat, n))
    return text + "\n" + extra


if is_root():
    d = os.path.join(work, "mosq")
    os.mkdir(d)
    certs = make_certs(d, ["gw-one", "dashboard"])
    central_port, local_port = free_port(), free_port()
    acl = shutil.copy(os.path.join(EXAMPLES, "mosquitto-central.acl"), os.path.join(d, "gaitway.acl"))
    central = write(os.path.join(d, "central.conf"), mosquitto_conf(
        os.path.join(EXAMPLES, "mosquitto-central.conf"),
        [(r"^listener 8883$", "listener %d 127.0.0.1" % central_port),
         (r"^cafile .*$", "cafile " + certs["ca"]),
         (r"^certfile .*$", "certfile " + certs["server"][0]),
         (r"^keyfile .*$", "keyfile " + certs["server"][1]),
         (r"^acl_file .*$", "acl_file " + acl)],
        "user root\nlog_dest stderr\n"))
    bridge = write(os.path.join(d, "gateway.conf"), mosquitto_conf(
        os.path.join(EXAMPLES, "mosquitto-bridge.conf"),
        [(r"^address .*$", "address 127.0.0.1:%d" % central_port),
         (r"^remote_clientid .*$", "remote_clientid gaitway-bridge-gw-one"),
         (r"^bridge_cafile .*$", "bridge_cafile " + certs["ca"]),
         (r"^bridge_certfile .*$", "bridge_certfile " + certs["gw-one"][0]),
         (r"^bridge_keyfile .*$", "bridge_keyfile " + certs["gw-one"][1]),
         (r"^restart_timeout .*$", "restart_timeout 1 2")],
        "user root\nlog_dest stderr\nlistener %d 127.0.0.1\nallow_anonymous true\n" % local_port))
    procs = []
    try:
        c = subprocess.Popen(["mosquitto", "-c", central], stdout=subprocess.DEVNULL,
                             stderr=open(os.path.join(d, "central.log"), "w"))
        procs.append(c)
        g = subprocess.Popen(["mosquitto", "-c", bridge], stdout=subprocess.DEVNULL,
                             stderr=open(os.path.join(d, "gateway.log"), "w"))
        procs.append(g)
        tls = ["-h", "127.0.0.1", "-p", str(central_port), "--cafile", certs["ca"]]
        dash = tls + ["--cert", certs["dashboard"][0], "--key", certs["dashboard"][1]]

        def central_sees(topic, payload, timeout=8):
            r, out, err = run(["mosquitto_sub"] + dash + ["-t", topic, "-C", "1", "-W", str(timeout), "-v"])
            return out.strip() == "%s %s" % (topic, payload)

        bridged = wait_for(lambda: "Connecting bridge" in open(os.path.join(d, "gateway.log")).read(), 10)
        # retained, published on the gateway's own broker as gaitwayd would
        pub = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(local_port), "-q", "1", "-r"]
        for topic, payload in (("gaitway/gw-one/status", "online"), ("gaitway/gw-two/status", "online")):
            run(pub + ["-t", topic, "-m", payload])
        t.check(bridged and central_sees("gaitway/gw-one/status", "online"),
                "mosquitto-bridge.conf forwards gaitway/<id>/# to the central broker over TLS (retained)",
                open(os.path.join(d, "gateway.log")).read() + open(os.path.join(d, "central.log")).read())
        t.check(not central_sees("gaitway/gw-two/status", "online", timeout=2),
                "mosquitto-central.acl keeps gateway gw-one out of gaitway/gw-two/")
        r, out, err = run(["mosquitto_sub"] + tls + ["-t", "gaitway/#", "-C", "1", "-W", "3"])
        t.check(r != 0, "the central broker refuses a client without a certificate", out + err)
    finally:
        for p in procs:
            stop(p)
else:
    t.note("not root: mosquitto drops privileges before reading keys; bridge test not run")

shutil.rmtree(work, ignore_errors=True)
sys.exit(t.finish())
