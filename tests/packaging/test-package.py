#!/usr/bin/python3
"""From the working tree to an installed, enabled, configuration-checked
service and back, on this machine (Debian 12, as root, systemd need not be
PID 1):

  packaging/build-deb                   the .deb, and lintian on its .changes
  dpkg -i                               files where they belong, accounts,
                                        gaitwayd --check-config on the default
                                        configuration, systemctl is-enabled,
                                        systemd-analyze verify and security on
                                        the installed unit, the bus policy with
                                        the real accounts, man pages render
  dpkg -i again                         an upgrade in place
  meson install --destdir               the same files for other distributions
  dpkg -P                               every path the installation added is
                                        gone, nothing that was there before is

Ends with `gaitway-test: packaging: N passed, N failed` (scripts/test's
packaging stage; scripts/test-summary reads the log).

    test-package.py [BUILD_DIR]         BUILD_DIR: a configured meson build
                                        of the tree for the DESTDIR check
"""

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pkgtest import Tally, run, stop, wait_for  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
OUT = os.path.join(ROOT, "packaging", "out")
BUILD = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else None
UNIT = "/lib/systemd/system/gaitwayd.service"
EXPOSURE_MAX = 25          # systemd-analyze's scale: 25 = exposure 2.5
WALK = ["/etc", "/usr", "/var/lib"]
# Written by systemd-sysusers next to the account files; the accounts
# themselves stay after a purge (Debian does not remove system users: files
# they own may outlive the package).
ACCOUNT_BACKUPS = {"/etc/passwd-", "/etc/group-", "/etc/shadow-", "/etc/gshadow-", "/etc/.pwd.lock"}

t = Tally("packaging")


def snapshot():
    paths = set()
    for top in WALK:
        for d, dirs, files in os.walk(top):
            if d.startswith("/var/lib/dpkg/updates"):
                continue
            for n in dirs + files:
                paths.add(os.path.join(d, n))
    return paths


def installed():
    r, out, err = run(["dpkg-query", "-W", "-f=${db:Status-Status}", "gaitway"])
    return r == 0 and out.strip() not in ("", "not-installed", "config-files")


def purge():
    return run(["dpkg", "-P", "gaitway"])


if os.geteuid() != 0:
    print("test-package: needs root (dpkg -i); skipped")
    sys.exit(77)

os.makedirs(OUT, exist_ok=True)
lock = open(os.path.join(OUT, ".test-package.lock"), "w")
fcntl.flock(lock, fcntl.LOCK_EX)        # one run at a time: it installs a package
if installed() or run(["dpkg-query", "-W", "gaitway"])[0] == 0:
    t.note("gaitway was installed before the test: purging it first")
    purge()

# ---- build and lintian -------------------------------------------------------------------------

r, out, err = run([os.path.join(ROOT, "packaging", "build-deb")])
debs = sorted(f for f in os.listdir(OUT) if re.match(r"gaitway_.*\.deb$", f))
t.check(r == 0 and len(debs) == 1, "packaging/build-deb builds the package (dpkg-buildpackage -us -uc -b)",
        out + err)
if not debs:
    sys.exit(t.finish())
deb = os.path.join(OUT, debs[0])
changes = deb[:-4].rsplit("_", 1)[0] + "_" + deb[:-4].rsplit("_", 1)[1] + ".changes"
version = run(["dpkg-deb", "-f", deb, "Version"])[1].strip()
meson_version = re.search(r"version : '([^']+)'", open(os.path.join(ROOT, "meson.build")).read()).group(1)
t.check(version.split("-")[0] == meson_version, "package version %s is the project's %s" % (version, meson_version))

r, out, err = run(["lintian", "--display-level", ">=pedantic", "--show-overrides", changes])
tags = [l for l in (out + err).splitlines() if re.match(r"^[EWIPXO]: ", l)]
bad = [l for l in tags if l[0] in "EW"]
overridden = [l for l in tags if l[0] == "O"]
others = [l for l in tags if l[0] in "IPX"]
t.check(not bad, "lintian: no error or warning (%d overridden in packaging/debian/gaitway.lintian-overrides, "
        "%d info/pedantic)" % (len(overridden), len(others)), "\n".join(bad))
for l in overridden + others:
    t.note("lintian " + l)

# ---- install ------------------------------------------------------------------------------------

before = snapshot()
r, out, err = run(["dpkg", "-i", deb])
t.check(r == 0, "dpkg -i installs it", out + err)
after_install = snapshot()
added = after_install - before

