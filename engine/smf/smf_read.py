"""Compiled kernels that read Standard MIDI File bytes (chunks, events, note pairing).

Every kernel bounds-checks each byte it touches and reports problems as an error code plus a
byte position instead of raising, so a broken file can never crash, hang or index out of
range; :mod:`engine.smf.midifile` turns the code into a one-line message for the user.
"""

from __future__ import annotations

import numpy as np
from numba import njit

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


MAX_CHUNKS = 65536 + 1  # a header and at most 65535 tracks (the header's count is 16-bit)


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
    ``too_many`` means more than 65535 tracks; ``end`` is where the walk stopped.

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
        if tracks == MAX_CHUNKS + 1:
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

    Returns ``(error, error_pos, n_events, n_payload, end_tick, has_end)``.
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
                return ERR_TRUNCATED, pos, n, npay, t, False
            b = data[pos]
            pos += 1
            nbytes += 1
            if nbytes > 4:
                return ERR_LONG_VLQ, pos - 1, n, npay, t, False
            value = (value << 7) | (b & 0x7F)
            if b < 0x80:
                break
        t += value
        if pos >= end:
            return ERR_TRUNCATED, pos, n, npay, t, False
        ev_pos = pos
        b = data[pos]
        if b == 0xFF or b == 0xF0 or b == 0xF7:
            pos += 1
            meta_type = 0
            if b == 0xFF:
                if pos >= end:
                    return ERR_TRUNCATED, pos, n, npay, t, False
                meta_type = data[pos]
                pos += 1
            length = np.int64(0)
            nbytes = 0
            while True:
                if pos >= end:
                    return ERR_TRUNCATED, pos, n, npay, t, False
                c = data[pos]
                pos += 1
                nbytes += 1
                if nbytes > 4:
                    return ERR_LONG_VLQ, pos - 1, n, npay, t, False
                length = (length << 7) | (c & 0x7F)
                if c < 0x80:
                    break
            if pos + length > end:
                return ERR_TRUNCATED, ev_pos, n, npay, t, False
            if b == 0xFF and meta_type == 0x2F:
                return OK, pos + length, n, npay, t, True
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
                return ERR_NO_STATUS, ev_pos, n, npay, t, False
            st = running
            is_running = 1
        else:
            if b > 0xEF:
                return ERR_BAD_STATUS, ev_pos, n, npay, t, False
            st = b
            running = b
            pos += 1
        need = _channel_data_len(st)
        if pos + need > end:
            return ERR_TRUNCATED, ev_pos, n, npay, t, False
        a = data[pos]
        c = data[pos + 1] if need == 2 else 0
        if a >= 0x80:
            return ERR_DATA_BYTE, pos, n, npay, t, False
        if c >= 0x80:
            return ERR_DATA_BYTE, pos + 1, n, npay, t, False
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
    return OK, pos, n, npay, t, False


@njit(cache=True, nogil=True)
def pair_notes(tick, status, d1, d2):
    """Pair note-ons with note-offs first-in-first-out per (channel, pitch).

    Returns ``(on_idx, off_idx, count)``: event indexes of each note in note-on order
    (``off_idx`` -1 when no off came before end of track). An off whose oldest sounding
    note-on is on the same tick ends a zero-length note: that pair is left out, so both stay
    plain events and come back byte for byte. Offs with nothing sounding are left out too.
    """
    n = tick.shape[0]
    head = np.full(2048, -1, np.int64)
    tail = np.full(2048, -1, np.int64)
    nxt = np.full(n, -1, np.int64)  # FIFO links between note slots
    on_idx = np.empty(n, np.int64)
    off_idx = np.empty(n, np.int64)
    keep = np.empty(n, np.bool_)
    count = 0
    for i in range(n):
        st = status[i]
        kind = st & 0xF0
        if kind != 0x80 and kind != 0x90:
            continue
        key = (st & 0x0F) * 128 + d1[i]
        if kind == 0x90 and d2[i] > 0:
            slot = count
            on_idx[slot] = i
            off_idx[slot] = -1
            keep[slot] = True
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
            if tick[on_idx[slot]] == tick[i]:
                keep[slot] = False  # zero-length: both stay plain events
            else:
                off_idx[slot] = i
    m = 0
    for s in range(count):
        if keep[s]:
            on_idx[m] = on_idx[s]
            off_idx[m] = off_idx[s]
            m += 1
    return on_idx[:m], off_idx[:m], m
