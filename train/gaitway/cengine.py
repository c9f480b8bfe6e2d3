"""The C engines from Python (ctypes through native.py).

    with cengine.Model("uci-har.gwm") as m:
        logits = m.run_fp32(x)            # x: raw windows [N, T, C] float32
        xq = m.quantize(x)                # int8 [N, T, C], gw_model_quantize
        lq = m.run_int8(xq)               # int32 [N, K], Q16.16
        p, best = cengine.softmax_q15(lq) # Q0.15 [N, K], argmax [N]

The same code as the daemon runs, so evaluation numbers are the daemon's.
"""

import ctypes

import numpy as np

from . import container, native

_c_float_p = ctypes.POINTER(ctypes.c_float)
_c_int8_p = ctypes.POINTER(ctypes.c_int8)
_c_int32_p = ctypes.POINTER(ctypes.c_int32)
_declared = False


def _lib():
    global _declared
    lib = native.lib()
    if not _declared:
        lib.gw_model_load_file.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p),
                                           ctypes.c_char_p, ctypes.c_size_t]
        lib.gw_model_load_file.restype = ctypes.c_int
        lib.gw_model_free.argtypes = [ctypes.c_void_p]
        lib.gw_model_free.restype = ctypes.c_void_p
        lib.gw_model_info_get.argtypes = [ctypes.c_void_p]
        lib.gw_model_info_get.restype = ctypes.c_void_p
        lib.gw_model_quantize.argtypes = [ctypes.c_void_p, _c_float_p, _c_int8_p, ctypes.c_size_t]
        lib.gw_model_quantize.restype = None
        lib.gw_engine_new.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p)]
        lib.gw_engine_new.restype = ctypes.c_int
        lib.gw_engine_free.argtypes = [ctypes.c_void_p]
        lib.gw_engine_free.restype = ctypes.c_void_p
        lib.gw_engine_scratch_bytes.argtypes = [ctypes.c_void_p]
        lib.gw_engine_scratch_bytes.restype = ctypes.c_size_t
        lib.gw_engine_run_fp32.argtypes = [ctypes.c_void_p, _c_float_p, _c_float_p]
        lib.gw_engine_run_fp32.restype = ctypes.c_int
        lib.gw_engine_run_int8.argtypes = [ctypes.c_void_p, _c_int8_p, _c_int32_p]
        lib.gw_engine_run_int8.restype = ctypes.c_int
        lib.gw_softmax_q15.argtypes = [_c_int32_p, ctypes.c_int, _c_int32_p]
        lib.gw_softmax_q15.restype = ctypes.c_int
        lib.gw_softmax_f32.argtypes = [_c_float_p, ctypes.c_int, _c_float_p]
        lib.gw_softmax_f32.restype = ctypes.c_int
        _declared = True
    return lib


def _windows(x, dtype, T, C):
    a = np.ascontiguousarray(x, dtype=dtype)
    if a.ndim == 2:
        a = a[None]
    if a.ndim != 3 or a.shape[1:] != (T, C):
        raise ValueError("windows must be [N, %d, %d], got %s" % (T, C, a.shape))
    return a


class Model:
    """A loaded model file with one engine.  Not thread-safe (one engine);
    open one Model per thread."""

    def __init__(self, path):
        lib = _lib()
        self._lib = lib
        self._m = ctypes.c_void_p()
        self._e = ctypes.c_void_p()
        err = native.errbuf()
        r = lib.gw_model_load_file(str(path).encode(), ctypes.byref(self._m), err, len(err))
        if r < 0:
            raise ValueError("%s: %s" % (path, err.value.decode(errors="replace")))
        r = lib.gw_engine_new(self._m, ctypes.byref(self._e))
        if r < 0:
            self.close()
            raise OSError(-r, "gw_engine_new failed")
        self.description, tensors, _ = container.read(path)
        arch = self.description["arch"]
        self.channels, self.classes, self.window = arch["channels"], arch["classes"], arch["window"]
        self.class_names = list(self.description["classes"])
        self.has_fp32 = "conv1.weight" in tensors
        self.has_int8 = "q.conv1.weight" in tensors

    def close(self):
        if getattr(self, "_e", None):
            self._lib.gw_engine_free(self._e)
            self._e = ctypes.c_void_p()
        if getattr(self, "_m", None):
            self._lib.gw_model_free(self._m)
            self._m = ctypes.c_void_p()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()

    def scratch_bytes(self):
        return self._lib.gw_engine_scratch_bytes(self._lib.gw_model_info_get(self._m))

    def quantize(self, x):
        """gw_model_quantize on raw windows [N, T, C] (or [T, C])."""
        x = _windows(x, np.float32, self.window, self.channels)
        q = np.empty(x.shape, np.int8)
        self._lib.gw_model_quantize(self._m, x.ctypes.data_as(_c_float_p),
                                    q.ctypes.data_as(_c_int8_p), x.shape[0] * x.shape[1])
        return q

    def run_fp32(self, x):
        """FP32 logits [N, K] of raw windows [N, T, C]."""
        x = _windows(x, np.float32, self.window, self.channels)
        out = np.empty((x.shape[0], self.classes), np.float32)
        for i in range(x.shape[0]):
            r = self._lib.gw_engine_run_fp32(self._e, x[i].ctypes.data_as(_c_float_p),
                                             out[i].ctypes.data_as(_c_float_p))
            if r < 0:
                raise OSError(-r, "gw_engine_run_fp32 failed")
        return out

    def run_int8(self, xq):
        """INT8 logits [N, K] (int32, Q16.16) of quantised windows [N, T, C]."""
        xq = _windows(xq, np.int8, self.window, self.channels)
        out = np.empty((xq.shape[0], self.classes), np.int32)
        for i in range(xq.shape[0]):
            r = self._lib.gw_engine_run_int8(self._e, xq[i].ctypes.data_as(_c_int8_p),
                                             out[i].ctypes.data_as(_c_int32_p))
            if r < 0:
                raise OSError(-r, "gw_engine_run_int8 failed")
        return out

    def predict_int8(self, x):
        """Class indices [N] of raw windows through the INT8 path, as the
        daemon does it (quantise, run, integer softmax)."""
        return softmax_q15(self.run_int8(self.quantize(x)))[1]


def softmax_q15(logits):
    """gw_softmax_q15 row by row: (Q0.15 probabilities [N, K], argmax [N])."""
    lib = _lib()
    lq = np.ascontiguousarray(np.atleast_2d(logits), dtype=np.int32)
    p = np.empty_like(lq)
    best = np.empty(lq.shape[0], np.int64)
    for i in range(lq.shape[0]):
        best[i] = lib.gw_softmax_q15(lq[i].ctypes.data_as(_c_int32_p), lq.shape[1],
                                     p[i].ctypes.data_as(_c_int32_p))
    return p, best
