"""The audio callback's real-time work as compiled code, and a PortAudio callback with no GIL.

Why: a Python audio callback must take the GIL every block. With a busy Python thread in the
process (the GUI painting, the quantizer, a plugin scan) it gets it late and the device
underruns, even with an empty mixer (measured here: 48 underruns in 60 s at 256 frames with a
GUI-like thread and no sound at all). :func:`callback_address` is a ``numba.cfunc`` with
PortAudio's ``PaStreamCallback`` signature that sounddevice hands to PortAudio directly (its
documented C-function-pointer form): no Python, no GIL, no allocation, no locks. It runs when
the mixer is :attr:`engine.audio.mixer.Mixer.native` (every strip a built-in synth, no effects);
mixes with plugins keep a Python callback, which shares :func:`prepare_block` with it.

Every array the callback touches is reached through one int64 array of addresses
(``P_*`` fields, the stream's ``userdata``), owned by :class:`NativeBlock`:

- the event ring (``ring``, rows of when/track/status/data1/data2, single consumer; producers
  publish ``P_HEAD`` after filling a slot, the callback advances ``P_TAIL``; 8-byte stores are
  atomic and seen in order on x86-64 and, for stores to distinct words, on AArch64 with the
  release semantics numpy's stores do not give: the producer writes the slot, then the head);
- ``pending``: events taken from the ring but due in a later block;
- ``rt``: counters, meters of the callback itself, and the clock mapping's state;
- the mixer's arrays (:mod:`engine.audio.mixer_kernels` layout) and the synths' consts.

The clock mapping is that of :mod:`engine.audio.output`: an event at engine time ``when`` plays at
the sample handed to the device at ``when``; the block's start comes from PortAudio's stream
clock (JACK: the frame clock) mapped onto the engine clock (CLOCK_MONOTONIC, which is
``time.monotonic``) by minimum filters, or, without a stream clock, a delay-locked loop.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math
import sys
import threading
import time

import numba
import numpy as np
from llvmlite import binding as llvm_binding
from numba import types

from engine.audio import mixer_kernels as mk
from engine.audio.native_ptr import f32_ptr, f64_ptr, i64_ptr
from engine.audio.native_ptr import void_ptr as _voidptr

# -- the address array (int64)
(P_SELF, P_TS_SEC, P_TS_NSEC, P_HEAD, P_TAIL, P_RT, P_RING, P_RING_CAP, P_PEND, P_PEND_CAP,
 P_DUE, P_DUR, P_DUR_CAP, P_MCTL, P_MCTL_LEN, P_TABLE, P_TRACK_CAP, P_CS, P_CS_LEN, P_EV,
 P_EV_CAP, P_BUFS, P_MAX_BLOCK, P_DBUF, P_MIXBUF, P_ANCHORS, P_OFFSETS, P_MODE, P_AR, P_AR_CAP,
 P_AR_WRITE, P_AR_READ, P_SEM, P_LOG, P_LOG_CAP) = range(35)  # fmt: skip
N_PTRS = 40
MODE_MIX, MODE_AHEAD = 0, 1  # mix in the callback / play what the render-ahead thread made
# -- the float64 ``rt`` array: counters and clock state
(R_UNDERRUNS, R_CALLBACKS, R_LATE, R_LATENCY, R_STREAM_FRAMES, R_SR, R_PENDING, R_ERRORS,
 R_DLL_ON, R_DLL_T0, R_DLL_T1, R_DLL_E2, R_FRAMES, R_BLOCK_START, R_PDC, R_STARVED, R_SEQ,
 R_READ_START, R_LOGGED, R_OUT_FRAMES) = range(20)  # fmt: skip
N_RT = 24
WINDOW = 16  # blocks in the clock mapping's minimum filters
RING_FIELDS = 5  # when, track, status, data1, data2
#: One row per event queued into a block (the placement log, see ``queue_block``).
LOG_FIELDS = 5  # when, mix frame it was placed at, samples late, status, data1
L_WHEN, L_FRAME, L_LATE, L_STATUS, L_DATA1 = range(LOG_FIELDS)
PA_OUTPUT_UNDERFLOW = 0x4
PA_CONTINUE = 0

#: The compiled callback needs CLOCK_MONOTONIC (what ``time.monotonic`` reads) from libc:
#: Linux. Elsewhere the Python callback (same scheduling code) is used.
SUPPORTED = sys.platform.startswith("linux")
CLOCK_MONOTONIC = 1
if SUPPORTED:
    # libc's clock_gettime as an external symbol, not a ctypes pointer: numba can cache code
    # that calls a symbol by name, and the callback must load from the cache, not compile.
    llvm_binding.load_library_permanently(ctypes.util.find_library("c"))
_clock_gettime = types.ExternalFunction("clock_gettime", types.int32(types.int32, types.voidptr))
_sem_post = types.ExternalFunction("sem_post", types.int32(types.voidptr))


@numba.njit(cache=True)
def _now(p):
    """The engine clock (CLOCK_MONOTONIC) in seconds, read into ``p``'s scratch words."""
    _clock_gettime(CLOCK_MONOTONIC, _voidptr(p[P_SELF] + P_TS_SEC * 8))
    return p[P_TS_SEC] + p[P_TS_NSEC] * 1e-9


