"""Humanize and flam (QUANTIZE_SPEC part 2), applied after the grid or groove quantize.

Humanize adds one timing deviation (and one velocity deviation) per *onset group*: the notes
that start on one source tick, so a chord stays a chord. The deviations of a clip form one
sequence over its onset groups in time order: pink (power ∝ 1/f, the long-range correlation
measured in human timing: a player drifts a little ahead for a while, then behind) or white.
The sequence is standardised over the clip (mean 0, SD 1), scaled to ``humanize_ms`` (converted
to ticks by the tempo at each note) and clamped to ±3 SD. The same input, settings and seed give
the same output, byte for byte: the noise comes from numpy's PCG64 seeded with
``(humanize_seed, stream, kind)`` and only deterministic float64 operations follow.

Choices where the spec is silent (each has a test in tests/test_humanize.py):

- **Which notes.** Every selected note, including those the ranges left where they were
  (humanize is its own step, as Logic's MIDI Transform humanize): only unselected notes stay.
- **Streams.** Each track (``stream`` = track index) has its own sequence, so drums and bass
  are not pushed the same way at the same time; the velocity sequence is independent of the
  timing one.
- **One onset group.** A standardised sequence of one value is undefined; a single group gets
  one raw draw of unit variance (so humanizing one chord still moves it, by ``humanize_ms`` SD).
- **Pink noise** is Voss-McCartney with a white row (Gardner), from one array of PCG64
  uniform draws: β ≈ 1.05 measured over six decades, in one compiled pass (an FFT-shaped
  sequence is exactly 1/f but costs ~7x more at a million onsets, over the speed target).
- **Rounding.** The new start is ``floor(start + deviation + 1/2)`` and never before tick 0;
  ends move with their starts except in ``keep-ends``, where an end that would come at or
  before its start gets the end guard (first grid/base point after the start).
- **Flam and unisons.** Notes of one pitch in one flam group share a flam position (they are
  duplicates, and the merge guard folds them), so a doubled note never becomes a ghost flam.
- **Flam reference.** Flam groups are the notes of one channel that start on one tick after
  the quantize and *before* humanize; a humanized chord keeps its flam shape.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numba import njit

from engine.model.tempo import DEFAULT_USEC_PER_QUARTER, TempoMap
from engine.quantize.settings import QuantizeSettings

CLAMP_SD = 3.0


def _rng(seed: int, stream: int, kind: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, stream, kind])))


def pink_noise(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` samples of noise with power spectrum ∝ 1/f (β ≈ 1), not normalised.

    Voss-McCartney with Gardner's white row: row ``r`` of ``ceil(log2 n)`` rows takes a new
    uniform value every ``2**(r+1)`` samples (the row of the sample index's trailing zeros), and
    each sample is the sum of the rows plus one fresh value. One compiled pass over one array of
    uniform draws: ~15 ms for a million onsets where shaping the spectrum by FFT took ~100 ms.
    The sum of ~20 uniforms is close to Gaussian; the caller standardises it.
    """
    if n <= 1:
        return rng.standard_normal(n)
    rows = max(1, (n - 1).bit_length())
    u = rng.random(2 * n + rows, dtype=np.float32)  # half the cost of float64 draws
    return _voss(u, n, rows)


@njit(cache=True, nogil=True)
def _voss(u, n, rows):
    row = np.empty(rows)
    total = 0.0
    for r in range(rows):
        row[r] = np.float64(u[r]) - 0.5
        total += row[r]
    out = np.empty(n)
    d = rows
    for i in range(n):
        if i:
            k = i
            r = 0
            while (k & 1) == 0 and r < rows - 1:
                k >>= 1
                r += 1
            total -= row[r]
            row[r] = np.float64(u[d]) - 0.5
            d += 1
            total += row[r]
        out[i] = total + (np.float64(u[d]) - 0.5)
        d += 1
    return out


def raw_sequence(n: int, noise: str, seed: int, stream: int, kind: int) -> np.ndarray:
    """The unscaled noise of ``n`` onset groups (see :func:`deviation_sequence`)."""
    rng = _rng(seed, stream, kind)
    return pink_noise(rng, n) if noise == "pink" else rng.standard_normal(n)


@njit(cache=True, nogil=True)
def standardising(x):
    """``(mean, 1/SD)`` that standardise ``x`` over the clip; ``(0, 1)`` for one value (a raw
    draw of unit variance) and ``(mean, 0)`` for a constant sequence."""
    n = x.size
    if n < 2:
        return 0.0, 1.0
    m = 0.0
    for i in range(n):
        m += x[i]
    m /= n
    v = 0.0
    for i in range(n):
        v += (x[i] - m) ** 2
    sd = np.sqrt(v / n)
    return m, (1.0 / sd if sd > 0 else 0.0)


