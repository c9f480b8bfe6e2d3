#!/usr/bin/python3
"""Instructions per window of the INT8 engine on every path the CPU supports
(valgrind --tool=callgrind: counts that do not drift with machine noise),
next to the MACs of a window and the MACs per cycle achieved.

    /usr/bin/python3 bench/callgrind_window.py BUILD_ROOT [MODEL.gwm] [--windows 50] [--write]

- Instructions: callgrind over `gaitway bench MODEL --engine int8`, collecting
  only inside gw_engine_run_int8 (--toggle-collect), divided by the windows
  run (the warm-up pass and the timed pass: 2 x --windows).
- MACs: executed multiply-accumulates of one window: conv1 T*F*C*k, conv2
  (T/2)*F*F*k, the forward LSTM (T/4)*4H*(F+H), the one backward step 4H*F
  (the model reads the reverse direction at the last step only), the head
  K*2H.  `gaitway model info` counts the full bidirectional LSTM instead.
- Time: p10 of `gaitway bench --windows 3000` (the fastest tenth, closest to
  an idle core), and the core clock measured here with a chain of dependent
  integer multiplies (3 cycles each), best of many short bursts: MACs per
  cycle = MACs / (p10 x clock).
"""

import argparse
import datetime
import json
import os
import re
import subprocess
import sys
import tempfile

import benchlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CLOCK_C = r"""
#include <stdio.h>
#include <time.h>
static double now(void){struct timespec t; clock_gettime(CLOCK_MONOTONIC,&t); return t.tv_sec+t.tv_nsec*1e-9;}
int main(void){ unsigned long x=1; double best=1e9;
for(int r=0;r<3000;r++){ double a=now();
for(long i=0;i<10000;i++) __asm__ volatile("imul %0,%0\n\timul %0,%0\n\timul %0,%0\n\timul %0,%0\n\timul %0,%0\n\timul %0,%0\n\timul %0,%0\n\timul %0,%0\n\timul %0,%0\n\timul %0,%0":"+r"(x));
double d=now()-a; if(d<best)best=d;}
printf("%.4f\n", 300000.0/best/1e9); return x == 42;}
"""


def clock_ghz(work):
    src = os.path.join(work, "clock.c")
    exe = os.path.join(work, "clock")
    with open(src, "w") as f:
        f.write(CLOCK_C)
    try:
        subprocess.run(["cc", "-O1", src, "-o", exe], check=True, capture_output=True)
        return float(subprocess.run([exe], check=True, capture_output=True, text=True).stdout)
    except (OSError, subprocess.CalledProcessError):
        return None   # not x86-64, or no compiler


def arch(gaitway, model):
    out = subprocess.run([gaitway, "model", "info", model, "--json"], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def executed_macs(a):
    C, K, T, F, k, H = (a[x] for x in ("channels", "classes", "window", "filters", "kernel", "hidden"))
    return T * F * C * k + (T // 2) * F * F * k + (T // 4) * 4 * H * (F + H) + 4 * H * F + K * 2 * H


def instructions(gaitway, model, isa, windows, work):
    out = os.path.join(work, "cg.%s" % isa)
    env = dict(os.environ, GW_ENGINE_ISA=isa)
    p = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out,
                        "--toggle-collect=gw_engine_run_int8", gaitway, "bench", model, "--engine",
                        "int8", "--windows", str(windows), "--json"], env=env, capture_output=True,
                       text=True, check=True)
    used = json.loads(p.stdout)["int8"]["isa"]
    m = re.search(r"Collected : (\d+)", p.stderr)
    return used, int(m.group(1)) / (2 * windows)


def timing(gaitway, model, isa):
    env = dict(os.environ, GW_ENGINE_ISA=isa)
    p = subprocess.run(["nice", "-n", "-15", gaitway, "bench", model, "--engine", "int8", "--windows",
                        "3000", "--json"], env=env, capture_output=True, text=True)
    if p.returncode != 0:   # not allowed to raise priority: plain
        p = subprocess.run([gaitway, "bench", model, "--engine", "int8", "--windows", "3000",
                            "--json"], env=env, capture_output=True, text=True, check=True)
    return json.loads(p.stdout)["int8"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("build")
    ap.add_argument("model", nargs="?", default=os.path.join(ROOT, "tests", "data", "golden", "uci-har.gwm"))
    ap.add_argument("--windows", type=int, default=50)
    ap.add_argument("--write", action="store_true")
    a = ap.parse_args()
    gaitway = os.path.join(os.path.abspath(a.build), "daemon", "gaitway")
    work = tempfile.mkdtemp(prefix="gw-cg-")
    info = arch(gaitway, a.model)
    macs = executed_macs(info["arch"])
    ghz = clock_ghz(work)
    load0 = os.getloadavg()[0]
    rows = []
    for isa in ("avx2", "sse41", "neon", "c"):
        used, ins = instructions(gaitway, a.model, isa, a.windows, work)
        if used != isa:
            continue
        t = timing(gaitway, a.model, isa)
        rows.append((isa, ins, t))
    load1 = os.getloadavg()[0]
    ar = info["arch"]
    L = ["## INT8 engine: instructions per window (bench/callgrind_window.py)", "",
         "`/usr/bin/python3 bench/callgrind_window.py %s` (%s; load average %.1f before, %.1f after; "
         "core clock measured %s)." % (" ".join(sys.argv[1:]), datetime.date.today().isoformat(), load0,
                                        load1, "%.2f GHz" % ghz if ghz else "n/a"), "",
         "Model %s (C=%d K=%d T=%d F=%d k=%d H=%d): %s MACs executed per window (%s counted by "
         "`gaitway model info`, which includes the reverse LSTM over every step)." % (
             os.path.basename(a.model), ar["channels"], ar["classes"], ar["window"], ar["filters"],
             ar["kernel"], ar["hidden"], "{:,}".format(macs), "{:,}".format(info["macs"])), "",
         "| path | instructions per window (callgrind) | MACs per instruction | p10 us | median us | MACs per cycle (p10) |",
         "|---|---:|---:|---:|---:|---:|"]
    for isa, ins, t in rows:
        mpc = macs / (t["p10_us"] * 1e3 * ghz) if ghz else float("nan")
        L.append("| %s | %s | %.2f | %.2f | %.2f | %.1f |" % (isa, "{:,.0f}".format(ins), macs / ins,
                                                            t["p10_us"], t["median_us"], mpc))
    text = "\n".join(L)
    print(text)
    if a.write:
        benchlib.write_doc("callgrind_window.py", text)


if __name__ == "__main__":
    main()
