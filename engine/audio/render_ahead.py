"""Render-ahead for mixes with plugins: a Python thread renders a little ahead of the device
into a ring of audio, and the compiled callback only copies from it.

Why: plugins (LV2 through ctypes, VST3 and effects through pedalboard, FluidSynth) need
Python every block, and a Python audio callback drops out whenever another Python thread (the
GUI, a quantize, a file load) holds the GIL for longer than one block. Rendering ``ahead``
seconds early turns that into slack: the device keeps playing from the ring, with no GIL, for
as long as the render thread can be late. It is what Reaper calls anticipative processing.
The price is latency: everything sounds ``ahead`` later, which playback schedules away (the
engine sends events that much earlier) but live input through such a mix hears.

The ring is single-producer (this thread) single-consumer (the callback): frame counters only
grow, each side stores its own. The callback publishes where the device is (the engine time
of the block it plays and how many frames had been read before it) under a seqlock, and
posts a semaphore each block; the thread wakes, and renders every block the ring has room
for, each at the engine time it will be heard.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading

import numpy as np

from engine.audio import audio_native as an
from engine.realtime.rt_priority import raise_thread_priority

_libc = ctypes.CDLL(ctypes.util.find_library("c"))
_libc.sem_init.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint]
_libc.sem_destroy.argtypes = [ctypes.c_void_p]
_libc.sem_post.argtypes = [ctypes.c_void_p]
_libc.sem_wait.argtypes = [ctypes.c_void_p]  # through CDLL: the GIL is released while waiting


class RenderAhead:
    """Keeps ``ahead_frames`` of ``mixer`` output ready in ``block``'s audio ring."""

    def __init__(self, block: an.NativeBlock, mixer, block_size: int, ahead_frames: int):
        self.block = block
        self.mixer = mixer
        self.block_size = int(block_size)
        self.ahead = max(int(ahead_frames), self.block_size)
        # Render in chunks of a quarter of the window (at least one device block): each chunk
        # costs one pass of Python and its GIL hand-overs, so small device blocks are grouped,
        # while four chunks in the window leave slack for a late one.
        self.chunk = min(mixer.max_block, max(self.block_size, self.ahead // 4))
        cap = 1
        while cap < self.ahead + self.chunk + 2 * mixer.max_block:
            cap *= 2
        self.ring = np.zeros((2, cap), dtype=np.float32)
        self._sem = np.zeros(64, dtype=np.uint8)  # holds a sem_t (32 bytes on Linux)
        _libc.sem_init(self._sem.ctypes.data, 0, 0)
        p = block.p
        p[an.P_AR] = self.ring.ctypes.data
        p[an.P_AR_CAP] = cap
        p[an.P_SEM] = self._sem.ctypes.data
        p[an.P_AR_READ] = 0
        p[an.P_AR_WRITE] = 0
        p[an.P_MODE] = an.MODE_AHEAD
        self._buf = np.zeros((2, mixer.max_block), dtype=np.float32)
        self._prime()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="quanta-render-ahead", daemon=True)
        self.errors = 0
        self.realtime = False

    def _prime(self) -> None:
        """Queue ``ahead`` frames of silence, and run each kernel the thread uses once, here:
        loading compiled code from numba's cache in the render thread's first block stalled
        it for ~150 ms on a fresh install (a burst of starved blocks at the first note)."""
        b, p, m = self.block, self.block.p, self.mixer
        silence = self._buf[:, : self.chunk]
        while int(p[an.P_AR_WRITE]) < self.ahead:
            an.write_ahead(p, silence, min(self.chunk, self.ahead - int(p[an.P_AR_WRITE])))
        an.queue_block(
            p, b.rt, b.ring, b.pending, b.due, m.ctl, m.table, m.ev, 0.0, self.chunk, 0.0
        )  # fmt: skip
        m.process(silence)  # nothing queued and nothing sounding: a silent block
        silence.fill(0.0)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop = True
        _libc.sem_post(self._sem.ctypes.data)
        self._thread.join(2.0)

    def _device_position(self) -> tuple[float, int] | None:
        """(engine time of the block the device plays, frames read before it), read
        consistently, or None before the first callback."""
        rt = self.block.rt
        for _ in range(100):
            seq = rt[an.R_SEQ]
            start, read = rt[an.R_BLOCK_START], rt[an.R_READ_START]
            if seq == rt[an.R_SEQ] and int(seq) % 2 == 0:
                return (float(start), int(read)) if seq > 0 else None
        return None

    def _run(self) -> None:
        from engine.plugins.fpenv import preserved_fp_env

        self.realtime = raise_thread_priority()  # woken on time even on a busy machine
        with preserved_fp_env():  # plugins may switch this thread's FP mode (see fpenv)
            while True:
                _libc.sem_wait(self._sem.ctypes.data)
                if self._stop:
                    return
                try:
                    self._fill()
                except Exception:  # a plugin failed: count it; the device plays silence
                    self.errors += 1

    def _fill(self) -> None:
        b, p, m = self.block, self.block.p, self.mixer
        sr = b.rt[an.R_SR]
        n = self.chunk
        while int(p[an.P_AR_WRITE]) - int(p[an.P_AR_READ]) < self.ahead and not self._stop:
            where = self._device_position()
            if where is None:
                return
            start, read = where
            frame = int(p[an.P_AR_WRITE])
            t = start + (frame - read) / sr  # when this block will be heard
            an.queue_block(
                p, b.rt, b.ring, b.pending, b.due, m.ctl, m.table, m.ev, t, n, float(frame)
            )  # fmt: skip
            buf = self._buf[:, :n]
            m.process(buf)
            b.rt[an.R_PDC] = m.pdc_samples / sr
            an.write_ahead(p, buf, n)

    def close(self) -> None:
        _libc.sem_destroy(self._sem.ctypes.data)
