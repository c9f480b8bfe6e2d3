#!/usr/bin/python3
"""Paced replays share one timer (daemon/source-replay.c): many devices at
speed 1 each keep their 50 samples a second, and when the MQTT sink is busy
the replays wait for it and all go on once it drains, nothing dropped.

    test-pacing.py BUILD_ROOT
"""

import json
import sys

from gwtest import Gaitwayd, Mosquitto, Subscriber, case, check, run, wait_for

DEVICES = 60


def started(ctx, proc):
    ctx.cleanup.append(proc.stop)
    return proc


def paced(ctx, broker, mqtt_extra=""):
    conf = ctx.config("speed = 1\nloop = yes", mqtt=broker, gateway_extra="stats_interval = 1",
                      devices=["w%02d" % i for i in range(DEVICES)])
    return conf.replace("[mqtt]\n", "[mqtt]\n" + mqtt_extra)


def two_stats(ctx, sub, apart):
    """Two stats messages `apart` intervals apart, after the start."""
    def stats():
        return [json.loads(p) for _, _, t, p in sub.messages() if t == "gaitway/gw1/stats" and p]
    wait_for(lambda: len(stats()) >= 3 + apart, 60, what="%d stats" % (3 + apart))
    s = stats()
    return s[2], s[2 + apart]


def rates(a, b):
    """Samples per second of each device between two stats."""
    dt = (b["time_ms"] - a["time_ms"]) / 1000.0
    return {d: (b["devices"][d]["samples"] - a["devices"][d]["samples"]) / dt for d in b["devices"]}


@case("many paced replays on one timer each deliver their 50 samples a second", "rate")
def each_keeps_its_rate(ctx):
    broker = started(ctx, Mosquitto(ctx.dir).start())
    sub = started(ctx, Subscriber(ctx.dir, broker, ["gaitway/gw1/stats"]))
    started(ctx, Gaitwayd(ctx, paced(ctx, broker)).start())
    a, b = two_stats(ctx, sub, 3)
    r = rates(a, b)
    check(len(r) == DEVICES, "every device in the stats: %d" % len(r))
    slow = {d: v for d, v in r.items() if not 45 <= v <= 55}
    check(not slow, "devices off 50 samples/s: %s" % slow)
    print("       %d devices, %.1f-%.1f samples/s each" % (len(r), min(r.values()), max(r.values())))


@case("a busy MQTT sink holds the paced replays; all go on when it drains, no window dropped", "busy")
def busy_sink_holds_then_all_resume(ctx):
    broker = started(ctx, Mosquitto(ctx.dir).start())
    sub = started(ctx, Subscriber(ctx.dir, broker, ["gaitway/gw1/stats"]))
    # Every device's windows complete together: a burst of DEVICES messages
    # against a queue that is busy at 20.
    started(ctx, Gaitwayd(ctx, paced(ctx, broker, "probabilities = yes\nqueue_limit = 40\n")).start())
    a, b = two_stats(ctx, sub, 3)
    r = rates(a, b)
    stuck = sorted(d for d, v in r.items() if v < 40)
    check(not stuck, "devices held back for good: %s" % stuck)
    m = b["mqtt"]
    check(m["dropped"] == 0 and m["dropped_qos0"] == 0, "nothing dropped: %s" % m)
    check(m["published"] - a["mqtt"]["published"] > 40 * 3, "bursts larger than the queue went out: %s" % m)
    print("       %d devices, %.1f-%.1f samples/s each, %d windows published in 3 s, none dropped"
          % (len(r), min(r.values()), max(r.values()), m["published"] - a["mqtt"]["published"]))


if __name__ == "__main__":
    sys.exit(run("pacing", sys.argv[2:]))
