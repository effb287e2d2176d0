"""Keeping plugins from changing the calling thread's floating-point mode.

Many plugins (DPF-based ones such as zam-plugins, for example) switch the thread they run in
to flush-to-zero / denormals-are-zero. That is right for an audio thread, but when it happens
while a plugin is loaded or rendered from the main thread, every later float computation in
Quanta silently flushes tiny values to zero. So loading and offline processing save the C
floating-point environment before calling plugin code and restore it afterwards.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
from collections.abc import Iterator


class _FEnv(ctypes.Structure):
    # Larger than fenv_t on every glibc/musl/macOS target (32 bytes on x86-64).
    _fields_ = [("data", ctypes.c_ubyte * 256)]


def _libm():
    if os.name != "posix":
        return None
    try:
        lib = ctypes.CDLL(ctypes.util.find_library("m") or None)
        lib.fegetenv.argtypes = lib.fesetenv.argtypes = [ctypes.POINTER(_FEnv)]
        return lib
    except (OSError, AttributeError):
        return None


_LIBM = _libm()


@contextlib.contextmanager
def preserved_fp_env() -> Iterator[None]:
    """Run the block, then put the thread's floating-point environment back as it was."""
    if _LIBM is None:
        yield
        return
    env = _FEnv()
    _LIBM.fegetenv(ctypes.byref(env))
    try:
        yield
    finally:
        _LIBM.fesetenv(ctypes.byref(env))


def subnormals_work() -> bool:
    """False when this thread flushes denormals to zero (FTZ/DAZ set by some plugin)."""
    tiny = 2.2250738585072014e-308  # smallest normal double
    return tiny / 2 != 0.0
