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
- **Pink noise** is shaped in the frequency domain: random phases and Gaussian amplitudes
  scaled by ``f^(-1/2)``, no DC, inverse real FFT (exactly 1/f in expectation at every length,
  where Voss-McCartney only approximates it over octaves).
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

from engine.quantize.settings import QuantizeSettings
from engine.tempo import DEFAULT_USEC_PER_QUARTER, TempoMap

CLAMP_SD = 3.0


def _rng(seed: int, stream: int, kind: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, stream, kind])))


def pink_noise(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` samples of Gaussian noise with power spectrum ∝ 1/f (β = 1), not normalised."""
    if n <= 1:
        return rng.standard_normal(n)
    m = n // 2 + 1
    f = np.arange(m, dtype=np.float64)
    amp = np.zeros(m)
    amp[1:] = f[1:] ** -0.5
    spec = (rng.standard_normal(m) + 1j * rng.standard_normal(m)) * amp
    if n % 2 == 0:
        spec[-1] = spec[-1].real  # the Nyquist bin of an even length is real
    return np.fft.irfft(spec, n)


def deviation_sequence(n: int, noise: str, seed: int, stream: int, kind: int) -> np.ndarray:
    """The standardised, clamped (±3) deviation sequence of ``n`` onset groups."""
    rng = _rng(seed, stream, kind)
    x = pink_noise(rng, n) if noise == "pink" else rng.standard_normal(n)
    if n >= 2:
        x = x - x.mean()
        sd = x.std()
        x = x / sd if sd > 0 else np.zeros(n)
    return np.clip(x, -CLAMP_SD, CLAMP_SD)


def usec_per_quarter_at(tempo: TempoMap | None, ticks: np.ndarray) -> np.ndarray:
    """Microseconds per quarter note at each tick (120 BPM without a tempo map)."""
    if tempo is None:
        return np.full(ticks.shape, float(DEFAULT_USEC_PER_QUARTER))
    i = np.searchsorted(tempo.ticks, ticks, side="right") - 1
    return tempo.usec[np.clip(i, 0, None)]


def onset_groups(t: np.ndarray, sel: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, int]:
    """(index of each selected note's group, the selected rows, number of groups)."""
    rows = np.arange(t.size) if sel is None else np.flatnonzero(sel)
    ticks, inverse = np.unique(t[rows], return_inverse=True)
    return inverse, rows, ticks.size


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
    group, rows, n = onset_groups(t, sel)
    start = start.copy()
    end = end.copy()
    velocity = velocity.copy()
    if n == 0:
        return start, end, velocity
    seed, noise = settings.humanize_seed, settings.humanize_noise
    if settings.humanize_ms > 0:
        z = deviation_sequence(n, noise, seed, stream, 0)[group]
        s = start[rows]
        usec = usec_per_quarter_at(tempo, s)
        dev = z * (settings.humanize_ms * 1000.0 * ppq) / usec
        ns = np.floor(s + dev + 0.5).astype(np.int64)
        np.maximum(ns, 0, out=ns)
        delta = ns - s
        start[rows] = ns
        if settings.ends != "keep-ends":
            end[rows] += delta
    if settings.humanize_velocity > 0:
        z = deviation_sequence(n, noise, seed, stream, 1)[group]
        v = velocity[rows].astype(np.float64)
        nv = np.floor(v + z * settings.humanize_velocity + 0.5)
        velocity[rows] = np.clip(nv, 1, 127).astype(velocity.dtype)
    return start, end, velocity


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
    rows = np.arange(start.size) if sel is None else np.flatnonzero(sel)
    if rows.size == 0:
        return out
    p = pitch[rows].astype(np.int64)
    key_p = p if flam > 0 else -p
    s = start[rows]
    c = channel[rows].astype(np.int64)
    order = np.lexsort((key_p, c, s))
    so, co, po = s[order], c[order], key_p[order]
    new_group = np.ones(order.size, dtype=bool)
    new_group[1:] = (so[1:] != so[:-1]) | (co[1:] != co[:-1])
    new_pitch = new_group.copy()
    new_pitch[1:] |= po[1:] != po[:-1]
    rank = np.cumsum(new_pitch) - 1  # distinct-pitch counter over the whole array
    first = np.maximum.accumulate(np.where(new_group, rank, 0))
    out[rows[order]] = (rank - first) * abs(flam)
    return out


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
