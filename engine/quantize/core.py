"""Quantizing a note array: the one offline definition of QUANTIZE_SPEC.

Positions are computed in exact integer *scaled units* (see :mod:`engine.quantize.grid`) and
each result is rounded to a whole tick once, at the end, half up. The per-note arithmetic and
the guards (end after start, same-pitch overlap trim, merge of notes landing together) run as
compiled passes (:mod:`engine.quantize.kernels`) whenever the scaled values fit int64; the
numpy code here is the exact Python-int fallback for larger ticks. Never a Python loop per
note.

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

from engine.model.notes import NOTE_DTYPE
from engine.model.tempo import TempoMap
from engine.quantize import kernels
from engine.quantize.grid import Lattice, lattice, percent, round_half_up
from engine.quantize.groove import groove_positions, resolve_groove
from engine.quantize.humanize import add_flam, flam_offsets, humanize
from engine.quantize.settings import QuantizeSettings, parse_grid_text

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
    no_point: int = 0  #: with a groove: selected notes whose slot holds no groove point

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
        if self.no_point:
            parts.append(f"{self.no_point} in slots without a groove point")
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
    #: int64 per *input* note: its final start minus its original start (a merged note: the
    #: shift of the note it was merged into). Computed when ``controllers`` is ``follow``.
    shift: np.ndarray | None = None


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


def _playing_order(start: np.ndarray, voice: np.ndarray) -> np.ndarray:
    """Indices sorting by (start, pitch, channel); ties keep input order (the source order).

    ``voice`` is ``pitch*16 + channel`` (int16). Quantized clips come in nearly sorted, which
    a compiled insertion sort finishes in one pass; input far from sorted goes to a stable
    sort of one packed int64 key, ticks too large to pack to a lexsort.
    """
    if start.size and max(abs(int(start.min())), abs(int(start.max()))) >= 2**51:
        return np.lexsort((voice, start))
    order = kernels.playing_order(start, voice)
    if order is None:
        key = start << 11
        key |= voice
        order = np.argsort(key, kind="stable")
    return order


def _fast_positions(t, e, sel, settings, lat):
    """The compiled equivalent of :func:`_new_positions` + :func:`_fix_ends` (int64 path)."""
    s = percent(settings.strength)
    ln, ld = lat.length_step.numerator, lat.length_step.denominator
    len_fix = max(1, int(round_half_up(np.array([lat.length]), lat.scale)[0]))
    params = (
        lat.scale,
        lat.pair,
        lat.mid,
        lat.origin,
        lat.exclude,
        2**62 if lat.catch is None else lat.catch,  # no distance reaches 2**62: all caught
        lat.length,
    )
    has_sel = sel is not None
    sel_arr = sel if has_sel else np.zeros(0, dtype=bool)
    new_start, new_end, moved, counts = kernels.positions(
        t,
        e,
        sel_arr,
        has_sel,
        params,
        s.numerator,
        s.denominator,
        kernels.MODE_CODES[settings.ends],
        ln,
        ld,
        len_fix,
    )
    selected, on_grid, within, caught, ends_fixed = (int(c) for c in counts)
    cats = {
        "on_grid": on_grid,
        "excluded": within - on_grid,
        "outside_catch": selected - caught - within,
    }
    return new_start, new_end, moved, cats, ends_fixed


def _positions(t, e, sel, settings, lat):
    """New starts and ends with guard 1 applied, which notes moved, the start categories."""
    if _work_dtype(t, e, lat, percent(settings.strength).denominator) is np.int64:
        return _fast_positions(t, e, sel, settings, lat)
    new_start, new_end, cats = _new_positions(t, e, sel, settings, lat)
    new_start = new_start.astype(np.int64)
    new_end = new_end.astype(np.int64)
    moved = new_start != t
    moved |= new_end != e
    new_end, ends_fixed = _fix_ends(new_start, new_end, moved, settings, lat)
    return new_start, new_end, moved, cats, ends_fixed


def _base_lattice(settings: QuantizeSettings, template, ppq: int) -> Lattice:
    """The straight lattice of a groove's base (for the end guard after humanize/flam)."""
    n, kind = parse_grid_text(template.base)
    return lattice(settings.replace(division=n, grid_type=kind, tuplet=None, swing=50), ppq)


def _end_guard(start, end, moved, settings, lat):
    """Guard 1 after humanize/flam: a moved note ending at or before its start."""
    bad = end <= start
    bad &= moved
    if not bad.any():
        return end, 0
    end = end.copy()
    if settings.ends == "quantize-lengths":
        step = max(1, int(round_half_up(np.array([lat.length]), lat.scale)[0]))
        end[bad] = start[bad] + step
    else:
        end[bad] = _first_point_after(start[bad], lat)
    return end, int(bad.sum())


def _start_shifts(order, keep, new_start, voice, t) -> np.ndarray:
    """Final start minus original start of each input note; merged notes take their keeper's."""
    n = order.size
    shift = np.empty(n, dtype=np.int64)
    if n == 0:
        return shift
    ks = new_start[order]
    kv = voice[order]
    first = np.ones(n, dtype=bool)
    first[1:] = (ks[1:] != ks[:-1]) | (kv[1:] != kv[:-1])
    gid = np.cumsum(first) - 1
    keeper = np.arange(n)
    if not keep.all():
        kept_pos = np.full(int(gid[-1]) + 1, -1, dtype=np.int64)
        kept_pos[gid[keep]] = np.flatnonzero(keep)
        keeper = np.where(keep, keeper, kept_pos[gid])
    src = order[keeper]
    shift[order] = new_start[src] - t[src]
    return shift


