#!/usr/bin/python3
"""gaitwayd under valgrind's memcheck for one replay with every sink on: a
real mosquitto, a private dbus-daemon, a reload adding a device (SIGHUP)
and a D-Bus Reload, then SIGTERM.  No invalid access, no use of
uninitialised memory, no definite or indirect leak (--error-exitcode=1).
Built without sanitizers only (valgrind and ASan exclude each other).

    test-valgrind.py BUILD_ROOT"""

import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from gwtest import (HERE, PYTHON, DbusDaemon, Gaitwayd, Mosquitto, Subscriber, case, check,  # noqa: E402
                    mqtt_events, run, stop, wait_for)


@case("memcheck: one replay through MQTT and D-Bus with two reloads: no error, no leak", "memcheck")
def memcheck(ctx):
    trace = os.path.join(ctx.dir, "short.csv")
    subprocess.run([PYTHON, os.path.join(HERE, "synth.py"), trace, "--seconds-per-segment", "6",
                    "--segments", "8"], check=True, stdout=subprocess.DEVNULL)
    broker = Mosquitto(ctx.dir).start()
    ctx.cleanup.append(broker.stop)
    sub = Subscriber(ctx.dir, broker, ["gaitway/#"])
    ctx.cleanup.append(lambda: stop(sub.proc))
    bus = DbusDaemon(ctx.dir)
    ctx.cleanup.append(bus.stop)
    head = ["[gateway]", "id = gw1", "activity_model = %s/activity.gwm" % ctx.models,
            "fog_model = %s/fog.gwm" % ctx.models, "stats_interval = 1",
            "[mqtt]", "host = 127.0.0.1", "port = %d" % broker.port, "probabilities = yes",
            "[dbus]", "bus = " + bus.address,
            "[device synth]", "source = replay", "path = " + trace, "speed = 8"]
    vlog = os.path.join(ctx.dir, "valgrind.log")
    gw = Gaitwayd(ctx, "\n".join(head) + "\n", ["--exit-when-done"])
    gw_cmd = [ctx.gaitwayd, "--config", gw.conf, "-v", "--exit-when-done"]
    vg = ["valgrind", "--tool=memcheck", "--leak-check=full", "--errors-for-leak-kinds=definite,indirect",
          "--error-exitcode=1", "--track-origins=yes", "--log-file=" + vlog]
    logf = open(gw.log_path, "ab")
    proc = subprocess.Popen(vg + gw_cmd, stdout=logf, stderr=logf)
    ctx.cleanup.append(lambda: stop(proc))
    wait_for(lambda: "ready" in gw.log(), 60, step=0.2, what="gaitwayd ready under valgrind")
    wait_for(lambda: bus.busctl("status", "org.gaitway.Gateway1", check_rc=False).returncode == 0, 30,
             what="the bus name")
    gw.write("\n".join(head + ["[device second]", "source = replay", "path = " + trace, "speed = 8"]) + "\n")
    proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "device second: added" in gw.log(), 30, step=0.2, what="the reload")
    gw.write("\n".join(head) + "\n")
    bus.busctl("--timeout=15", "call", "org.gaitway.Gateway1", "/org/gaitway/Gateway1", "org.gaitway.Gateway1",
               "Reload")
    check("device second: removed" in gw.log(), "the D-Bus reload removed the second device")
    try:
        rc = proc.wait(240)
    except subprocess.TimeoutExpired:
        stop(proc)
        raise
    text = open(vlog).read()
    summary = re.search(r"ERROR SUMMARY: (\d+) errors", text)
    lost = re.findall(r"(definitely|indirectly) lost: ([\d,]+) bytes", text)
    check(rc == 0 and summary and summary.group(1) == "0",
          "valgrind: exit %d, %s\n%s" % (rc, summary.group(0) if summary else "no summary", text[-6000:]))
    check(all(n == "0" for _, n in lost), "leaks: %s" % lost)
    time.sleep(0.3)
    check(len(mqtt_events(sub.stop())) > 5, "events were published")
    print("       memcheck: %s; %s" % (summary.group(0), ", ".join("%s lost: %s bytes" % l for l in lost)
                                       or "no leak summary (all freed)"))


if __name__ == "__main__":
    sys.exit(run("valgrind", ["memcheck"]))
