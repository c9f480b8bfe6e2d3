"""Scoring with the C engines and the C metrics (the daemon's code).

c_predict() runs the FP32 and INT8 engines of a model file on windows
(gaitway.cengine); metrics() builds libgaitway's confusion matrix and reads
accuracy, per-class precision/recall/F1 and macro-F1 from it; gaitway_eval()
runs the `gaitway eval` tool itself and returns its JSON; fog_episodes()
computes freeze-of-gait episode metrics with gw_fog_episode_metrics_compute."""

import ctypes
import json
import os
import subprocess

import numpy as np

from . import cengine, native

GW_MAX_CLASSES = 64


class _Confusion(ctypes.Structure):
    _fields_ = [("k", ctypes.c_int), ("m", (ctypes.c_uint64 * GW_MAX_CLASSES) * GW_MAX_CLASSES)]


class _ClassMetrics(ctypes.Structure):
    _fields_ = [("precision", ctypes.c_double), ("recall", ctypes.c_double),
                ("f1", ctypes.c_double), ("support", ctypes.c_uint64),
                ("predicted", ctypes.c_uint64)]


class _Interval(ctypes.Structure):
    _fields_ = [("start_ns", ctypes.c_int64), ("end_ns", ctypes.c_int64)]


class _EpisodeMetrics(ctypes.Structure):
    _fields_ = [("episodes", ctypes.c_size_t), ("detected", ctypes.c_size_t),
                ("sensitivity", ctypes.c_double), ("detections", ctypes.c_size_t),
                ("false_alarms", ctypes.c_size_t), ("nonfreeze_hours", ctypes.c_double),
                ("false_alarms_per_hour", ctypes.c_double), ("latency_mean_s", ctypes.c_double),
                ("latency_median_s", ctypes.c_double), ("latency_max_s", ctypes.c_double)]


_declared = False


def _lib():
    global _declared
    lib = native.lib()
    if not _declared:
        P = ctypes.POINTER
        lib.gw_confusion_init.argtypes = [P(_Confusion), ctypes.c_int]
        lib.gw_confusion_add.argtypes = [P(_Confusion), ctypes.c_int, ctypes.c_int]
        lib.gw_metrics_accuracy.argtypes = [P(_Confusion)]
        lib.gw_metrics_accuracy.restype = ctypes.c_double
        lib.gw_metrics_macro_f1.argtypes = [P(_Confusion)]
        lib.gw_metrics_macro_f1.restype = ctypes.c_double
        lib.gw_metrics_class.argtypes = [P(_Confusion), ctypes.c_int, P(_ClassMetrics)]
        lib.gw_episodes_from_labels.argtypes = [P(ctypes.c_int8), P(ctypes.c_int64),
                                                P(ctypes.c_int64), ctypes.c_size_t, P(_Interval),
                                                ctypes.c_size_t]
        lib.gw_episodes_from_labels.restype = ctypes.c_size_t
        lib.gw_nonfreeze_ns.argtypes = [P(ctypes.c_int8), P(ctypes.c_int64), P(ctypes.c_int64),
                                        ctypes.c_size_t]
        lib.gw_nonfreeze_ns.restype = ctypes.c_int64
        lib.gw_fog_episode_metrics_compute.argtypes = [P(_Interval), ctypes.c_size_t,
                                                       P(_Interval), ctypes.c_size_t,
                                                       ctypes.c_int64, ctypes.c_int64,
                                                       P(ctypes.c_double), P(_EpisodeMetrics)]
        _declared = True
    return lib


def metrics(y, p, class_names):
    """Metrics of predictions p against truth y (class indices) from
    libgaitway's confusion matrix: a dict with accuracy, macro_f1,
    per-class precision/recall/f1/support and the confusion matrix."""
    lib = _lib()
    k = len(class_names)
    cm = _Confusion()
    if lib.gw_confusion_init(ctypes.byref(cm), k) < 0:
        raise ValueError("bad class count %d" % k)
    for a, b in zip(np.asarray(y, int), np.asarray(p, int)):
        if lib.gw_confusion_add(ctypes.byref(cm), int(a), int(b)) < 0:
            raise ValueError("class out of range: %d, %d" % (a, b))
    classes = []
    for c in range(k):
        m = _ClassMetrics()
        lib.gw_metrics_class(ctypes.byref(cm), c, ctypes.byref(m))
        classes.append({"name": class_names[c], "precision": m.precision, "recall": m.recall,
                        "f1": m.f1, "support": int(m.support), "predicted": int(m.predicted)})
    return {"accuracy": lib.gw_metrics_accuracy(ctypes.byref(cm)),
            "macro_f1": lib.gw_metrics_macro_f1(ctypes.byref(cm)),
            "classes": classes,
            "confusion": [[int(cm.m[i][j]) for j in range(k)] for i in range(k)]}