def quantize_notes(
    notes: np.ndarray,
    settings: QuantizeSettings,
    ppq: int,
    selected: np.ndarray | None = None,
    *,
    tempo: TempoMap | None = None,
    stream: int = 0,
) -> QuantizeResult:
    """Quantize ``notes`` (NOTE_DTYPE) non-destructively from their current positions.

    ``selected`` is a bool mask of the notes to quantize (``None`` = all). Returns new notes
    sorted by (start, pitch, channel), the input index of each output row and a report. Moved
    notes keep their id, seq and flags; strength 0 returns every note exactly as it was.

    With a groove (``settings.groove``) the groove replaces the grid (engine.quantize.groove);
    humanize and flam follow either (engine.quantize.humanize). ``tempo`` converts
    ``humanize_ms`` to ticks (120 BPM when ``None``); ``stream`` (the track index) gives each
    track its own humanize sequence.
    """
    assert notes.dtype == NOTE_DTYPE
    n = notes.size
    sel = None if selected is None else np.array(selected, dtype=bool)  # own, writable
    if sel is not None and sel.shape != (n,):
        raise ValueError("selected must be a bool mask with one entry per note")
    if not (notes.flags.c_contiguous and notes.flags.writeable):
        # a strided or read-only array would make numba compile another specialisation
        notes = np.array(notes)
    settings = resolve_groove(settings)
    template = settings.groove
    # Contiguous copies: the positions kernel runs ~4x slower on the record's strided fields.
    t = np.ascontiguousarray(notes["start"])
    e = np.ascontiguousarray(notes["end"])
    if template is not None:
        velocity = np.ascontiguousarray(notes["velocity"])
        new_start, new_end, velocity, moved, cats, ends_fixed = groove_positions(
            t, e, velocity, sel, settings, template, ppq
        )
        lat = None
    else:
        lat = lattice(settings, ppq)
        new_start, new_end, moved, cats, ends_fixed = _positions(t, e, sel, settings, lat)
        velocity = notes["velocity"]
    if settings.flam or settings.humanizes:
        settings.check_flam(ppq)
        if lat is None:
            lat = _base_lattice(settings, template, ppq)
        offsets = flam_offsets(new_start, notes["pitch"], notes["channel"], sel, settings.flam)
        if settings.humanizes:
            new_start, new_end, velocity = humanize(
                t, new_start, new_end, velocity, sel, settings, ppq, tempo, stream
            )
        new_start, new_end = add_flam(
            new_start, new_end, offsets, settings.ends == "keep-ends"
        )
        moved = new_start != t
        moved |= new_end != e
        new_end, fixed = _end_guard(new_start, new_end, moved, settings, lat)
        ends_fixed += fixed
    report = QuantizeReport(
        total=n,
        moved=int(np.count_nonzero(moved)),
        not_selected=0 if sel is None else int(n - np.count_nonzero(sel)),
        **cats,
        ends_fixed=ends_fixed,
    )
    voice = kernels.voices(notes["pitch"], notes["channel"])
    order = _playing_order(new_start, voice)
    end, out_velocity, keep, trimmed, merged = kernels.guard_pass(
        order, new_start, new_end, moved, voice, velocity, t
    )
    report.trimmed, report.merged = int(trimmed), int(merged)
    out = np.empty(n - report.merged, dtype=NOTE_DTYPE)
    source = np.empty(out.size, dtype=np.int64)
    kernels.assemble(notes, order, keep, end, out_velocity, new_start, out, source)
    shift = None
    if settings.controllers == "follow":
        shift = _start_shifts(order, keep, new_start, voice, t)
    return QuantizeResult(out, source, report, shift)


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


def warm_up() -> None:
    """Compile (first run after an install or a change: several seconds) or load (~0.2 s) the
    quantizer's kernels, so that the first real quantize does not pay for it.

    The kernels release the GIL, so a GUI can call this from a background thread at start-up.
    """
    notes = np.zeros(2, dtype=NOTE_DTYPE)
    notes["start"], notes["end"] = (5, 30), (20, 45)
    sel = np.ones(2, dtype=bool)
    for ends in ("keep-length", "quantize-ends", "quantize-lengths", "keep-ends"):
        quantize_notes(notes, QuantizeSettings(ends=ends), 96, sel)
    _warm_up_part2()


def _warm_up_part2() -> None:
    """The groove (exact and residue-table paths), humanize, flam, controllers and extraction
    kernels."""
    from engine.model.notes import EVENT_DTYPE
    from engine.quantize.controllers import follow_notes
    from engine.quantize.groove_extract import extract_groove
    from engine.quantize.groove_template import GrooveTemplate

    g = GrooveTemplate("warm-up", "1/16", 1, ({"beat": 0.3, "velocity": 90, "length": 0.2},))
    many = np.zeros(500, dtype=NOTE_DTYPE)
    many["start"] = np.arange(500) * 7
    many["end"] = many["start"] + 20
    many["velocity"] = 64
    for ends in ("keep-length", "quantize-ends", "quantize-lengths", "keep-ends"):
        st = QuantizeSettings(
            groove=g, ends=ends, groove_velocity=50, groove_length=50, humanize_ms=5, flam=3,
            humanize_velocity=2, controllers="follow",
        )  # fmt: skip
        for clip in (many[:2], many):
            res = quantize_notes(clip, st, 96)
            quantize_notes(clip, st, 96, np.ones(clip.size, dtype=bool))
    events = np.zeros(2, dtype=EVENT_DTYPE)
    events["tick"] = (8, 30)
    events["status"] = 0xB0
    follow_notes(events, many, res.shift)
    extract_groove(many["start"], many["velocity"], many["end"] - many["start"], ppq=96)
