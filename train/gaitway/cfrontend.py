"""libgaitway's streaming front end and windowing, for training and evaluation.

Training windows must be cut by the code the daemon runs, or the model learns
signals the daemon never produces.  This module drives the C front end
(gw_frontend_*) and the window ring (gw_window_*) through ctypes, whole
recordings at a time through their block APIs.

    from gaitway.cfrontend import Frontend, windows

    fe = Frontend(spec, 50.0,                        # model description's "frontend", model rate
                  names=["acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z"],
                  units=["g"] * 3 + ["rad/s"] * 3,
                  input_rate_hz=50.0)
    t_out, out, flags = fe.process(t_ns, raw)        # int64[n], float32[n, 6]
    w, t_first, t_last = windows(t_out, out, flags, T=128, hop=64)

Notes for callers:
- One Frontend is one stream: its filters carry state from one process() call
  to the next, exactly as in the daemon.  Use a new Frontend (or reset()) per
  recording, or the first samples of a recording are filtered as if they
  followed the last samples of the previous one.
- Timestamps are int64 nanoseconds.  Samples on the model's grid pass
  through unchanged; anything else is interpolated onto a grid anchored at
  the first sample.  A jump longer than max_gap_ns (default max(250 ms, 5
  input periods)) restarts the stream: outputs then carry RESTART (flag 1)
  and windows never straddle the jump.
- Output timestamps are those of the resampled grid, so labels can be looked
  up by time (t_first/t_last of each window).
- Errors from the C side (a bad spec, a missing channel, an unknown unit)
  raise ValueError with libgaitway's one-line message naming the field.
"""

import ctypes
import json

import numpy as np

from . import native

GW_NAME_MAX = 32
GW_MAX_INPUTS = 32
GW_SAMPLE_RESTART = 1
GW_MAX_CHANNELS = 128


class _ChannelDesc(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char * GW_NAME_MAX), ("unit", ctypes.c_char * GW_NAME_MAX)]


class _SourceDesc(ctypes.Structure):
    _fields_ = [("n", ctypes.c_int),
                ("ch", _ChannelDesc * GW_MAX_INPUTS),
                ("rate_hz", ctypes.c_double),
                ("has_mount", ctypes.c_bool),
                ("mount", (ctypes.c_double * 3) * 3),
                ("max_gap_ns", ctypes.c_int64)]


class _FrontendStats(ctypes.Structure):
    _fields_ = [(k, ctypes.c_uint64) for k in
                ("samples_in", "samples_out", "duplicates", "out_of_order", "gaps", "non_finite")]


class _WindowMeta(ctypes.Structure):
    _fields_ = [("t_first_ns", ctypes.c_int64), ("t_last_ns", ctypes.c_int64),
                ("index", ctypes.c_uint64)]


class _WindowStats(ctypes.Structure):
    _fields_ = [(k, ctypes.c_uint64) for k in ("samples", "windows", "gaps")]


_api_lib = None


def _api():
    """The library with the prototypes this module uses declared once."""
    global _api_lib
    if _api_lib is not None:
        return _api_lib
    lib = native.lib()
    vp, sz, ci, cp = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_char_p
    protos = {
        "gw_frontend_spec_size": (sz, []),
        "gw_frontend_spec_from_json": (ci, [cp, ctypes.c_double, vp, cp, sz]),
        "gw_frontend_new": (ci, [vp, ctypes.POINTER(_SourceDesc), ctypes.POINTER(vp), cp, sz]),
        "gw_frontend_free": (vp, [vp]),
        "gw_frontend_reset": (None, [vp]),
        "gw_frontend_channels": (ci, [vp]),
        "gw_frontend_max_out": (ci, [vp]),
        "gw_frontend_push_block": (ci, [vp, sz, vp, vp, vp, vp, vp, sz, ctypes.POINTER(sz)]),
        "gw_frontend_stats_get": (ctypes.POINTER(_FrontendStats), [vp]),
        "gw_frontend_state_bytes": (sz, [vp]),
        "gw_window_new": (ci, [ci, ci, ci, sz, ctypes.c_double, ctypes.POINTER(vp)]),
        "gw_window_free": (vp, [vp]),
        "gw_window_push_block": (ci, [vp, sz, vp, vp, vp, vp, ctypes.POINTER(_WindowMeta), sz,
                                      ctypes.POINTER(sz)]),
        "gw_window_stats_get": (ctypes.POINTER(_WindowStats), [vp]),
        "gw_window_state_bytes": (sz, [vp]),
        "gw_unit_factor": (ci, [cp, cp, ctypes.POINTER(ctypes.c_double)]),
    }
    for name, (res, args) in protos.items():
        f = getattr(lib, name)
        f.restype = res
        f.argtypes = args
    _api_lib = lib
    return lib


