"""Loads libgaitway for Python through ctypes.

Training and evaluation call the same C code the daemon runs (front end,
windowing, quantiser, engines), so training and serving cannot disagree.
The library is found through $GAITWAY_LIB, else build/lib/libgaitway.so
under the repository root."""

import ctypes
import os

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_lib = None


def library_path():
    env = os.environ.get("GAITWAY_LIB")
    if env:
        return env
    for b in ("build", "build-release"):
        p = os.path.join(_ROOT, b, "lib", "libgaitway.so")
        if os.path.exists(p):
            return p
    raise FileNotFoundError("libgaitway.so not found: build the project (meson setup build && "
                            "meson compile -C build) or set GAITWAY_LIB")


def lib():
    """The loaded library (loaded once)."""
    global _lib
    if _lib is None:
        _lib = ctypes.CDLL(library_path())
    return _lib


def errbuf():
    return ctypes.create_string_buffer(256)


def repo_root():
    return _ROOT
