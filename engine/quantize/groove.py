"""Applying a groove template (QUANTIZE_SPEC part 2, "Applying a groove", steps 1–6).

Same exactness as the grid (:mod:`engine.quantize.grid`): every position is a whole number of
``1/scale`` tick, where ``scale`` clears the denominators of the base step, the points' offsets
and lengths, the range thresholds and the length step at the clip's PPQ; the percentages are
exact fractions; each result is rounded half up once, at the end. The per-note work is one
compiled pass (:func:`groove_positions`); the guards are the grid quantizer's own passes.

With a groove the template's base replaces the grid's division and swing; ``strength`` is the
groove's *timing* amount; ``offset`` moves the origin of the pattern; exclude/catch are percent
of the base step ``B``.

Choices where the spec is silent (each has a test in tests/test_groove_apply.py):

- **Which slot.** The base point nearest ``t1`` with ties to the earlier point, as the grid's
  ``q(t)``. Repetitions run both ways from the origin, so with an offset a note before the
  origin belongs to repetition −1.
- **Targets before tick 0.** A point that lies before tick 0 (a pushed downbeat at the start of
  the clip, or an offset origin) is clamped to 0 as the grid clamps its targets; the ranges are
  still judged to the real point. The same holds for the pre-quantize target ``b(t)``.
- **Left alone means untouched.** A note left alone by exclude/catch keeps start, end, velocity
  and length, in every ends mode (part 1 still quantizes the lengths of such notes in
  ``quantize-lengths``; with a groove step 3's "not changed at all" wins).
- **Empty slots in quantize-ends / quantize-lengths.** "Its end moves with its start": the end
  of a note in an empty slot is never quantized on its own.
- **quantize-ends with a groove** pulls the end toward the nearest *straight base* point with
  the timing amount and the ranges (spec step 5), not toward a groove point: grooves say where
  notes start; where notes stop is the length amount's business.
- **Point velocities** are used to 1/1000 of a step (an ``.agr`` velocity like 93.3333…).
- **End guard.** A moved note that would end at or before its start ends on the first straight
  base point after its new start (quantize-lengths: one length step after it).
- **Not selected** notes are never changed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from numba import njit

from engine.errors import SettingsError
from engine.quantize.grid import percent
from engine.quantize.groove_template import GrooveTemplate
from engine.quantize.settings import QuantizeSettings

#: int64 holds the scaled arithmetic while this bound holds; beyond it the same kernel runs in
#: Python on Python integers (slow but exact).
_INT64_SAFE = 2**60
#: Velocities of points are used to this many parts of a step.
VELOCITY_DENOMINATOR = 1000

#: ``ends`` modes as the kernels number them (same numbers as engine.quantize.kernels).
MODE_CODES = {"keep-length": 0, "quantize-ends": 1, "quantize-lengths": 2, "keep-ends": 3}

#: A callable that finds a groove by name (the groove store installs one); see
#: :func:`set_groove_resolver`.
GrooveResolver = Callable[[str], GrooveTemplate]
_resolver: GrooveResolver | None = None


def set_groove_resolver(resolver: GrooveResolver | None) -> None:
    """Install the function that turns a groove *name* into a template (the groove store).

    Presets may name a groove instead of embedding it; until a resolver is installed, such a
    name is an error at apply time. The resolver raises a QuantaError naming the groove when it
    has no groove of that name.
    """
    global _resolver
    _resolver = resolver


def resolve_groove(settings: QuantizeSettings) -> QuantizeSettings:
    """``settings`` with a groove *name* replaced by its template (no-op otherwise)."""
    g = settings.groove
    if not isinstance(g, str):
        return settings
    if _resolver is None:
        raise SettingsError("groove", f"{g!r}: no groove store to look the name up in")
    return settings.replace(groove=_resolver(g))


def groove_of(settings: QuantizeSettings) -> GrooveTemplate | None:
    """The settings' template, resolving a name; ``None`` without a groove."""
    return resolve_groove(settings).groove  # type: ignore[return-value]


