"""What the benchmarks under bench/ measure the same way: a process's CPU time
and memory from /proc, percentiles, the machine they ran on, and their
report's section of docs/benchmarks.md."""

import os
import platform
import re
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCHMARKS_MD = os.path.join(ROOT, "docs", "benchmarks.md")
HZ = os.sysconf("SC_CLK_TCK")


def proc_status(pid):
    """/proc/PID/status as a dict of strings ("VmRSS": "1234 kB", ...)."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def memory_kb(pid):
    """(VmRSS, VmHWM) of a process in kB."""
    st = proc_status(pid)
    return int(st["VmRSS"].split()[0]), int(st["VmHWM"].split()[0])


def cpu_seconds(pid):
    """User + system CPU time of a process so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()     # the name may hold spaces and ')'
    return (int(fields[11]) + int(fields[12])) / HZ


def percentile(values, q):
    """The q-quantile (0..1) by nearest rank; NaN for no values."""
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, max(0, int(round((len(v) - 1) * q))))]


def machine_info():
    """The CPU (lscpu), its SIMD extensions, the kernel and the compiler."""
    info = {}
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for key, name in (("Model name", "cpu"), ("CPU(s)", "cpus"),
                          ("Thread(s) per core", "threads_per_core"),
                          ("Hypervisor vendor", "hypervisor")):
            m = re.search(r"^%s:\s*(.+)$" % re.escape(key), lscpu, re.M)
            if m:
                info[name] = m.group(1).strip()
        flags = re.search(r"^Flags:\s*(.+)$", lscpu, re.M)
        if flags:
            f = flags.group(1).split()
            info["simd"] = " ".join(x for x in ("sse4_2", "avx2", "avx512f", "fma") if x in f)
    except OSError:
        pass
    info["kernel"] = platform.release()
    try:
        info["compiler"] = subprocess.run(["cc", "--version"], capture_output=True,
                                          text=True).stdout.splitlines()[0]
    except (OSError, IndexError):
        info["compiler"] = "?"
    return info


def write_doc(name, text, path=BENCHMARKS_MD):
    """Replaces the section of bench/NAME's report in docs/benchmarks.md
    (between its begin and end markers), or appends it."""
    begin, end = "<!-- bench/%s: begin -->" % name, "<!-- bench/%s: end -->" % name
    with open(path) as f:
        doc = f.read()
    block = begin + "\n" + text + "\n" + end
    if begin in doc and end in doc:
        doc = doc[:doc.index(begin)] + block + doc[doc.index(end) + len(end):]
    else:
        doc = doc.rstrip("\n") + "\n\n" + block + "\n"
    with open(path, "w") as f:
        f.write(doc)
