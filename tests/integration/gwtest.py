"""Real components for gaitwayd's integration tests: a mosquitto broker on a
free loopback port (plain or TLS with passwords and client certificates), a
private dbus-daemon, a NOTIFY_SOCKET, and gaitwayd itself.  Every process is
a direct child, stopped by its pid (docs: ../../shared test-harness recipes).

A test file defines functions taking a Context and registers them with
@case("name"); run(groups) runs them, prints one line per case and ends with
`gaitway-test: NAME: N passed, N failed` for scripts/test."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

PYTHON = "/usr/bin/python3"
HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.environ.get("GW_SOURCE_ROOT", os.path.normpath(os.path.join(HERE, "..", "..")))


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(pred, timeout=10.0, step=0.02, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    raise Failure("timed out waiting for " + what)


def stop(proc, sig=signal.SIGTERM, timeout=10):
    """Stops a child by its pid and reaps it; returns its exit status."""
    if proc is None or proc.poll() is not None:
        return None if proc is None else proc.returncode
    proc.send_signal(sig)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


class Mosquitto:
    """mosquitto -c CONF in the foreground.  tls: server certificate from
    Certs; users: {name: password}; persistence keeps sessions and retained
    messages across restart()."""

    def __init__(self, workdir, tls=None, users=None, require_cert=False, persistence=False):
        self.dir = tempfile.mkdtemp(prefix="mosq-", dir=workdir)
        self.port = free_port()
        self.proc = None
        lines = ["listener %d 127.0.0.1" % self.port, "user root", "log_dest stderr",
                 "log_type error", "log_type warning", "log_type notice"]
        if users:
            pw = os.path.join(self.dir, "passwd")
            open(pw, "w").close()
            for u, p in users.items():
                subprocess.run(["mosquitto_passwd", "-b", pw, u, p], check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            lines += ["allow_anonymous false", "password_file " + pw]
        else:
            lines.append("allow_anonymous true")
        if tls:
            lines += ["cafile " + tls.ca, "certfile " + tls.server_cert, "keyfile " + tls.server_key]
            if require_cert:
                lines += ["require_certificate true"]
        if persistence:
            lines += ["persistence true", "persistence_location " + self.dir + "/",
                      "autosave_interval 1"]
        self.conf = os.path.join(self.dir, "mosquitto.conf")
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.log = open(os.path.join(self.dir, "mosquitto.log"), "ab")
        self.tls = tls

    def start(self):
        self.proc = subprocess.Popen(["mosquitto", "-c", self.conf], stdout=self.log, stderr=self.log)
        wait_for(self._listening, 10, what="mosquitto on port %d" % self.port)
        return self

    def _listening(self):
        check(self.proc.poll() is None, "mosquitto exited: see " + self.conf)
        try:
            socket.create_connection(("127.0.0.1", self.port), 0.2).close()
            return True
        except OSError:
            return False

    def stop(self, sig=signal.SIGTERM):
        """SIGTERM: a clean stop; SIGKILL: a crash (nothing flushed)."""
        stop(self.proc, sig)
        self.proc = None

    def restart(self):
        self.stop()
        return self.start()


class Certs:
    """A CA, a server certificate for 127.0.0.1 and a client certificate,
    made with openssl at test time; server_expired: the server's
    certificate expired in 2020."""

    def __init__(self, workdir, server_expired=False):
        d = tempfile.mkdtemp(prefix="certs-", dir=workdir)
        self.ca, self.ca_key = d + "/ca.pem", d + "/ca.key"
        self.server_cert, self.server_key = d + "/server.pem", d + "/server.key"
        self.client_cert, self.client_key = d + "/client.pem", d + "/client.key"

        def ssl(*args):
            subprocess.run(["openssl"] + list(args), check=True, cwd=d,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=gaitway test CA",
            "-keyout", self.ca_key, "-out", self.ca)
        for name, cn, ext in (("server", "127.0.0.1", "subjectAltName=IP:127.0.0.1"),
                              ("client", "gaitwayd", "extendedKeyUsage=clientAuth")):
            with open(d + "/%s.ext" % name, "w") as f:
                f.write(ext + "\n")
            ssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + cn,
                "-keyout", d + "/%s.key" % name, "-out", d + "/%s.csr" % name)
            if name == "server" and server_expired:
                # openssl x509 -req cannot back-date; openssl ca can.
                os.makedirs(d + "/ca-db", exist_ok=True)
                open(d + "/ca-db/index.txt", "w").close()
                with open(d + "/ca-db/serial", "w") as f:
                    f.write("01\n")
                with open(d + "/ca.cnf", "w") as f:
                    f.write("[ca]\ndefault_ca = d\n[d]\ndir = %s/ca-db\ndatabase = $dir/index.txt\n"
                            "new_certs_dir = $dir\nserial = $dir/serial\ndefault_md = sha256\n"
                            "policy = p\nx509_extensions = ext\n[p]\ncommonName = supplied\n"
                            "[ext]\nsubjectAltName = IP:127.0.0.1\n" % d)
                ssl("ca", "-batch", "-config", d + "/ca.cnf", "-cert", self.ca, "-keyfile", self.ca_key,
                    "-in", d + "/server.csr", "-out", d + "/server.pem",
                    "-startdate", "20200101000000Z", "-enddate", "20200102000000Z")
                continue
            ssl("x509", "-req", "-in", d + "/%s.csr" % name, "-CA", self.ca, "-CAkey", self.ca_key,
                "-CAcreateserial", "-days", "2", "-extfile", d + "/%s.ext" % name,
                "-out", d + "/%s.pem" % name)


class Subscriber:
    """mosquitto_sub writing `retain qos topic payload` lines to a file."""

    def __init__(self, workdir, broker, topics, client_id=None, persistent=False, retained_only=False,
                 user=None, tls_client=False):
        self.path = tempfile.mktemp(prefix="sub-", dir=workdir)
        args = ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(broker.port), "-q", "1",
                "-F", "%r %q %t %p"]
        if client_id:
            args += ["-i", client_id]
        if persistent:
            args += ["-c"]
        if retained_only:
            args += ["--retained-only", "-W", "2"]
        if user:
            args += ["-u", user[0], "-P", user[1]]
        if broker.tls:
            args += ["--cafile", broker.tls.ca]
            if tls_client:
                args += ["--cert", broker.tls.client_cert, "--key", broker.tls.client_key]
        for t in topics:
            args += ["-t", t]
        self.out = open(self.path, "wb")
        self.proc = subprocess.Popen(args, stdout=self.out, stderr=subprocess.STDOUT)
        # mosquitto_sub prints nothing on subscribe: give it time to connect.
        time.sleep(0.3)

    def messages(self):
        """[(retain, qos, topic, payload)]"""
        self.out.flush()
        out = []
        with open(self.path, "rb") as f:
            for line in f.read().decode(errors="replace").splitlines():
                parts = line.split(" ", 3)
                if len(parts) == 4 and parts[0] in ("0", "1"):
                    out.append((parts[0] == "1", int(parts[1]), parts[2], parts[3]))
                elif len(parts) == 3 and parts[0] in ("0", "1"):
                    out.append((parts[0] == "1", int(parts[1]), parts[2], ""))
        return out

    def stop(self):
        stop(self.proc)
        return self.messages()

    def wait(self, timeout=10):
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            stop(self.proc)
        return self.messages()


class DbusDaemon:
    def __init__(self, workdir, socket_path=None):
        """A private bus; socket_path fixes its address so a restart() keeps it."""
        self.workdir = workdir
        self.socket_path = socket_path
        self.start()

    def start(self):
        workdir = self.workdir
        listen = "<listen>unix:path=%s</listen>" % self.socket_path if self.socket_path else \
            "<listen>unix:tmpdir=%s</listen>" % workdir
        conf = os.path.join(workdir, "dbus.conf")
        with open(conf, "w") as f:
            f.write("""<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  %s
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
""" % listen)
        r, w = os.pipe()
        self.proc = subprocess.Popen(["dbus-daemon", "--config-file=" + conf, "--nofork",
                                      "--print-address=%d" % w], pass_fds=(w,),
                                     stderr=subprocess.DEVNULL)
        os.close(w)
        with os.fdopen(r) as f:
            self.address = f.readline().strip()
        check(self.address.startswith("unix:"), "dbus-daemon gave no address")
        return self

    def restart(self):
        self.stop()
        if self.socket_path and os.path.exists(self.socket_path):
            os.unlink(self.socket_path)
        return self.start()

    def busctl(self, *args, check_rc=True, user=None):
        """busctl as root, or as user: a name (its groups from the group
        database) or nobody by default (no groups)."""
        cmd = ["busctl", "--address=" + self.address] + list(args)
        if user == "nobody":
            cmd = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"] + cmd
        elif user:
            cmd = ["setpriv", "--reuid=" + user, "--regid=" + user, "--init-groups"] + cmd
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
        if check_rc and p.returncode != 0:
            raise Failure("busctl %s: %s" % (" ".join(args), p.stderr.strip()))
        return p

    def call_as(self, user, path, iface, method):
        """Calls a method without arguments as user (as busctl does); returns
        "ok" or "ERROR.NAME: message" (busctl shows some errors by errno
        only)."""
        code = ("import dbus,sys\nb=dbus.bus.BusConnection(sys.argv[1])\n"
                "o=b.get_object('org.gaitway.Gateway1',sys.argv[2],introspect=False)\n"
                "try:\n  o.get_dbus_method(sys.argv[4],sys.argv[3])(); print('ok')\n"
                "except dbus.exceptions.DBusException as e:\n"
                "  print('%s: %s' % (e.get_dbus_name(), e.get_dbus_message()))\n")
        cmd = [PYTHON, "-c", code, self.address, path, iface, method]
        if user == "nobody":
            cmd = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"] + cmd
        elif user:
            cmd = ["setpriv", "--reuid=" + user, "--regid=" + user, "--init-groups"] + cmd
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
        return (p.stdout.strip() or p.stderr.strip())

    def get(self, path, iface, prop):
        """A property as a Python value (busctl --json)."""
        p = self.busctl("--json=short", "get-property", "org.gaitway.Gateway1", path, iface, prop)
        return json.loads(p.stdout)["data"]

    def monitor(self, workdir):
        path = tempfile.mktemp(prefix="busmon-", dir=workdir)
        out = open(path, "wb")
        proc = subprocess.Popen(["busctl", "--address=" + self.address, "--json=short", "monitor",
                                 "--match", "type='signal',path_namespace='/org/gaitway/Gateway1'"],
                                stdout=out, stderr=subprocess.DEVNULL)
        time.sleep(0.3)
        return proc, path

    def stop(self):
        stop(self.proc)


class Accounts:
    """Throwaway system users and groups (root only), removed by cleanup().
    Names carry the pid so parallel tests do not collide."""

    def __init__(self, ctx):
        self.users, self.groups = [], []
        ctx.cleanup.append(self.cleanup)

    def group(self, name):
        name = "%s%d" % (name, os.getpid())
        subprocess.run(["groupadd", "--system", name], check=True, capture_output=True)
        self.groups.append(name)
        return name

    def user(self, name, groups=()):
        """A user with a group of its own name and the given supplementary
        groups."""
        name = "%s%d" % (name, os.getpid())
        args = ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "--user-group"]
        if groups:
            args += ["--groups", ",".join(groups)]
        subprocess.run(args + [name], check=True, capture_output=True)
        self.users.append(name)
        return name

    def cleanup(self):
        for u in self.users:
            subprocess.run(["userdel", u], capture_output=True)
        for g in self.groups:
            subprocess.run(["groupdel", g], capture_output=True)
        self.users, self.groups = [], []


def sanitizer_report(text):
    """The first line of an AddressSanitizer, LeakSanitizer or
    UndefinedBehaviorSanitizer report in a log, or None."""
    for line in text.splitlines():
        if "ERROR: AddressSanitizer" in line or "ERROR: LeakSanitizer" in line or \
                "runtime error:" in line or "SUMMARY: UndefinedBehaviorSanitizer" in line:
            return line.strip()
    return None


def read_monitor(path):
    msgs = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                try:
                    msgs.append(json.loads(line))
                except ValueError:
                    pass
    return msgs


class NotifySocket:
    def __init__(self, workdir):
        self.path = os.path.join(workdir, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.1)
        self.received = []

    def drain(self):
        while True:
            try:
                self.received += self.sock.recv(4096).decode().split("\n")
            except socket.timeout:
                return self.received

    def wait(self, line, timeout=10, count=1):
        def got():
            self.drain()
            return self.received.count(line) >= count
        wait_for(got, timeout, what="%s x%d on NOTIFY_SOCKET" % (line, count))


class Gaitwayd:
    """gaitwayd -v on a configuration; prefix: a command wrapping it (e.g.
    unshare), which must exec gaitwayd so the pid stays its own."""

    def __init__(self, ctx, conf_text, args=(), env=None, name="gaitwayd.conf", prefix=()):
        self.ctx = ctx
        self.conf = os.path.join(ctx.dir, name)
        self.write(conf_text)
        self.log_path = self.conf + ".log"
        self.args = list(args)
        self.prefix = list(prefix)
        self.env = dict(os.environ)
        self.env.update(env or {})
        self.proc = None

    def write(self, text):
        with open(self.conf, "w") as f:
            f.write(text)

    def start(self):
        self.logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.prefix + [self.ctx.gaitwayd, "--config", self.conf, "-v"] + self.args,
                                     stdout=self.logf, stderr=self.logf, env=self.env)
        return self

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def wait(self, timeout=60):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            stop(self.proc, signal.SIGKILL)
            raise Failure("gaitwayd did not exit within %d s" % timeout)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self):
        return stop(self.proc)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None


class Context:
    def __init__(self, build_root):
        self.build = build_root
        self.gaitwayd = os.path.join(build_root, "daemon", "gaitwayd")
        self.gaitway = os.path.join(build_root, "daemon", "gaitway")
        self.dir = tempfile.mkdtemp(prefix="gw-it-")
        self.models = os.path.join(SOURCE_ROOT, "tests", "data", "daemon")
        self.cleanup = []
        self._trace = None

    def trace(self):
        """The synthetic trace (480 s at 50 Hz: six activities and freezes)."""
        if not self._trace:
            self._trace = os.path.join(self.dir, "synth.csv")
            subprocess.run([PYTHON, os.path.join(HERE, "synth.py"), self._trace], check=True,
                           stdout=subprocess.DEVNULL)
        return self._trace

    def config(self, device_extra="", mqtt=None, dbus="none", gateway_extra="", devices=("synth",)):
        """A gaitwayd configuration replaying the synthetic trace."""
        text = ["[gateway]", "id = gw1", "activity_model = %s/activity.gwm" % self.models,
                "fog_model = %s/fog.gwm" % self.models, "log_events = no", gateway_extra, "[mqtt]"]
        if mqtt:
            text += ["host = 127.0.0.1", "port = %d" % mqtt.port, "reconnect_min = 0.1",
                     "reconnect_max = 0.5"]
        else:
            text += ["enabled = no"]
        text += ["[dbus]", "bus = %s" % dbus]
        for d in devices:
            text += ["[device %s]" % d, "source = replay", "path = " + self.trace(), device_extra]
        return "\n".join(text) + "\n"

    def replay_events(self, conf_path, device="synth"):
        """`gaitway replay --events` on the same configuration: the events as
        dicts, and the summary."""
        p = subprocess.run([self.gaitway, "replay", "--config", conf_path, "--device", device, "--events",
                            self.trace()], capture_output=True, text=True, timeout=120)
        check(p.returncode == 0 and not sanitizer_report(p.stderr), "gaitway replay failed: " + p.stderr)
        lines = [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")]
        return [l for l in lines if l["type"] != "summary"], [l for l in lines if l["type"] == "summary"][0]


# Fields that must agree between gaitwayd's MQTT payloads and gaitway replay:
# everything but wall-clock times (each run anchors its own clock) and the
# gateway id.
COMPARED = ("device", "stream_s", "model", "activity", "previous", "confidence", "previous_duration_s",
            "event_type", "episode", "duration_s", "short")


def event_key(d):
    return tuple(json.dumps(d.get(k), sort_keys=True) for k in COMPARED)


def mqtt_events(messages, gateway="gw1"):
    """Activity changes and FoG events received, in order, as
    (type, payload dict)."""
    out = []
    for retain, qos, topic, payload in messages:
        parts = topic.split("/")
        if len(parts) != 4 or parts[1] != gateway or parts[3] not in ("activity", "fog") or not payload:
            continue
        d = json.loads(payload)
        if d.get("reason") == "republish":
            continue
        out.append(("activity" if parts[3] == "activity" else "fog", d))
    return out


CASES = []


def case(name, group):
    def deco(fn):
        CASES.append((group, name, fn))
        return fn
    return deco


def sanitized(path):
    """Which sanitizers a binary was built with (from its symbols)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return ""
    return "+".join(n for n, sym in (("ASan", b"__asan_init"), ("UBSan", b"__ubsan_handle_"))
                    if sym in data)


