"""Model cards: markdown tables and confusion-matrix figures from the
reports the training commands write and from `gaitway eval --json`."""

import json
import os
import subprocess

import numpy as np

from . import protocol


def confusion_png(confusion, class_names, path, title):
    """A confusion matrix (rows true, columns predicted) as a PNG, counts and
    row-normalised shading."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    cm = np.asarray(confusion, float)
    rows = cm.sum(1, keepdims=True)
    norm = np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0)
    k = len(class_names)
    fig, ax = plt.subplots(figsize=(1.1 * k + 2.6, 1.0 * k + 1.8), dpi=110)
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    for i in range(k):
        for j in range(k):
            ax.text(j, i, "%d" % cm[i, j], ha="center", va="center", fontsize=9,
                    color="white" if norm[i, j] > 0.6 else "black")
    short = [c.replace("WALKING_", "").replace("_", " ").lower() for c in class_names]
    ax.set_xticks(range(k))
    ax.set_xticklabels(short, rotation=35, ha="right", fontsize=9)
    ax.set_yticks(range(k))
    ax.set_yticklabels(short, fontsize=9)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def class_table(ev, class_names=None):
    """Per-class precision / recall / F1 / support of one `gaitway eval`
    engine result (or evaluate.metrics() dict)."""
    lines = ["| class | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    for c in ev["classes"]:
        lines.append("| %s | %.3f | %.3f | %.3f | %d |" % (c["name"], c["precision"], c["recall"],
                                                           c["f1"], c["support"]))
    return "\n".join(lines)


def confusion_table(ev, class_names):
    cm = ev["confusion"]
    lines = ["| true \\ predicted | " + " | ".join(class_names) + " |",
             "|---|" + "---|" * len(class_names)]
    for name, row in zip(class_names, cm):
        lines.append("| %s | %s |" % (name, " | ".join(str(v) for v in row)))
    return "\n".join(lines)


def pm(values, scale=100.0, digits=2):
    m, s, n = protocol.mean_sd(values)
    return "%.*f +- %.*f" % (digits, m * scale, digits, s * scale)


def model_info(tool, path):
    r = subprocess.run([tool, "model", "info", path, "--json"], capture_output=True, text=True,
                       check=True)
    return json.loads(r.stdout)


def footprint_table(info, frontend_state_bytes=None, window_state_bytes=None):
    wb = info["weight_bytes"]
    lines = ["| | |", "|---|---|",
             "| parameters | %d |" % info["params"],
             "| multiply-accumulates per window | %d |" % info["macs"],
             "| INT8 tensors (int8 weights, int32 biases and requantisation, input scales) | "
             "%d bytes (%.2f KiB) |" % (wb["int8"], wb["int8"] / 1024.0),
             "| FP32 tensors | %d bytes |" % wb["fp32"]]
    if "engine_scratch_bytes" in info:
        lines.append("| engine scratch (one per thread) | %d bytes |" % info["engine_scratch_bytes"])
    if frontend_state_bytes:
        lines.append("| front end state per stream | %d bytes |" % frontend_state_bytes)
    if window_state_bytes:
        lines.append("| window ring per stream (float) | %d bytes |" % window_state_bytes)
    lines.append("| model file | %d bytes (FP32 and INT8 sets) |" % info.get("file_bytes", 0))
    return "\n".join(lines)


def footprint_section(info, model_path, jobs, train_times_s, per="seed"):
    """The card's "## Footprint" lines: the table, the INT8 set by kind, and
    the training time per `per` on this machine."""
    w8, other8 = int8_bytes_breakdown(model_path)
    return ["## Footprint", "", footprint_table(info), "",
            "INT8 set: %d bytes of int8 weights plus %d bytes of int32 biases, requantisation "
            "multipliers and shifts and float input scales." % (w8, other8), "",
            "Training time on this machine (2 cores shared with other work, one PyTorch thread "
            "per run, %d runs in parallel): %s s per %s (mean +- sd)." % (
                jobs, pm(train_times_s, scale=1.0, digits=0), per)]


def int8_bytes_breakdown(path):
    """Bytes of the INT8 set by kind, read from the container."""
    from . import container
    _, t, _ = container.read(path)
    w = sum(v.nbytes for k, v in t.items() if k.startswith("q.") and v.dtype == np.int8)
    other = sum(v.nbytes for k, v in t.items() if k.startswith("q.") and v.dtype != np.int8)
    return w, other


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text.rstrip() + "\n")