@dataclass(frozen=True)
class GrooveLattice:
    """A template at one PPQ and origin, in whole units of ``1/scale`` tick.

    ``base`` is ``B`` in units, ``slots`` the slot count; per slot ``has`` (a point there),
    ``off`` (the point's offset from its base point), ``vel`` (its velocity in
    1/:data:`VELOCITY_DENOMINATOR` steps, −1 = none) and ``len`` (its length, −1 = none).
    ``exclude``/``catch`` are the range thresholds (``catch`` 2**62 = every note), ``length``
    the quantize-lengths step.
    """

    scale: int
    base: int
    slots: int
    origin: int
    has: np.ndarray
    off: np.ndarray
    vel: np.ndarray
    len: np.ndarray
    exclude: int
    catch: int
    length: int
    length_step: Fraction
    base_ticks: Fraction

    def point_ticks(self, k: int, j: int) -> Fraction:
        """Tick of slot ``j`` of repetition ``k`` (unclamped), exactly."""
        u = (k * self.slots + j) * self.base + int(self.off[j])
        return Fraction(u + self.origin, self.scale)


def _lcm_den(values) -> int:
    scale = 1
    for v in values:
        scale = math.lcm(scale, Fraction(v).denominator)
    return scale


def groove_lattice(template: GrooveTemplate, settings: QuantizeSettings, ppq: int) -> GrooveLattice:
    """Build the exact lattice of ``template`` for ``settings`` at ``ppq``."""
    b = template.step * ppq
    slots = template.slot_count
    offsets = [Fraction(0)] * slots
    lengths: list[Fraction | None] = [None] * slots
    velocities = [-1] * slots
    has = np.zeros(slots, dtype=np.bool_)
    for j, off, p in template.slots():
        has[j] = True
        offsets[j] = off * ppq
        if p.length is not None:
            lengths[j] = p.length * ppq
        if p.velocity is not None:
            velocities[j] = round(p.velocity * VELOCITY_DENOMINATOR)
    exclude = b * percent(settings.exclude_within)
    catch = None if settings.catch_within is None else b * percent(settings.catch_within)
    if settings.length_grid is None:
        length_step = b
    else:
        length_step = settings.length_step(ppq)
    parts = [b, exclude, length_step, *offsets] + [x for x in lengths if x is not None]
    if catch is not None:
        parts.append(catch)
    scale = _lcm_den(parts)
    big = scale > 2**40

    def arr(values):
        dt = object if big else np.int64
        return np.array(values, dtype=dt)

    return GrooveLattice(
        scale=scale,
        base=int(b * scale),
        slots=slots,
        origin=int(settings.offset) * scale,
        has=has,
        off=arr([int(o * scale) for o in offsets]),
        vel=np.array(velocities, dtype=np.int64),
        len=arr([-1 if x is None else int(x * scale) for x in lengths]),
        exclude=int(exclude * scale),
        catch=2**62 if catch is None else int(catch * scale),
        length=int(length_step * scale),
        length_step=length_step,
        base_ticks=b,
    )