def _logs(ctx):
    for root, _, files in os.walk(ctx.dir):
        for fname in files:
            if fname.endswith(".log"):
                yield os.path.join(root, fname)


def run(name, groups):
    build = os.environ.get("GW_BUILD_ROOT") or sys.argv[1]
    passed = failed = 0
    kinds = sanitized(os.path.join(build, "daemon", "gaitwayd"))
    # Under build-asan the binaries must be the instrumented ones, and every
    # report (a leak at gaitwayd's exit included) fails the case.
    print("binaries: %s/daemon (%s)" % (build, kinds or "not sanitized"), flush=True)
    try:
        with open(os.path.join(build, "meson-info", "intro-buildoptions.json")) as f:
            wanted = next((o["value"] for o in json.load(f) if o["name"] == "b_sanitize"), "none")
    except (OSError, ValueError):
        wanted = "none"
    if "address" in wanted and "ASan" not in kinds:
        print("\ngaitway-test: %s: 0 passed, 1 failed (b_sanitize=%s but gaitwayd is not instrumented)"
              % (name, wanted))
        return 1
    for group, cname, fn in CASES:
        if groups and group not in groups:
            continue
        ctx = Context(build)
        t0 = time.monotonic()
        error = None
        try:
            fn(ctx)
        except Exception as e:          # noqa: BLE001 - every failure is reported
            error = e
            if not isinstance(e, Failure):
                traceback.print_exc()
        finally:
            # Cleanup stops the daemons first: LeakSanitizer reports at exit.
            for fn_cleanup in reversed(ctx.cleanup):
                try:
                    fn_cleanup()
                except Exception:       # noqa: BLE001
                    pass
        for p in _logs(ctx):
            with open(p, errors="replace") as f:
                report = sanitizer_report(f.read())
            if report and error is None:
                error = Failure("sanitizer report in %s: %s" % (os.path.basename(p), report))
        if error is None:
            passed += 1
            print("ok     %s (%.1f s)" % (cname, time.monotonic() - t0), flush=True)
        else:
            failed += 1
            print("FAILED %s: %s" % (cname, error), flush=True)
            for p in _logs(ctx):
                with open(p, errors="replace") as f:
                    text = f.read()
                report = sanitizer_report(text)
                # A sanitizer report is shown whole, other logs by their end.
                shown = text[text.index(report):][:12000] if report else text[-3000:]
                print("--- %s\n%s" % (p, shown))
        shutil.rmtree(ctx.dir, ignore_errors=True)
    print("\ngaitway-test: %s: %d passed, %d failed" % (name, passed, failed))
    return 1 if failed else 0