expected = [
    "/usr/sbin/gaitwayd", "/usr/bin/gaitway", UNIT, "/usr/lib/sysusers.d/gaitway.conf",
    "/lib/udev/rules.d/60-gaitway-iio.rules", "/usr/share/dbus-1/system.d/org.gaitway.Gateway1.conf",
    "/etc/gaitway/gaitway.conf", "/etc/gaitway/gaitway.conf.d",
    "/usr/share/man/man8/gaitwayd.8.gz", "/usr/share/man/man1/gaitway.1.gz",
    "/usr/share/man/man5/gaitway.conf.5.gz", "/usr/share/doc/gaitway/copyright",
] + ["/usr/share/doc/gaitway/examples/" + f for f in sorted(os.listdir(os.path.join(ROOT, "conf", "examples")))]
models = [f for f in sorted(os.listdir(os.path.join(ROOT, "models"))) if f.endswith(".gwm")] \
    if os.path.isdir(os.path.join(ROOT, "models")) else []
expected += ["/usr/share/gaitway/models/" + f for f in models]
expected += ["/usr/share/gaitway/samples/" + f for f in sorted(os.listdir(os.path.join(ROOT, "models", "sample")))]
missing = [p for p in expected if not os.path.exists(p)]
t.check(not missing, "the files land where they belong (%d paths%s)"
        % (len(expected), ", models: " + " ".join(models) if models else ", no models in the tree yet"),
        "missing: " + " ".join(missing))
t.check(not os.path.exists("/usr/include/gaitway") and not any("libgaitway" in p for p in added),
        "the library's development files stay out of the package")
conffiles = run(["dpkg-query", "-W", "-f=${Conffiles}", "gaitway"])[1]
t.check("/etc/gaitway/gaitway.conf " in conffiles, "/etc/gaitway/gaitway.conf is a conffile", conffiles)
unit_text = open(UNIT).read() if os.path.exists(UNIT) else ""
t.check("ExecStart=/usr/sbin/gaitwayd\n" in unit_text, "the installed unit starts /usr/sbin/gaitwayd")

r, out, err = run(["getent", "passwd", "gaitwayd"])
t.check(r == 0 and out.strip().endswith(":/usr/sbin/nologin"), "systemd-sysusers created user gaitwayd "
        "(no login)", out + err)
missing = [g for g in ("gaitwayd", "gaitway", "iio", "bluetooth") if run(["getent", "group", g])[0] != 0]
t.check(not missing, "groups gaitwayd, gaitway, iio, bluetooth exist", "missing: " + " ".join(missing))

r, out, err = run(["gaitwayd", "--check-config"])
t.check(r == 0 and "configuration OK" in out, "gaitwayd --check-config passes on the installed default "
        "configuration: " + out.strip(), out + err)
r, out, err = run(["setpriv", "--reuid=gaitwayd", "--regid=gaitwayd", "--init-groups", "gaitwayd",
                   "--check-config"])
t.check(r == 0 and "configuration OK" in out, "... also as the service account", out + err)
r, out, err = run(["systemctl", "is-enabled", "gaitwayd"])
t.check(out.strip() == "enabled", "systemctl is-enabled gaitwayd says %s" % (out.strip() or err.strip()))

r, out, err = run(["systemd-analyze", "verify", "--man=no", UNIT])
t.check(r == 0 and not (out + err).strip(), "systemd-analyze verify --man=no prints nothing for the "
        "installed unit", out + err)
r, out, err = run(["systemd-analyze", "security", "--offline=true", "--threshold=%d" % EXPOSURE_MAX, UNIT])
m = re.search(r"Overall exposure level for gaitwayd.service: ([0-9.]+)", out)
t.check(r == 0 and m, "systemd-analyze security --offline=true --threshold=%d: exposure %s"
        % (EXPOSURE_MAX, m.group(1) if m else "?"), out + err)

# The policy names real accounts now: the bus must know every one of them.
work = tempfile.mkdtemp(prefix="gw-package-")
busconf = os.path.join(work, "bus.conf")
with open(busconf, "w") as f:
    f.write('<busconfig><type>system</type><listen>unix:path=%s/bus</listen><auth>EXTERNAL</auth>'
            '<policy context="default"><allow user="*"/></policy>'
            '<include>/usr/share/dbus-1/system.d/org.gaitway.Gateway1.conf</include></busconfig>\n' % work)
