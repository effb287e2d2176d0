"""Which notes the engine has played in the current pass, in memory bounded by what moved.

Why: when a track's playback quantize changes mid-play, a note already played must not play
again because the new quantize moved it later (a doubled note), and a note not yet played
takes its new position. Remembering every played note did that, but grew with the song: a set
of ~60-110 MB after one pass of a 1M-note song.

How: the engine plays the time-sorted schedule from a cursor, so "played" has a canonical
answer that costs nothing: a note was played iff its position lies in ``[start, horizon)``,
the stretch this pass has covered (``start`` = where play began or the loop restarted,
``horizon`` = how far events have been handed out). That answer is only wrong for notes that
a quantize change moved *across* the horizon (or across the start), and those are all this
keeps, as exceptions:

- ``skip``: played, but now ahead of the horizon — skipped (and forgotten) when reached;
- ``unplayed``: not played, but now inside ``[start, horizon)`` — remembered only so that a
  later change moving it ahead again plays it.

Both are cleared when a pass starts (play, locate, loop wrap). A quantize change moves each
note by at most ``reach`` seconds (measured by :func:`track_moves` on the builder thread), so
the notes that can cross a boundary are found by a binary search in a window of that width:
the engine thread never scans the song.

Choices (documented and tested in tests/test_engine_pass_memory.py):

- Notes are identified by ``(track, note id)``, as before.
- A note that a change removes (merged into another note landing on the same start) is
  forgotten; if a later change brings it back ahead of the horizon, it plays there.
- A whole new song (``Engine.set_song``: edits, a tempo override) carries no move list: the
  canonical rule applies, so a note an edit drags from behind the playhead to ahead of it is
  heard when the playhead reaches it, as in Logic; notes an edit does not move are unaffected.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from engine.realtime.schedule import KIND_NOTE_ON


@dataclass(frozen=True, eq=False)
class TrackMoves:
    """How one track's notes moved between two schedules (positions in song seconds)."""

    track: int
    later_old: np.ndarray  #: old positions of notes moved later, ascending
    later_ids: np.ndarray
    later_reach: float  #: the largest move later (s)
    earlier_new: np.ndarray  #: new positions of notes moved earlier, ascending
    earlier_ids: np.ndarray
    earlier_reach: float  #: the largest move earlier (s)
    old_sec: np.ndarray  #: position by note id (see ``ids``); NaN where absent
    new_sec: np.ndarray
    ids: np.ndarray | None  #: the note id of each slot; ``None``: slot i is note id i

    def positions(self, note: int) -> tuple[float, float]:
        """``(old, new)`` position of ``note`` (NaN where absent)."""
        if self.ids is None:
            i = note if 0 <= note < self.old_sec.size else -1
        else:
            i = int(np.searchsorted(self.ids, note))
            if i >= self.ids.size or self.ids[i] != note:
                i = -1
        if i < 0:
            return math.nan, math.nan
        return float(self.old_sec[i]), float(self.new_sec[i])


def _note_ons(part: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    on = part[part["kind"] == KIND_NOTE_ON]
    return on["note"].astype(np.int64), on["sec"].astype(np.float64)


def track_moves(track: int, old_part: np.ndarray, new_part: np.ndarray) -> TrackMoves:
    """Compare one track's schedule part before and after a change (builder thread).

    Note ids are small whole numbers in practice (the editor numbers notes from 0), so
    positions are laid out by id directly (no sort: ~0.15 s for 1M notes); sparse or negative
    ids fall back to a sorted id table.
    """
    old_ids, old_secs = _note_ons(old_part)
    new_ids, new_secs = _note_ons(new_part)
    both = np.concatenate([old_ids, new_ids])
    lo = int(both.min()) if both.size else 0
    hi = int(both.max()) if both.size else -1
    if lo >= 0 and hi < 4 * both.size + 1024:
        ids, old_at, new_at, size = None, old_ids, new_ids, hi + 1
    else:
        ids = np.unique(both)
        old_at, new_at, size = (
            np.searchsorted(ids, old_ids),
            np.searchsorted(ids, new_ids),
            ids.size,
        )
    old_sec = np.full(size, np.nan)
    new_sec = np.full(size, np.nan)
    old_sec[old_at] = old_secs
    new_sec[new_at] = new_secs
    with np.errstate(invalid="ignore"):
        later = np.flatnonzero(new_sec > old_sec)  # NaN compares False: both present
        earlier = np.flatnonzero(new_sec < old_sec)
    later = later[np.argsort(old_sec[later], kind="stable")]
    earlier = earlier[np.argsort(new_sec[earlier], kind="stable")]
    return TrackMoves(
        track=track,
        later_old=old_sec[later],
        later_ids=later if ids is None else ids[later],
        later_reach=float((new_sec[later] - old_sec[later]).max()) if later.size else 0.0,
        earlier_new=new_sec[earlier],
        earlier_ids=earlier if ids is None else ids[earlier],
        earlier_reach=float((old_sec[earlier] - new_sec[earlier]).max()) if earlier.size else 0.0,
        old_sec=old_sec,
        new_sec=new_sec,
        ids=ids,
    )


def _window(sorted_secs: np.ndarray, ids: np.ndarray, edge: float, reach: float) -> np.ndarray:
    """Ids whose position lies in ``[edge - reach, edge)``."""
    lo = int(np.searchsorted(sorted_secs, edge - reach, side="left"))
    hi = int(np.searchsorted(sorted_secs, edge, side="left"))
    return ids[lo:hi]


class PassMemory:
    """The engine thread's record of what this pass played (see the module docstring)."""

    __slots__ = ("start_sec", "skip", "unplayed")

    def __init__(self) -> None:
        self.start_sec = 0.0
        self.skip: set[tuple[int, int]] = set()
        self.unplayed: set[tuple[int, int]] = set()

    def new_pass(self, start_sec: float) -> None:
        """A pass begins at ``start_sec`` (play, locate, loop wrap): nothing played yet."""
        self.start_sec = start_sec
        self.skip.clear()
        self.unplayed.clear()

    def __len__(self) -> int:
        return len(self.skip) + len(self.unplayed)

    def already_played(self, key: tuple[int, int]) -> bool:
        """At the horizon, about to play note ``key``: ``True`` if this pass played it."""
        if key in self.skip:
            self.skip.discard(key)  # behind the horizon from now on: the canonical rule holds
            return True
        return False

    def apply(self, moves: TrackMoves, horizon_sec: float) -> None:
        """A quantize change moved ``moves.track``'s notes; the horizon is ``horizon_sec``."""
        start, t = self.start_sec, moves.track
        candidates: set[int] = set()
        for edge in (horizon_sec, start):
            candidates.update(
                _window(moves.later_old, moves.later_ids, edge, moves.later_reach).tolist()
            )
            candidates.update(
                _window(moves.earlier_new, moves.earlier_ids, edge, moves.earlier_reach).tolist()
            )
        candidates.update(n for tr, n in self.skip if tr == t)
        candidates.update(n for tr, n in self.unplayed if tr == t)
        for note in candidates:
            key = (t, note)
            old, new = moves.positions(note)
            was_inside = start <= old < horizon_sec  # False for NaN (absent)
            played = key in self.skip or (was_inside and key not in self.unplayed)
            self.skip.discard(key)
            self.unplayed.discard(key)
            if math.isnan(new):
                continue  # removed by the change (merged): forgotten
            inside = start <= new < horizon_sec
            if played and not inside:
                self.skip.add(key)
            elif not played and inside:
                self.unplayed.add(key)