@njit(cache=True, nogil=True)
def _groove_kernel(t, e, v, sel, has_sel, lat, has, off, pvel, plen, amounts, mode, out):
    """Steps 1–5 and the end guard for every note (int64, or Python ints via ``py_func``).

    ``lat`` = (scale, base, slots, origin, exclude, catch, length, len_num, len_den, len_fix);
    ``amounts`` = (pre n, pre d, strength n, strength d, velocity n, velocity d, length n,
    length d, velocity denominator). Only ``//`` and ``%`` (floor semantics in numba as in
    Python) and no calls, so the Python version runs the same code on unbounded integers.
    ``out`` = (new_start, new_end, new_velocity, moved, counts) with counts = selected, on
    point, excluded, outside catch, empty slot, ends fixed.
    """
    scale, base, slots, origin, exclude, catch, length_s, len_num, len_den, len_fix = lat
    pn, pd, sn, sd, gvn, gvd, gln, gld, vden = amounts
    new_start, new_end, new_vel, moved, counts = out
    n_sel = 0
    n_on = 0
    n_excl = 0
    n_out = 0
    n_empty = 0
    n_fixed = 0
    spd = scale * pd
    den = spd * sd
    bp = base * pd
    zero = -origin  # tick 0, relative to the origin
    for i in range(t.size):
        ti = t[i]
        ei = e[i]
        vi = v[i]
        ns = ti
        ne = ei
        nv = vi
        if has_sel and not sel[i]:
            new_start[i] = ns
            new_end[i] = ne
            new_vel[i] = nv
            moved[i] = False
            continue
        n_sel += 1
        a = ti * scale - origin
        # 1. pre-quantize toward the straight base lattice (ties to the earlier point)
        r = a % base
        d0 = r if 2 * r <= base else r - base
        b = a - d0
        if b < zero:
            b = zero
        t1 = a * pd + pn * (b - a)  # units 1/(scale*pd)
        # 2. the slot: the base point nearest t1, ties earlier
        r1 = t1 % bp
        k = (t1 - r1) // bp
        if 2 * r1 > bp:
            k += 1
        j = k % slots
        if not has[j]:
            n_empty += 1
            x = t1 + origin * pd
            ns = (2 * x + spd) // (2 * spd)
            if mode != 3:
                ne = ei - ti + ns
        else:
            p = k * base + off[j]
            d = a - p
            ad = d if d >= 0 else -d
            if ad == 0:
                n_on += 1
            if exclude > 0 and ad <= exclude:
                if ad != 0:
                    n_excl += 1
            elif ad > catch:
                n_out += 1
            else:
                if p < zero:
                    p = zero
                # 3. timing
                x = t1 * sd + sn * (p * pd - t1)  # units 1/den
                xo = x + origin * pd * sd
                ns = (2 * xo + den) // (2 * den)
                # 4. velocity
                if gvn != 0 and pvel[j] >= 0:
                    vn = vi * vden * gvd + gvn * (pvel[j] - vi * vden)
                    vd2 = vden * gvd
                    nv = (2 * vn + vd2) // (2 * vd2)
                    if nv < 1:
                        nv = 1
                    elif nv > 127:
                        nv = 127
                # 5. length, or the ends mode on the straight base lattice
                ln = ei - ti
                if gln > 0 and plen[j] >= 0:
                    nl = ln * scale * gld + gln * (plen[j] - ln * scale)  # units 1/(scale*gld)
                    ne = (2 * (xo * gld + nl * pd * sd) + den * gld) // (2 * den * gld)
                elif mode == 0:
                    ne = ln + ns
                elif mode == 1:
                    ae = ei * scale - origin
                    re = ae % base
                    de = re if 2 * re <= base else re - base
                    ade = de if de >= 0 else -de
                    if (ade > exclude) and (ade <= catch):
                        qe = ae - de
                        if qe < zero:
                            qe = zero
                        xe = ae * sd + sn * (qe - ae) + origin * sd
                        ne = (2 * xe + scale * sd) // (2 * scale * sd)
                elif mode == 2:
                    mult = (2 * ln * len_den + len_num) // (2 * len_num)
                    if mult < 1:
                        mult = 1
                    lq = mult * length_s
                    nl = ln * scale * sd + sn * (lq - ln * scale)  # units 1/(scale*sd)
                    ne = (2 * (xo + nl * pd) + den) // (2 * den)
        mv = ns != ti or ne != ei
        if mv and ne <= ns:
            n_fixed += 1
            if mode == 2 and not (gln > 0 and has[j] and plen[j] >= 0):
                ne = ns + len_fix
            else:
                # first straight base point that rounds to a tick after ns
                need = ns * scale + (scale + 1) // 2 - origin
                rr = need % base
                pt = need if rr == 0 else need - rr + base
                ne = (2 * (pt + origin) + scale) // (2 * scale)
                if ne < ns + 1:
                    ne = ns + 1
        new_start[i] = ns
        new_end[i] = ne
        new_vel[i] = nv
        moved[i] = mv
    counts[0] = n_sel
    counts[1] = n_on
    counts[2] = n_excl
    counts[3] = n_out
    counts[4] = n_empty
    counts[5] = n_fixed


def _amounts(settings: QuantizeSettings) -> tuple:
    pq, s, gv, gl = (
        percent(settings.pre_quantize),
        percent(settings.strength),
        Fraction(repr(float(settings.groove_velocity))).limit_denominator(10_000) / 100,
        percent(settings.groove_length),
    )
    return (
        pq.numerator,
        pq.denominator,
        s.numerator,
        s.denominator,
        gv.numerator,
        gv.denominator,
        gl.numerator,
        gl.denominator,
        VELOCITY_DENOMINATOR,
    )


