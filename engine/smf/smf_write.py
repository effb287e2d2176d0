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

from engine.model.notes import (
    NOTE_NO_OFF_EVENT,
    NOTE_OFF_IS_NOTE_ON_V0,
    NOTE_OFF_RUNNING,
    NOTE_ON_RUNNING,
)

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


# -- a whole model track ----------------------------------------------------------------------

#: Ordering groups on one tick (see engine.smf.midifile's module doc).
G_MOVED_OFF, G_SOURCE, G_NEW_EVENT, G_MOVED_ON = 0, 1, 2, 3
ERR_PAYLOAD_RANGE = 3  # an event's payload lies outside the track's payload bytes


@njit(cache=True, nogil=True)
def _before(tick, group, rank, a, b):
    if tick[a] != tick[b]:
        return tick[a] < tick[b]
    if group[a] != group[b]:
        return group[a] < group[b]
    return rank[a] < rank[b]


@njit(cache=True, nogil=True)
def merge_order(tick, group, rank):
    """Indexes sorted by ``(tick, group, rank)``, stable (a bottom-up merge sort)."""
    n = tick.shape[0]
    order = np.arange(n)
    tmp = np.empty(n, np.int64)
    width = 1
    while width < n:
        for lo in range(0, n, 2 * width):
            mid = min(lo + width, n)
            hi = min(lo + 2 * width, n)
            i, j, k = lo, mid, lo
            while i < mid and j < hi:
                if _before(tick, group, rank, order[j], order[i]):
                    tmp[k] = order[j]
                    j += 1
                else:
                    tmp[k] = order[i]
                    i += 1
                k += 1
            while i < mid:
                tmp[k] = order[i]
                i += 1
                k += 1
            while j < hi:
                tmp[k] = order[j]
                j += 1
                k += 1
        order, tmp = tmp, order
        width *= 2
    return order


@njit(cache=True, nogil=True)
def track_rows(notes, events, payload):
    """The rows to write for a track's note and event arrays (``NOTE_DTYPE``/``EVENT_DTYPE``,
    passed whole so a call costs little), each with its ordering group and rank: see
    engine.smf.midifile's module doc for the order and for how new and moved events are
    styled. Edited values are made valid here (clamped ticks and data bytes).

    All per-event work of saving but the sort happens here (numpy's stable sort of packed
    keys is the fastest there is), so a file of 65,535 tiny tracks saves about as fast as
    it loads. Returns ``(error, tick, status, d1, d2, mode, poff, plen, group, rank)``.
    """
    n_notes = notes.shape[0]
    n_ev = events.shape[0]
    # The track's style, which new events follow: running status (anything read with it)
    # and note-on-velocity-0 offs (most offs read from the source were; when none came
    # from a file, most notes flagged so).
    running = False
    for i in range(n_ev):
        if events[i].flags & 1:
            running = True
    voters_src = 0
    v0_src = 0
    voters = 0
    v0 = 0
    n_offs = 0
    for i in range(n_notes):
        f = notes[i].flags
        if f & NOTE_ON_RUNNING or f & NOTE_OFF_RUNNING:
            running = True
        if f & NOTE_NO_OFF_EVENT:
            continue
        n_offs += 1
        voters += 1
        if f & NOTE_OFF_IS_NOTE_ON_V0:
            v0 += 1
        if notes[i].off_seq >= 0:
            voters_src += 1
            if f & NOTE_OFF_IS_NOTE_ON_V0:
                v0_src += 1
    if voters_src > 0:
        v0_style = v0_src * 2 > voters_src
    else:
        v0_style = v0 * 2 > voters
    new_mode = RUN_NEW if running else RUN_NEVER

    total = n_ev + n_notes + n_offs
    tick = np.empty(total, np.int64)
    status = np.empty(total, np.uint8)
    d1 = np.empty(total, np.uint8)
    d2 = np.empty(total, np.uint8)
    mode = np.empty(total, np.uint8)
    poff = np.zeros(total, np.uint32)
    plen = np.zeros(total, np.uint32)
    group = np.empty(total, np.int8)
    rank = np.empty(total, np.int64)
    for i in range(n_ev):
        if np.int64(events[i].offset) + np.int64(events[i].length) > payload.shape[0]:
            return ERR_PAYLOAD_RANGE, tick, status, d1, d2, mode, poff, plen, group, rank
        st = events[i].status
        tick[i] = max(events[i].tick, 0)
        status[i] = st
        d1[i] = min(events[i].data1, 127) if st < 0xF0 else events[i].data1
        d2[i] = min(events[i].data2, 127)
        poff[i] = events[i].offset
        plen[i] = events[i].length
        if events[i].seq >= 0:
            mode[i] = RUN_AS_SOURCE if events[i].flags & 1 else RUN_NEVER
            group[i] = G_SOURCE
            rank[i] = events[i].seq
        else:
            mode[i] = new_mode
            group[i] = G_NEW_EVENT
            rank[i] = i
    k_off = n_ev + n_notes
    for j in range(n_notes):
        f = notes[j].flags
        ch = notes[j].channel & 0x0F
        start = max(notes[j].start, 0)
        pitch = min(notes[j].pitch, 127)
        i = n_ev + j
        tick[i] = start
        status[i] = 0x90 | ch
        d1[i] = pitch
        d2[i] = min(max(notes[j].velocity, 1), 127)  # a velocity-0 note-on would read as an off
        if notes[j].on_seq >= 0:
            mode[i] = RUN_AS_SOURCE if f & NOTE_ON_RUNNING else RUN_NEVER
            group[i] = G_SOURCE
            rank[i] = notes[j].on_seq
        else:
            mode[i] = new_mode
            group[i] = G_MOVED_ON
            rank[i] = i
        if f & NOTE_NO_OFF_EVENT:
            continue
        i = k_off
        k_off += 1
        src = notes[j].off_seq >= 0
        if src:
            off_v0 = (f & NOTE_OFF_IS_NOTE_ON_V0) != 0
        else:
            off_v0 = v0_style and notes[j].off_velocity == 0
        tick[i] = max(notes[j].end, start + 1)
        status[i] = (0x90 | ch) if off_v0 else (0x80 | ch)
        d1[i] = pitch
        d2[i] = 0 if off_v0 else min(notes[j].off_velocity, 127)
        if src:
            mode[i] = RUN_AS_SOURCE if f & NOTE_OFF_RUNNING else RUN_NEVER
            group[i] = G_SOURCE
            rank[i] = notes[j].off_seq
        else:
            mode[i] = new_mode
            group[i] = G_MOVED_OFF
            rank[i] = i
    return 0, tick, status, d1, d2, mode, poff, plen, group, rank


@njit(cache=True, nogil=True)
def encode_small_track(notes, events, payload, end_tick, end_event, write_end):
    """:func:`track_rows`, :func:`merge_order` and :func:`encode_track` in one call, for
    small tracks, where the cost of calls outweighs that of sorting (a file of 65,535 tiny
    tracks saves in about a second). Returns ``(error, bytes)``."""
    err, tick, status, d1, d2, mode, poff, plen, group, rank = track_rows(notes, events, payload)
    if err:
        return err, np.empty(0, np.uint8)
    order = merge_order(tick, group, rank)
    return encode_track(
        tick[order], status[order], d1[order], d2[order], mode[order], poff[order],
        plen[order], payload, end_tick, end_event, write_end,
    )  # fmt: skip
