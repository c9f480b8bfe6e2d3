#!/usr/bin/python3
"""Training reaches libgaitway through ctypes (train/gaitway/), which
re-declares the public structs it passes by pointer.  A field added, moved or
resized in a header without the same change in Python would make training
read or write the wrong bytes silently.  This test writes a C file from the
ctypes declarations (offsetof and sizeof of every field, sizeof of every
struct), compiles it against lib/include with the build's own C compiler and
compares; it also requires every ctypes Structure in train/gaitway to be
listed here, so a new one cannot escape the check.
Usage: test-ctypes-layout.py SOURCE_ROOT BUILD_DIR CC [CC ARGS...]

Prints `gaitway-test: ctypes-layout: N passed, N failed` (scripts/test-summary)."""

import ctypes
import importlib
import inspect
import os
import subprocess
import sys
import tempfile

ROOT, BUILD, CC = sys.argv[1], sys.argv[2], sys.argv[3:]
sys.path.insert(0, os.path.join(ROOT, "train"))
results = []

# ctypes class (module, name) -> the C type it mirrors, with the header.
MIRRORS = {
    ("cfog", "FogConfig"): ("gw_fog_config", "decision.h"),
    ("cfog", "_FogTracker"): ("gw_fog_tracker", "decision.h"),
    ("cfog", "_FogEvent"): ("gw_fog_event", "decision.h"),
    ("cfog", "FiConfig"): ("gw_fi_config", "freeze_index.h"),
    ("cfog", "_FiResult"): ("gw_fi_result", "freeze_index.h"),
    ("cfrontend", "_ChannelDesc"): ("gw_channel_desc", "model.h"),
    ("cfrontend", "_SourceDesc"): ("gw_source_desc", "frontend.h"),
    ("cfrontend", "_FrontendStats"): ("gw_frontend_stats", "frontend.h"),
    ("cfrontend", "_WindowMeta"): ("gw_window_meta", "window.h"),
    ("cfrontend", "_WindowStats"): ("gw_window_stats", "window.h"),
    ("evaluate", "_Confusion"): ("gw_confusion", "metrics.h"),
    ("evaluate", "_ClassMetrics"): ("gw_class_metrics", "metrics.h"),
    ("evaluate", "_Interval"): ("gw_interval", "metrics.h"),
    ("evaluate", "_EpisodeMetrics"): ("gw_fog_episode_metrics", "metrics.h"),
}


def check(name, cond, detail=""):
    results.append(bool(cond))
    print(("ok     " if cond else "FAILED ") + name + ("" if cond else ": " + str(detail)))


def finish():
    print("gaitway-test: ctypes-layout: %d passed, %d failed" % (results.count(True),
                                                               results.count(False)))
    sys.exit(0 if results and all(results) else 1)


def structures_in(module):
    return [n for n, c in inspect.getmembers(module, inspect.isclass)
            if issubclass(c, ctypes.Structure) and c.__module__ == module.__name__]


def main():
    modules = {}
    for f in sorted(os.listdir(os.path.join(ROOT, "train", "gaitway"))):
        if f.endswith(".py") and f != "__init__.py":
            name = f[:-3]
            try:
                modules[name] = importlib.import_module("gaitway." + name)
            except ImportError as e:
                # Modules that need torch declare no structs (torch is
                # train-smoke's business); anything else missing is a failure.
                if e.name != "torch":
                    check("train/gaitway/%s.py imports" % f, False, e)
    declared = sorted((m, n) for m, mod in modules.items() for n in structures_in(mod))
    missing = [k for k in declared if k not in MIRRORS]
    check("every ctypes Structure in train/gaitway is checked here", not missing,
          "not listed in MIRRORS: %s" % missing)
    stale = [k for k in MIRRORS if k not in declared]
    check("every struct listed here still exists in train/gaitway", not stale, stale)

    checked = [k for k in sorted(MIRRORS) if k in declared]
    lines = ["#include <stddef.h>", "#include <stdio.h>"]
    lines += sorted({"#include \"gaitway/%s\"" % h for _, h in MIRRORS.values()})
    lines += ["int main(void)", "{"]
    expect = []
    for key in checked:
        cls = getattr(modules[key[0]], key[1])
        ctype, _ = MIRRORS[key]
        lines.append("        printf(\"%%zu\\n\", sizeof(%s));" % ctype)
        expect.append((key, "sizeof", ctypes.sizeof(cls)))
        for field in cls._fields_:
            fname = field[0]
            lines.append("        printf(\"%%zu\\n\", offsetof(%s, %s));" % (ctype, fname))
            lines.append("        printf(\"%%zu\\n\", sizeof(((%s *) 0)->%s));" % (ctype, fname))
            expect.append((key, "offsetof " + fname, getattr(cls, fname).offset))
            expect.append((key, "sizeof " + fname, getattr(cls, fname).size))
    lines += ["        return 0;", "}"]

    # The sanitizer runtimes a sanitizer build preloads for ctypes are no
    # business of the compiler or of the uninstrumented probe.
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    with tempfile.TemporaryDirectory() as tmp:
        src, exe = os.path.join(tmp, "layout.c"), os.path.join(tmp, "layout")
        with open(src, "w") as f:
            f.write("\n".join(lines) + "\n")
        cc = subprocess.run(CC + ["-std=c11", "-I", os.path.join(ROOT, "lib", "include"),
                                  "-I", os.path.join(BUILD, "lib", "include"), src, "-o", exe],
                            capture_output=True, text=True, env=env)
        check("the ctypes field names exist in the C structs (compiles)", cc.returncode == 0,
              cc.stderr.strip()[-2000:])
        if cc.returncode != 0:
            return
        out = subprocess.run([exe], capture_output=True, text=True, check=True,
                             env=env).stdout.split()
    got = [int(v) for v in out]
    check("one figure per declaration", len(got) == len(expect), (len(got), len(expect)))
    bad = {}
    for (key, what, want), have in zip(expect, got):
        if want != have:
            bad.setdefault(key, []).append("%s: C %d, ctypes %d" % (what, have, want))
    for key in checked:
        ctype = MIRRORS[key][0]
        check("%s.%s has the layout of %s" % (key[0], key[1], ctype), key not in bad,
              "; ".join(bad.get(key, [])))


main()
finish()
