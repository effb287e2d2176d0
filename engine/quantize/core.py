"""Quantizing a note array: the one offline definition of QUANTIZE_SPEC.

Everything is vectorised: whole columns are computed in exact integer *scaled units* (see
:mod:`engine.quantize.grid`) and each result is rounded to a whole tick once, at the end, half
up. The guards (end after start, same-pitch overlap trim, merge of notes landing together) use
one sort and shifted compares, never a Python loop per note.

Choices where the spec is silent (as a Logic/Cubase user expects; each has a test):

- **Clamping at 0.** The lattice runs both ways from the origin, so with an offset the nearest
  grid point of an early note can lie before tick 0. The *target* is clamped to 0 and the
  strength then moves the note that share of the way to 0. The ranges (exclude, catch) are
  measured to the real nearest grid point.
- **Swing and the ranges.** ``d`` is measured to the nearest *swung* grid point, so exclude and
  catch are judged against the grid the note is actually pulled to (as Logic's Q-Range does).
  The thresholds stay in percent of the straight step ``G``.
- **quantize-ends.** The end is judged on its own: a note whose start sits in the safe zone (or
  outside the catch range) can still have its end quantized, and the other way round. This is
  Cubase's "quantize ends" behaviour and what a player tidying note-offs expects.
- **quantize-lengths.** The ranges do not apply to lengths (spec), so every selected note gets
  its length quantized even when its start stays. The new end is the *unrounded* new start
  plus the new length, rounded once: with a fractional grid, back-to-back notes stay legato.
- **keep-ends / end guard.** If only the start moves and lands on or after the kept end, the
  end goes to the first grid point after the new start (the same guard as the other modes).
  The guard's grid point is the first one that rounds to a tick after the new start.
- **Guards act on moved notes.** A note counts as moved when its start or end changed. The
  overlap trim looks at each pair of same pitch/channel notes that are neighbours in order of
  new start and trims the earlier one if either of the two moved (a moved note landing inside
  an unmoved one shortens the unmoved one, as in Logic); overlaps that were already in the
  source between two unmoved notes are kept. A group of notes landing on one start is merged
  if any of them moved; the kept row is the earliest in the source (lowest original start,
  then input order) and keeps its identity (id, on_seq, off_seq, flags), with the group's
  latest end and highest velocity.
- **Not selected** notes are never moved, but a moved note can still be trimmed against them
  (it is the moved note that is trimmed, or the unmoved earlier one it landed in).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.notes import NOTE_DTYPE
from engine.quantize.grid import Lattice, lattice, percent, round_half_up
from engine.quantize.settings import QuantizeSettings

#: int64 holds the scaled arithmetic when |ticks| * scale * strength-denominator stays below
#: this; beyond it the quantizer falls back to Python integers (slow but exact).
_INT64_SAFE = 2**60


@dataclass
class QuantizeReport:
    """What one quantize did, note by note category (counts of input notes)."""

    total: int = 0  #: notes in the input
    moved: int = 0  #: notes whose start or end changed
    on_grid: int = 0  #: selected notes whose start was already on a grid point
    excluded: int = 0  #: starts inside the exclude-within safe zone (off the grid)
    outside_catch: int = 0  #: starts farther from the grid than catch-within
    not_selected: int = 0  #: notes outside the selection / filter
    trimmed: int = 0  #: ends cut back to the next same-pitch note's start
    merged: int = 0  #: notes folded into another that landed on the same start
    ends_fixed: int = 0  #: ends moved because they would have come at or before the start

    def __add__(self, other: QuantizeReport) -> QuantizeReport:
        return QuantizeReport(
            **{k: getattr(self, k) + getattr(other, k) for k in self.__dataclass_fields__}
        )

    def left_alone(self) -> int:
        """Selected notes that were off the grid but left where they were by the ranges."""
        return self.excluded + self.outside_catch

    def summary(self) -> str:
        """One line for a musician: what moved, what the ranges left alone, what the guards did."""
        parts = [f"{self.moved} of {self.total} notes moved"]
        if self.on_grid:
            parts.append(f"{self.on_grid} already on the grid")
        if self.excluded:
            parts.append(f"{self.excluded} left alone by exclude-within")
        if self.outside_catch:
            parts.append(f"{self.outside_catch} left alone outside catch-within")
        if self.not_selected:
            parts.append(f"{self.not_selected} not selected")
        parts.append(f"{self.trimmed} trimmed")
        parts.append(f"{self.merged} merged")
        if self.ends_fixed:
            parts.append(f"{self.ends_fixed} ends fixed")
        return ", ".join(parts)


@dataclass
class QuantizeResult:
    """The quantized notes, where each came from, and what happened."""

    notes: np.ndarray  #: NOTE_DTYPE, sorted by (start, pitch, channel)
    source: np.ndarray  #: int64: index into the input of each output row
    report: QuantizeReport = field(default_factory=QuantizeReport)


def _work_dtype(t: np.ndarray, e: np.ndarray, lat: Lattice, strength_den: int):
    """int64 when the scaled products fit, else Python ints (object arrays)."""
    if t.size == 0:
        return np.int64
    top = max(abs(int(t.min())), abs(int(e.max())), 1)
    top = max(top, abs(lat.origin) // lat.scale + 1, int(lat.length_step) + 1)
    bound = 8 * (top + 4 * int(lat.step) + 4) * lat.scale * strength_den
    return np.int64 if bound < _INT64_SAFE else object


def _shift(a: np.ndarray, sel: np.ndarray | None, lat: Lattice):
    """For scaled positions ``a``: the move to the (clamped) target, zero where not caught.

    Returns ``(shift, |d|, caught)`` with ``d = t - q(t)`` measured to the real grid point.
    ``sel=None`` selects every note.
    """
    u = a - lat.origin if lat.origin else a
    d = lat.distance(u)
    ad = np.abs(d)
    caught = ad > lat.exclude  # exclude >= 0, so this also leaves notes already on the grid
    if sel is not None:
        caught &= sel
    if lat.catch is not None:
        caught &= ad <= lat.catch
    shift = np.negative(d, out=d)
    if lat.origin:  # only an offset grid has points a note can reach before tick 0: clamp
        np.maximum(shift, -a, out=shift)
    shift *= caught
    return shift, ad, caught


def _moved_to(a: np.ndarray, shift: np.ndarray, sn: int, sd: int) -> np.ndarray:
    """``t + strength*(target - t)`` in units of ``1/(scale*sd)``; reuses ``shift``."""
    if sn != sd:
        shift *= sn
        shift += a * sd
    else:
        shift += a
    return shift


def _first_point_after(start: np.ndarray, lat: Lattice) -> np.ndarray:
    """The first grid point that rounds to a tick after ``start`` (ticks), as ticks."""
    need = start * lat.scale + (lat.scale + 1) // 2 - lat.origin
    p = lat.at_or_after(need) + lat.origin
    return np.maximum(round_half_up(p, lat.scale), start + 1)


def _round(x: np.ndarray, den: int) -> np.ndarray:
    return x if den == 1 else round_half_up(x, den)


def _count(mask: np.ndarray, sel: np.ndarray | None) -> int:
    return int(np.count_nonzero(mask if sel is None else mask & sel))


def _new_positions(t, e, sel, settings, lat):
    """New starts and ends before the guards, plus the report's start categories (counts)."""
    s = percent(settings.strength)
    sn, sd = s.numerator, s.denominator
    den = lat.scale * sd
    dt = _work_dtype(t, e, lat, sd)
    t, e = t.astype(dt, copy=False), e.astype(dt, copy=False)
    at = t * lat.scale if lat.scale != 1 else t
    shift, ad, caught = _shift(at, sel, lat)
    xs = _moved_to(at, shift, sn, sd)
    new_start = _round(xs, den)
    selected = t.size if sel is None else int(np.count_nonzero(sel))
    on_grid = _count(ad == 0, sel)
    excluded = _count(ad <= lat.exclude, sel) - on_grid
    cats = {
        "on_grid": on_grid,
        "excluded": excluded,
        "outside_catch": selected - int(np.count_nonzero(caught)) - on_grid - excluded,
    }

    mode = settings.ends
    if mode == "keep-length":
        new_end = e - t
        new_end += new_start
    elif mode == "keep-ends":
        new_end = e
    elif mode == "quantize-ends":
        ae = e * lat.scale if lat.scale != 1 else e
        shift_e, _, _ = _shift(ae, sel, lat)
        new_end = _round(_moved_to(ae, shift_e, sn, sd), den)
    else:  # quantize-lengths
        length = e - t
        ln, ld = lat.length_step.numerator, lat.length_step.denominator
        mult = np.maximum(1, round_half_up(length * ld, ln))
        lq = mult * lat.length
        new_len = length * lat.scale * sd + sn * (lq - length * lat.scale)
        new_end = round_half_up(xs + new_len, den)
        if sel is not None:
            new_end = np.where(sel, new_end, e)
    return new_start, new_end, cats


