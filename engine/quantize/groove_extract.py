"""Extracting a groove from onsets (QUANTIZE_SPEC part 2, "Extracting a groove from notes").

Input is arrays of onsets (tick, velocity, length) — from a clip, a selection, or onsets found
in audio and converted to ticks. Everything is vectorised (sorts and grouped reductions), and
exact: deviations are whole numbers of ``1/scale`` tick with ``scale`` the base step's
denominator at the clip's PPQ, medians are exact fractions.

Choices where the spec is silent (tests in tests/test_groove_extract.py):

- **An onset exactly halfway between two base points** goes to the *later* one: the same rule
  as the template's own slot mapping ``floor(beat/B + 1/2)``, so every extracted point lands in
  the slot it was measured in.
- **Two onsets of one repetition equally near one base point**: the earlier counts.
- **Default length** is one bar of the time signature at the first onset, rounded *up* to a
  whole number of base steps (7/8 with a 1/8T base: 3.5 beats → 11/3 beats); a 4/4 bar without
  a time-signature map.
- **Velocities**: the mean is kept fractional (as the spec's points allow) and clamped to
  1–127; an onset list without velocities (``None``) gives points without velocity, likewise
  lengths.
- **Repetitions** count from the origin both ways, so onsets before the origin are used too.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from numba import njit

from engine.errors import GrooveError
from engine.model.tempo import TimeSignatureMap
from engine.quantize.groove_template import BASES, GroovePoint, GrooveTemplate


def default_length(
    first_tick: int, base: str, time_signatures: TimeSignatureMap | None
) -> Fraction:
    """One bar of the time signature at ``first_tick`` in beats, rounded up to whole steps."""
    num, den = 4, 4
    if time_signatures is not None:
        for sig in time_signatures.signatures:
            if sig.tick <= first_tick:
                num, den = sig.numerator, sig.denominator
    bar = Fraction(4 * num, den)
    step = BASES[base]
    return math.ceil(bar / step) * step


@njit(cache=True, nogil=True)
def _slot_stats(t, v, ln, has_v, has_l, origin, scale, bs, slots):
    """One pass over ascending onset ticks, then per slot sorts: for every slot the count of
    repetitions with an onset, the two middle deviations (units 1/scale tick), the velocity
    sum and the two middle lengths.

    Onsets on one tick merge (highest velocity, longest length); per repetition and slot the
    onset nearest the base point counts (ties: the earlier).
    """
    n = t.size
    pk = np.empty(n, np.int64)  # picked: base index K, deviation, velocity, length
    pd = np.empty(n, np.int64)
    pv = np.empty(n, np.float64)
    pl = np.empty(n, np.int64)
    m = 0
    i = 0
    while i < n:
        ti = t[i]
        vi = v[i] if has_v else 0.0
        li = ln[i] if has_l else 0
        i += 1
        while i < n and t[i] == ti:  # one tick, one onset
            if has_v and v[i] > vi:
                vi = v[i]
            if has_l and ln[i] > li:
                li = ln[i]
            i += 1
        u = (ti - origin) * scale
        k = (2 * u + bs) // (2 * bs)
        d = u - k * bs
        if m > 0 and pk[m - 1] == k:
            if abs(d) < abs(pd[m - 1]):  # nearer (a tie keeps the earlier)
                pd[m - 1] = d
                pv[m - 1] = vi
                pl[m - 1] = li
            continue
        pk[m] = k
        pd[m] = d
        pv[m] = vi
        pl[m] = li
        m += 1
    found = np.zeros(slots, np.int64)
    for r in range(m):
        found[pk[r] % slots] += 1
    start = np.zeros(slots + 1, np.int64)
    for s in range(slots):
        start[s + 1] = start[s] + found[s]
    fill = start[:-1].copy()
    sd = np.empty(m, np.int64)
    sl = np.empty(m, np.int64)
    vsum = np.zeros(slots, np.float64)
    for r in range(m):
        s = pk[r] % slots
        sd[fill[s]] = pd[r]
        sl[fill[s]] = pl[r]
        vsum[s] += pv[r]
        fill[s] += 1
    d_lo = np.zeros(slots, np.int64)
    d_hi = np.zeros(slots, np.int64)
    l_lo = np.zeros(slots, np.int64)
    l_hi = np.zeros(slots, np.int64)
    for s in range(slots):
        c = found[s]
        if c == 0:
            continue
        a = start[s]
        ds = np.sort(sd[a : a + c])
        d_lo[s] = ds[(c - 1) // 2]
        d_hi[s] = ds[c // 2]
        if has_l:
            ls = np.sort(sl[a : a + c])
            l_lo[s] = ls[(c - 1) // 2]
            l_hi[s] = ls[c // 2]
    return found, d_lo, d_hi, vsum, l_lo, l_hi


def extract_groove(
    ticks,
    velocities=None,
    lengths=None,
    *,
    ppq: int,
    base: str = "1/16",
    length: Fraction | float | None = None,
    origin: int = 0,
    time_signatures: TimeSignatureMap | None = None,
    name: str = "Extracted groove",
    description: str = "",
) -> GrooveTemplate:
    """A groove template from onsets: slot medians over the repetitions (see module doc).

    ``ticks`` (int), ``velocities`` (numbers or None), ``lengths`` (ticks, or None) are arrays
    of one entry per onset; ``length`` is the pattern length in beats (default: one bar).
    """
    if base not in BASES:
        raise GrooveError("base", f"{base!r}; allowed: {', '.join(BASES)}")
    if int(ppq) <= 0:
        raise GrooveError("ppq", f"{ppq}; must be positive")
    ticks = np.asarray(ticks, dtype=np.int64).ravel()
    if ticks.size == 0:
        raise GrooveError("onsets", "no notes or onsets to extract a groove from")
    vel = None if velocities is None else np.asarray(velocities, dtype=np.float64).ravel()
    lens = None if lengths is None else np.asarray(lengths, dtype=np.int64).ravel()
    for arr, what in ((vel, "velocities"), (lens, "lengths")):
        if arr is not None and arr.size != ticks.size:
            raise GrooveError(what, f"{arr.size} values for {ticks.size} onsets")
    if ticks.size > 1 and np.any(ticks[1:] < ticks[:-1]):
        order = np.argsort(ticks, kind="stable")
        ticks = ticks[order]
        vel = None if vel is None else vel[order]
        lens = None if lens is None else lens[order]
    t, v, ln = ticks, vel, lens
    if v is not None and not np.all(np.isfinite(v)):
        raise GrooveError("velocities", "not finite numbers")
    step = BASES[base]
    if length is None:
        length = default_length(int(t[0]), base, time_signatures)
    probe = GrooveTemplate(name, base, length, (), description)  # validates name/length
    slots = probe.slot_count
    bt = step * ppq  # base step in ticks
    scale = bt.denominator
    bs = bt.numerator  # base step in units of 1/scale tick
    if max(abs(int(t[0])), abs(int(t[-1])), abs(int(origin))) * scale * 4 >= 2**62:
        raise GrooveError("onsets", "ticks too large to extract a groove from")
    has_v, has_l = v is not None, ln is not None
    found, d_lo, d_hi, vsum, l_lo, l_hi = _slot_stats(
        t,
        v if has_v else np.zeros(0),
        ln if has_l else np.zeros(0, np.int64),
        has_v,
        has_l,
        int(origin),
        scale,
        bs,
        slots,
    )
    js = np.flatnonzero(found > 0)
    med_delta = [Fraction(int(d_lo[i]) + int(d_hi[i]), 2) for i in js]
    vel_mean = (vsum[js] / found[js]) if has_v else None
    med_len = [Fraction(int(l_lo[i]) + int(l_hi[i]), 2) for i in js] if has_l else None
    heads = js
    points = []
    plen = probe.length
    for g, slot in enumerate(heads.tolist()):
        beat = slot * step + med_delta[g] / (scale * ppq)
        if beat < 0:
            beat += plen  # slot 0 pushed early: just before the next repetition
        velocity = None
        if vel_mean is not None:
            velocity = float(min(127.0, max(1.0, vel_mean[g])))
        plength = None
        if med_len is not None:
            plength = max(med_len[g], Fraction(1)) / ppq
        points.append(GroovePoint(beat, velocity, plength))
    return GrooveTemplate(name, base, plen, tuple(points), description)


def extract_from_notes(notes: np.ndarray, ppq: int, **kw) -> GrooveTemplate:
    """:func:`extract_groove` over a NOTE_DTYPE array (start, velocity, length)."""
    return extract_groove(
        notes["start"],
        notes["velocity"],
        notes["end"] - notes["start"],
        ppq=ppq,
        **kw,
    )
