"""A JACK audio recorder for tests: captures what another client plays, with frame times.

Real JACK, not a fake: a JACK-Client with two audio input ports copies each period into a
preallocated array and remembers each cycle's JACK frame time, so a recorded sample can be
turned into a time on the engine clock. The process callback is compiled (a numba cfunc that
libjack calls directly), so the recorder never waits for the GIL: a Python callback lost or
misplaced whole periods whenever the test process or the machine was busy.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import time

import jack
import numba
import numpy as np
from llvmlite import binding as llvm_binding
from numba import types

from engine.audio.native_ptr import f32_ptr, i64_ptr
from engine.ports.jack_client import Client as JackClient


def _libjack():
    lib = ctypes.CDLL(ctypes.util.find_library("jack") or "libjack.so.0")
    lib.jack_frames_to_time.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
    lib.jack_frames_to_time.restype = ctypes.c_uint64
    lib.jack_get_time.argtypes = []
    lib.jack_get_time.restype = ctypes.c_uint64
    return lib


def frames_to_engine_time(client: jack.Client, frame: int) -> float:
    """A JACK frame time as engine-clock seconds.

    ``jack_frames_to_time`` (not wrapped by JACK-Client) gives microseconds on JACK's clock,
    which here is CLOCK_MONOTONIC_RAW, not the engine's CLOCK_MONOTONIC: the offset between
    the two is measured (tightest of several bracketed reads) and removed.
    """
    lib = _libjack()
    ptr = int(jack._ffi.cast("uintptr_t", client._ptr))
    jack_us = lib.jack_frames_to_time(ptr, frame & 0xFFFFFFFF)
    return jack_us / 1e6 - jack_clock_offset()


def jack_clock_offset() -> float:
    """JACK's clock minus the engine clock, in seconds (tightest of several bracketed reads)."""
    lib = _libjack()
    best = None
    for _ in range(20):
        m0 = time.monotonic()
        j = lib.jack_get_time() / 1e6
        m1 = time.monotonic()
        if best is None or m1 - m0 < best[0]:
            best = (m1 - m0, j - (m0 + m1) / 2)
    return best[1]


# libjack's functions as external symbols (numba caches code that calls symbols by name).
# Pointers travel as int64: the same registers in the x86-64/AArch64 C ABIs.
llvm_binding.load_library_permanently(jack._libname)
_port_buffer = types.ExternalFunction(
    "jack_port_get_buffer", types.int64(types.int64, types.uint32)
)
_last_frame_time = types.ExternalFunction("jack_last_frame_time", types.uint32(types.int64))
_frames_to_time = types.ExternalFunction(
    "jack_frames_to_time", types.uint64(types.int64, types.uint32)
)

# the recorder's control array (int64)
C_CLIENT, C_PORT0, C_PORT1, C_DATA, C_LEN, C_REC, C_FIRST, C_POS = range(8)
C_CYC_START, C_CYC_US, C_CYC_CAP, C_NCYC = range(8, 12)
N_CTL = 16


@numba.cfunc(types.int32(types.uint32, types.CPointer(types.int64)), nopython=True, cache=True)
def _record_process(nframes, arg):
    ctl = numba.carray(arg, N_CTL)
    if ctl[C_REC] == 0:
        return 0
    now = np.int64(_last_frame_time(ctl[C_CLIENT]))
    if ctl[C_FIRST] < 0:
        ctl[C_FIRST] = now
    # Place each period by its frame time, so a skipped cycle leaves a gap, not a shift.
    start = (now - ctl[C_FIRST]) & 0xFFFFFFFF
    k = ctl[C_NCYC]
    if k < ctl[C_CYC_CAP]:
        # Each cycle's first frame and its time on JACK's clock, read during that cycle: a
        # late frames-to-time conversion extrapolates with JACK's current period estimate.
        numba.carray(i64_ptr(ctl[C_CYC_START]), ctl[C_CYC_CAP])[k] = start
        us = np.int64(_frames_to_time(ctl[C_CLIENT], np.uint32(now & 0xFFFFFFFF)))
        numba.carray(i64_ptr(ctl[C_CYC_US]), ctl[C_CYC_CAP])[k] = us
        ctl[C_NCYC] = k + 1
    length = ctl[C_LEN]
    n = max(0, min(np.int64(nframes), length - start))
    data = numba.carray(f32_ptr(ctl[C_DATA]), (2, length))
    for ch in range(2):
        buf = numba.carray(f32_ptr(_port_buffer(ctl[C_PORT0 + ch], nframes)), max(n, 1))
        for i in range(n):
            data[ch, start + i] = buf[i]
    if start + n > ctl[C_POS]:
        ctl[C_POS] = start + n
    return 0