@numba.njit(cache=True)
def _start_from_stream_clock(rt, anchors, offsets, now, stream_now, frames):
    """Engine-clock time of this block's first sample, from the stream clock.

    Two minimum filters, because delays only ever add: the block start on the stream clock is
    the earliest ``stream_now - frames done`` over the last blocks (PortAudio reads its clock
    some time after the block began), and the stream-to-engine clock offset is the smallest
    ``now - stream_now`` (the callback runs some time after PortAudio read its clock). Short
    windows follow a device clock that drifts (the JACK dummy driver's does under load)."""
    pos = rt[R_STREAM_FRAMES] / rt[R_SR]
    rt[R_STREAM_FRAMES] += frames
    cb = int(rt[R_CALLBACKS])
    slot = cb % WINDOW
    filled = min(cb + 1, WINDOW)
    anchors[slot] = stream_now - pos
    offsets[slot] = now - stream_now
    a = anchors[0]
    o = offsets[0]
    for i in range(1, filled):
        a = min(a, anchors[i])
        o = min(o, offsets[i])
    return a + pos + o


@numba.njit(cache=True)
def _start_from_dll(rt, now, frames):
    """Engine-clock time of this block's first sample from callback times alone: a
    second-order delay-locked loop (as JACK uses) learns the device's real rate and filters
    callback jitter; a jump of more than a few blocks relocks it."""
    period = frames / rt[R_SR]
    if rt[R_DLL_ON] == 0.0 or abs(now - rt[R_DLL_T1]) > 4 * period + rt[R_DLL_E2]:
        rt[R_DLL_ON] = 1.0
        rt[R_FRAMES] = 0.0  # lock fast again
        rt[R_DLL_T0] = now
        rt[R_DLL_T1] = now + period
        rt[R_DLL_E2] = period
        return now
    err = now - rt[R_DLL_T1]
    rt[R_DLL_T0] = rt[R_DLL_T1]
    # Lock fast (4 Hz) during the first second, then follow slowly (0.5 Hz).
    bandwidth = 4.0 if rt[R_FRAMES] < rt[R_SR] else 0.5
    omega = 2 * math.pi * bandwidth * period
    rt[R_DLL_T1] += math.sqrt(2) * omega * err + rt[R_DLL_E2]
    rt[R_DLL_E2] += omega * omega * err
    return rt[R_DLL_T0]


@numba.njit(cache=True)
def _collect(p, ring, pend, rt):
    """Move newly published events from the ring to the pending list."""
    head = p[P_HEAD]
    tail = p[P_TAIL]
    cap = ring.shape[0]
    k = int(rt[R_PENDING])
    while tail < head and k < pend.shape[0]:
        i = tail % cap
        for f in range(RING_FIELDS):
            pend[k, f] = ring[i, f]
        k += 1
        tail += 1
    p[P_TAIL] = tail
    rt[R_PENDING] = k


