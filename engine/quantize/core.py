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


def _work_dtype(notes: np.ndarray, lat: Lattice, strength_den: int):
    """int64 when the scaled products fit, else Python ints (object arrays)."""
    if notes.size == 0:
        return np.int64
    top = max(abs(int(notes["start"].min())), abs(int(notes["end"].max())), 1)
    top = max(top, abs(lat.origin) // lat.scale + 1, int(lat.length_step) + 1)
    bound = 8 * (top + 4 * int(lat.step) + 4) * lat.scale * strength_den
    return np.int64 if bound < _INT64_SAFE else object


def _target(a: np.ndarray, lat: Lattice):
    """Nearest grid point (absolute, scaled) and the signed distance ``d = t - q(t)``."""
    u = a - lat.origin
    q = lat.nearest(u)
    return q + lat.origin, u - q


def _caught(d: np.ndarray, sel: np.ndarray, lat: Lattice) -> np.ndarray:
    ad = np.abs(d)
    ok = sel & (ad > lat.exclude) & (d != 0)
    if lat.catch is not None:
        ok &= ad <= lat.catch
    return ok


def _move(a: np.ndarray, qa: np.ndarray, sn: int, sd: int) -> np.ndarray:
    """``t + strength*(max(q,0) - t)`` in units of ``1/(scale*sd)``."""
    return a * sd + sn * (np.maximum(qa, 0) - a)


def _first_point_after(start: np.ndarray, lat: Lattice) -> np.ndarray:
    """The first grid point that rounds to a tick after ``start`` (ticks), as ticks."""
    need = start * lat.scale + (lat.scale + 1) // 2 - lat.origin
    p = lat.at_or_after(need) + lat.origin
    return np.maximum(round_half_up(p, lat.scale), start + 1)


def _new_positions(notes, sel, settings, lat, dt):
    """New starts and ends before the guards, plus the start category masks."""
    s = percent(settings.strength)
    sn, sd = s.numerator, s.denominator
    t = notes["start"].astype(dt)
    e = notes["end"].astype(dt)
    at = t * lat.scale
    qa, d = _target(at, lat)
    caught = _caught(d, sel, lat)
    xs = np.where(caught, _move(at, qa, sn, sd), at * sd)
    den = lat.scale * sd
    new_start = round_half_up(xs, den)
    cats = {
        "on_grid": sel & (d == 0),
        "excluded": sel & (d != 0) & (np.abs(d) <= lat.exclude),
    }
    cats["outside_catch"] = sel & ~caught & ~cats["on_grid"] & ~cats["excluded"]

    mode = settings.ends
    if mode == "keep-length":
        new_end = new_start + (e - t)
    elif mode == "keep-ends":
        new_end = e
    elif mode == "quantize-ends":
        ae = e * lat.scale
        qe, de = _target(ae, lat)
        caught_e = _caught(de, sel, lat)
        new_end = np.where(caught_e, round_half_up(_move(ae, qe, sn, sd), den), e)
    else:  # quantize-lengths
        length = e - t
        ln, ld = lat.length_step.numerator, lat.length_step.denominator
        mult = np.maximum(1, round_half_up(length * ld, ln))
        lq = mult * lat.length
        new_len = length * lat.scale * sd + sn * (lq - length * lat.scale)
        new_end = np.where(sel, round_half_up(xs + new_len, den), e)
    return new_start, new_end, cats


def _fix_ends(new_start, new_end, moved, settings, lat):
    """Guard 1: no moved note ends at or before its start."""
    bad = moved & (new_end <= new_start)
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


def _merge_and_trim(out: np.ndarray, src: np.ndarray, moved: np.ndarray):
    """Guards 2 and 3 on notes already sorted by (channel, pitch, new start, source order)."""
    n = out.size
    if n < 2:
        return out, src, 0, 0
    start, ch, pitch = out["start"], out["channel"], out["pitch"]
    same_key = np.zeros(n, dtype=bool)
    same_key[1:] = (ch[1:] == ch[:-1]) & (pitch[1:] == pitch[:-1])
    same_start = same_key.copy()
    same_start[1:] &= start[1:] == start[:-1]

    merged = 0
    if same_start.any():
        heads = np.flatnonzero(~same_start)
        group_moved = np.logical_or.reduceat(moved, heads)
        sizes = np.diff(np.append(heads, n))
        merge_group = group_moved & (sizes > 1)
        if merge_group.any():
            ends = np.maximum.reduceat(out["end"], heads)
            vels = np.maximum.reduceat(out["velocity"], heads)
            out = out.copy()
            mh = heads[merge_group]
            out["end"][mh] = ends[merge_group]
            out["velocity"][mh] = vels[merge_group]
            group_of = np.cumsum(~same_start) - 1
            keep = ~same_start | ~merge_group[group_of]
            merged = int(n - keep.sum())
            out, src, moved = out[keep], src[keep], moved[keep].copy()
            moved[np.searchsorted(np.flatnonzero(keep), mh)] = True
            n = out.size
            start, ch, pitch = out["start"], out["channel"], out["pitch"]
            same_key = np.zeros(n, dtype=bool)
            same_key[1:] = (ch[1:] == ch[:-1]) & (pitch[1:] == pitch[:-1])

    over = np.zeros(n, dtype=bool)
    over[:-1] = same_key[1:] & (out["end"][:-1] > start[1:]) & (moved[:-1] | moved[1:])
    trimmed = int(over.sum())
    if trimmed:
        if not out.flags.owndata:
            out = out.copy()
        idx = np.flatnonzero(over)
        out["end"][idx] = start[idx + 1]
    return out, src, trimmed, merged


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
    sel = np.ones(n, dtype=bool) if selected is None else np.asarray(selected, dtype=bool)
    if sel.shape != (n,):
        raise ValueError("selected must be a bool mask with one entry per note")
    lat = lattice(settings, ppq)
    dt = _work_dtype(notes, lat, percent(settings.strength).denominator)
    new_start, new_end, cats = _new_positions(notes, sel, settings, lat, dt)
    t, e = notes["start"], notes["end"]
    new_start = new_start.astype(np.int64)
    new_end = new_end.astype(np.int64)
    moved = (new_start != t) | (new_end != e)
    new_end, ends_fixed = _fix_ends(new_start, new_end, moved, settings, lat)

    out = notes.copy()
    out["start"] = new_start
    out["end"] = new_end
    report = QuantizeReport(
        total=n,
        moved=int(moved.sum()),
        on_grid=int(cats["on_grid"].sum()),
        excluded=int(cats["excluded"].sum()),
        outside_catch=int(cats["outside_catch"].sum()),
        not_selected=int(n - sel.sum()),
        ends_fixed=ends_fixed,
    )
    if not moved.any():
        order = np.lexsort((out["channel"], out["pitch"], out["start"]))
        return QuantizeResult(out[order], order.astype(np.int64), report)

    # One sort for the guards: (channel, pitch, new start, original start, input order).
    order = np.lexsort((t, out["start"], out["pitch"], out["channel"]))
    g_out, g_src, trimmed, merged = _merge_and_trim(out[order], order, moved[order])
    report.trimmed, report.merged = trimmed, merged
    final = np.lexsort((g_out["channel"], g_out["pitch"], g_out["start"]))
    return QuantizeResult(g_out[final], g_src[final].astype(np.int64), report)


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
