"""A JACK audio recorder for tests: captures what another client plays, with frame times.

Real JACK, not a fake: a JACK-Client with two audio input ports copies each period into a
preallocated array and remembers the JACK frame time of the first recorded frame, so a
recorded sample can be turned into a time on the engine clock (JACK time is CLOCK_MONOTONIC,
the clock ``time.monotonic`` reads).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import time

import jack
import numpy as np


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


class AudioRecorder:
    def __init__(self, seconds: float = 5.0, name: str = "quanta-audio-rec"):
        self.client = jack.Client(name, no_start_server=True)
        self.rate = self.client.samplerate
        self.inports = [self.client.inports.register(f"in_{i + 1}") for i in range(2)]
        self.data = np.zeros((2, int(seconds * self.rate)), dtype=np.float32)
        self.pos = 0
        self.first_frame: int | None = None
        self.recording = False
        # Each cycle's first frame and its time on JACK's clock, read during that cycle: a
        # late frames-to-time conversion extrapolates with JACK's current period estimate,
        # which on a loaded dummy driver puts seconds-old frames tens of ms off.
        cycles = int(seconds * self.rate) // 16 + 16
        self._cyc_start = np.zeros(cycles, dtype=np.int64)
        self._cyc_us = np.zeros(cycles, dtype=np.float64)
        self._ncyc = 0
        self._lib = _libjack()
        self._ptr = int(jack._ffi.cast("uintptr_t", self.client._ptr))
        self.client.set_process_callback(self._process)
        self.client.activate()

    def _process(self, frames: int) -> None:
        if not self.recording:
            return
        now = self.client.last_frame_time
        if self.first_frame is None:
            self.first_frame = now
        # Place each period by its frame time, so a skipped cycle leaves a gap, not a shift.
        start = (now - self.first_frame) & 0xFFFFFFFF
        if self._ncyc < self._cyc_start.size:
            self._cyc_start[self._ncyc] = start
            self._cyc_us[self._ncyc] = self._lib.jack_frames_to_time(self._ptr, now)
            self._ncyc += 1
        n = max(0, min(frames, self.data.shape[1] - start))
        for ch, port in enumerate(self.inports):
            self.data[ch, start : start + n] = port.get_array()[:n]
        self.pos = max(self.pos, start + n)

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
        self.recording = True

    def wait(self, seconds: float) -> None:
        time.sleep(seconds)
        self.recording = False

    def sample_time(self, index: np.ndarray | int) -> np.ndarray:
        """Engine-clock seconds of recorded samples."""
        assert self.first_frame is not None and self._ncyc > 0
        idx = np.asarray(index)
        starts = self._cyc_start[: self._ncyc]
        k = np.clip(np.searchsorted(starts, idx, side="right") - 1, 0, self._ncyc - 1)
        jack_s = self._cyc_us[k] / 1e6 + (idx - starts[k]) / self.rate
        return jack_s - jack_clock_offset()

    def close(self) -> None:
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
