#!/usr/bin/python3
"""A live device's configuration replayed: `gaitway replay --config FILE
--device ID` and a gaitwayd drop-in that sets `source = replay` replace the
source of an IIO or BLE device section.  The keys of the live kind (uri,
device, address, profile, ...) are then left over, not mistakes: they are
ignored and logged, while a key no source kind knows stays an error naming
the file, the line and the key.

    test-replay-config.py BUILD_ROOT [GROUP...]     groups: ble iio
"""

import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from gwtest import HERE, PYTHON, Gaitwayd, case, check, run, sanitizer_report  # noqa: E402

IIO = ["[device wrist]", "source = iio", "uri = ip:127.0.0.1", "device = lsm6dsx",
       "accel_channels = accel_x accel_y accel_z", "reopen_min = 1", "mount_matrix = no",
       "models = activity"]
BLE = ["[device shoe]", "source = ble", "address = C0:FF:EE:00:00:01", "profile = gaitway",
       "reconnect_min = 2", "models = activity"]


def trace(ctx):
    path = os.path.join(ctx.dir, "synth.csv")
    if not os.path.exists(path):
        subprocess.run([PYTHON, os.path.join(HERE, "synth.py"), path, "--seconds-per-segment", "6",
                        "--segments", "4"], check=True, stdout=subprocess.DEVNULL)
    return path


def write_config(ctx, sections, name="live.conf"):
    text = ["[gateway]", "id = gw1", "activity_model = %s/activity.gwm" % ctx.models,
            "fog_model = %s/fog.gwm" % ctx.models, "log_events = no", "[mqtt]", "enabled = no",
            "[dbus]", "bus = none"]
    for s in sections:
        text += s
    path = os.path.join(ctx.dir, name)
    with open(path, "w") as f:
        f.write("\n".join(text) + "\n")
    return path


def line_of(path, prefix, section=None):
    """The 1-based number of the first line starting with prefix (in section)."""
    with open(path) as f:
        lines = f.read().splitlines()
    start = lines.index(section) if section else 0
    return next(i + 1 for i in range(start, len(lines)) if lines[i].startswith(prefix))


def replay(ctx, conf, device=None, extra=()):
    args = [ctx.gaitway, "replay", "--config", conf, "--events", "--no-progress"]
    if device:
        args += ["--device", device]
    p = subprocess.run(args + list(extra) + [trace(ctx)], capture_output=True, text=True, timeout=120)
    check(not sanitizer_report(p.stderr), "sanitizer report: " + p.stderr)
    return p