def _fix_ends(new_start, new_end, moved, settings, lat):
    """Guard 1: no moved note ends at or before its start."""
    bad = new_end <= new_start
    bad &= moved
    if not bad.any():
        return new_end, 0
    s = new_start[bad]
    if settings.ends == "quantize-lengths":
        step = max(1, int(round_half_up(np.array([lat.length]), lat.scale)[0]))
        fixed = s + step
    else:
        fixed = _first_point_after(s, lat)
    new_end = new_end.copy()
    new_end[bad] = fixed
    return new_end, int(bad.sum())


def _playing_order(start: np.ndarray, pitch_channel: np.ndarray) -> np.ndarray:
    """Indices sorting by (start, pitch, channel); ties keep input order (the source order).

    ``pitch_channel`` is ``pitch*16 + channel`` (int16).

    One int64 key and a stable sort: quantized clips come in nearly sorted, which timsort
    handles in a few ms for a million notes (a 3-key lexsort takes ~10x longer).
    """
    if start.size and max(abs(int(start.min())), abs(int(start.max()))) >= 2**51:
        return np.lexsort((pitch_channel, start))  # ticks too large to pack into one key
    key = start << 11
    key |= pitch_channel
    return np.argsort(key, kind="stable")


def _guards(start, end, velocity, voice, moved):
    """Guards 2 and 3 on contiguous columns in playing order.

    Returns ``(end, velocity, keep, trimmed, merged)`` in playing order; ``end`` and
    ``velocity`` are updated in place. ``voice`` identifies (pitch, channel); a stable radix sort on it groups each voice and keeps the playing
    order inside it, so neighbours are compared with shifted slices. Merges are rare, so the
    group reductions run on the few rows involved only; the full-length work is a handful of
    vector compares.
    """
    n = start.size
    keep = np.ones(n, dtype=bool)
    if n < 2:
        return end, velocity, keep, 0, 0
    by_voice = np.argsort(voice, kind="stable")
    s, e, vo, mv = start[by_voice], end[by_voice], voice[by_voice], moved[by_voice]
    same_voice = vo[1:] == vo[:-1]  # row i+1 vs row i
    same_start = same_voice & (s[1:] == s[:-1])

    merged = 0
    dups = np.flatnonzero(same_start) + 1  # rows that share a start with the row before
    if dups.size:
        rows = np.union1d(dups - 1, dups)  # every member of a same-start group
        head_mask = ~np.isin(rows, dups)
        heads = np.flatnonzero(head_mask)  # group starts, as positions in ``rows``
        group = np.cumsum(head_mask) - 1
        merge = np.logical_or.reduceat(mv[rows], heads)[group]
        if merge.any():
            members = rows[merge]
            grp = group[merge]
            first = np.flatnonzero(np.diff(grp, prepend=-1))  # first member of each group
            v = velocity[by_voice[members]]
            top_end = np.maximum.reduceat(e[members], first)
            top_vel = np.maximum.reduceat(v, first)
            # Every member takes the merged values so that the last one trims like the head.
            e[members] = np.repeat(top_end, np.diff(np.append(first, members.size)))
            mv[members] = True
            velocity[by_voice[members[first]]] = top_vel
            dropped = members[~np.isin(np.arange(members.size), first)]
            keep[by_voice[dropped]] = False
            merged = int(dropped.size)
            last = np.append(first[1:], members.size) - 1
            head_rows, last_rows = members[first], members[last]

    over = same_voice & ~same_start & (e[:-1] > s[1:]) & (mv[:-1] | mv[1:])
    idx = np.flatnonzero(over)
    e[idx] = s[idx + 1]
    trimmed = idx.size
    if merged:
        e[head_rows] = e[last_rows]  # the head takes the trim its group's last member got
    end[by_voice[idx]] = e[idx]
    if merged:
        end[by_voice[head_rows]] = e[head_rows]
    return end, velocity, keep, int(trimmed), merged


