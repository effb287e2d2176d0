"""Compiled (numba) passes of the quantizer: one loop per stage instead of a dozen array passes.

At a million notes the numpy version spent ~30 ms on the per-note arithmetic (some fifteen
whole-array passes, each with its own temporaries) and ~30 ms on the guards (a stable sort by
pitch/channel plus gathers and scatters). These kernels do the same integer arithmetic as
:mod:`engine.quantize.grid` note by note in one pass (~8 ms), and the guards in one pass over
the playing order that keeps a little state per voice (pitch/channel) instead of sorting by
voice (~11 ms).

They run only on the int64 path (scaled products proven to fit, see ``core._work_dtype``); the
numpy code in :mod:`engine.quantize.core` stays as the exact Python-int fallback, and property
tests check the two agree. numba's integer ``//`` and ``%`` follow Python (floor) semantics,
which the scaled-unit arithmetic relies on.

``cache=True`` stores the compiled code next to this file (``__pycache__``). The first process
after an install or an edit compiles it (~7-8 s for all kernels on this machine); later ones
load it (~0.2-0.35 s). ``core.warm_up()`` does either ahead of the first quantize;
``bench/bench_quantize.py --cold`` measures both.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: ``ends`` modes as the kernels number them.
MODE_CODES = {"keep-length": 0, "quantize-ends": 1, "quantize-lengths": 2, "keep-ends": 3}

#: pitch*16 + channel fits in 11 bits.
VOICES = 2048


#: Below this magnitude a float64 quotient is within one of the true floor quotient.
_FLOAT_EXACT = 2**51


@njit(cache=True, nogil=True, inline="always")
def _floordiv(x, d, inv):
    """``x // d`` (floor) for ``d > 0``; ``inv`` is ``1.0 / d``.

    A 64-bit integer division costs some 40-90 cycles and a note needs up to four of them;
    a float multiply gives the quotient to within one for ``|x| < 2**51``, and one integer
    correction step makes it exact. Larger values take the integer division. Written without
    data-dependent branches (bools as 0/1): on humanised timing they mispredict half the time.
    """
    if -_FLOAT_EXACT < x < _FLOAT_EXACT:
        q = np.int64(np.floor(x * inv))
        r = x - q * d
        return q - np.int64(r < 0) + np.int64(r >= d)
    return x // d


@njit(cache=True, nogil=True, inline="always")
def _distance(u, pair, mid, inv_pair):
    """``u - q(u)`` to the nearest swung lattice point, ties earlier (see Lattice.distance)."""
    r = u - _floordiv(u, pair, inv_pair) * pair
    return r - mid * np.int64(2 * r > mid) - (pair - mid) * np.int64(2 * r > pair + mid)


@njit(cache=True, nogil=True, inline="always")
def _half_up(x, den, inv_2den):
    """``floor(x / den + 1/2)`` exactly, for whole ``x``; ``inv_2den`` is ``1 / (2*den)``."""
    return _floordiv(2 * x + den, 2 * den, inv_2den)


@njit(cache=True, nogil=True, inline="always")
def _shift(a, selected, pair, mid, inv_pair, origin, exclude, catch):
    """Move of scaled position ``a`` to its clamped target (0 if not caught), ``|d|``, caught.

    ``catch`` is the catch threshold, or a value no distance reaches when every note is caught.
    """
    d = _distance(a - origin, pair, mid, inv_pair)
    ad = abs(d)
    caught = selected & (ad > exclude) & (ad <= catch)
    shift = max(-d, -a) if origin != 0 else -d  # only an offset grid reaches before tick 0
    return shift * np.int64(caught), ad, caught


@njit(cache=True, nogil=True)
def positions(t, e, sel, has_sel, lat, sn, sd, mode, len_num, len_den, len_fix):
    """New starts and ends (int64 ticks) with the end guard applied, and which notes moved.

    ``lat`` is ``(scale, pair, mid, origin, exclude, catch, length)`` in scaled units; ``sn/sd``
    the strength as a fraction; ``mode`` an ``ends`` code (:data:`MODE_CODES`);
    ``len_num/len_den`` the length step in ticks and ``len_fix`` its whole-tick size (the end
    guard for quantize-lengths).

    Returns ``(new_start, new_end, moved, counts)`` with ``counts`` = selected, on grid,
    within exclude (incl. on grid), caught, ends fixed.
    """
    n = t.size
    new_start = np.empty(n, np.int64)
    new_end = np.empty(n, np.int64)
    moved = np.empty(n, np.bool_)
    counts = np.zeros(5, np.int64)
    out = (new_start, new_end, moved, counts)
    args = (t, e, sel, has_sel, lat, sn, sd, len_num, len_den, len_fix)
    # One loop per mode with the mode a constant in each: every loop only holds its own code.
    if mode == 0:
        _positions_loop(args, out, 0)
    elif mode == 1:
        _positions_loop(args, out, 1)
    elif mode == 2:
        _positions_loop(args, out, 2)
    else:
        _positions_loop(args, out, 3)
    return out


@njit(cache=True, nogil=True)
def _end_after(ns, mode, len_fix, lat):
    """Guard 1's end for a note that would end at or before its new start ``ns`` (rare).

    The first grid point that rounds to a tick after ``ns``; for quantize-lengths one length
    step after it.
    """
    if mode == 2:
        return ns + len_fix
    scale, pair, mid, origin, _, _, _ = lat
    need = ns * scale + (scale + 1) // 2 - origin
    r = need % pair
    if r == 0:
        p = need
    elif r <= mid:
        p = need - r + mid
    else:
        p = need - r + pair
    return max((2 * (p + origin) + scale) // (2 * scale), ns + 1)


@njit(cache=True, nogil=True, inline="always")
def _positions_loop(args, out, mode):
    t, e, sel, has_sel, lat, sn, sd, len_num, len_den, len_fix = args
    new_start, new_end, moved, counts = out
    scale, pair, mid, origin, exclude, catch, length_scaled = lat
    den = scale * sd
    inv_2den = 1.0 / (2 * den)
    inv_pair = 1.0 / pair
    inv_2len = 0.5 / len_num
    n_sel = 0
    n_on = 0
    n_excl = 0
    n_caught = 0
    n_fixed = 0
    for i in range(t.size):
        ti = t[i]
        ei = e[i]
        s_i = sel[i] if has_sel else True
        a = ti * scale
        shift, ad, caught = _shift(a, s_i, pair, mid, inv_pair, origin, exclude, catch)
        n_sel += s_i
        n_on += s_i & (ad == 0)
        n_excl += s_i & (ad <= exclude)
        n_caught += caught
        xs = shift * sn + a * sd if sn != sd else shift + a
        ns = xs if den == 1 else _half_up(xs, den, inv_2den)
        if mode == 0:  # keep-length
            ne = ei - ti + ns
        elif mode == 1:  # quantize-ends
            ae = ei * scale
            shift_e, _, _ = _shift(ae, s_i, pair, mid, inv_pair, origin, exclude, catch)
            xe = shift_e * sn + ae * sd if sn != sd else shift_e + ae
            ne = xe if den == 1 else _half_up(xe, den, inv_2den)
        elif mode == 2:  # quantize-lengths
            ln = ei - ti
            lq = max(1, _half_up(ln * len_den, len_num, inv_2len)) * length_scaled
            new_len = ln * scale * sd + sn * (lq - ln * scale)
            ne = _half_up(xs + new_len, den, inv_2den) if s_i else ei
        else:  # keep-ends
            ne = ei
        mv = (ns != ti) | (ne != ei)
        n_fixed += mv & (ne <= ns)
        new_start[i] = ns
        new_end[i] = ne
        moved[i] = mv
    if n_fixed:  # guard 1, in a second pass: a call in the main loop makes it 5x slower
        for i in range(t.size):
            if moved[i] and new_end[i] <= new_start[i]:
                new_end[i] = _end_after(new_start[i], mode, len_fix, lat)
    counts[0] = n_sel
    counts[1] = n_on
    counts[2] = n_excl
    counts[3] = n_caught
    counts[4] = n_fixed


@njit(cache=True, nogil=True)
def voices(pitch, channel):
    """``pitch*16 + channel`` (int16) for each note: the key of a same-pitch/channel group."""
    out = np.empty(pitch.size, np.int16)
    for i in range(pitch.size):
        out[i] = np.int16(pitch[i]) * 16 + np.int16(channel[i])
    return out


@njit(cache=True, nogil=True)
def playing_order(start, voice):
    """Stable argsort by ``(start, voice)`` for nearly sorted input; ``None`` if it is not.

    A quantized clip comes in almost in order: only notes that land on one grid point swap.
    An insertion sort (on a sorted copy of the packed keys, so the inner loop reads memory in
    order) does that in one pass; it gives up once it has shifted more than a few rows per
    note, and the caller falls back to a general stable sort. ``|start|`` must be below 2**51.
    """
    n = start.size
    order = np.empty(n, np.int64)
    keys = np.empty(n, np.int64)
    budget = 8 * n + 64
    for i in range(n):
        k = (start[i] << 11) | voice[i]
        j = i
        while j > 0 and keys[j - 1] > k:
            keys[j] = keys[j - 1]
            order[j] = order[j - 1]
            j -= 1
        keys[j] = k
        order[j] = i
        budget -= i - j
        if budget < 0:
            return None
    return order


# Per-voice state of the guard pass, one row of int64 per voice (one cache line or two).
_HEAD, _START, _COUNT, _ANY, _MAXEND, _MAXVEL, _LAST = 0, 1, 2, 3, 4, 5, 6  # current group
_KEEP, _KEEP_T = 7, 8  # the member a merge keeps, and its original start
_P_LAST, _P_HEAD, _P_MERGED, _P_END, _P_ANY = 9, 10, 11, 12, 13  # the group before it
_STATE = 14


@njit(cache=True, nogil=True)
def guard_pass(order, start, end, moved, voice, velocity, original):
    """Guards 2 and 3 (same-voice merge, then overlap trim) in one pass over playing order.

    Equivalent to grouping by voice with a stable sort and comparing neighbours: per voice we
    keep the current group of notes sharing a start and the previous group, whose last end is
    settled (trimmed or not) once the next group is complete, because a group that merges
    counts as moved for the trim of the note before it. The last ``VOICES`` iterations settle
    what is left of each voice. (One loop body, no helper call: a call per note costs more
    than the whole pass.) A merge keeps the member with the lowest ``original`` start (the
    first in playing order among equals, i.e. input order).

    Returns ``(end, velocity, keep, trimmed, merged)`` in playing order.
    """
    n = order.size
    o_end = np.empty(n, np.int64)
    o_vel = np.empty(n, velocity.dtype)
    keep = np.ones(n, np.bool_)
    link = np.empty(n, np.int64)  # next member of the same group (valid for members only)
    st = np.zeros((VOICES, _STATE), np.int64)
    st[:, _HEAD] = -1
    st[:, _P_LAST] = -1
    trimmed = 0
    merged = 0
    s = 0
    e = 0
    m = 0
    vel = 0
    for i in range(n + VOICES):
        if i < n:
            r = order[i]
            v = np.int64(voice[r])
            s = start[r]
            e = end[r]
            m = np.int64(moved[r])
            vel = np.int64(velocity[r])
            o_end[i] = e
            o_vel[i] = velocity[r]
            if st[v, _HEAD] >= 0 and s == st[v, _START]:  # joins the group on the same start
                st[v, _COUNT] += 1
                st[v, _ANY] |= m
                st[v, _MAXEND] = max(st[v, _MAXEND], e)
                st[v, _MAXVEL] = max(st[v, _MAXVEL], vel)
                link[st[v, _LAST]] = i
                st[v, _LAST] = i
                if original[r] < st[v, _KEEP_T]:
                    st[v, _KEEP] = i
                    st[v, _KEEP_T] = original[r]
                continue
        else:
            v = np.int64(i - n)
        h = st[v, _HEAD]
        if h >= 0:  # settle the current group, then the previous one against it
            is_merged = st[v, _COUNT] > 1 and st[v, _ANY] != 0
            if is_merged:
                merged += st[v, _COUNT] - 1
                kept = st[v, _KEEP]
                o_vel[kept] = st[v, _MAXVEL]
                last_end = st[v, _MAXEND]
                j = h
                for k in range(st[v, _COUNT]):
                    if k:
                        j = link[j]
                    keep[j] = j == kept
                h = kept
            else:
                last_end = o_end[st[v, _LAST]]
            if st[v, _P_LAST] >= 0:
                pe = st[v, _P_END]
                if pe > st[v, _START] and (st[v, _P_ANY] | st[v, _ANY]) != 0:
                    pe = st[v, _START]
                    trimmed += 1
                o_end[st[v, _P_LAST]] = pe
                if st[v, _P_MERGED]:
                    o_end[st[v, _P_HEAD]] = pe
            st[v, _P_LAST] = st[v, _LAST]
            st[v, _P_HEAD] = h
            st[v, _P_MERGED] = is_merged
            st[v, _P_END] = last_end
            st[v, _P_ANY] = st[v, _ANY]
        if i < n:  # open the new group
            st[v, _HEAD] = i
            st[v, _START] = s
            st[v, _COUNT] = 1
            st[v, _ANY] = m
            st[v, _MAXEND] = e
            st[v, _MAXVEL] = vel
            st[v, _LAST] = i
            st[v, _KEEP] = i
            st[v, _KEEP_T] = original[order[i]]
        elif st[v, _P_LAST] >= 0:  # the voice's last group has nothing after it to trim against
            o_end[st[v, _P_LAST]] = st[v, _P_END]
            if st[v, _P_MERGED]:
                o_end[st[v, _P_HEAD]] = st[v, _P_END]
    return o_end, o_vel, keep, trimmed, merged


@njit(cache=True, nogil=True)
def assemble(notes, order, keep, end, velocity, new_start, out, source):
    """The output rows: each kept note in playing order with its new start, end and velocity.

    One pass instead of a record gather, three field writes and a second gather to drop the
    merged rows. ``out`` and ``source`` have one row per kept note.
    """
    w = 0
    for i in range(order.size):
        if keep[i]:
            r = order[i]
            out[w] = notes[r]
            out[w].start = new_start[r]
            out[w].end = end[i]
            out[w].velocity = velocity[i]
            source[w] = r
            w += 1
