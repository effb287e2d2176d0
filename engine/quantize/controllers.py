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

#: Status nibbles of the events that follow their notes.
FOLLOW_KINDS = (0xA0, 0xB0, 0xD0, 0xE0)
_CH_SHIFT = 44  #: channel << 44 | tick packs both while ticks stay below 2**44


def follower_mask(events: np.ndarray) -> np.ndarray:
    """Which events follow notes: CC, pitch bend, channel and poly pressure."""
    kind = events["status"] & 0xF0
    return (kind == 0xA0) | (kind == 0xB0) | (kind == 0xD0) | (kind == 0xE0)


def owner_shifts(
    note_start: np.ndarray,
    note_channel: np.ndarray,
    note_shift: np.ndarray,
    ev_tick: np.ndarray,
    ev_channel: np.ndarray,
) -> np.ndarray:
    """The shift of each event's owner note (0 where the channel has no note at or before it).

    ``note_start`` are the notes' *original* starts, ``note_shift`` their final start minus
    original start.
    """
    out = np.zeros(ev_tick.size, dtype=np.int64)
    if note_start.size == 0 or ev_tick.size == 0:
        return out
    top = max(int(note_start.max()), int(ev_tick.max()))
    if top >= 1 << _CH_SHIFT or int(note_start.min()) < 0 or int(ev_tick.min()) < 0:
        for c in np.unique(ev_channel):
            nm = note_channel == c
            em = ev_channel == c
            out[em] = _owner_slow(note_start[nm], note_shift[nm], ev_tick[em])
        return out
    nkey = (note_channel.astype(np.int64) << _CH_SHIFT) | note_start
    order = np.argsort(nkey, kind="stable")
    ks = nkey[order]
    sh = note_shift[order]
    first = np.ones(ks.size, dtype=bool)
    first[1:] = ks[1:] != ks[:-1]
    heads = np.flatnonzero(first)
    gkey = ks[heads]
    gshift = np.minimum.reduceat(sh, heads)
    ekey = (ev_channel.astype(np.int64) << _CH_SHIFT) | ev_tick
    pos = np.searchsorted(gkey, ekey, side="right") - 1
    ok = pos >= 0
    pos_c = np.maximum(pos, 0)
    ok &= (gkey[pos_c] >> _CH_SHIFT) == ev_channel
    out[ok] = gshift[pos_c[ok]]
    return out


def _owner_slow(note_start, note_shift, ev_tick):
    """One channel, any tick range (lexsort instead of packed keys)."""
    out = np.zeros(ev_tick.size, dtype=np.int64)
    if note_start.size == 0:
        return out
    order = np.lexsort((note_shift, note_start))
    s = note_start[order]
    first = np.ones(s.size, dtype=bool)
    first[1:] = s[1:] != s[:-1]
    heads = np.flatnonzero(first)
    gs = s[heads]
    gsh = note_shift[order][heads]  # lexsort by shift within a start: head is the minimum
    pos = np.searchsorted(gs, ev_tick, side="right") - 1
    ok = pos >= 0
    out[ok] = gsh[pos[ok]]
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
    fol = np.flatnonzero(follower_mask(events))
    if fol.size == 0:
        return events
    tick = events["tick"][fol]
    ch = (events["status"][fol] & 0x0F).astype(np.int64)
    s = owner_shifts(
        np.ascontiguousarray(notes["start"]),
        notes["channel"].astype(np.int64),
        shift,
        tick,
        ch,
    )
    if not s.any():
        return events
    new = tick + s
    np.maximum(new, 0, out=new)
    # keep each channel's order: a running maximum along each channel in source order
    by_ch = np.argsort(ch, kind="stable")  # source order (events are sorted) within a channel
    nc = new[by_ch]
    cc = ch[by_ch]
    top = int(nc.max()) + 1
    if top < 1 << 58:
        packed = nc + cc * top
        np.maximum.accumulate(packed, out=packed)
        nc = packed - cc * top
    else:
        for c in np.unique(cc):
            m = cc == c
            nc[m] = np.maximum.accumulate(nc[m])
    new[by_ch] = nc
    if np.array_equal(new, tick):
        return events
    out = events.copy()
    out["tick"][fol] = new
    key_tick = out["tick"]
    if key_tick.size and int(key_tick.max()) < 1 << 31 and int(out["seq"].min()) >= 0:
        order = np.argsort((key_tick << 31) | out["seq"].astype(np.int64), kind="stable")
    else:
        order = np.lexsort((out["seq"], key_tick))
    return out[order]