def quantize_notes(
    notes: np.ndarray,
    settings: QuantizeSettings,
    ppq: int,
    selected: np.ndarray | None = None,
) -> QuantizeResult:
    """Quantize ``notes`` (NOTE_DTYPE) non-destructively from their current positions.

    ``selected`` is a bool mask of the notes to quantize (``None`` = all). Returns new notes
    sorted by (start, pitch, channel), the input index of each output row and a report. Moved
    notes keep their id, seq and flags; strength 0 returns every note exactly as it was.
    """
    assert notes.dtype == NOTE_DTYPE
    n = notes.size
    sel = None if selected is None else np.asarray(selected, dtype=bool)
    if sel is not None and sel.shape != (n,):
        raise ValueError("selected must be a bool mask with one entry per note")
    lat = lattice(settings, ppq)
    t = np.ascontiguousarray(notes["start"])
    e = np.ascontiguousarray(notes["end"])
    new_start, new_end, cats = _new_positions(t, e, sel, settings, lat)
    new_start = new_start.astype(np.int64, copy=False)
    new_end = new_end.astype(np.int64, copy=False)
    moved = new_start != t
    moved |= new_end != e
    new_end, ends_fixed = _fix_ends(new_start, new_end, moved, settings, lat)
    report = QuantizeReport(
        total=n,
        moved=int(np.count_nonzero(moved)),
        not_selected=0 if sel is None else int(n - np.count_nonzero(sel)),
        **cats,
        ends_fixed=ends_fixed,
    )
    pitch_channel = notes["pitch"].astype(np.int16) << 4
    pitch_channel |= notes["channel"]
    order = _playing_order(new_start, pitch_channel)
    # Work on contiguous columns (gathers from a packed record array's fields are slow), in
    # int32 when the ticks fit: the guards' gathers are memory-bound and halve in cost.
    fits32 = n and int(new_end.max()) < 2**31 and int(new_start.min()) >= -(2**31)
    col = np.int32 if fits32 else np.int64
    start, end = new_start.astype(col)[order], new_end.astype(col)[order]
    out = np.take(notes, order)  # fancy indexing a packed record array is ~20x slower
    if report.moved:
        voice = pitch_channel[order]
        velocity = np.ascontiguousarray(notes["velocity"])[order]
        end, velocity, keep, report.trimmed, report.merged = _guards(
            start, end, velocity, voice, moved[order]
        )
        out["velocity"] = velocity
    out["start"] = start
    out["end"] = end
    if report.merged:
        rows = np.flatnonzero(keep)
        out, order = np.take(out, rows), order[rows]
    return QuantizeResult(out, order.astype(np.int64, copy=False), report)


def iterative_quantize(
    notes: np.ndarray,
    settings: QuantizeSettings,
    ppq: int,
    selected: np.ndarray | None = None,
) -> QuantizeResult:
    """Cubase's iterative quantize (iQ): move ``strength`` % of the *remaining* distance.

    :func:`quantize_notes` is the non-destructive quantize: the app always applies it to the
    raw recorded notes, so setting the strength twice never compounds. This function is the
    explicit, destructive alternative: it quantizes the notes as they are *now*, so each apply
    closes another ``strength`` % of the gap (50 % twice leaves 25 % of the original distance).
    The caller replaces the stored notes with the result.
    """
    return quantize_notes(notes, settings, ppq, selected)
