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
- **Point velocities** are exact: a float is the simplest fraction that is the same float
  (an ``.agr`` velocity 93.33333333333333 is 280/3), so rounding ties come out as the
  musician computes them. Only when the points' denominators together pass 10**6 are they
  used to 1/1000 of a step.
- **End guard.** A moved note that would end at or before its start ends on the first straight
  base point after its new start (quantize-lengths: one length step after it).
- **Not selected** notes are never changed.

One module (about 690 lines) on purpose: the compiled kernel, its per-residue table twin for
big clips, the exact Python-integer fallback and the lattice they all read implement one rule
set and are property-tested equal (tests/test_groove_props.py); kept side by side, a change to
one rule is made to all three at once.
"""

from __future__ import annotations

import math
import types
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from numba import njit

from engine.errors import SettingsError
from engine.quantize import kernels
from engine.quantize.grid import percent
from engine.quantize.groove_template import GrooveTemplate, exact_beats
from engine.quantize.settings import QuantizeSettings

#: int64 holds the scaled arithmetic while this bound holds; beyond it the same kernel runs in
#: Python on Python integers (slow but exact).
_INT64_SAFE = 2**60
#: Velocities of points are used to this many parts of a step.
VELOCITY_DENOMINATOR = 1000
#: Exact point velocities while their common denominator stays below this.
MAX_VELOCITY_DENOMINATOR = 10**6

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
    units of ``1/vel_den`` step, −1 = none) and ``len`` (its length, −1 = none).
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
    vel_den: int = VELOCITY_DENOMINATOR

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
    velocities: list[Fraction | None] = [None] * slots
    has = np.zeros(slots, dtype=np.bool_)
    for j, off, p in template.slots():
        has[j] = True
        offsets[j] = off * ppq
        if p.length is not None:
            lengths[j] = p.length * ppq
        if p.velocity is not None:
            velocities[j] = exact_beats(p.velocity, "velocity")
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
    vel_den = _lcm_den([v for v in velocities if v is not None])
    if vel_den > MAX_VELOCITY_DENOMINATOR:
        vel_den = VELOCITY_DENOMINATOR
        velocities = [None if v is None else Fraction(round(v * vel_den), vel_den) for v in velocities]

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
        vel=np.array([-1 if v is None else int(v * vel_den) for v in velocities], np.int64),
        vel_den=vel_den,
        len=arr([-1 if x is None else int(x * scale) for x in lengths]),
        exclude=int(exclude * scale),
        catch=2**62 if catch is None else int(catch * scale),
        length=int(length_step * scale),
        length_step=length_step,
        base_ticks=b,
    )


_fd = kernels._floordiv


@njit(cache=True, nogil=True, inline="always")
def _b(flag):
    """A condition as a whole number 0 or 1 (``int`` in the Python-int version)."""
    return np.int64(flag)


def _py_fd(x, d, inv):
    return x // d


@njit(cache=True, nogil=True)
def _groove_kernel(t, e, v, sel, has_sel, lat, has, off, pvel, plen, amounts, mode, out, diag):
    """Steps 1–5 and the end guard for every note (int64, or Python ints via ``py_func``).

    ``lat`` = (scale, base, slots, origin, exclude, catch, length, len_num, len_den, len_fix);
    ``amounts`` = (pre n, pre d, strength n, strength d, velocity n, velocity d, length n,
    length d, velocity denominator). Every floor division goes through ``_fd`` (a float
    quotient corrected to exact, see engine.quantize.kernels._floordiv); the Python-int
    fallback runs this same code with ``_fd`` bound to plain ``//`` (:data:`_py_kernel`).
    ``out`` = (new_start, new_end, new_velocity, moved, counts) with counts = selected, on
    point, excluded, outside catch, empty slot, ends fixed. ``diag`` = (wanted, kind, exact
    start numerator, slot, flags) per note, for building the residue tables.
    """
    scale, base, slots, origin, exclude, catch, length_s, len_num, len_den, len_fix = lat
    pn, pd, sn, sd, gvn, gvd, gln, gld, vden = amounts
    new_start, new_end, new_vel, moved, counts = out
    want_diag, d_kind, d_xo, d_slot, d_flags = diag
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
    gvd2 = vden * gvd
    # reciprocals for _fd's float quotient (Python floats in the Python-int version: unused)
    i_base = 1.0 / base
    i_bp = 1.0 / bp
    i_slots = 1.0 / slots
    i_2spd = 1.0 / (2 * spd)
    i_2den = 1.0 / (2 * den)
    i_2vd2 = 1.0 / (2 * gvd2)
    i_2dg = 1.0 / (2 * den * gld)
    i_2ssd = 1.0 / (2 * scale * sd)
    i_2ln = 1.0 / (2 * len_num)
    opd = origin * pd
    opsd = opd * sd
    use_vel = gvn != 0
    use_len = gln > 0
    excl_on = exclude > 0
    for i in range(t.size):
        ti = t[i]
        ei = e[i]
        vi = v[i]
        s_i = _b(sel[i]) if has_sel else 1
        # Every path is computed and the result picked by 0/1 flags: the branches are random on
        # human timing and a mispredict costs more than the arithmetic.
        a = ti * scale - origin
        # 1. pre-quantize toward the straight base lattice (ties to the earlier point)
        r = a - _fd(a, base, i_base) * base
        b = max(a - r + base * _b(2 * r > base), zero)
        t1 = a * pd + pn * (b - a)  # units 1/(scale*pd)
        # 2. the slot: the base point nearest t1, ties earlier
        k = _fd(t1, bp, i_bp)
        k += _b(2 * (t1 - k * bp) > bp)
        j = k - _fd(k, slots, i_slots) * slots
        hp = _b(has[j])
        ns_empty = _fd(2 * (t1 + opd) + spd, 2 * spd, i_2spd)
        # 3. ranges (to the real point) and timing (to the point clamped at tick 0)
        p = k * base + off[j]
        ad = abs(a - p)
        excl = _b(excl_on and ad <= exclude)
        outside = _b(ad > catch) * (1 - excl)
        alone = hp * max(excl, outside)
        go = hp * (1 - alone) * s_i
        empty = (1 - hp) * s_i
        keep = 1 - go - empty
        x = t1 * sd + sn * (max(p, zero) * pd - t1)  # units 1/den
        xo = x + opsd
        ns_point = xo if den == 1 else _fd(2 * xo + den, 2 * den, i_2den)
        ns = ti * keep + ns_empty * empty + ns_point * go
        # 4. velocity
        nv = vi
        if use_vel:
            pv = pvel[j]
            vn = vi * gvd2 + gvn * (pv - vi * vden)
            cand = min(max(_fd(2 * vn + gvd2, 2 * gvd2, i_2vd2), 1), 127)
            use = go * _b(pv >= 0)
            nv = cand * use + vi * (1 - use)
        # 5. length, or the ends mode on the straight base lattice
        ln = ei - ti
        if mode == 0:
            ne_point = ln + ns_point
        elif mode == 1:
            ae = ei * scale - origin
            re = ae - _fd(ae, base, i_base) * base
            de = re - base * _b(2 * re > base)
            ade = abs(de)
            caught_e = _b(ade > exclude) * _b(ade <= catch)
            qe = max(ae - de, zero)
            xe = ae * sd + sn * (qe - ae) * caught_e + origin * sd
            ne_point = _fd(2 * xe + scale * sd, 2 * scale * sd, i_2ssd)
        elif mode == 2:
            mult = max(_fd(2 * ln * len_den + len_num, 2 * len_num, i_2ln), 1)
            nl = ln * scale * sd + sn * (mult * length_s - ln * scale)  # units 1/(scale*sd)
            ne_point = _fd(2 * (xo + nl * pd) + den, 2 * den, i_2den)
        else:
            ne_point = ei
        if use_len:
            pl = plen[j]
            nl = ln * scale * gld + gln * (pl - ln * scale)  # units 1/(scale*gld)
            ne_len = _fd(2 * (xo * gld + nl * pd * sd) + den * gld, 2 * den * gld, i_2dg)
            has_len = _b(pl >= 0)
            ne_point = ne_len * has_len + ne_point * (1 - has_len)
        ne_empty = ei if mode == 3 else ln + ns_empty
        ne = ei * keep + ne_empty * empty + ne_point * go
        mv = _b(ns != ti) | _b(ne != ei)
        n_sel += s_i
        on = _b(ad == 0) * hp * s_i
        n_on += on
        n_excl += hp * excl * s_i * (1 - on)
        n_out += hp * outside * s_i
        n_empty += empty
        n_fixed += mv * _b(ne <= ns)
        new_start[i] = ns
        new_end[i] = ne
        new_vel[i] = nv
        moved[i] = mv != 0
        if want_diag:  # for the residue tables of groove_positions
            d_kind[i] = empty + 2 * go
            d_xo[i] = xo
            d_slot[i] = j
            d_flags[i] = on + 2 * _b(hp * excl * (1 - on) != 0) + 4 * _b(hp * outside != 0)
    if n_fixed:  # the end guard, in a second pass (rare)
        for i in range(t.size):
            ns = new_start[i]
            if moved[i] and new_end[i] <= ns:
                a = t[i] * scale - origin
                r = a - _fd(a, base, i_base) * base
                b = max(a - r + base * _b(2 * r > base), zero)
                t1 = a * pd + pn * (b - a)
                k = _fd(t1, bp, i_bp)
                k += _b(2 * (t1 - k * bp) > bp)
                j = k - _fd(k, slots, i_slots) * slots
                if mode == 2 and not (use_len and has[j] and plen[j] >= 0):
                    new_end[i] = ns + len_fix
                else:
                    # first straight base point that rounds to a tick after ns
                    need = ns * scale + _fd(scale + 1, 2, 0.5) - origin
                    rr = need - _fd(need, base, i_base) * base
                    pt = need if rr == 0 else need - rr + base
                    new_end[i] = max(_fd(2 * (pt + origin) + scale, 2 * scale, 0.5 / scale), ns + 1)
    counts[0] = n_sel
    counts[1] = n_on
    counts[2] = n_excl
    counts[3] = n_out
    counts[4] = n_empty
    counts[5] = n_fixed


#: The kernel's Python code on Python integers (exact at any size): same source, plain ``//``.
_py_kernel = types.FunctionType(
    _groove_kernel.py_func.__code__, {**globals(), "_fd": _py_fd, "_b": int}, "_py_kernel"
)


def _amounts(settings: QuantizeSettings, vel_den: int) -> tuple:
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
        vel_den,
    )


#: Residue tables are used when the pattern period is at most this many ticks.
MAX_TABLE_TICKS = 1 << 20
_NO_DIAG = (False, np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64),
            np.zeros(0, np.int64))  # fmt: skip


def _exact(t, e, v, sel, params, lat, amounts, mode, fast, diag=_NO_DIAG):
    """Run the exact kernel (int64, or Python ints when ``fast`` is False)."""
    n = t.size
    has_sel = sel is not None
    sel_arr = sel if has_sel else np.zeros(0, dtype=bool)
    counts = np.zeros(6, dtype=np.int64)
    moved = np.empty(n, dtype=np.bool_)
    if fast:
        new_start = np.empty(n, np.int64)
        new_end = np.empty(n, np.int64)
        new_vel = np.empty(n, np.int64)
        out = (new_start, new_end, new_vel, moved, counts)
        _groove_kernel(
            t, e, v.astype(np.int64), sel_arr, has_sel, params,
            lat.has, lat.off.astype(np.int64), lat.vel, lat.len.astype(np.int64),
            amounts, mode, out, diag,
        )  # fmt: skip
        return new_start, new_end, new_vel, moved, counts
    new_start = np.empty(n, object)
    new_end = np.empty(n, object)
    new_vel = np.empty(n, object)
    out = (new_start, new_end, new_vel, moved, counts)
    _py_kernel(
        t.astype(object), e.astype(object), v.astype(object), sel_arr, has_sel,
        tuple(int(x) for x in params), lat.has, lat.off.astype(object),
        lat.vel.astype(object), lat.len.astype(object), tuple(int(x) for x in amounts),
        mode, out, _NO_DIAG,
    )  # fmt: skip
    return (
        new_start.astype(np.int64),
        new_end.astype(np.int64),
        new_vel.astype(np.int64),
        moved,
        counts,
    )


def _period_ticks(template: GrooveTemplate, ppq: int) -> int | None:
    """A whole number of ticks after which the pattern repeats exactly (None if too long)."""
    p = template.length * ppq
    period = p.numerator  # p.denominator repetitions are a whole number of ticks
    return period if period <= MAX_TABLE_TICKS else None


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
    report's categories and the number of ends fixed by the end guard.

    Everything a note's start depends on repeats with the pattern: moving a note by a whole
    period ``P`` (ticks) moves its result by exactly ``P``. So for a large clip the exact kernel
    runs once per residue ``t mod P`` (on notes far enough from tick 0 that no target clamps),
    and each note then takes its start shift, kind, slot and exact start numerator from those
    tables: one division per note instead of seven. Notes near tick 0, and clips too small to
    pay for the tables, take the exact kernel directly; a test checks both agree.
    """
    lat = groove_lattice(template, settings, ppq)
    amounts = _amounts(settings, lat.vel_den)
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
    mode = MODE_CODES[settings.ends]
    top = 1
    if n:
        top = max(abs(int(t.min())), abs(int(e.max())), 1)
    period = _period_ticks(template, ppq)
    base_ticks = int(lat.base_ticks) + 1
    r0 = None
    if period is not None:
        reps = -(-(abs(settings.offset) + 2 * period + 4 * base_ticks) // period)
        r0 = reps * period
    top = max(top, abs(lat.origin) // lat.scale + 1, int(ls) + 1, (r0 or 0) + 3 * (period or 0))
    top += 4 * base_ticks + 4
    pn, pd, sn, sd, gvn, gvd, gln, gld, _ = amounts
    bound = 16 * top * lat.scale * pd * sd * gld * max(1, ls.denominator)
    fast = bound < _INT64_SAFE and lat.scale <= 2**40
    use_table = fast and period is not None and n > 4 * period
    if use_table:
        new_start, new_end, new_vel, moved, counts = _table_path(
            t, e, velocity, sel, params, lat, amounts, mode, period, r0
        )
    else:
        new_start, new_end, new_vel, moved, counts = _exact(
            t, e, velocity, sel, params, lat, amounts, mode, fast
        )
    selected, on_point, excluded, outside, empty, fixed = (int(c) for c in counts)
    cats = {
        "on_grid": on_point,
        "excluded": excluded,
        "outside_catch": outside,
        "no_point": empty,
    }
    return new_start, new_end, new_vel.astype(np.uint8), moved, cats, fixed


def _table_path(t, e, velocity, sel, params, lat, amounts, mode, period, r0):
    """Residue tables from the exact kernel, then one compiled pass over the notes."""
    r = np.arange(period, dtype=np.int64)
    ts = r0 + r
    kind = np.empty(period, np.int64)
    xo = np.empty(period, np.int64)
    slot = np.empty(period, np.int64)
    flags = np.empty(period, np.int64)
    ns, _, _, _, _ = _exact(
        ts, ts + 1, np.full(period, 64), None, params, lat, amounts, 3, True,
        (True, kind, xo, slot, flags),
    )  # fmt: skip
    ds = ns - ts
    den = lat.scale * amounts[1] * amounts[3]
    xo -= ts * den
    de = np.zeros(period, np.int64)
    go = np.flatnonzero(kind == 2)
    if mode == 1 and go.size:  # end shifts of quantize-ends, from a note starting on a point
        start = r0 + go[0]
        ends = r0 + 2 * period + r
        no_len = amounts[:6] + (0,) + amounts[7:]  # the ends rule alone, not the point length
        _, ne, _, _, _ = _exact(
            np.full(period, start), ends, np.full(period, 64), None, params, lat, no_len, 1,
            True,
        )  # fmt: skip
        de = ne - ends
    n = t.size
    has_sel = sel is not None
    sel_arr = sel if has_sel else np.zeros(0, dtype=bool)
    new_start = np.empty(n, np.int64)
    new_end = np.empty(n, np.int64)
    new_vel = np.empty(n, np.int64)
    moved = np.empty(n, np.bool_)
    counts = np.zeros(6, np.int64)
    near = _table_kernel(
        t, e, velocity, sel_arr, has_sel, r0, period, (kind, ds, xo, slot, flags, de),
        params, lat.vel, lat.len.astype(np.int64), amounts, mode,
        (new_start, new_end, new_vel, moved, counts),
    )  # fmt: skip
    if near.size:  # notes close to tick 0: the exact kernel
        sub_sel = None if sel is None else sel[near]
        s2, e2, v2, m2, c2 = _exact(
            t[near], e[near], velocity[near], sub_sel, params, lat, amounts, mode, True
        )
        new_start[near], new_end[near], new_vel[near], moved[near] = s2, e2, v2, m2
        counts += c2
    return new_start, new_end, new_vel, moved, counts


@njit(cache=True, nogil=True)
def _table_kernel(t, e, v, sel, has_sel, r0, period, tables, lat, pvel, plen, amounts, mode,
                  out):  # fmt: skip
    """Each note from the residue tables (see :func:`groove_positions`); returns the indexes of
    the notes before ``r0`` (left for the exact kernel)."""
    kind_t, ds_t, xo_t, slot_t, flag_t, de_t = tables
    scale, base, slots, origin, exclude, catch, length_s, len_num, len_den, len_fix = lat
    pn, pd, sn, sd, gvn, gvd, gln, gld, vden = amounts
    new_start, new_end, new_vel, moved, counts = out
    den = scale * pd * sd
    gvd2 = vden * gvd
    i_p = 1.0 / period
    i_2den = 1.0 / (2 * den)
    i_2vd2 = 1.0 / (2 * gvd2)
    i_2dg = 1.0 / (2 * den * gld)
    i_2ln = 1.0 / (2 * len_num)
    i_base = 1.0 / base
    use_vel = gvn != 0
    use_len = gln > 0
    near = np.empty(t.size, np.int64)
    n_near = 0
    n_sel = 0
    n_on = 0
    n_excl = 0
    n_out = 0
    n_empty = 0
    n_fixed = 0
    for i in range(t.size):
        ti = t[i]
        ei = e[i]
        vi = np.int64(v[i])
        if ti < r0:
            near[n_near] = i
            n_near += 1
            continue
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
        r = ti - _fd(ti, period, i_p) * period
        k = kind_t[r]
        fl = flag_t[r]
        n_on += fl & 1
        n_excl += (fl >> 1) & 1
        n_out += (fl >> 2) & 1
        if k == 1:  # empty slot: the start moves, the end with it (not in keep-ends)
            n_empty += 1
            ns = ti + ds_t[r]
            if mode != 3:
                ne = ei + ds_t[r]
        elif k == 2:
            ns = ti + ds_t[r]
            j = slot_t[r]
            xo = ti * den + xo_t[r]
            if use_vel and pvel[j] >= 0:
                vn = vi * gvd2 + gvn * (pvel[j] - vi * vden)
                nv = min(max(_fd(2 * vn + gvd2, 2 * gvd2, i_2vd2), 1), 127)
            ln = ei - ti
            if use_len and plen[j] >= 0:
                nl = ln * scale * gld + gln * (plen[j] - ln * scale)
                ne = _fd(2 * (xo * gld + nl * pd * sd) + den * gld, 2 * den * gld, i_2dg)
            elif mode == 0:
                ne = ln + ns
            elif mode == 1:
                ne = ei + de_t[ei - _fd(ei, period, i_p) * period]
            elif mode == 2:
                mult = max(_fd(2 * ln * len_den + len_num, 2 * len_num, i_2ln), 1)
                nl = ln * scale * sd + sn * (mult * length_s - ln * scale)
                ne = _fd(2 * (xo + nl * pd) + den, 2 * den, i_2den)
        mv = ns != ti or ne != ei
        if mv and ne <= ns:
            n_fixed += 1
            if mode == 2 and not (k == 2 and use_len and plen[slot_t[r]] >= 0):
                ne = ns + len_fix
            else:
                need = ns * scale + (scale + 1) // 2 - origin
                rr = need - _fd(need, base, i_base) * base
                pt = need if rr == 0 else need - rr + base
                ne = max((2 * (pt + origin) + scale) // (2 * scale), ns + 1)
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
    return near[:n_near]


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