@njit(cache=True, nogil=True, inline="always")
def _z(x, m, inv):
    """A standardised value clamped to ±3 SD."""
    return min(max((x - m) * inv, -3.0), 3.0)


def deviation_sequence(n: int, noise: str, seed: int, stream: int, kind: int) -> np.ndarray:
    """The standardised, clamped (±3) deviation sequence of ``n`` onset groups."""
    x = raw_sequence(n, noise, seed, stream, kind)
    m, inv = standardising(x)
    return np.clip((x - m) * inv, -CLAMP_SD, CLAMP_SD)


@njit(cache=True, nogil=True)
def _sorted_groups(t, sel, has_sel):
    """Onset group of each note for ascending ``t`` (-1 for unselected notes), and the count."""
    n = t.size
    group = np.empty(n, np.int64)
    g = -1
    last = 0
    first = True
    for i in range(n):
        if has_sel and not sel[i]:
            group[i] = -1
            continue
        if first or t[i] != last:
            g += 1
            last = t[i]
            first = False
        group[i] = g
    return group, g + 1


def onset_groups(t: np.ndarray, sel: np.ndarray | None) -> tuple[np.ndarray, int]:
    """The onset group of each note (notes on one source tick share one; -1 = unselected),
    numbered in time order, and the number of groups."""
    t = np.ascontiguousarray(t, dtype=np.int64)
    has_sel = sel is not None
    sel_arr = np.ascontiguousarray(sel, dtype=np.bool_) if has_sel else np.zeros(0, np.bool_)
    if t.size < 2 or bool(np.all(t[1:] >= t[:-1])):
        return _sorted_groups(t, sel_arr, has_sel)
    rows = np.arange(t.size) if sel is None else np.flatnonzero(sel)
    ticks, inverse = np.unique(t[rows], return_inverse=True)
    group = np.full(t.size, -1, dtype=np.int64)
    group[rows] = inverse
    return group, int(ticks.size)


@njit(cache=True, nogil=True)
def _apply(group, start, end, velocity, zt, zv, norm, ticks_per_ms, tempo_ticks, tempo_tpm,
           ms, vel_sd, keep_ends, out_start, out_end, out_vel):  # fmt: skip
    """Add each group's deviation to its notes: starts (never before 0; ends follow unless
    ``keep_ends``) and velocities (1–127). ``ticks_per_ms`` > 0 is a constant tempo, else the
    tempo segments (``tempo_ticks``, ``tempo_tpm``) give ticks per ms at each note. ``zt`` and
    ``zv`` are raw sequences, standardised here with ``norm`` = (mean, 1/SD) of each."""
    mt, it, mv, iv = norm
    seg = 0
    for i in range(group.size):
        s = start[i]
        e = end[i]
        v = velocity[i]
        g = group[i]
        if g >= 0:
            if ms > 0.0:
                k = ticks_per_ms
                if k <= 0.0:
                    lo = 0
                    hi = tempo_ticks.size
                    while hi - lo > 1:  # last segment starting at or before s
                        mid = (lo + hi) // 2
                        if tempo_ticks[mid] <= s:
                            lo = mid
                        else:
                            hi = mid
                    seg = lo
                    k = tempo_tpm[seg]
                ns = np.int64(np.floor(s + _z(zt[g], mt, it) * ms * k + 0.5))
                if ns < 0:
                    ns = 0
                if not keep_ends:
                    e += ns - s
                s = ns
            if vel_sd > 0.0:
                nv = np.floor(v + _z(zv[g], mv, iv) * vel_sd + 0.5)
                v = 1 if nv < 1 else (127 if nv > 127 else np.int64(nv))
        out_start[i] = s
        out_end[i] = e
        out_vel[i] = v


