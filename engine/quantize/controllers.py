"""Controllers follow notes (QUANTIZE_SPEC part 2, ``controllers = follow``).

Each control change, pitch bend, channel pressure and poly pressure event of a track moves by
the start shift of its *owner*: the latest note on the same channel whose original start is at
or before the event. Events before the channel's first note stay. Afterwards the events of one
channel keep their original order (a moved event never passes the one before it: its tick is
raised to the previous event's new tick) and never go below 0. Program changes, sysex and meta
events always stay.

Choices where the spec is silent (tests in tests/test_controllers_follow.py):

- **Several notes start on the owner's tick** (a chord, spread by flam or merged): the owner is
  the one that ends up *earliest*, so a bend or sustain set at a chord's tick still comes at
  or before the chord's first note, never in the middle of a strum.
- **Owners are notes of any selection state**: an unselected note has shift 0 and so holds
  its controllers in place.
- **Moved events keep their source order number** (``seq``): on one tick the writer puts them
  among the source events by that number, and before notes that moved there, so a CC that
  set up a note still comes before the note-on.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: Status nibbles of the events that follow their notes.
FOLLOW_KINDS = (0xA0, 0xB0, 0xD0, 0xE0)


def follower_mask(events: np.ndarray) -> np.ndarray:
    """Which events follow notes: CC, pitch bend, channel and poly pressure."""
    kind = events["status"] & 0xF0
    return (kind == 0xA0) | (kind == 0xB0) | (kind == 0xD0) | (kind == 0xE0)


@njit(cache=True, nogil=True)
def _follow_kernel(ev_tick, ev_status, note_start, note_channel, note_shift, order):
    """New event ticks: one merge walk over events (sorted by tick, seq) and notes (in
    ``order``, ascending start). Per channel it keeps the current owner (latest start; among
    notes on that start the smallest shift) and the last new tick (the order rule)."""
    own_start = np.full(16, -(2**62), np.int64)
    own_shift = np.zeros(16, np.int64)
    has_owner = np.zeros(16, np.bool_)
    last = np.zeros(16, np.int64)
    out = ev_tick.copy()
    p = 0
    n_notes = order.size
    for i in range(ev_tick.size):
        tick = ev_tick[i]
        while p < n_notes and note_start[order[p]] <= tick:
            r = order[p]
            c = note_channel[r]
            s = note_start[r]
            if not has_owner[c] or s > own_start[c]:
                own_start[c] = s
                own_shift[c] = note_shift[r]
                has_owner[c] = True
            elif note_shift[r] < own_shift[c]:
                own_shift[c] = note_shift[r]
            p += 1
        st = ev_status[i]
        kind = st & 0xF0
        if kind != 0xA0 and kind != 0xB0 and kind != 0xD0 and kind != 0xE0:
            continue
        c = st & 0x0F
        new = tick + own_shift[c] if has_owner[c] else tick
        new = max(new, 0, last[c])
        last[c] = new
        out[i] = new
    return out


def follow_notes(
    events: np.ndarray, notes: np.ndarray, shift: np.ndarray
) -> np.ndarray:
    """``events`` (EVENT_DTYPE, sorted by (tick, seq)) with followers moved; a new array sorted
    by (tick, seq), or ``events`` itself when nothing moves.

    ``notes`` are the track's notes *before* the quantize, ``shift`` the start shift of each.
    """
    if events.size == 0 or notes.size == 0 or not shift.any():
        return events
    start = np.ascontiguousarray(notes["start"])
    if start.size > 1 and np.any(start[1:] < start[:-1]):
        order = np.argsort(start, kind="stable")
    else:
        order = np.arange(start.size, dtype=np.int64)
    tick = np.ascontiguousarray(events["tick"])
    new = _follow_kernel(
        tick,
        np.ascontiguousarray(events["status"]),
        start,
        np.ascontiguousarray(notes["channel"]).astype(np.int64) & 15,
        np.ascontiguousarray(shift, dtype=np.int64),
        order,
    )
    if np.array_equal(new, tick):
        return events
    out = events.copy()
    out["tick"] = new
    seq = out["seq"]
    if int(new.max()) < 1 << 31 and int(seq.min()) >= 0:
        key = (new << 31) | seq.astype(np.int64)
        if np.all(key[1:] >= key[:-1]):
            return out
        order = np.argsort(key, kind="stable")
    else:
        order = np.lexsort((seq, new))
    return out[order]
