"""Helpers of the service and packaging tests: one line per check, and the
closing `gaitway-test: NAME: N passed, N failed` line scripts/test-summary
reads.  Processes are direct children, stopped by pid."""

import os
import signal
import socket
import subprocess
import sys
import time


class Tally:
    def __init__(self, name):
        self.name = name
        self.passed = 0
        self.failed = 0

    def check(self, cond, what, detail=""):
        if cond:
            self.passed += 1
            print("ok     %s" % what)
        else:
            self.failed += 1
            print("FAILED %s" % what)
            if detail:
                for line in str(detail).rstrip().splitlines()[-40:]:
                    print("         " + line)
        sys.stdout.flush()
        return bool(cond)

    def note(self, text):
        print("       " + text)
        sys.stdout.flush()

    def finish(self):
        print("gaitway-test: %s: %d passed, %d failed" % (self.name, self.passed, self.failed))
        return 1 if self.failed else 0


def run(cmd, **kw):
    """Runs cmd, returns (status, stdout, stderr) as text."""
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    kw.setdefault("text", True)
    p = subprocess.run(cmd, **kw)
    return p.returncode, p.stdout or "", p.stderr or ""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(pred, timeout=10.0, step=0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return None


def stop(proc, sig=signal.SIGTERM, timeout=10):
    if proc is None or proc.poll() is not None:
        return None if proc is None else proc.returncode
    proc.send_signal(sig)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def is_root():
    return os.geteuid() == 0


def make_certs(d, clients):
    """A CA, a server certificate for 127.0.0.1 and one client certificate
    per common name in clients, in directory d.  Returns a dict of paths."""
    def ssl(*args):
        subprocess.run(["openssl"] + list(args), check=True, cwd=d,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    paths = {"ca": d + "/ca.crt", "ca_key": d + "/ca.key"}
    ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=gaitway test CA",
        "-keyout", paths["ca_key"], "-out", paths["ca"])
    for name, ext in [("server", "subjectAltName=IP:127.0.0.1")] + \
                     [(cn, "extendedKeyUsage=clientAuth") for cn in clients]:
        with open("%s/%s.ext" % (d, name), "w") as f:
            f.write(ext + "\n")
        cn = "127.0.0.1" if name == "server" else name
        ssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + cn,
            "-keyout", "%s/%s.key" % (d, name), "-out", "%s/%s.csr" % (d, name))
        ssl("x509", "-req", "-in", "%s/%s.csr" % (d, name), "-CA", paths["ca"], "-CAkey", paths["ca_key"],
            "-CAcreateserial", "-days", "2", "-extfile", "%s/%s.ext" % (d, name),
            "-out", "%s/%s.crt" % (d, name))
        paths[name] = ("%s/%s.crt" % (d, name), "%s/%s.key" % (d, name))
    return paths
