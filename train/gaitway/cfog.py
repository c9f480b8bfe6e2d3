"""Freeze-of-gait decisions through libgaitway (ctypes): the episode tracker
gw_fog_* that the daemon runs on p(freeze) per window, and the model-free
freeze index gw_fi_* (the Moore/Baechlin baseline)."""

import ctypes

import numpy as np

from . import native


class FogConfig(ctypes.Structure):
    _fields_ = [("on_threshold", ctypes.c_float), ("off_threshold", ctypes.c_float),
                ("on_windows", ctypes.c_int), ("off_windows", ctypes.c_int),
                ("min_duration_ns", ctypes.c_int64)]


class _FogTracker(ctypes.Structure):
    _fields_ = [("cfg", FogConfig), ("active", ctypes.c_bool), ("episodes", ctypes.c_uint32),
                ("onset_ns", ctypes.c_int64), ("run_on", ctypes.c_int), ("run_off", ctypes.c_int),
                ("run_start_ns", ctypes.c_int64), ("run_sum", ctypes.c_double),
                ("ep_sum", ctypes.c_double), ("ep_n", ctypes.c_uint32)]


class _FogEvent(ctypes.Structure):
    _fields_ = [("kind", ctypes.c_int), ("episode", ctypes.c_uint32), ("t_ns", ctypes.c_int64),
                ("duration_ns", ctypes.c_int64), ("confidence", ctypes.c_float),
                ("is_short", ctypes.c_bool)]


class FiConfig(ctypes.Structure):
    _fields_ = [("rate_hz", ctypes.c_double), ("window", ctypes.c_int), ("hop", ctypes.c_int),
                ("loco_lo_hz", ctypes.c_double), ("loco_hi_hz", ctypes.c_double),
                ("freeze_lo_hz", ctypes.c_double), ("freeze_hi_hz", ctypes.c_double),
                ("fi_threshold", ctypes.c_double), ("power_threshold", ctypes.c_double)]


class _FiResult(ctypes.Structure):
    _fields_ = [("fi", ctypes.c_double), ("power", ctypes.c_double),
                ("loco_power", ctypes.c_double), ("freeze_power", ctypes.c_double),
                ("still", ctypes.c_bool), ("freeze", ctypes.c_bool),
                ("t_first_ns", ctypes.c_int64), ("t_last_ns", ctypes.c_int64)]


GW_FOG_START, GW_FOG_END = 1, 2
_declared = False


def _lib():
    global _declared
    lib = native.lib()
    if not _declared:
        P = ctypes.POINTER
        lib.gw_fog_config_check.argtypes = [P(FogConfig), ctypes.c_char_p, ctypes.c_size_t]
        lib.gw_fog_init.argtypes = [P(_FogTracker), P(FogConfig)]
        lib.gw_fog_init.restype = None
        lib.gw_fog_update.argtypes = [P(_FogTracker), ctypes.c_float, ctypes.c_int64,
                                      ctypes.c_int64, P(_FogEvent)]
        lib.gw_fog_flush.argtypes = [P(_FogTracker), ctypes.c_int64, P(_FogEvent)]
        lib.gw_fi_config_default.argtypes = [P(FiConfig), ctypes.c_double]
        lib.gw_fi_config_default.restype = None
        lib.gw_fi_new.argtypes = [P(FiConfig), P(ctypes.c_void_p), ctypes.c_char_p,
                                  ctypes.c_size_t]
        lib.gw_fi_free.argtypes = [ctypes.c_void_p]
        lib.gw_fi_free.restype = ctypes.c_void_p
        lib.gw_fi_push.argtypes = [ctypes.c_void_p, ctypes.c_int64, ctypes.c_float, P(_FiResult)]
        _declared = True
    return lib


def fog_config(on_threshold=0.5, off_threshold=0.5, on_windows=1, off_windows=1,
               min_duration_s=0.0):
    return FogConfig(on_threshold, off_threshold, on_windows, off_windows,
                     int(round(min_duration_s * 1e9)))


def episodes(p_freeze, t_start, t_end, cfg, emitted=False):
    """Runs the daemon's episode tracker over per-window p(freeze) (windows of
    one stream, in time order).  Returns [(onset_ns, end_ns)], or with
    emitted=True [(onset_ns, end_ns, start_emitted_ns)] where the last is the
    end of the window whose update raised the START event: the earliest time
    a daemon can announce the episode."""
    lib = _lib()
    err = native.errbuf()
    if lib.gw_fog_config_check(ctypes.byref(cfg), err, len(err)) < 0:
        raise ValueError(err.value.decode())
    tr = _FogTracker()
    lib.gw_fog_init(ctypes.byref(tr), ctypes.byref(cfg))
    ev = _FogEvent()
    out, onset, said = [], None, None
    for p, a, b in zip(p_freeze, t_start, t_end):
        if lib.gw_fog_update(ctypes.byref(tr), float(p), int(a), int(b), ctypes.byref(ev)) == 1:
            if ev.kind == GW_FOG_START:
                onset, said = ev.t_ns, int(b)
            elif ev.kind == GW_FOG_END and onset is not None:
                out.append((onset, ev.t_ns, said))
                onset = None
    if len(t_end) and lib.gw_fog_flush(ctypes.byref(tr), int(t_end[-1]), ctypes.byref(ev)) == 1:
        if onset is not None:
            out.append((onset, ev.t_ns, said))
    out = [e for e in out if e[1] > e[0]]
    return out if emitted else [(a, b) for a, b, _ in out]


def fi_default(rate_hz):
    cfg = FiConfig()
    _lib().gw_fi_config_default(ctypes.byref(cfg), float(rate_hz))
    return cfg


def freeze_index(t_ns, x, cfg):
    """The streaming freeze index over one signal (vertical ankle
    acceleration in g): arrays (fi, power, still, freeze, t_first, t_last),
    one entry per window."""
    lib = _lib()
    err = native.errbuf()
    h = ctypes.c_void_p()
    if lib.gw_fi_new(ctypes.byref(cfg), ctypes.byref(h), err, len(err)) < 0:
        raise ValueError(err.value.decode())
    res = _FiResult()
    rows = []
    try:
        for t, v in zip(np.asarray(t_ns, np.int64), np.asarray(x, np.float32)):
            if lib.gw_fi_push(h, int(t), float(v), ctypes.byref(res)) == 1:
                rows.append((res.fi, res.power, res.still, res.freeze, res.t_first_ns,
                             res.t_last_ns))
    finally:
        lib.gw_fi_free(h)
    if not rows:
        return tuple(np.zeros(0) for _ in range(6))
    a = list(zip(*rows))
    return (np.array(a[0]), np.array(a[1]), np.array(a[2], bool), np.array(a[3], bool),
            np.array(a[4], np.int64), np.array(a[5], np.int64))
