"""Compiled kernel that encodes one track's events, already in write order, as MTrk bytes.

Running status needs care to stay lossless and valid: an event read with running status is
written with it again when the last channel status written equals its status (meta and
sysex events do not break it, mirroring the lenient reader), while an event the model made
new only uses it after another channel event (the strict SMF rule), so files Quanta writes
are readable by strict readers too.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: ``mode`` values per event.
RUN_NEVER = 0
RUN_AS_SOURCE = 1  # read with running status: write it so again when allowed
RUN_NEW = 2  # new event in a track that uses running status: use it when strictly allowed

ERR_DELTA_TOO_BIG = 1  # a gap between two events that a 4-byte variable-length number can't hold
MAX_VLQ = 0x0FFFFFFF


@njit(cache=True, nogil=True)
def _put_vlq(out, pos, value):
    if value < 0x80:
        out[pos] = value
        return pos + 1
    nbytes = 1
    v = value >> 7
    while v > 0:
        nbytes += 1
        v >>= 7
    for k in range(nbytes - 1, -1, -1):
        byte = (value >> (7 * k)) & 0x7F
        if k > 0:
            byte |= 0x80
        out[pos] = byte
        pos += 1
    return pos


@njit(cache=True, nogil=True)
def encode_track(tick, status, d1, d2, mode, poff, plen, payload, end_tick):
    """Track body bytes for events sorted in write order (ticks must not decrease).

    Returns ``(error, bytes)``; ``error`` is non-zero when a gap is too long for SMF.
    """
    n = tick.shape[0]
    size = 16
    for i in range(n):
        size += 12 + plen[i]
    out = np.empty(size, np.uint8)
    pos = 0
    last_tick = np.int64(0)
    source_prev = 0  # last channel status written (meta/sysex leave it alone)
    strict_prev = 0  # same, but cleared by meta/sysex
    for i in range(n):
        t = tick[i]
        delta = t - last_tick
        if delta > MAX_VLQ:
            return ERR_DELTA_TOO_BIG, out[:0]
        pos = _put_vlq(out, pos, delta)
        last_tick = t
        st = status[i]
        if st >= 0xF0:
            out[pos] = st
            pos += 1
            if st == 0xFF:
                out[pos] = d1[i]
                pos += 1
            length = plen[i]
            pos = _put_vlq(out, pos, length)
            start = poff[i]
            for k in range(length):
                out[pos + k] = payload[start + k]
            pos += length
            strict_prev = 0
            continue
        m = mode[i]
        skip = (m == RUN_AS_SOURCE and st == source_prev) or (m == RUN_NEW and st == strict_prev)
        if not skip:
            out[pos] = st
            pos += 1
        out[pos] = d1[i]
        pos += 1
        kind = st & 0xF0
        if kind != 0xC0 and kind != 0xD0:
            out[pos] = d2[i]
            pos += 1
        source_prev = st
        strict_prev = st
    end = end_tick if end_tick > last_tick else last_tick
    if end - last_tick > MAX_VLQ:
        return ERR_DELTA_TOO_BIG, out[:0]
    pos = _put_vlq(out, pos, end - last_tick)
    out[pos] = 0xFF
    out[pos + 1] = 0x2F
    out[pos + 2] = 0x00
    pos += 3
    return 0, out[:pos]