bus = subprocess.Popen(["dbus-daemon", "--config-file=" + busconf, "--nofork", "--nopidfile", "--nosyslog"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
up = wait_for(lambda: os.path.exists(os.path.join(work, "bus")), 10)
stop(bus)
warnings = bus.stderr.read()
t.check(up and not re.search(r"Unknown (username|group)|policy|Failed to parse", warnings),
        "dbus-daemon loads the installed policy and knows every account it names", warnings)

for page in ("man8/gaitwayd.8.gz", "man1/gaitway.1.gz", "man5/gaitway.conf.5.gz"):
    r, out, err = run(["man", "--warnings", "-l", "/usr/share/man/" + page],
                      env=dict(os.environ, MANPAGER="cat", MANWIDTH="80", LC_ALL="C.UTF-8"))
    t.check(r == 0 and len(out) > 500 and not err.strip(), "man renders %s without warnings" % page, err)

r, out, err = run(["dpkg", "-i", deb])
t.check(r == 0 and run(["systemctl", "is-enabled", "gaitwayd"])[1].strip() == "enabled",
        "installing over the installed package (an upgrade) keeps it enabled", out + err)

# ---- meson install for other distributions ---------------------------------------------------

if BUILD:
    dest = os.path.join(work, "destdir")
    r, out, err = run(["meson", "install", "-C", BUILD, "--destdir", dest, "--no-rebuild", "--quiet"])
    opts = json.loads(run(["meson", "introspect", "--buildoptions", BUILD])[1] or "[]")
    prefix = next((o["value"] for o in opts if o["name"] == "prefix"), "?")
    files = {os.path.relpath(os.path.join(d, n), dest) for d, _, ns in os.walk(dest) for n in ns}
    units = [f for f in files if f.endswith("systemd/system/gaitwayd.service")]
    want = ["sbin/gaitwayd", "bin/gaitway", "sysusers.d/gaitway.conf", "udev/rules.d/60-gaitway-iio.rules",
            "dbus-1/system.d/org.gaitway.Gateway1.conf", "etc/gaitway/gaitway.conf", "man8/gaitwayd.8",
            "man5/gaitway.conf.5", "man1/gaitway.1", "doc/gaitway/examples/iio-imu.conf"]
    lacking = [w for w in want if not any(f.endswith(w) for f in files)]
    ok = r == 0 and len(units) == 1 and not lacking
    t.check(ok, "meson install --destdir (prefix %s) installs the service files too"
            % prefix, out + err + "\nlacking: %s; units: %s" % (lacking, units))
    if units:
        text = open(os.path.join(dest, units[0])).read()
        m = re.search(r"^ExecStart=(\S+)$", text, re.M)
        exe = m and os.path.join(dest, m.group(1).lstrip("/"))
        copy = os.path.join(work, "gaitwayd.service")
        with open(copy, "w") as f:
            f.write(text.replace(m.group(0), "ExecStart=" + exe) if exe else text)
        r, out, err = run(["systemd-analyze", "verify", "--man=no", copy], cwd=work)
        t.check(exe and os.path.exists(exe) and r == 0 and not (out + err).strip(),
                "... with a unit whose ExecStart= is the installed daemon (%s), verified"
                % (m.group(1) if m else "?"), out + err)
else:
    t.note("no build directory given: meson install --destdir not checked")

# The paths compiled into the daemon follow the prefix (configured only: the
# header is generated at setup time).
local = os.path.join(work, "build-local")
r, out, err = run(["meson", "setup", local, ROOT, "--prefix=/usr/local", "-Dtests=false", "-Dman=disabled"])
header = open(os.path.join(local, "daemon", "gw-paths.h")).read() if r == 0 else ""
installed = json.loads(run(["meson", "introspect", "--installed", local])[1] or "{}") if r == 0 else {}
t.check('GW_SYSCONFDIR "/usr/local/etc/gaitway"' in header and
        'GW_PKGDATADIR "/usr/local/share/gaitway"' in header and
        "/usr/local/etc/gaitway/gaitway.conf" in installed.values(),
        "meson setup --prefix=/usr/local: gaitwayd reads /usr/local/etc/gaitway and the models under "
        "/usr/local/share/gaitway, where the configuration is installed", out + err + header)
shutil.rmtree(work, ignore_errors=True)

# ---- purge --------------------------------------------------------------------------------------

r, out, err = purge()
t.check(r == 0, "dpkg -P removes the package", out + err)
after_purge = snapshot()
left = sorted(p for p in (added & after_purge) if p not in ACCOUNT_BACKUPS)
lost = sorted(p for p in (before - after_purge) if not p.startswith("/var/lib/dpkg/"))
t.check(not left and not lost, "dpkg -P removes every path the installation added (%d) and nothing else"
        % len(added), "left: %s\nremoved though there before: %s" % (left[:40], lost[:40]))
r, out, err = run(["systemctl", "is-enabled", "gaitwayd"])
t.check(r != 0, "systemctl is-enabled gaitwayd fails after the purge (%s)" % (out.strip() or err.strip()))
t.note("accounts kept after the purge, as Debian does for system users: gaitwayd, gaitway, iio, bluetooth")

sys.exit(t.finish())
