#!/usr/bin/python3
"""gaitwayd's stats say how late its events are: a paced replay (speed 1)
with probabilities published, stats every second, and the `lag` object of
the stats checked against the windows the broker carried.

    test-event-lag.py BUILD_ROOT
"""

import json
import sys
import time

from gwtest import Gaitwayd, Mosquitto, Subscriber, case, check, run, wait_for


def started(ctx, proc):
    ctx.cleanup.append(proc.stop)
    return proc


@case("stats carry the lag from a window's last sample to its hand-off, over the last interval", "lag")
def lag_in_stats(ctx):
    broker = started(ctx, Mosquitto(ctx.dir).start())
    sub = started(ctx, Subscriber(ctx.dir, broker, ["gaitway/gw1/stats", "gaitway/gw1/synth/probabilities/#"]))
    conf = ctx.config("speed = 1\nloop = yes", mqtt=broker, gateway_extra="stats_interval = 1")
    conf = conf.replace("[mqtt]\n", "[mqtt]\nprobabilities = yes\n")
    gw = started(ctx, Gaitwayd(ctx, conf).start())

    def stats():
        return [json.loads(p) for _, _, t, p in sub.messages() if t == "gaitway/gw1/stats" and p]
    wait_for(lambda: len([s for s in stats() if s["lag"]["events"] > 0]) >= 3, 30, what="three stats with events")
    gw.stop()
    time.sleep(0.5)
    lags = [s["lag"] for s in stats()]
    busy = [l for l in lags if l["events"] > 0]
    for l in busy:
        check(0 <= l["p50_ms"] <= l["p99_ms"] <= l["max_ms"], "ordered quantiles: %s" % l)
        # A replay at speed 1 of one device is never seconds behind, even
        # on a loaded machine.
        check(l["max_ms"] < 2000, "lag under 2 s: %s" % l)
    for l in lags:
        if l["events"] == 0:
            check(l["p50_ms"] == l["p99_ms"] == l["max_ms"] == 0, "no events, no lag: %s" % l)
    # One stats message per second covers that second's windows: activity
    # (hop 1.28 s) and FoG (hop 0.32 s) give 3 to 5 a second.
    per_interval = sorted(l["events"] for l in busy)
    check(2 <= per_interval[len(per_interval) // 2] <= 6,
          "events per one-second interval: %s" % per_interval)
    windows = [m for m in sub.messages() if "/probabilities/" in m[2]]
    check(len(windows) >= sum(l["events"] for l in busy[:-1]), "every counted window was published")
    print("       lag per interval (p50/p99/max ms): %s" % ", ".join(
        "%.2f/%.2f/%.2f" % (l["p50_ms"], l["p99_ms"], l["max_ms"]) for l in busy))


if __name__ == "__main__":
    sys.exit(run("event-lag", sys.argv[2:]))