@numba.njit(cache=True)
def _queue_due(p, rt, pend, due, mctl, table, ev, start, n, frame0):
    """Queue every pending event due before this block's end at its exact sample, in time
    order (a late one at the block start, counted), and keep the rest pending. Each queued
    event is also written to the placement log (when the stream has one): the mix frame it
    was placed at (``frame0`` is the block's first) and by how many samples it was late."""
    sr = rt[R_SR]
    end = start + n / sr
    k = int(rt[R_PENDING])
    nd = 0
    for i in range(k):  # insertion sort of the due ones by time (stable)
        if pend[i, 0] < end:
            j = nd
            while j > 0 and pend[due[j - 1], 0] > pend[i, 0]:
                due[j] = due[j - 1]
                j -= 1
            due[j] = i
            nd += 1
    if nd == 0:
        return
    ntracks = int(mctl[mk.M_NTRACKS])
    for d in range(nd):
        i = due[d]
        off = int(round((pend[i, 0] - start) * sr))
        late = 0
        if off < 0:
            rt[R_LATE] += 1
            late = -off
            off = 0
        if off > n - 1:
            off = n - 1
        t = int(pend[i, 1])
        if 0 <= t < ntracks:
            mk.queue_event(
                mctl, table, ev, t, off, int(pend[i, 2]), int(pend[i, 3]), int(pend[i, 4])
            )
        cap = p[P_LOG_CAP]
        if cap > 0:
            log = numba.carray(f64_ptr(p[P_LOG]), (cap, LOG_FIELDS))
            row = int(rt[R_LOGGED]) % cap
            log[row, L_WHEN] = pend[i, 0]
            log[row, L_FRAME] = frame0 + off
            log[row, L_LATE] = late
            log[row, L_STATUS] = pend[i, 2]
            log[row, L_DATA1] = pend[i, 3]
            rt[R_LOGGED] += 1
    m = 0
    for i in range(k):  # keep the rest, in order
        if pend[i, 0] >= end:
            if m != i:
                for f in range(RING_FIELDS):
                    pend[m, f] = pend[i, f]
            m += 1
    rt[R_PENDING] = m


@numba.njit(cache=True)
def map_block(rt, anchors, offsets, now, times, flags, n):
    """Count an underrun, note the latency, and map the block onto the engine clock.
    ``times`` is PortAudio's (adc, current, dac) time info. Returns the block's start."""
    if flags & PA_OUTPUT_UNDERFLOW:
        rt[R_UNDERRUNS] += 1
    lat = times[2] - times[1]
    rt[R_LATENCY] = lat if 0.0 <= lat < 1.0 else 0.0
    if times[1] > 0.0:
        return _start_from_stream_clock(rt, anchors, offsets, now, times[1], n)
    return _start_from_dll(rt, now, n)  # a host API without a stream clock


@numba.njit(cache=True)
def queue_block(p, rt, ring, pend, due, mctl, table, ev, start, n, frame0):
    """Queue the events due in the ``n`` frames heard from engine time ``start`` on;
    ``frame0`` is the block's first frame in the mix (see :meth:`NativeBlock.placements`)."""
    _collect(p, ring, pend, rt)
    # Plugin delay compensation: what is rendered now is heard R_PDC seconds later.
    _queue_due(p, rt, pend, due, mctl, table, ev, start + rt[R_PDC], n, frame0)


@numba.njit(cache=True)
def prepare_block(p, rt, ring, pend, due, anchors, offsets, mctl, table, ev, now, times, flags, n):
    """Everything a callback does before mixing: :func:`map_block`, then queue the events due
    in the block. Returns the block's engine-clock start."""
    start = map_block(rt, anchors, offsets, now, times, flags, n)
    queue_block(p, rt, ring, pend, due, mctl, table, ev, start, n, rt[R_OUT_FRAMES])
    return start


@numba.njit(cache=True)
def _play_ahead(p, rt, out, n, start):
    """Render-ahead mode: copy ``n`` frames the render thread made into ``out`` (silence and
    a count when it fell behind), publish where the device is, and wake the thread."""
    cap = p[P_AR_CAP]
    ar = numba.carray(f32_ptr(p[P_AR]), (2, cap))
    read = p[P_AR_READ]
    # Seqlock: odd while (block start, frames read) change together.
    rt[R_SEQ] += 1
    rt[R_BLOCK_START] = start
    rt[R_READ_START] = read
    rt[R_SEQ] += 1
    if p[P_AR_WRITE] - read >= n:
        for i in range(n):
            j = (read + i) % cap
            out[i, 0] = ar[0, j]
            out[i, 1] = ar[1, j]
        p[P_AR_READ] = read + n
    else:
        rt[R_STARVED] += 1
        for i in range(n):
            out[i, 0] = 0.0
            out[i, 1] = 0.0
    _sem_post(_voidptr(p[P_SEM]))


@numba.njit(cache=True)
def write_ahead(p, buf, n):
    """The render thread's side: append ``n`` rendered frames and publish them."""
    cap = p[P_AR_CAP]
    ar = numba.carray(f32_ptr(p[P_AR]), (2, cap))
    w = p[P_AR_WRITE]
    for i in range(n):
        j = (w + i) % cap
        ar[0, j] = buf[0, i]
        ar[1, j] = buf[1, i]
    p[P_AR_WRITE] = w + n


