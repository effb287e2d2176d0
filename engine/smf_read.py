"""Compiled kernels that read Standard MIDI File bytes (chunks, events, note pairing).

Every kernel bounds-checks each byte it touches and reports problems as an error code plus a
byte position instead of raising, so a broken file can never crash, hang or index out of
range; :mod:`engine.midifile` turns the code into a one-line message for the user.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from engine.notes import (
    NOTE_NO_OFF_EVENT,
    NOTE_OFF_IS_NOTE_ON_V0,
    NOTE_OFF_RUNNING,
    NOTE_ON_RUNNING,
)

# Error codes returned by the kernels (0 = fine).
OK = 0
ERR_TRUNCATED = 1  # an event runs past the end of its chunk
ERR_LONG_VLQ = 2  # a variable-length number longer than 4 bytes
ERR_NO_STATUS = 3  # a data byte where a status byte was needed and no running status
ERR_BAD_STATUS = 4  # a status byte that cannot appear in a file (0xF1-0xF6, 0xF8-0xFE)
ERR_DATA_BYTE = 5  # a byte >= 0x80 where a channel message needs a data byte

# Kinds of chunk found by :func:`walk_chunks`.
CHUNK_MTHD = 0
CHUNK_MTRK = 1
CHUNK_OTHER = 2  # a foreign chunk cut off by the end of the file (always the last entry)
CHUNK_GARBAGE = 3  # an id that is not four printable ASCII bytes: the file is damaged
CHUNK_RUN = 4  # one or more whole foreign chunks in a row (start/length cover their headers)


MAX_TRACKS = 65535  # the header's track count is 16-bit: a file can't say more


@njit(cache=True, nogil=True)
def walk_chunks(data):
    """Kinds, starts and lengths of the chunks: the header, tracks and runs of foreign chunks.

    Walks ``id + u32 length`` headers. For ``MThd``/``MTrk`` (and a cut-off last chunk) the
    start is the body's first byte and the length is the declared one. Foreign chunks in a
    row (anything else, including a second ``MThd``) are merged into one ``CHUNK_RUN`` whose
    start is its first header and whose length covers every byte of the run, so a file with
    thousands of vendor chunks costs one entry per gap between tracks. Stops at the first
    damaged chunk (recorded as ``CHUNK_GARBAGE``) or at a chunk longer than the rest of the
    file (recorded, and the ``short`` flag is True). Fewer than eight trailing bytes are left
    unrecorded (padding). Returns ``(kinds, starts, lengths, short, too_many, end)``;
    ``too_many`` means more than :data:`MAX_TRACKS` track chunks (which no header can
    count, so such a file could not be saved); ``end`` is where the walk stopped.

    Two walks (count, then fill) keep the arrays as small as the file's chunk list.
    """
    z8, z64 = np.empty(0, np.int8), np.empty(0, np.int64)
    count, _, _, _ = _walk(data, False, z8, z64, z64)
    kinds = np.empty(count, np.int8)
    starts = np.empty(count, np.int64)
    lengths = np.empty(count, np.int64)
    count, short, too_many, end = _walk(data, True, kinds, starts, lengths)
    return kinds, starts, lengths, short, too_many, end


@njit(cache=True, nogil=True)
def _walk(data, fill, kinds, starts, lengths):
    """One walk of :func:`walk_chunks`; with ``fill`` False it only counts the entries."""
    n = data.shape[0]
    count = 0
    tracks = 0
    in_run = False
    pos = 0
    while pos + 8 <= n:
        printable = True
        for k in range(4):
            b = data[pos + k]
            if b < 0x20 or b > 0x7E:
                printable = False
        length = (
            (np.int64(data[pos + 4]) << 24)
            | (np.int64(data[pos + 5]) << 16)
            | (np.int64(data[pos + 6]) << 8)
            | np.int64(data[pos + 7])
        )
        a, b, c, d = data[pos], data[pos + 1], data[pos + 2], data[pos + 3]
        kind = CHUNK_OTHER
        if not printable:
            kind = CHUNK_GARBAGE
        elif a == 77 and b == 84 and c == 114 and d == 107:  # "MTrk"
            kind = CHUNK_MTRK
        elif pos == 0 and a == 77 and b == 84 and c == 104 and d == 100:  # "MThd"
            kind = CHUNK_MTHD
        short = kind != CHUNK_GARBAGE and pos + 8 + length > n
        if kind == CHUNK_OTHER and not short:
            if in_run:
                if fill:
                    lengths[count - 1] += 8 + length
            else:
                if fill:
                    kinds[count] = CHUNK_RUN
                    starts[count] = pos
                    lengths[count] = 8 + length
                count += 1
                in_run = True
            pos += 8 + length
            continue
        in_run = False
        if kind == CHUNK_MTRK:
            if tracks == MAX_TRACKS:
                return count, False, True, pos
            tracks += 1
        if fill:
            kinds[count] = kind
            starts[count] = pos + 8
            lengths[count] = length
        count += 1
        if kind == CHUNK_GARBAGE or short:
            return count, short, False, pos
        pos += 8 + length
    return count, False, False, pos


@njit(cache=True, nogil=True)
def _channel_data_len(status):
    kind = status & 0xF0
    if kind == 0xC0 or kind == 0xD0:
        return 1
    return 2


@njit(cache=True, nogil=True)
def parse_track(data, start, end, fill, tick, status, d1, d2, flags, poff, plen, payload):
    """Read the events of one MTrk body ``data[start:end]``.

    With ``fill`` False only counts (events, payload bytes); with ``fill`` True also writes
    the columns, which must have room for the counted sizes. End-of-track is not an event:
    its tick comes back separately. Running status survives meta and sysex events (lenient,
    as most readers are), and ``flags`` bit 1 marks an event that used it.

    Returns ``(error, error_pos, n_events, n_payload, end_tick, has_end, end_pos)``: with
    ``has_end``, ``end_pos`` is where the end-of-track event starts (its ``FF`` byte) and
    ``error_pos`` where it ends.
    """
    pos = start
    t = np.int64(0)
    running = 0
    n = 0
    npay = 0
    while pos < end:
        # delta time
        value = np.int64(0)
        nbytes = 0
        while True:
            if pos >= end:
                return ERR_TRUNCATED, pos, n, npay, t, False, 0
            b = data[pos]
            pos += 1
            nbytes += 1
            if nbytes > 4:
                return ERR_LONG_VLQ, pos - 1, n, npay, t, False, 0
            value = (value << 7) | (b & 0x7F)
            if b < 0x80:
                break
        t += value
        if pos >= end:
            return ERR_TRUNCATED, pos, n, npay, t, False, 0
        ev_pos = pos
        b = data[pos]
        if b == 0xFF or b == 0xF0 or b == 0xF7:
            pos += 1
            meta_type = 0
            if b == 0xFF:
                if pos >= end:
                    return ERR_TRUNCATED, pos, n, npay, t, False, 0
                meta_type = data[pos]
                pos += 1
            length = np.int64(0)
            nbytes = 0
            while True:
                if pos >= end:
                    return ERR_TRUNCATED, pos, n, npay, t, False, 0
                c = data[pos]
                pos += 1
                nbytes += 1
                if nbytes > 4:
                    return ERR_LONG_VLQ, pos - 1, n, npay, t, False, 0
                length = (length << 7) | (c & 0x7F)
                if c < 0x80:
                    break
            if pos + length > end:
                return ERR_TRUNCATED, ev_pos, n, npay, t, False, 0
            if b == 0xFF and meta_type == 0x2F:
                return OK, pos + length, n, npay, t, True, ev_pos
            if fill:
                tick[n] = t
                status[n] = b
                d1[n] = meta_type
                d2[n] = 0
                flags[n] = 0
                poff[n] = npay
                plen[n] = length
                for k in range(length):
                    payload[npay + k] = data[pos + k]
            npay += length
            pos += length
            n += 1
            continue
        is_running = 0
        if b < 0x80:
            if running == 0:
                return ERR_NO_STATUS, ev_pos, n, npay, t, False, 0
            st = running
            is_running = 1
        else:
            if b > 0xEF:
                return ERR_BAD_STATUS, ev_pos, n, npay, t, False, 0
            st = b
            running = b
            pos += 1
        need = _channel_data_len(st)
        if pos + need > end:
            return ERR_TRUNCATED, ev_pos, n, npay, t, False, 0
        a = data[pos]
        c = data[pos + 1] if need == 2 else 0
        if a >= 0x80:
            return ERR_DATA_BYTE, pos, n, npay, t, False, 0
        if c >= 0x80:
            return ERR_DATA_BYTE, pos + 1, n, npay, t, False, 0
        if fill:
            tick[n] = t
            status[n] = st
            d1[n] = a
            d2[n] = c
            flags[n] = is_running
            poff[n] = 0
            plen[n] = 0
        pos += need
        n += 1
    return OK, pos, n, npay, t, False, 0


# Note flag bits written by :func:`pair_into` (the model's).
_OFF_IS_V0 = NOTE_OFF_IS_NOTE_ON_V0
_NO_OFF = NOTE_NO_OFF_EVENT
_ON_RUNNING = NOTE_ON_RUNNING
_OFF_RUNNING = NOTE_OFF_RUNNING
_ZERO_LENGTH = 0x80  # scratch: a pair on one tick, dropped before the notes are returned


@njit(cache=True, nogil=True)
def count_note_ons(status, d2):
    """How many events are note-ons (``9n`` with a velocity above 0)."""
    count = 0
    for i in range(status.shape[0]):
        if status[i] & 0xF0 == 0x90 and d2[i] > 0:
            count += 1
    return count


@njit(cache=True, nogil=True)
def pair_into(
    tick, status, d1, d2, flags, end_tick, is_note,
    n_start, n_end, n_pitch, n_vel, n_offvel, n_chan, n_flags, n_onseq, n_offseq, n_id,
):  # fmt: skip
    """Pair note-ons with note-offs first-in-first-out per (channel, pitch), writing the
    notes straight into the columns of a note array sized by :func:`count_note_ons`.

    A note still sounding at ``end_tick`` ends at ``max(end_tick, start + 1)`` with no off.
    An off whose oldest sounding note-on is on the same tick ends a zero-length note: that
    pair is left out, so both stay plain events and come back byte for byte. Offs with
    nothing sounding are left out too. ``is_note[i]`` is set for every event that became
    part of a note. Notes are compacted to the front; returns how many there are.

    Scratch memory is one int32 per note (the FIFO links): nothing per event.
    """
    n = tick.shape[0]
    head = np.full(2048, -1, np.int64)
    tail = np.full(2048, -1, np.int64)
    nxt = np.full(n_start.shape[0], -1, np.int32)
    count = 0
    for i in range(n):
        st = status[i]
        kind = st & 0xF0
        if kind != 0x80 and kind != 0x90:
            continue
        key = (st & 0x0F) * 128 + d1[i]
        if kind == 0x90 and d2[i] > 0:
            slot = count
            n_start[slot] = tick[i]
            n_end[slot] = tick[i]
            n_pitch[slot] = d1[i]
            n_vel[slot] = d2[i]
            n_offvel[slot] = 0
            n_chan[slot] = st & 0x0F
            n_flags[slot] = _NO_OFF | (_ON_RUNNING if flags[i] != 0 else 0)
            n_onseq[slot] = i
            n_offseq[slot] = -1
            is_note[i] = 1
            count += 1
            if tail[key] == -1:
                head[key] = slot
            else:
                nxt[tail[key]] = slot
            tail[key] = slot
        else:
            slot = head[key]
            if slot == -1:
                continue  # a note-off with nothing sounding stays a plain event
            head[key] = nxt[slot]
            if head[key] == -1:
                tail[key] = -1
            if n_start[slot] == tick[i]:
                n_flags[slot] = _ZERO_LENGTH  # zero-length: both stay plain events
                is_note[n_onseq[slot]] = 0
            else:
                v0 = kind == 0x90
                f = n_flags[slot] & _ON_RUNNING
                if v0:
                    f |= _OFF_IS_V0
                else:
                    n_offvel[slot] = d2[i]
                if flags[i] != 0:
                    f |= _OFF_RUNNING
                n_flags[slot] = f
                n_end[slot] = tick[i]
                n_offseq[slot] = i
                is_note[i] = 1
    m = 0
    for s in range(count):
        f = n_flags[s]
        if f == _ZERO_LENGTH:
            continue
        if f & _NO_OFF:
            end = n_start[s] + 1
            n_end[s] = end_tick if end_tick > end else end
        if m != s:
            n_start[m] = n_start[s]
            n_end[m] = n_end[s]
            n_pitch[m] = n_pitch[s]
            n_vel[m] = n_vel[s]
            n_offvel[m] = n_offvel[s]
            n_chan[m] = n_chan[s]
            n_flags[m] = f
            n_onseq[m] = n_onseq[s]
            n_offseq[m] = n_offseq[s]
        n_id[m] = m
        m += 1
    return m


@njit(cache=True, nogil=True)
def compact_events(is_note, tick, seq, status, d1, d2, flags, poff, plen):
    """Move the events that are not part of a note to the front, in order, recording each
    one's source position in ``seq``; returns how many there are (in place: no copy)."""
    m = 0
    for i in range(is_note.shape[0]):
        if is_note[i]:
            continue
        tick[m] = tick[i]
        seq[m] = i
        status[m] = status[i]
        d1[m] = d1[i]
        d2[m] = d2[i]
        flags[m] = flags[i]
        poff[m] = poff[i]
        plen[m] = plen[i]
        m += 1
    return m