def groove_positions(
    t: np.ndarray,
    e: np.ndarray,
    velocity: np.ndarray,
    sel: np.ndarray | None,
    settings: QuantizeSettings,
    template: GrooveTemplate,
    ppq: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict, int]:
    """New starts, ends and velocities (before the same-pitch guards), which notes moved, the
    report's categories and the number of ends fixed by the end guard."""
    lat = groove_lattice(template, settings, ppq)
    amounts = _amounts(settings)
    ls = lat.length_step
    len_fix = max(1, math.floor(ls + Fraction(1, 2)))
    params = (
        lat.scale,
        lat.base,
        lat.slots,
        lat.origin,
        lat.exclude,
        lat.catch,
        lat.length,
        ls.numerator,
        ls.denominator,
        len_fix,
    )
    n = t.size
    has_sel = sel is not None
    sel_arr = sel if has_sel else np.zeros(0, dtype=bool)
    mode = MODE_CODES[settings.ends]
    top = 1
    if n:
        top = max(abs(int(t.min())), abs(int(e.max())), 1)
    top = max(top, abs(lat.origin) // lat.scale + 1, int(ls) + 1) + 4 * int(lat.base_ticks) + 4
    pn, pd, sn, sd, gvn, gvd, gln, gld, _ = amounts
    bound = 16 * top * lat.scale * pd * sd * gld * max(1, ls.denominator)
    fast = bound < _INT64_SAFE and lat.scale <= 2**40
    counts = np.zeros(6, dtype=np.int64)
    moved = np.empty(n, dtype=np.bool_)
    if fast:
        new_start = np.empty(n, np.int64)
        new_end = np.empty(n, np.int64)
        new_vel = np.empty(n, np.int64)
        out = (new_start, new_end, new_vel, moved, counts)
        _groove_kernel(
            t, e, velocity.astype(np.int64), sel_arr, has_sel, params,
            lat.has, lat.off.astype(np.int64), lat.vel, lat.len.astype(np.int64),
            amounts, mode, out,
        )  # fmt: skip
    else:
        new_start = np.empty(n, object)
        new_end = np.empty(n, object)
        new_vel = np.empty(n, object)
        out = (new_start, new_end, new_vel, moved, counts)
        _groove_kernel.py_func(
            t.astype(object), e.astype(object), velocity.astype(object), sel_arr, has_sel,
            tuple(int(x) for x in params), lat.has, lat.off.astype(object),
            lat.vel.astype(object), lat.len.astype(object), tuple(int(x) for x in amounts),
            mode, out,
        )  # fmt: skip
        new_start = new_start.astype(np.int64)
        new_end = new_end.astype(np.int64)
        new_vel = new_vel.astype(np.int64)
    selected, on_point, excluded, outside, empty, fixed = (int(c) for c in counts)
    cats = {
        "on_grid": on_point,
        "excluded": excluded,
        "outside_catch": outside,
        "no_point": empty,
    }
    return new_start, new_end, new_vel.astype(np.uint8), moved, cats, fixed


def live_groove_target(
    t: float, settings: QuantizeSettings, template: GrooveTemplate, ppq: int, mode: str
) -> float | None:
    """Live input (float ticks): where a note arriving at tick ``t`` should sound, by the same
    rules as the offline apply, or ``None`` when the ranges leave it alone.

    The caller sends at once when the target is not in the future. ``mode = "next"``: a note
    whose point already passed is held for the next slot that holds a point (the groove's
    equivalent of "the next grid point").
    """
    b_step = float(template.step * ppq)
    slots = template.slot_count
    offs = {j: float(off * ppq) for j, off, _p in template.slots()}
    origin = float(settings.offset)
    u = t - origin
    b = b_step * math.ceil(u / b_step - 0.5)  # nearest base point, ties to the earlier
    b = max(b, -origin)
    t1 = u + settings.pre_quantize / 100.0 * (b - u)
    k = math.ceil(t1 / b_step - 0.5)
    j = k % slots
    if j not in offs:
        return t1 + origin
    p_real = k * b_step + offs[j]
    d = abs(u - p_real)
    exclude = settings.exclude_within / 100.0 * b_step
    if settings.exclude_within > 0 and d <= exclude:
        return None
    if settings.catch_within is not None and d > settings.catch_within / 100.0 * b_step:
        return None
    p = max(p_real, -origin)
    if mode == "next" and p < u:
        for step in range(1, 2 * slots + 1):
            jj = (k + step) % slots
            if jj in offs and (k + step) * b_step + offs[jj] >= u:
                p = (k + step) * b_step + offs[jj]
                break
    return t1 + settings.strength / 100.0 * (p - t1) + origin