@numba.njit(cache=True)
def finish_block(p, rt, t_in, t_out, n):
    """Count the block and record how long the callback took (microseconds)."""
    dur = numba.carray(f64_ptr(p[P_DUR]), p[P_DUR_CAP])
    cb = int(rt[R_CALLBACKS])
    us = (t_out - t_in) * 1e6
    dur[cb % dur.shape[0]] = us
    rt[R_CALLBACKS] = cb + 1
    rt[R_FRAMES] += n
    rt[R_OUT_FRAMES] += n


_SIG = types.int32(
    types.voidptr,
    types.CPointer(types.float32),
    types.uint64,
    types.CPointer(types.float64),
    types.uint64,
    types.CPointer(types.int64),
)


def _native_callback(inp, output, frames, time_info, flags, user):
    p = numba.carray(user, N_PTRS)
    t_in = _now(p)
    rt = numba.carray(f64_ptr(p[P_RT]), N_RT)
    n = np.int64(frames)
    out = numba.carray(output, (n, 2))
    maxb = p[P_MAX_BLOCK]
    if n > maxb:  # never with a fixed block size; play silence rather than overrun a buffer
        rt[R_ERRORS] += 1
        for i in range(n):
            out[i, 0] = 0.0
            out[i, 1] = 0.0
        finish_block(p, rt, t_in, _now(p), n)
        return PA_CONTINUE
    tcap = p[P_TRACK_CAP]
    if p[P_MODE] == MODE_AHEAD:
        start = map_block(
            rt,
            numba.carray(f64_ptr(p[P_ANCHORS]), WINDOW),
            numba.carray(f64_ptr(p[P_OFFSETS]), WINDOW),
            t_in,
            numba.carray(time_info, 3),
            flags,
            n,
        )
        _play_ahead(p, rt, out, n, start)
        finish_block(p, rt, t_in, _now(p), n)
        return PA_CONTINUE
    prepare_block(
        p,
        rt,
        numba.carray(f64_ptr(p[P_RING]), (p[P_RING_CAP], RING_FIELDS)),
        numba.carray(f64_ptr(p[P_PEND]), (p[P_PEND_CAP], RING_FIELDS)),
        numba.carray(i64_ptr(p[P_DUE]), p[P_PEND_CAP]),
        numba.carray(f64_ptr(p[P_ANCHORS]), WINDOW),
        numba.carray(f64_ptr(p[P_OFFSETS]), WINDOW),
        numba.carray(f64_ptr(p[P_MCTL]), p[P_MCTL_LEN]),
        numba.carray(i64_ptr(p[P_TABLE]), (tcap, mk.TTF)),
        numba.carray(f64_ptr(p[P_EV]), (tcap, 2, p[P_EV_CAP], 4)),
        t_in,
        numba.carray(time_info, 3),
        flags,
        n,
    )
    mix = numba.carray(f32_ptr(p[P_MIXBUF]), (2, maxb))
    mk.mix_native(
        numba.carray(f64_ptr(p[P_MCTL]), p[P_MCTL_LEN]),
        numba.carray(i64_ptr(p[P_TABLE]), (tcap, mk.TTF)),
        numba.carray(f64_ptr(p[P_CS]), p[P_CS_LEN]),
        numba.carray(f64_ptr(p[P_EV]), (tcap, 2, p[P_EV_CAP], 4)),
        numba.carray(f32_ptr(p[P_BUFS]), (tcap, 2, maxb)),
        numba.carray(f32_ptr(p[P_DBUF]), (2, maxb)),
        n,
        mix,
    )
    for i in range(n):
        out[i, 0] = mix[0, i]
        out[i, 1] = mix[1, i]
    finish_block(p, rt, t_in, _now(p), n)
    return PA_CONTINUE


_compiled = None
_compile_lock = threading.Lock()


def callback_address() -> int:
    """The address of the compiled PortAudio callback (compiled, or loaded from numba's cache,
    on first use: a few seconds the very first time after an install, see app.warmup)."""
    global _compiled
    with _compile_lock:
        if _compiled is None:
            _compiled = numba.cfunc(_SIG, nopython=True, cache=True)(_native_callback)
    return _compiled.address