def humanize(
    t: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    velocity: np.ndarray,
    sel: np.ndarray | None,
    settings: QuantizeSettings,
    ppq: int,
    tempo: TempoMap | None,
    stream: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Humanized starts, ends and velocities (new arrays; the end guard is the caller's).

    ``t`` are the original starts (they define the onset groups), ``start``/``end``/
    ``velocity`` the values after quantize (and before flam).
    """
    group, n = onset_groups(t, sel)
    seed, noise = settings.humanize_seed, settings.humanize_noise
    empty = np.zeros(0)
    zt = raw_sequence(n, noise, seed, stream, 0) if settings.humanize_ms > 0 else empty
    zv = raw_sequence(n, noise, seed, stream, 1) if settings.humanize_velocity > 0 else empty
    norm = (*standardising(zt), *standardising(zv))
    if tempo is None or tempo.ticks.size == 1:
        usec = DEFAULT_USEC_PER_QUARTER if tempo is None else float(tempo.usec[0])
        k, tt, tpm = 1000.0 * ppq / usec, np.zeros(0, np.int64), empty
    else:
        k, tt, tpm = 0.0, tempo.ticks.astype(np.int64), 1000.0 * ppq / tempo.usec
    out_start = np.empty(start.size, np.int64)
    out_end = np.empty(start.size, np.int64)
    out_vel = np.empty(start.size, velocity.dtype)
    _apply(
        group,
        np.ascontiguousarray(start, dtype=np.int64),
        np.ascontiguousarray(end, dtype=np.int64),
        np.ascontiguousarray(velocity),
        zt,
        zv,
        norm,
        k,
        tt,
        tpm,
        float(settings.humanize_ms),
        float(settings.humanize_velocity),
        settings.ends == "keep-ends",
        out_start,
        out_end,
        out_vel,
    )
    return out_start, out_end, out_vel


def flam_offsets(
    start: np.ndarray, pitch: np.ndarray, channel: np.ndarray, sel: np.ndarray | None, flam: int
) -> np.ndarray:
    """Each note's flam delay in ticks (0 for unselected notes and single notes).

    Groups are the selected notes of one channel on one tick; the i-th distinct pitch in rising
    order (``flam > 0``) or falling order (``flam < 0``) is delayed ``i * |flam|``.
    """
    out = np.zeros(start.size, dtype=np.int64)
    if flam == 0 or start.size == 0:
        return out
    from engine.quantize import kernels

    voice = kernels.voices(pitch, channel)
    start = np.ascontiguousarray(start, dtype=np.int64)
    has_sel = sel is not None
    sel_arr = sel if has_sel else np.zeros(0, np.bool_)
    if start.size < 2 or bool(np.all(start[1:] >= start[:-1])):
        # in start order already (the usual case): runs are sorted by voice in the kernel
        _flam_kernel(np.zeros(0, np.int64), False, start, voice, sel_arr, has_sel, flam, out)
        return out
    order = None
    if max(abs(int(start.min())), abs(int(start.max()))) < 2**51:
        order = kernels.playing_order(start, voice)  # nearly sorted input: one pass
    if order is None:
        order = np.lexsort((voice, start))
    _flam_kernel(order, True, start, voice, sel_arr, has_sel, flam, out)
    return out


@njit(cache=True, nogil=True)
def _flam_kernel(order, use_order, start, voice, sel, has_sel, flam, out):
    """Walk runs of one start (in ``order``, or in index order when the starts ascend); sort
    each run by (pitch, channel) and, per channel, rank the distinct pitches of its selected
    notes (rising, or falling for ``flam < 0``)."""
    n = start.size
    count = np.zeros(16, np.int64)
    total = np.zeros(16, np.int64)
    last = np.full(16, -1, np.int64)
    step = abs(flam)
    longest = 1  # the longest run, so that the run buffer is allocated once
    i = 0
    while i < n:
        s0 = start[order[i] if use_order else i]
        j = i + 1
        while j < n and start[order[j] if use_order else j] == s0:
            j += 1
        longest = max(longest, j - i)
        i = j
    buf = np.empty(longest, np.int64)  # (reassigning an array in the loop costs refcounts)
    i = 0
    while i < n:
        s0 = start[order[i] if use_order else i]
        j = i + 1
        while j < n and start[order[j] if use_order else j] == s0:
            j += 1
        m = j - i
        if m > 1:
            for k in range(m):
                buf[k] = order[i + k] if use_order else i + k
            if not use_order:  # stable insertion sort of the (small) run by voice
                for k in range(1, m):
                    r = buf[k]
                    q = k
                    while q > 0 and voice[buf[q - 1]] > voice[r]:
                        buf[q] = buf[q - 1]
                        q -= 1
                    buf[q] = r
            for c in range(16):
                count[c] = 0
                last[c] = -1
            for k in range(m):  # distinct pitches per channel
                r = buf[k]
                if has_sel and not sel[r]:
                    continue
                ch = voice[r] & 15
                p = voice[r] >> 4
                if p != last[ch]:
                    count[ch] += 1
                    last[ch] = p
            for c in range(16):  # (no allocation per chord)
                total[c] = count[c]
                count[c] = 0
                last[c] = -1
            for k in range(m):
                r = buf[k]
                if has_sel and not sel[r]:
                    continue
                ch = voice[r] & 15
                p = voice[r] >> 4
                if p != last[ch]:
                    count[ch] += 1
                    last[ch] = p
                rank = count[ch] - 1
                if flam < 0:
                    rank = total[ch] - 1 - rank
                out[r] = rank * step
        i = j


def add_flam(
    start: np.ndarray, end: np.ndarray, offsets: np.ndarray, keep_ends: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Starts delayed by ``offsets``; ends move with them unless ``keep_ends``."""
    if not offsets.any():
        return start, end
    start = start + offsets
    if not keep_ends:
        end = end + offsets
    return start, end


EndGuard = Callable[[np.ndarray], np.ndarray]