def events(p):
    """The events and summary, without the wall-clock times (each run
    anchors its own clock)."""
    check(p.returncode == 0, "gaitway replay failed: " + p.stderr)
    lines = [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")]
    return [{k: v for k, v in e.items() if k not in ("time", "time_ms")} for e in lines]


def same_as_plain_replay(ctx, conf, device, kind, keys):
    """--device on a live section: the same events as a replay given the
    section's common key (models = activity) on the command line, and one
    log line per key of the live kind naming its file and line."""
    p = replay(ctx, conf, device)
    got = events(p)
    plain = events(replay(ctx, write_config(ctx, [], "plain.conf"), device, ["-o", "models=activity"]))
    check(len(got) >= 3, "some events and a summary: %s" % got)
    check(all(e["type"] != "fog" for e in got), "the section's models = activity applies: %s" % got)
    check(got == plain, "events differ from a plain replay:\n%s\n%s" % (got, plain))
    for key in keys:
        where = "%s:%d: [device %s] %s: ignored, a key of the %s source" % (
            conf, line_of(conf, key + " = ", "[device %s]" % device), device, key, kind)
        check(where in p.stderr, "stderr names %s\n%s" % (where, p.stderr))


@case("gaitway replay --device on an IIO section ignores the iio keys and replays with its common keys", "iio")
def replay_iio_section(ctx):
    conf = write_config(ctx, [IIO, BLE])
    same_as_plain_replay(ctx, conf, "wrist", "iio",
                         ["uri", "device", "accel_channels", "reopen_min", "mount_matrix"])


@case("gaitway replay --device on a BLE section ignores the ble keys and replays with its common keys", "ble")
def replay_ble_section(ctx):
    sections = [IIO, BLE] if "iio" in sys.argv[2:] else [BLE]
    conf = write_config(ctx, sections)
    same_as_plain_replay(ctx, conf, "shoe", "ble", ["address", "profile", "reconnect_min"])


@case("gaitway replay --config with live sections and no --device checks them and replays", "ble")
def replay_without_device(ctx):
    sections = [IIO, BLE] if "iio" in sys.argv[2:] else [BLE]
    p = replay(ctx, write_config(ctx, sections))
    check(len(events(p)) >= 3, "events and a summary")
    check("ignored" not in p.stderr, "nothing ignored when no source is replaced: " + p.stderr)


@case("an unknown key in a replaced section is still an error naming file, line and key", "ble")
def unknown_key_still_refused(ctx):
    conf = write_config(ctx, [BLE + ["adress = C0:FF:EE:00:00:02"]])
    p = replay(ctx, conf, "shoe")
    want = "%s:%d: [device shoe] adress: unknown key" % (conf, line_of(conf, "adress = C0:FF:EE:00:00:02"))
    check(p.returncode == 1, "exit status 1, got %d" % p.returncode)
    check(want in p.stderr, "stderr names %s\n%s" % (want, p.stderr))
    check(not p.stdout.strip(), "no events printed")


@case("a key of another kind is an error while the source is not replaced", "ble")
def foreign_key_without_replacement(ctx):
    conf = write_config(ctx, [BLE + ["uri = ip:127.0.0.1"]])
    p = replay(ctx, conf, "other")
    want = "%s:%d: [device shoe] uri: unknown key" % (conf, line_of(conf, "uri = ip:127.0.0.1"))
    check(p.returncode == 1 and want in p.stderr, "stderr names %s\n%s" % (want, p.stderr))


def gaitwayd_replaced(ctx, sections, devices):
    """gaitwayd with a drop-in replaying every live device."""
    gw = Gaitwayd(ctx, open(write_config(ctx, sections)).read(), ["--exit-when-done"])
    os.makedirs(gw.conf + ".d")
    with open(os.path.join(gw.conf + ".d", "50-replay.conf"), "w") as f:
        for d in devices:
            f.write("[device %s]\nsource = replay\npath = %s\nspeed = max\n" % (d, trace(ctx)))
    return gw


@case("gaitwayd with a drop-in replaying live devices logs their ignored keys and runs them to the end", "ble")
def gaitwayd_dropin_replays(ctx):
    with_iio = "iio" in sys.argv[2:]
    devices = ["wrist", "shoe"] if with_iio else ["shoe"]
    gw = gaitwayd_replaced(ctx, [IIO, BLE] if with_iio else [BLE], devices)
    p = subprocess.run([ctx.gaitwayd, "--config", gw.conf, "--check-config"], capture_output=True, text=True,
                       timeout=60)
    check(p.returncode == 0, "--check-config: " + p.stdout + p.stderr)
    dropin = os.path.join(gw.conf + ".d", "50-replay.conf")
    check("[device shoe] address: ignored, a key of the ble source (source is replay since %s:%d)"
          % (dropin, line_of(dropin, "source = ", "[device shoe]")) in p.stdout,
          "--check-config lists it: " + p.stdout)
    gw.start()
    ctx.cleanup.append(gw.stop)
    check(gw.wait(120) == 0, "gaitwayd exit status\n" + gw.log())
    log = gw.log()
    for d in devices:
        check("device %s: end of stream" % d in log, "device %s ran to the end\n%s" % (d, log))
    check("[device shoe] profile: ignored, a key of the ble source" in log, "logged at info:\n" + log)
    if with_iio:
        check("[device wrist] uri: ignored, a key of the iio source" in log, "logged at info:\n" + log)


if __name__ == "__main__":
    sys.exit(run("test-replay-config" + "".join("-" + g for g in sys.argv[2:]), sys.argv[2:]))
