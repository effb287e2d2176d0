"""Plugins must not leave the main thread flushing denormals to zero.

zam-plugins (DPF) switch the calling thread to FTZ/DAZ when they load; before the guard in
engine.plugins.fpenv, loading ZamComp made every later float computation in the process
flush subnormals (hypothesis then refused to run at all).
"""

import numpy as np
import pytest

from engine.plugins import loader
from engine.plugins.fpenv import preserved_fp_env, subnormals_work

ZAMCOMP_VST3 = "/usr/lib/vst3/ZamComp.vst3"


def _require(path):
    import os

    if not os.path.exists(path):
        pytest.fail(f"{path} missing: run scripts/setup --dev (installs zam-plugins)")


def test_loading_and_running_a_dpf_vst3_keeps_subnormals():
    _require(ZAMCOMP_VST3)
    assert subnormals_work()
    effect = loader.load_effect("vst3", ZAMCOMP_VST3, 48000, 256, probe=False)
    assert subnormals_work()
    buf = np.zeros((2, 256), np.float32)
    with preserved_fp_env():
        effect.process(buf)
    assert subnormals_work()


def test_loading_a_dpf_lv2_keeps_subnormals():
    assert subnormals_work()
    loader.load_effect("lv2", "urn:zamaudio:ZamComp", 48000, 256, probe=False)
    assert subnormals_work()


def test_the_guard_restores_a_changed_mode():
    import ctypes

    from engine.plugins import fpenv

    if fpenv._LIBM is None:
        pytest.skip("no C floating-point environment API on this platform")
    with preserved_fp_env():
        # Set FTZ+DAZ ourselves (x86 MXCSR bits 15 and 6) through the C environment.
        env = fpenv._FEnv()
        fpenv._LIBM.fegetenv(ctypes.byref(env))
        raw = bytearray(env.data)
        mxcsr = int.from_bytes(raw[28:32], "little") | 0x8040
        raw[28:32] = mxcsr.to_bytes(4, "little")
        env.data[:] = raw
        fpenv._LIBM.fesetenv(ctypes.byref(env))
        changed = not subnormals_work()
    assert subnormals_work()
    if not changed:
        pytest.skip("could not set flush-to-zero here (not x86-64 glibc)")
