"""Compiled kernel that encodes one track's events, already in write order, as MTrk bytes.

Running status needs care to stay lossless and valid: an event read with running status is
written with it again when the last channel status written equals its status (meta and
sysex events do not break it, mirroring the lenient reader), while an event the model made
new only uses it after another channel event (the strict SMF rule), so files Quanta writes
are readable by strict readers too.

Long silences: a delta time is at most 2^28 - 1 ticks (a 4-byte variable-length number). A
gap longer than that, which only an edit can make (a file read never has one), is bridged
the way the SMF spec allows: a chain of deltas carried by empty text meta events
(``FF 01 00``), which every player ignores. A re-read song shows them as empty text events;
timing is exact. The chain is bounded (:data:`MAX_CARRIERS` a track, 7 MB): beyond it the
save is refused in one line, and a song whose ticks stay below :data:`MAX_TICK` never gets
there.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: ``mode`` values per event.
RUN_NEVER = 0
RUN_AS_SOURCE = 1  # read with running status: write it so again when allowed
RUN_NEW = 2  # new event in a track that uses running status: use it when strictly allowed

ERR_TOO_FAR = 1  # bridging the gaps would take more than MAX_CARRIERS carrier events
ERR_LONG_PAYLOAD = 2  # a sysex/meta payload longer than a variable-length number can count
MAX_VLQ = 0x0FFFFFFF
#: Carrier events one track may use to bridge gaps longer than :data:`MAX_VLQ`.
MAX_CARRIERS = 1 << 20
#: Ticks below this always save (their gaps need at most ``MAX_CARRIERS`` carriers).
MAX_TICK = MAX_VLQ * MAX_CARRIERS
#: The carrier: an empty text meta event.
CARRIER = b"\xff\x01\x00"
#: The standard end-of-track event (after its delta).
END_OF_TRACK = b"\xff\x2f\x00"


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
def _carriers(delta):
    """How many carrier events a gap of ``delta`` ticks needs."""
    if delta <= MAX_VLQ:
        return np.int64(0)
    return (delta - 1) // MAX_VLQ


@njit(cache=True, nogil=True)
def _put_delta(out, pos, delta):
    """Write ``delta``, bridged by carrier events when it is too long for one number."""
    while delta > MAX_VLQ:
        pos = _put_vlq(out, pos, MAX_VLQ)
        out[pos] = 0xFF
        out[pos + 1] = 0x01
        out[pos + 2] = 0x00
        pos += 3
        delta -= MAX_VLQ
    return _put_vlq(out, pos, delta)


@njit(cache=True, nogil=True)
def encode_track(tick, status, d1, d2, mode, poff, plen, payload, end_tick, end_event, write_end):
    """Track body bytes for events sorted in write order (ticks must not decrease).

    ``end_event`` is the end-of-track event's bytes after its delta (normally ``FF 2F 00``);
    with ``write_end`` False no end-of-track is written (a source track that had none).
    Returns ``(error, bytes)``; ``error`` is one of the ``ERR_`` codes or 0.
    """
    n = tick.shape[0]
    size = 16 + end_event.shape[0]
    carriers = np.int64(0)
    last = np.int64(0)
    for i in range(n):
        if plen[i] > MAX_VLQ:
            return ERR_LONG_PAYLOAD, np.empty(0, np.uint8)
        size += 12 + plen[i]
        carriers += _carriers(tick[i] - last)
        last = tick[i]
    end = end_tick if end_tick > last else last
    if write_end:
        carriers += _carriers(end - last)
    if carriers > MAX_CARRIERS:
        return ERR_TOO_FAR, np.empty(0, np.uint8)
    out = np.empty(size + 7 * carriers, np.uint8)
    pos = 0
    last_tick = np.int64(0)
    source_prev = 0  # last channel status written (meta/sysex leave it alone)
    strict_prev = 0  # same, but cleared by meta/sysex
    for i in range(n):
        t = tick[i]
        delta = t - last_tick
        if delta > MAX_VLQ:
            source_prev = 0  # a carrier meta comes first: write the status byte again
            strict_prev = 0
        pos = _put_delta(out, pos, delta)
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
    if write_end:
        pos = _put_delta(out, pos, end - last_tick)
        for k in range(end_event.shape[0]):
            out[pos + k] = end_event[k]
        pos += end_event.shape[0]
    return 0, out[:pos]