class NativeBlock:
    """The arrays one audio stream's callback uses, and the int64 array of their addresses
    (the callback's ``userdata``). Python reads counters from ``rt`` and pushes events into
    ``ring`` (see :class:`engine.audio.output.EventRing`); it never writes anything else while the
    stream runs. ``mixer`` must not gain tracks while a stream uses this."""

    def __init__(
        self,
        mixer,
        sample_rate: int,
        ring_capacity: int = 8192,
        pending: int = 8192,
        log_capacity: int = 4096,
    ):
        self.mixer = mixer
        self.p = np.zeros(N_PTRS, dtype=np.int64)
        self.rt = np.zeros(N_RT)
        self.rt[R_SR] = sample_rate
        self.ring = np.zeros((ring_capacity, RING_FIELDS))
        self.pending = np.zeros((pending, RING_FIELDS))
        self.due = np.zeros(pending, dtype=np.int64)
        self.durations = np.zeros(16384)
        self.anchors = np.zeros(WINDOW)
        self.offsets = np.zeros(WINDOW)
        self.mix = np.zeros((2, mixer.max_block), dtype=np.float32)
        self.log = np.zeros((max(int(log_capacity), 1), LOG_FIELDS))
        consts = mixer.consts if mixer.consts is not None else np.zeros(1)
        self._consts = consts
        p = self.p
        p[P_SELF] = p.ctypes.data
        for field, arr in (
            (P_RT, self.rt),
            (P_RING, self.ring),
            (P_PEND, self.pending),
            (P_DUE, self.due),
            (P_DUR, self.durations),
            (P_ANCHORS, self.anchors),
            (P_OFFSETS, self.offsets),
            (P_MCTL, mixer.ctl),
            (P_TABLE, mixer.table),
            (P_CS, consts),
            (P_EV, mixer.ev),
            (P_BUFS, mixer.bufs),
            (P_DBUF, mixer._dbuf),
            (P_MIXBUF, self.mix),
            (P_LOG, self.log),
        ):
            if not arr.flags.c_contiguous:
                raise ValueError("native audio arrays must be C-contiguous")
            p[field] = arr.ctypes.data
        p[P_RING_CAP] = ring_capacity
        p[P_PEND_CAP] = pending
        p[P_DUR_CAP] = self.durations.size
        p[P_MCTL_LEN] = mixer.ctl.size
        p[P_TRACK_CAP] = mixer.table.shape[0]
        p[P_CS_LEN] = consts.size
        p[P_EV_CAP] = mixer.ev.shape[2]
        p[P_MAX_BLOCK] = mixer.max_block
        p[P_LOG_CAP] = self.log.shape[0] if log_capacity > 0 else 0

    def prepare(self, now: float, times: np.ndarray, flags: int, n: int) -> float:
        """The Python callback's form of the callback's scheduling step (same code);
        ``times`` is (adc, current, dac) as a float64 array."""
        m = self.mixer
        return prepare_block(
            self.p, self.rt, self.ring, self.pending, self.due, self.anchors, self.offsets,
            m.ctl, m.table, m.ev, now, times, flags, n,
        )  # fmt: skip

    def finish(self, t_in: float, t_out: float, n: int) -> None:
        finish_block(self.p, self.rt, t_in, t_out, n)

    def placements(self) -> np.ndarray:
        """The placement log, oldest first: one row per event queued into a block (columns
        ``L_*``): its engine time, the mix frame it was placed at (frames from the stream's
        start; with render-ahead, frames the render thread made), how many samples late it
        was (placed at its block's start instead, and counted in ``late_events``), its
        status byte and first data byte. Quanta's own account of where each event went, to
        check against what the device really played. Holds the last ``log_capacity``."""
        logged = int(self.rt[R_LOGGED])
        cap = self.log.shape[0] if self.p[P_LOG_CAP] > 0 else 0
        if cap == 0 or logged == 0:
            return np.zeros((0, LOG_FIELDS))
        if logged <= cap:
            return self.log[:logged].copy()
        k = logged % cap
        return np.concatenate((self.log[k:], self.log[:k]))


def warm_up() -> None:
    """Compile (or load) the callback and the Python path's kernels."""
    from engine.audio.mixer import Mixer
    from engine.plugins.builtin_synth import BuiltinSynth

    if SUPPORTED:
        callback_address()
    m = Mixer(48000, 64)
    m.add_track("warm-up", BuiltinSynth(48000, 64, voices=2, drum_voices=2))
    nb = NativeBlock(m, 48000, 16, 16)
    t = time.monotonic()
    nb.prepare(t, np.array([0.0, 1.0, 1.01]), 0, 64)
    nb.prepare(t, np.zeros(3), 0, 64)
    nb.finish(t, time.monotonic(), 64)
    ring = np.zeros((2, 128), np.float32)  # the render-ahead thread's two kernels
    nb.p[P_AR], nb.p[P_AR_CAP] = ring.ctypes.data, 128
    queue_block(nb.p, nb.rt, nb.ring, nb.pending, nb.due, m.ctl, m.table, m.ev, t, 64, 0.0)
    write_ahead(nb.p, nb.mix[:, :64], 64)
