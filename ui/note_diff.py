"""What an edit changed in a track's note array, small enough to keep 500 undo steps of a
100k-note track.

An undo step that keeps whole "before" and "after" arrays costs 33 bytes per note of the track
(3.3 MB per step at 100k notes) even when the edit moved one note. A :class:`NoteSplice` keeps
only the rows that differ and where they sit: the rows of the old array that are gone
(positions and bytes) and the rows of the new array that are new. Every other note is the same
bytes in the same relative order in both arrays, because edits never reorder untouched notes
(the document sorts stably by start). Applying a splice to one array gives the other back
byte for byte, positions included, so undo/redo restore exactly what was there.

:func:`splice` matches notes by ``id`` and compares their bytes; when more than half of
the notes changed (a quantize of the whole track) it returns None and the caller keeps the
arrays themselves, which then cost no more than the splice would.
"""

from __future__ import annotations

import numpy as np


class NoteSplice:
    """Turns the old array into the new one (:meth:`forward`) and back (:meth:`backward`)."""

    __slots__ = ("old_at", "old_rows", "new_at", "new_rows")

    def __init__(self, old_at, old_rows, new_at, new_rows):
        self.old_at = old_at  #: positions (int32, ascending) in the old array of changed rows
        self.old_rows = old_rows  #: those rows
        self.new_at = new_at  #: positions in the new array of the rows that replace them
        self.new_rows = new_rows

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.old_at, self.old_rows, self.new_at, self.new_rows))

    def forward(self, old: np.ndarray) -> np.ndarray:
        return _apply(old, self.old_at, self.new_at, self.new_rows)

    def backward(self, new: np.ndarray) -> np.ndarray:
        return _apply(new, self.new_at, self.old_at, self.old_rows)


def _apply(src: np.ndarray, drop_at, put_at, put_rows) -> np.ndarray:
    size = src.size - drop_at.size + put_at.size
    keep = np.ones(src.size, dtype=bool)
    keep[drop_at] = False
    slots = np.ones(size, dtype=bool)
    slots[put_at] = False
    out = np.empty(size, dtype=src.dtype)
    rows = _rows(out)  # a view: writing rows writes ``out``
    rows[slots] = _rows(src)[keep]
    rows[put_at] = _rows(put_rows)
    return out


def _rows(a: np.ndarray) -> np.ndarray:
    """Each note as one opaque value: gathering these is ~20x faster than gathering rows of
    the packed structured dtype (which goes field by field)."""
    a = np.ascontiguousarray(a)
    return a.view(np.dtype((np.void, a.dtype.itemsize)))


def _same_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Row-by-row byte equality of two contiguous void arrays, compared 8 bytes at a time
    (numpy's own void comparison is several times slower)."""
    size = x.dtype.itemsize
    offsets = list(range(0, size - 7, 8))
    tail = list(range(offsets[-1] + 8 if offsets else 0, size))
    dt = np.dtype(
        {
            "names": [f"f{i}" for i in range(len(offsets) + len(tail))],
            "formats": ["<u8"] * len(offsets) + ["u1"] * len(tail),
            "offsets": offsets + tail,
            "itemsize": size,
        }
    )
    xa, ya = x.view(dt), y.view(dt)
    eq = np.ones(x.size, dtype=bool)
    for name in dt.names:
        eq &= xa[name] == ya[name]
    return eq


#: Above this many runs of consecutive matched rows, rows are gathered and compared at once.
_MAX_RUNS = 256


def _same_matched(old: np.ndarray, new: np.ndarray, at_old, at_new) -> np.ndarray:
    """Which matched rows (``old[at_old[k]]`` vs ``new[at_new[k]]``) have equal bytes.

    An edit leaves long runs of untouched notes that sit side by side in both arrays; each run
    is compared in place, as two slices, instead of gathering 3 MB of rows per array (which on
    a loaded machine costs more in page faults than the comparison itself)."""
    if not at_old.size:
        return np.zeros(0, dtype=bool)
    cut = np.flatnonzero((np.diff(at_old) != 1) | (np.diff(at_new) != 1)) + 1
    if cut.size >= _MAX_RUNS:
        return _same_rows(old[at_old], new[at_new])
    bounds = np.concatenate(([0], cut, [at_old.size])).tolist()
    o, n = at_old[bounds[:-1]].tolist(), at_new[bounds[:-1]].tolist()
    out = np.empty(at_old.size, dtype=bool)
    for k in range(len(bounds) - 1):
        a, b = bounds[k], bounds[k + 1]
        out[a:b] = _same_rows(old[o[k] : o[k] + b - a], new[n[k] : n[k] + b - a])
    return out


def _positions_by_id(ids: np.ndarray, size_hint: int) -> tuple[np.ndarray, int] | None:
    """A table id -> position (-1: none). None when ids are negative, repeated or too sparse
    for a table to be cheap."""
    if not ids.size:
        return np.full(1, -1, np.int32), 0
    lo, hi = int(ids.min()), int(ids.max())
    if lo < 0 or hi > 4 * size_hint + 1024:
        return None
    table = np.full(hi + 1, -1, np.int32)
    table[ids] = np.arange(ids.size, dtype=np.int32)
    if int(np.count_nonzero(table >= 0)) != ids.size:
        return None  # repeated ids: rows cannot be matched by id
    return table, hi


def splice(old: np.ndarray, new: np.ndarray) -> NoteSplice | None:
    """The splice from ``old`` to ``new``, or None when it would not be smaller than the
    arrays (most notes changed) or the notes cannot be matched by id."""
    found = _positions_by_id(new["id"], max(old.size, new.size))
    if found is None:
        return None
    table, hi = found
    old_ids = old["id"]
    where = np.full(old.size, -1, np.int32)
    inside = (old_ids >= 0) & (old_ids <= hi)
    where[inside] = table[old_ids[inside]]
    common = np.flatnonzero(where >= 0)
    common = common[_same_matched(_rows(old), _rows(new), common, where[common])]
    if common.size and np.any(np.diff(where[common]) <= 0):
        return None  # untouched notes changed order: not a splice
    changed = (old.size - common.size) + (new.size - common.size)
    if 2 * changed > old.size + new.size:
        return None
    old_keep = np.zeros(old.size, dtype=bool)
    old_keep[common] = True
    new_keep = np.zeros(new.size, dtype=bool)
    new_keep[where[common]] = True
    old_at = np.flatnonzero(~old_keep).astype(np.int32)
    new_at = np.flatnonzero(~new_keep).astype(np.int32)
    # forward(old) == new byte for byte, by construction: the kept rows are equal bytes,
    # their places in ``new`` (where[common]) strictly increase and are exactly the slots
    # new_at leaves free, and ids in ``new`` are unique (so no row is matched twice).
    # tests/test_ui_undo_memory.py checks it on random edits.
    old_rows = _rows(old)[old_at].view(old.dtype)
    return NoteSplice(old_at, old_rows, new_at, _rows(new)[new_at].view(new.dtype))