def _ptr(a, offset_elems=0):
    return ctypes.c_void_p(a.ctypes.data + offset_elems * a.itemsize)


def _name(s, what):
    b = str(s).encode()
    if not b or len(b) >= GW_NAME_MAX:
        raise ValueError("%s %r: must be 1..%d bytes" % (what, s, GW_NAME_MAX - 1))
    return b


def parse_spec(spec, rate_hz):
    """Validates a "frontend" object (dict or JSON text) for a model at
    rate_hz with the C parser; returns the spec as an opaque ctypes buffer."""
    lib = _api()
    text = spec if isinstance(spec, str) else json.dumps(spec)
    size = lib.gw_frontend_spec_size()
    buf = (ctypes.c_double * ((size + 7) // 8))()   # doubles: the struct's alignment
    err = native.errbuf()
    r = lib.gw_frontend_spec_from_json(text.encode(), float(rate_hz), buf, err, len(err))
    if r < 0:
        raise ValueError(err.value.decode(errors="replace"))
    return buf


def unit_factor(frm, to):
    """gw_unit_factor: the factor converting `frm` into `to`."""
    f = ctypes.c_double()
    if _api().gw_unit_factor(frm.encode(), to.encode(), ctypes.byref(f)) < 0:
        raise ValueError("cannot convert unit %r to %r" % (frm, to))
    return f.value


class Frontend:
    """One stream through gw_frontend: a model's front-end spec bound to a
    source of channels `names` in `units` at nominal `input_rate_hz`.

    mount: optional 3x3 rotation (out = mount @ in) applied to every x/y/z
    triple of the spec's inputs.  max_gap_ns: 0 for the default."""

    def __init__(self, spec, rate_hz, names, units, input_rate_hz, mount=None, max_gap_ns=0):
        lib = _api()
        if len(names) != len(units):
            raise ValueError("names and units differ in length")
        if not 1 <= len(names) <= GW_MAX_INPUTS:
            raise ValueError("%d source channels, must be 1..%d" % (len(names), GW_MAX_INPUTS))
        self._fe = None
        self.spec = json.loads(spec) if isinstance(spec, str) else spec
        self.rate_hz = float(rate_hz)
        self.input_rate_hz = float(input_rate_hz)
        self.n_inputs = len(names)
        self._spec_buf = parse_spec(spec, rate_hz)

        src = _SourceDesc()
        src.n = len(names)
        for i, (n, u) in enumerate(zip(names, units)):
            src.ch[i].name = _name(n, "channel name")
            src.ch[i].unit = _name(u, "unit")
        src.rate_hz = float(input_rate_hz)
        if mount is not None:
            m = np.asarray(mount, dtype=np.float64)
            if m.shape != (3, 3):
                raise ValueError("mount must be 3x3")
            src.has_mount = True
            for r in range(3):
                for c in range(3):
                    src.mount[r][c] = m[r, c]
        src.max_gap_ns = int(max_gap_ns)

        fe = ctypes.c_void_p()
        err = native.errbuf()
        r = lib.gw_frontend_new(self._spec_buf, ctypes.byref(src), ctypes.byref(fe), err, len(err))
        if r < 0:
            raise ValueError(err.value.decode(errors="replace"))
        self._fe = fe
        self._lib = lib
        self.channels = lib.gw_frontend_channels(fe)
        self.channel_names = [o["name"] for o in self.spec["outputs"]]
        self.max_out = lib.gw_frontend_max_out(fe)
        self.state_bytes = lib.gw_frontend_state_bytes(fe)

    def close(self):
        if self._fe:
            self._lib.gw_frontend_free(self._fe)
            self._fe = None

    def __del__(self):
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def reset(self):
        """Forgets all history: the next sample starts the stream again."""
        self._lib.gw_frontend_reset(self._fe)

    def stats(self):
        s = self._lib.gw_frontend_stats_get(self._fe).contents
        return {k: int(getattr(s, k)) for k, _ in _FrontendStats._fields_}

    def process(self, t_ns, raw):
        """Pushes n samples: t_ns int64[n] (nanoseconds), raw float32[n, m]
        in the source's channel order and units.  Returns (t_out int64[k],
        out float32[k, C], flags uint32[k]) at the model's rate, C channels
        in the order of the spec's outputs."""
        if not self._fe:
            raise ValueError("front end is closed")
        t = np.ascontiguousarray(t_ns, dtype=np.int64)
        x = np.ascontiguousarray(raw, dtype=np.float32)
        if x.ndim == 1 and self.n_inputs == 1:
            x = x.reshape(-1, 1)
        if t.ndim != 1 or x.ndim != 2 or x.shape != (len(t), self.n_inputs):
            raise ValueError("expected t_ns[n] and raw[n, %d], got %s and %s"
                             % (self.n_inputs, t.shape, x.shape))
        n = len(t)
        C = self.channels
        period = 1e9 / self.rate_hz
        span = float(t.max() - t.min()) if n else 0.0
        # Outputs of one run between gaps are bounded by its span over the
        # period plus one; the block call stops early if this guess is short.
        cap = int(min(span / period + n + 16, 4 * n + 16)) + self.max_out
        outs, ts, fls = [], [], []
        done = 0
        consumed = ctypes.c_size_t()
        while done < n:
            out = np.empty((cap, C), dtype=np.float32)
            t_out = np.empty(cap, dtype=np.int64)
            flags = np.empty(cap, dtype=np.uint32)
            k = self._lib.gw_frontend_push_block(self._fe, n - done, _ptr(t, done),
                                                 _ptr(x, done * self.n_inputs), _ptr(out),
                                                 _ptr(t_out), _ptr(flags), cap,
                                                 ctypes.byref(consumed))
            if k < 0:
                raise ValueError("gw_frontend_push_block failed: %d" % k)
            if consumed.value == 0 and k == 0:
                raise RuntimeError("front end made no progress")
            outs.append(out[:k])
            ts.append(t_out[:k])
            fls.append(flags[:k])
            done += consumed.value
        if len(outs) == 1:
            return ts[0].copy(), outs[0].copy(), fls[0].copy()
        if not outs:
            return (np.empty(0, np.int64), np.empty((0, C), np.float32), np.empty(0, np.uint32))
        return np.concatenate(ts), np.concatenate(outs), np.concatenate(fls)


class Windower:
    """One stream through gw_window: T samples of C elements, a window every
    hop samples once full, restarting on RESTART flags and on steps longer
    than 1.5 periods at rate_hz."""

    def __init__(self, T, C, hop, rate_hz, dtype=np.float32):
        lib = _api()
        self._w = None
        self.T, self.C, self.hop = int(T), int(C), int(hop)
        self.dtype = np.dtype(dtype)
        w = ctypes.c_void_p()
        r = lib.gw_window_new(self.T, self.C, self.hop, self.dtype.itemsize, float(rate_hz),
                              ctypes.byref(w))
        if r < 0:
            raise ValueError("gw_window_new(T=%d, C=%d, hop=%d, elem_size=%d, rate=%g): error %d"
                             % (self.T, self.C, self.hop, self.dtype.itemsize, rate_hz, r))
        self._w = w
        self._lib = lib
        self.state_bytes = lib.gw_window_state_bytes(w)

    def close(self):
        if self._w:
            self._lib.gw_window_free(self._w)
            self._w = None

    def __del__(self):
        self.close()

    def stats(self):
        s = self._lib.gw_window_stats_get(self._w).contents
        return {k: int(getattr(s, k)) for k, _ in _WindowStats._fields_}

    def push(self, t, x, flags=None):
        """Pushes samples t int64[n], x [n, C] (of this windower's dtype),
        flags uint32[n] or None.  Returns (windows[N, T, C], t_first int64[N],
        t_last int64[N], index uint64[N])."""
        t = np.ascontiguousarray(t, dtype=np.int64)
        x = np.ascontiguousarray(x, dtype=self.dtype)
        n = len(t)
        if x.shape != (n, self.C):
            raise ValueError("expected x[%d, %d], got %s" % (n, self.C, x.shape))
        f = None if flags is None else np.ascontiguousarray(flags, dtype=np.uint32)
        if f is not None and f.shape != (n,):
            raise ValueError("flags must be [%d]" % n)
        cap = n // self.hop + 1
        out = np.empty((cap, self.T, self.C), dtype=self.dtype)
        meta = (_WindowMeta * max(cap, 1))()
        consumed = ctypes.c_size_t()
        k = self._lib.gw_window_push_block(self._w, n, _ptr(t), None if f is None else _ptr(f),
                                           _ptr(x), _ptr(out), meta, cap, ctypes.byref(consumed))
        if k < 0 or consumed.value != n:
            raise RuntimeError("gw_window_push_block: %d windows, %d of %d samples"
                               % (k, consumed.value, n))
        m = np.ctypeslib.as_array(meta)[:k] if k else None
        t_first = np.array([mm[0] for mm in m], dtype=np.int64) if k else np.empty(0, np.int64)
        t_last = np.array([mm[1] for mm in m], dtype=np.int64) if k else np.empty(0, np.int64)
        index = np.array([mm[2] for mm in m], dtype=np.uint64) if k else np.empty(0, np.uint64)
        return out[:k], t_first, t_last, index


def windows(t_out, out, flags, T, hop, rate_hz=None, dtype=np.float32):
    """Cuts front-end output (as process() returns it) into windows exactly
    as the daemon does: windows[N, T, C] (oldest sample first), t_first[N]
    and t_last[N] (timestamps of each window's first and last sample).

    rate_hz defaults to the rate of t_out's most common step.  dtype is the
    element type (float32, or int8 for quantised samples)."""
    t_out = np.asarray(t_out, dtype=np.int64)
    out = np.asarray(out)
    if out.ndim != 2 or len(out) != len(t_out):
        raise ValueError("expected out[n, C] with n = len(t_out)")
    if rate_hz is None:
        d = np.diff(t_out)
        d = d[d > 0]
        if len(d) == 0:
            return (np.empty((0, T, out.shape[1]), dtype=dtype), np.empty(0, np.int64),
                    np.empty(0, np.int64))
        vals, counts = np.unique(d, return_counts=True)
        rate_hz = 1e9 / float(vals[np.argmax(counts)])
    w = Windower(T, out.shape[1], hop, rate_hz, dtype)
    try:
        win, t_first, t_last, _ = w.push(t_out, out, flags)
    finally:
        w.close()
    return win, t_first, t_last


UCI_HAR_SPEC = {
    "inputs": [{"name": n, "unit": u} for n, u in
               zip(["acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z"],
                   ["g"] * 3 + ["rad/s"] * 3)],
    "median": 3,
    "lowpass": {"order": 3, "cutoff_hz": 20.0},
    "gravity": {"order": 3, "cutoff_hz": 0.3},
    "outputs": ([{"name": "body_acc_" + a, "input": "acc_" + a, "signal": "body"} for a in "xyz"]
                + [{"name": "body_gyro_" + a, "input": "gyro_" + a, "signal": "filtered"}
                   for a in "xyz"]
                + [{"name": "total_acc_" + a, "input": "acc_" + a, "signal": "filtered"}
                   for a in "xyz"]),
}
"""UCI-HAR's documented chain (model.md), causal: the 9 channels in UCI's
order from a 6-channel IMU at 50 Hz."""


def selftest():
    """Checks these bindings against the C suite's scipy vectors
    (tests/data/dsp): struct layout, units, mount, windows.  Run as
    `/usr/bin/python3 -m gaitway.cfrontend` from train/."""
    import os
    data = os.path.join(native.repo_root(), "tests", "data", "dsp")
    names = [i["name"] for i in UCI_HAR_SPEC["inputs"]]
    units = [i["unit"] for i in UCI_HAR_SPEC["inputs"]]
    raw = np.loadtxt(os.path.join(data, "hapt-excerpt.txt"), dtype=np.float32)
    ref = np.loadtxt(os.path.join(data, "uci-chain.txt"), skiprows=2)
    t = 1_700_000_000_000_000_000 + np.arange(len(raw), dtype=np.int64) * 20_000_000

    fe = Frontend(UCI_HAR_SPEC, 50.0, names, units, 50.0)
    t_out, out, flags = fe.process(t, raw)
    assert np.array_equal(t_out, t) and flags[0] == GW_SAMPLE_RESTART and not flags[1:].any()
    err = np.abs(out - ref).max()
    assert err < 1e-5, err
    print("uci chain vs scipy: worst |difference| %.3g" % err)

    # the same stream in pieces gives the same output
    fe2 = Frontend(UCI_HAR_SPEC, 50.0, names, units, 50.0)
    parts = [fe2.process(t[a:b], raw[a:b]) for a, b in ((0, 1), (1, 400), (400, len(t)))]
    assert np.array_equal(np.concatenate([p[1] for p in parts]), out)

    # units and mount: m/s^2 and deg/s, sensor turned 90 degrees about z
    mount = [[0, -1, 0], [1, 0, 0], [0, 0, 1]]
    scaled = raw * np.array([9.80665] * 3 + [180 / np.pi] * 3, dtype=np.float32)
    fe3 = Frontend(UCI_HAR_SPEC, 50.0, names, ["m/s^2"] * 3 + ["deg/s"] * 3, 50.0, mount=mount)
    _, out3, _ = fe3.process(t, scaled)
    rot = np.array(mount, dtype=np.float64)
    for base in (0, 3, 6):
        want = out[:, base:base + 3].astype(np.float64) @ rot.T
        assert np.abs(out3[:, base:base + 3] - want).max() < 1e-5
    print("units and mount: ok")

    # windows are the daemon's: every hop after T, never across a gap
    w, t_first, t_last = windows(t_out, out, flags, 128, 64)
    assert len(w) == (len(out) - 128) // 64 + 1
    for i in range(len(w)):
        assert np.array_equal(w[i], out[i * 64:i * 64 + 128])
        assert t_first[i] == t_out[i * 64] and t_last[i] == t_out[i * 64 + 127]
    tg = t.copy()
    tg[500:] += 10_000_000_000
    fe4 = Frontend(UCI_HAR_SPEC, 50.0, names, units, 50.0)
    t4, o4, f4 = fe4.process(tg, raw)
    assert fe4.stats()["gaps"] == 1 and f4[500] == GW_SAMPLE_RESTART
    w4, tf4, tl4 = windows(t4, o4, f4, 128, 64)
    assert all(tl - tf == 127 * 20_000_000 for tf, tl in zip(tf4, tl4))
    assert len(w4) == (500 - 128) // 64 + 1 + (500 - 128) // 64 + 1
    q = np.clip(np.round(out * 40), -127, 127).astype(np.int8)
    wq, _, _ = windows(t_out, q, flags, 128, 64, dtype=np.int8)
    assert np.array_equal(wq[3], q[192:320])
    print("windows: ok (%d, %d after a gap, int8 too)" % (len(w), len(w4)))

    try:
        Frontend(UCI_HAR_SPEC, 50.0, names[:5], units[:5], 50.0)
        raise AssertionError("missing channel accepted")
    except ValueError as e:
        assert "gyro_z" in str(e)
    try:
        parse_spec(dict(UCI_HAR_SPEC, gravity={"order": 3, "cutoff_hz": 30}), 50.0)
        raise AssertionError("bad cutoff accepted")
    except ValueError as e:
        assert "frontend.gravity.cutoff_hz" in str(e)
    print("refusals: ok\nstate bytes: front end %d" % fe.state_bytes)


def bench_hapt(data):
    """Times the UCI-HAR chain and windowing over every HAPT raw recording
    (files loaded first, not timed)."""
    import glob
    import os
    import time
    names = [i["name"] for i in UCI_HAR_SPEC["inputs"]]
    units = [i["unit"] for i in UCI_HAR_SPEC["inputs"]]
    recs = []
    for acc in sorted(glob.glob(os.path.join(data, "hapt", "RawData", "acc_*.txt.gz"))):
        gyro = acc.replace(os.sep + "acc_", os.sep + "gyro_")
        recs.append(np.hstack([np.loadtxt(acc, dtype=np.float32),
                               np.loadtxt(gyro, dtype=np.float32)]))
    n_in = n_win = 0
    start = time.perf_counter()
    for r in recs:
        with Frontend(UCI_HAR_SPEC, 50.0, names, units, 50.0) as fe:
            t = np.arange(len(r), dtype=np.int64) * 20_000_000
            t_out, out, flags = fe.process(t, r)
            n_win += len(windows(t_out, out, flags, 128, 64)[0])
            n_in += len(r)
    dt = time.perf_counter() - start
    print("%d recordings, %d samples -> %d windows in %.2f s" % (len(recs), n_in, n_win, dt))


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser(description="check the bindings; optionally time HAPT")
    ap.add_argument("--hapt", metavar="DATA", help="data folder holding hapt/RawData")
    a = ap.parse_args()
    selftest()
    if a.hapt:
        bench_hapt(a.hapt)
