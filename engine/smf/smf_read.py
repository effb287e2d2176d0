"""Compiled kernels that read Standard MIDI File bytes (chunks, events, note pairing).

Every kernel bounds-checks each byte it touches and reports problems as an error code plus a
byte position instead of raising, so a broken file can never crash, hang or index out of
range; :mod:`engine.smf.midifile` turns the code into a one-line message for the user.
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


# Note flag bits written by :func:`read_track` (the model's).
_OFF_IS_V0 = NOTE_OFF_IS_NOTE_ON_V0
_NO_OFF = NOTE_NO_OFF_EVENT
_ON_RUNNING = NOTE_ON_RUNNING
_OFF_RUNNING = NOTE_OFF_RUNNING


@njit(cache=True, nogil=True)
def read_track(data, start, end, fill, zero_len, events, payload, notes):
    """Read one MTrk body ``data[start:end]`` straight into note and event arrays
    (``NOTE_DTYPE``/``EVENT_DTYPE``, passed whole: one argument each keeps a call cheap,
    which matters for a file of 65,535 tiny tracks).

    Events are decoded (running status survives meta and sysex events, lenient as most
    readers are; ``e_flags`` bit 1 marks an event that used it) and note-ons are paired with
    note-offs first-in-first-out per (channel, pitch) as they come. A note still sounding at
    end of track ends at ``max(end of track, start + 1)`` with no off. An off whose oldest
    sounding note-on is on the same tick ends a zero-length note: both stay plain events
    (so they come back byte for byte), as do offs with nothing sounding. End-of-track is not
    an event: its tick comes back separately.

    Two passes. With ``fill`` False nothing is written: the pass counts notes, events and
    payload bytes and finds the zero-length notes (``zero_len``, one byte a note-on, is
    returned); its scratch (5 bytes for every 3 bytes of track, the most note-ons there
    can be) is freed before the model is allocated. With ``fill`` True, given that array,
    every column is written (each sized by the counts) and no other memory is needed but
    two int32 a note-on: the peak of reading is the final model plus that.

    Returns ``(error, error_pos, n_notes, n_events, n_payload, end_tick, has_end, end_pos,
    zero_len)``: with ``has_end``, ``end_pos`` is where the end-of-track event starts (its
    ``FF`` byte) and ``error_pos`` where it ends.
    """
    head = np.full(2048, -1, np.int64)
    tail = np.full(2048, -1, np.int64)
    if fill:
        zl = zero_len
        nxt = np.empty(zero_len.shape[0], np.int32)
        slot_note = np.empty(zero_len.shape[0], np.int32)  # note-on ordinal -> note row
    else:
        # A note-on takes at least 3 bytes (delta, key, velocity): room for every one, so
        # no array is replaced inside the loop (that would cost refcounting per event).
        most = (end - start) // 3 + 1
        zl = np.zeros(most, np.uint8)
        nxt = np.empty(most, np.int32)
        slot_note = np.empty(0, np.int32)
    pos = start
    t = np.int64(0)
    running = 0
    seq = 0  # position of the event in the track
    m = 0  # plain events
    k = 0  # notes
    ons = 0  # note-ons
    ons_before_tick = 0
    npay = 0
    has_end = False
    end_at = 0
    err = OK
    while pos < end:
        # delta time
        value = np.int64(0)
        nbytes = 0
        while True:
            if pos >= end:
                return ERR_TRUNCATED, pos, k, m, npay, t, False, 0, zl
            b = data[pos]
            pos += 1
            nbytes += 1
            if nbytes > 4:
                return ERR_LONG_VLQ, pos - 1, k, m, npay, t, False, 0, zl
            value = (value << 7) | (b & 0x7F)
            if b < 0x80:
                break
        t += value
        if value:
            ons_before_tick = ons  # ordinals below this are note-ons of earlier ticks
        if pos >= end:
            return ERR_TRUNCATED, pos, k, m, npay, t, False, 0, zl
        ev_pos = pos
        b = data[pos]
        if b == 0xFF or b == 0xF0 or b == 0xF7:
            pos += 1
            meta_type = 0
            if b == 0xFF:
                if pos >= end:
                    return ERR_TRUNCATED, pos, k, m, npay, t, False, 0, zl
                meta_type = data[pos]
                pos += 1
            length = np.int64(0)
            nbytes = 0
            while True:
                if pos >= end:
                    return ERR_TRUNCATED, pos, k, m, npay, t, False, 0, zl
                c = data[pos]
                pos += 1
                nbytes += 1
                if nbytes > 4:
                    return ERR_LONG_VLQ, pos - 1, k, m, npay, t, False, 0, zl
                length = (length << 7) | (c & 0x7F)
                if c < 0x80:
                    break
            if pos + length > end:
                return ERR_TRUNCATED, ev_pos, k, m, npay, t, False, 0, zl
            if b == 0xFF and meta_type == 0x2F:
                has_end = True
                end_at = ev_pos
                pos += length
                break
            if fill:
                events[m].tick = t
                events[m].seq = seq
                events[m].status = b
                events[m].data1 = meta_type
                events[m].data2 = 0
                events[m].flags = 0
                events[m].offset = npay
                events[m].length = length
                for j in range(length):
                    payload[npay + j] = data[pos + j]
            npay += length
            pos += length
            m += 1
            seq += 1
            continue
        is_running = 0
        if b < 0x80:
            if running == 0:
                return ERR_NO_STATUS, ev_pos, k, m, npay, t, False, 0, zl
            st = running
            is_running = 1
        else:
            if b > 0xEF:
                return ERR_BAD_STATUS, ev_pos, k, m, npay, t, False, 0, zl
            st = b
            running = b
            pos += 1
        need = _channel_data_len(st)
        if pos + need > end:
            return ERR_TRUNCATED, ev_pos, k, m, npay, t, False, 0, zl
        a = data[pos]
        c = data[pos + 1] if need == 2 else 0
        if a >= 0x80:
            return ERR_DATA_BYTE, pos, k, m, npay, t, False, 0, zl
        if c >= 0x80:
            return ERR_DATA_BYTE, pos + 1, k, m, npay, t, False, 0, zl
        pos += need
        kind = st & 0xF0
        plain = True
        if kind == 0x90 and c > 0:  # a note-on: into the FIFO of its key
            o = ons
            ons += 1
            nxt[o] = -1
            key = (st & 0x0F) * 128 + a
            if tail[key] == -1:
                head[key] = o
            else:
                nxt[tail[key]] = o
            tail[key] = o
            if zl[o] == 0:
                plain = False
                if fill:
                    slot_note[o] = k
                    notes[k].start = t
                    notes[k].end = t
                    notes[k].pitch = a
                    notes[k].velocity = c
                    notes[k].off_velocity = 0
                    notes[k].channel = st & 0x0F
                    notes[k].flags = _NO_OFF | (_ON_RUNNING if is_running else 0)
                    notes[k].on_seq = seq
                    notes[k].off_seq = -1
                    notes[k].id = k
                k += 1
        elif kind == 0x80 or kind == 0x90:  # a note-off: ends the oldest sounding note
            key = (st & 0x0F) * 128 + a
            o = head[key]
            if o != -1:
                head[key] = nxt[o]
                if head[key] == -1:
                    tail[key] = -1
                if not fill and o >= ons_before_tick:  # its on came on this very tick
                    zl[o] = 1  # zero-length: on and off stay plain events
                    k -= 1
                    m += 1  # the note-on, counted as a note until now
                if zl[o] == 0:
                    plain = False
                    if fill:
                        r = slot_note[o]
                        f = notes[r].flags & _ON_RUNNING
                        if kind == 0x90:
                            f |= _OFF_IS_V0
                        else:
                            notes[r].off_velocity = c
                        if is_running:
                            f |= _OFF_RUNNING
                        notes[r].flags = f
                        notes[r].end = t
                        notes[r].off_seq = seq
        if plain:
            if fill:
                events[m].tick = t
                events[m].seq = seq
                events[m].status = st
                events[m].data1 = a
                events[m].data2 = c
                events[m].flags = is_running
                events[m].offset = 0
                events[m].length = 0
            m += 1
        seq += 1
    if fill:
        for r in range(k):
            if notes[r].flags & _NO_OFF:
                later = notes[r].start + 1
                notes[r].end = t if t > later else later
    return err, pos, k, m, npay, t, has_end, end_at, zl[:ons].copy()
