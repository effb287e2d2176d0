"""The quantize grid (QUANTIZE_SPEC "Grid" and "Swing"), computed exactly.

A grid step ``G`` may be fractional (1/16 5:4 at PPQ 96 is 19.2 ticks), and swing puts the
off-beat at a fraction of a pair of steps. Float arithmetic on such values drifts by a few ulps
and then a rounding ``floor(x + 0.5)`` that should land on ``.5`` lands on ``.4999``. So every
position is represented in *scaled units*: whole numbers of ``1/scale`` tick, where ``scale``
is the least common multiple of every denominator involved (G, the swung off-beat, the range
thresholds, the length step). In those units the lattice, the distances and the range tests
are plain integer arithmetic and exact.

The lattice is built from the unswung grid in pairs of steps: pair ``k`` starts at
``origin + 2kG`` and holds the points ``origin + 2kG`` and ``origin + 2kG + 2G*swing/100``.
With swing 50 that is the straight grid ``origin + jG``. ``k`` is any integer, so the lattice
runs both ways from the origin; clamping targets at tick 0 is the quantizer's job.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from engine.quantize.settings import QuantizeSettings

#: Percentages (strength, swing, ranges) are taken as the decimal the user typed, limited to
#: this denominator (66.67 → 6667/100) so that scaled units stay small integers.
PERCENT_DENOMINATOR = 10_000


def percent(value: float) -> Fraction:
    """A percentage as an exact fraction of one (``54`` → ``27/50``)."""
    return Fraction(repr(float(value))).limit_denominator(PERCENT_DENOMINATOR) / 100


def _lcm_of_denominators(values) -> int:
    scale = 1
    for v in values:
        scale = math.lcm(scale, Fraction(v).denominator)
    return scale


@dataclass(frozen=True)
class Lattice:
    """The swung grid of one setting at one PPQ, in integer units of ``1/scale`` tick.

    ``pair`` is ``2G``, ``mid`` the off-beat's distance from the start of a pair, ``origin``
    the grid origin (``offset``), ``exclude``/``catch`` the range thresholds (``catch`` is
    ``None`` when every note is caught) and ``length`` the length step for quantize-lengths.
    """

    scale: int
    step: Fraction
    pair: int
    mid: int
    origin: int
    exclude: int
    catch: int | None
    length: int
    length_step: Fraction

    # -- positions relative to the origin, in scaled units --------------------------------
    def nearest(self, u: np.ndarray) -> np.ndarray:
        """Nearest lattice point to each ``u`` (relative to origin); ties go to the earlier.

        Works on int64, object (Python int) or integer-valued float64 arrays; ``np.mod``
        gives an exact remainder in each case.
        """
        return u - self.distance(u)

    def distance(self, u: np.ndarray) -> np.ndarray:
        """Signed distance ``d = u - q(u)`` to the nearest lattice point (ties: ``d >= 0``).

        With ``r`` the remainder in the pair, the candidates are the pair's start (distance
        ``r``), its off-beat (``r - mid``) and the next pair (``r - pair``); ``2r > mid`` and
        ``2r > pair + mid`` are the midpoints between them, strictly, so ties stay earlier.
        Written with in-place steps: at a million notes, temporaries cost more than the math.
        """
        if 2 * self.mid == self.pair and u.dtype.kind != "f":
            # Straight lattice of step g, whole units: shifting by h = ceil(g/2) - 1 makes the
            # remainder put ties on the earlier point; three array passes instead of eight.
            g = self.mid
            h = (g + 1) // 2 - 1
            d = u + h
            d %= g
            d -= h
            return d
        r = np.mod(u, self.pair)
        r2 = r * 2
        d = r
        d -= np.where(r2 > self.mid, self.mid, 0)
        d -= np.where(r2 > self.pair + self.mid, self.pair - self.mid, 0)
        return d

    def at_or_after(self, u: np.ndarray) -> np.ndarray:
        """The first lattice point ``>= u`` (relative to origin)."""
        r = np.mod(u, self.pair)
        base = u - r
        choice = np.where(r == 0, 0, np.where(r <= self.mid, self.mid, self.pair))
        return base + choice


def lattice(settings: QuantizeSettings, ppq: int) -> Lattice:
    """Build the exact lattice for ``settings`` at ``ppq``."""
    g = settings.grid_step(ppq)
    mid = 2 * g * percent(settings.swing)
    exclude = g * percent(settings.exclude_within)
    catch = None if settings.catch_within is None else g * percent(settings.catch_within)
    length = settings.length_step(ppq)
    parts = [g, mid, exclude, length] + ([catch] if catch is not None else [])
    scale = _lcm_of_denominators(parts)
    return Lattice(
        scale=scale,
        step=g,
        pair=int(2 * g * scale),
        mid=int(mid * scale),
        origin=int(settings.offset) * scale,
        exclude=int(exclude * scale),
        catch=None if catch is None else int(catch * scale),
        length=int(length * scale),
        length_step=length,
    )


def _scaled(ticks, lat: Lattice) -> np.ndarray:
    return np.asarray(ticks, dtype=np.float64) * lat.scale - lat.origin


def nearest_grid(ticks, settings: QuantizeSettings, ppq: int) -> np.ndarray:
    """q(t): the nearest (swung) grid point to each tick, ties to the earlier point.

    Returns float64 ticks; not clamped at 0 (the lattice runs both ways from the origin).
    Exact for whole-tick input below 2**53 / scale; fractional input (live clock positions) is
    handled with float rounding.
    """
    lat = lattice(settings, ppq)
    u = _scaled(ticks, lat)
    return (lat.nearest(u) + lat.origin) / lat.scale


def grid_points(settings: QuantizeSettings, ppq: int, lo_tick: float, hi_tick: float) -> np.ndarray:
    """Every grid point in ``[lo_tick, hi_tick]``, ascending, as float64 ticks (for drawing)."""
    lat = lattice(settings, ppq)
    if hi_tick < lo_tick:
        return np.zeros(0, dtype=np.float64)
    lo = float(lo_tick) * lat.scale - lat.origin
    hi = float(hi_tick) * lat.scale - lat.origin
    k0 = math.floor(lo / lat.pair) - 1
    k1 = math.floor(hi / lat.pair) + 1
    bases = np.arange(k0, k1 + 1, dtype=np.float64) * lat.pair
    pts = np.empty(bases.size * 2, dtype=np.float64)
    pts[0::2] = bases
    pts[1::2] = bases + lat.mid
    pts = pts[(pts >= lo) & (pts <= hi)]
    return (pts + lat.origin) / lat.scale


def round_half_up(x: np.ndarray, denominator: int) -> np.ndarray:
    """``floor(x / denominator + 1/2)`` for whole-number ``x``, exactly (the spec's rounding)."""
    return np.floor_divide(2 * x + denominator, 2 * denominator)