def _pointer(obj) -> int:
    return int(jack._ffi.cast("uintptr_t", obj._ptr))


class AudioRecorder:
    def __init__(self, seconds: float = 5.0, name: str = "quanta-audio-rec"):
        self.client = JackClient(name)
        self.rate = self.client.samplerate
        self.inports = [self.client.inports.register(f"in_{i + 1}") for i in range(2)]
        self.data = np.zeros((2, int(seconds * self.rate)), dtype=np.float32)
        cycles = int(seconds * self.rate) // 16 + 16
        self._cyc_start = np.zeros(cycles, dtype=np.int64)
        self._cyc_us = np.zeros(cycles, dtype=np.int64)
        ctl = self._ctl = np.zeros(N_CTL, dtype=np.int64)
        ctl[C_CLIENT] = _pointer(self.client)
        ctl[C_PORT0] = _pointer(self.inports[0])
        ctl[C_PORT1] = _pointer(self.inports[1])
        ctl[C_DATA] = self.data.ctypes.data
        ctl[C_LEN] = self.data.shape[1]
        ctl[C_FIRST] = -1
        ctl[C_CYC_START] = self._cyc_start.ctypes.data
        ctl[C_CYC_US] = self._cyc_us.ctypes.data
        ctl[C_CYC_CAP] = cycles
        # The compiled callback writes into these until the client is closed.
        self.client.keep_alive(ctl, self.data, self._cyc_start, self._cyc_us)
        lib = ctypes.CDLL(jack._libname)
        lib.jack_set_process_callback.argtypes = [ctypes.c_void_p] * 3
        lib.jack_set_process_callback.restype = ctypes.c_int
        if lib.jack_set_process_callback(
            int(ctl[C_CLIENT]), _record_process.address, ctl.ctypes.data
        ):
            raise RuntimeError("cannot set the recorder's JACK process callback")
        self.client.activate()

    @property
    def pos(self) -> int:
        return int(self._ctl[C_POS])

    @property
    def first_frame(self) -> int | None:
        f = int(self._ctl[C_FIRST])
        return None if f < 0 else f

    @property
    def _ncyc(self) -> int:
        return int(self._ctl[C_NCYC])

    def connect_from(self, client_prefix: str) -> None:
        """Connect every audio output port whose name starts with ``client_prefix``."""
        outs = [
            p
            for p in self.client.get_ports(is_audio=True, is_output=True)
            if p.name.startswith(client_prefix)
        ]
        if not outs:
            raise RuntimeError(f"no JACK audio outputs named {client_prefix}*")
        for port, inport in zip(outs, self.inports, strict=False):
            self.client.connect(port, inport)

    def start(self) -> None:
        self._ctl[C_REC] = 1

    def wait(self, seconds: float) -> None:
        time.sleep(seconds)
        self._ctl[C_REC] = 0

    def sample_time(self, index: np.ndarray | int) -> np.ndarray:
        """Engine-clock seconds of recorded samples."""
        assert self.first_frame is not None and self._ncyc > 0
        idx = np.asarray(index)
        starts = self._cyc_start[: self._ncyc]
        k = np.clip(np.searchsorted(starts, idx, side="right") - 1, 0, self._ncyc - 1)
        jack_s = self._cyc_us[k] / 1e6 + (idx - starts[k]) / self.rate
        return jack_s - jack_clock_offset()

    def close(self) -> None:
        if not self.client.closed:
            self.client.deactivate()
            self.client.close()


def onsets(x: np.ndarray, threshold: float = 1e-3, min_gap: int = 2400) -> np.ndarray:
    """Sample indices where ``|x|`` rises above ``threshold`` after at least ``min_gap``
    samples at or below it (the first loud sample of the recording counts too)."""
    loud = np.flatnonzero(np.abs(x) > threshold)
    if loud.size == 0:
        return loud
    keep = np.concatenate(([True], np.diff(loud) > min_gap))
    return loud[keep]


def first_sound(x: np.ndarray, coarse: np.ndarray, quiet: float = 1e-6, back: int = 2400) -> np.ndarray:
    """For each coarse onset (from :func:`onsets`), the first sample of the sound that
    reaches it: the sample after the last one at or below ``quiet`` within ``back`` samples
    before it. Exact to the sample for a synth that is silent (digital zero, or nearly)
    between notes, whatever the level its attack takes to reach the coarse threshold."""
    out = np.empty(len(coarse), dtype=np.int64)
    for k, c in enumerate(np.asarray(coarse, dtype=np.int64)):
        lo = max(int(c) - back, 0)
        q = np.flatnonzero(np.abs(x[lo : int(c) + 1]) <= quiet)
        out[k] = lo + (int(q[-1]) + 1 if q.size else 0)
    return out