def c_predict(model_path, x, probs=False):
    """(FP32 predictions, INT8 predictions) of the C engines on raw windows
    [N, T, C]; with probs=True also (FP32 softmax, INT8 Q0.15 / 32768)."""
    with cengine.Model(model_path) as m:
        lf = m.run_fp32(x)
        lq = m.run_int8(m.quantize(x))
        pq, bq = cengine.softmax_q15(lq)
    bf = lf.argmax(1)
    if not probs:
        return bf, bq
    e = np.exp(lf - lf.max(1, keepdims=True))
    return bf, bq, e / e.sum(1, keepdims=True), pq / 32768.0


def evaluate_model(model_path, x, y, class_names):
    """Both engines on labelled windows: {"fp32": metrics, "int8": metrics,
    "agreement": fraction of windows where the engines agree}."""
    pf, pq = c_predict(model_path, x)
    return {"fp32": metrics(y, pf, class_names), "int8": metrics(y, pq, class_names),
            "agreement": float(np.mean(pf == pq)), "windows": int(len(y))}


def tool_path():
    """The `gaitway` tool next to the library in use, or $GAITWAY_TOOL."""
    env = os.environ.get("GAITWAY_TOOL")
    if env:
        return env
    libdir = os.path.dirname(os.path.abspath(native.library_path()))
    p = os.path.join(os.path.dirname(libdir), "daemon", "gaitway")
    if os.path.exists(p):
        return p
    raise FileNotFoundError("the gaitway tool was not found next to %s; set GAITWAY_TOOL" % libdir)


def gaitway_eval(model_path, args):
    """Runs `gaitway eval MODEL ARGS --json` and returns the parsed JSON."""
    cmd = [tool_path(), "eval", str(model_path)] + list(args) + ["--json"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(cmd), r.returncode, r.stderr.strip()))
    return json.loads(r.stdout)


def write_windows_csv(path, x, fmt="%.7g"):
    """One window per row, time-major, as `gaitway infer/eval` read them."""
    x = np.asarray(x, np.float32)
    np.savetxt(path, x.reshape(len(x), -1), fmt=fmt, delimiter=",")


def write_labels(path, y, class_names):
    with open(path, "w") as f:
        for v in y:
            f.write(class_names[int(v)] + "\n")


def write_trace(path, t_ns, raw, names, units, rate_hz, meta=()):
    """A gaitway trace (docs/trace-format.md): times in seconds, values with
    nine significant digits."""
    t_ns = np.asarray(t_ns, np.int64)
    raw = np.asarray(raw, np.float32)
    with open(path, "w") as f:
        f.write("# gaitway-trace 1\n# rate_hz: %r\n" % float(rate_hz))
        for k, v in meta:
            f.write("# %s: %s\n" % (k, v))
        f.write("time[s]," + ",".join("%s[%s]" % (n, u) for n, u in zip(names, units)) + "\n")
        for t, row in zip(t_ns, raw):
            sec, ns = divmod(int(t), 1_000_000_000)
            ts = ("%d.%09d" % (sec, ns)).rstrip("0").rstrip(".")
            f.write(ts + "," + ",".join("%.9g" % v for v in row) + "\n")


def fog_episodes(label, t_start, t_end, pred_intervals, tolerance_ns=0):
    """Episode metrics (gw_fog_episode_metrics_compute) of detected intervals
    [(start_ns, end_ns)] against the true episodes of per-window labels
    (1 freeze, 0 no freeze, -1 not evaluated).  Returns (dict, per-episode
    latencies)."""
    lib = _lib()
    n = len(label)
    lab = np.ascontiguousarray(label, np.int8)
    ts = np.ascontiguousarray(t_start, np.int64)
    te = np.ascontiguousarray(t_end, np.int64)
    P8, P64 = ctypes.POINTER(ctypes.c_int8), ctypes.POINTER(ctypes.c_int64)
    cap = max(n, 1)
    truth = (_Interval * cap)()
    k = lib.gw_episodes_from_labels(lab.ctypes.data_as(P8), ts.ctypes.data_as(P64),
                                    te.ctypes.data_as(P64), n, truth, cap)
    nonfreeze = lib.gw_nonfreeze_ns(lab.ctypes.data_as(P8), ts.ctypes.data_as(P64),
                                    te.ctypes.data_as(P64), n)
    pred = (_Interval * max(len(pred_intervals), 1))()
    for i, (a, b) in enumerate(pred_intervals):
        pred[i].start_ns, pred[i].end_ns = int(a), int(b)
    lat = (ctypes.c_double * max(k, 1))()
    res = _EpisodeMetrics()
    r = lib.gw_fog_episode_metrics_compute(truth, k, pred, len(pred_intervals), nonfreeze,
                                           int(tolerance_ns), lat, ctypes.byref(res))
    if r < 0:
        raise ValueError("gw_fog_episode_metrics_compute: %d" % r)
    out = {f: getattr(res, f) for f, _ in _EpisodeMetrics._fields_}
    out["episodes"] = int(out["episodes"])
    return out, [lat[i] for i in range(k)]
