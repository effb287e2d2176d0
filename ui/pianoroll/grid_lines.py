"""Where the quantize grid's lines fall on screen, and snapping edits to them.

Lines come from the quantizer's own lattice (engine.quantize.grid.grid_points), so a swung or
triplet grid is drawn exactly where quantize will put the notes, and editing snaps to those same
points. Until that module is importable, the lattice is computed here from the spec's formula
(QUANTIZE_SPEC.md, "Grid" and "Swing"); both give identical points.
"""

from __future__ import annotations

import math

import numpy as np

from engine.quantize import QuantizeSettings

try:  # the quantizer's own lattice, when that part has landed
    from engine.quantize import grid_points as _engine_grid_points
except ImportError:  # pragma: no cover - depends on the other engineer's progress
    _engine_grid_points = None


def _spec_lattice(settings: QuantizeSettings, ppq: int, lo: float, hi: float) -> np.ndarray:
    g = float(settings.grid_step(ppq))
    origin = float(settings.offset)
    k0 = math.floor((lo - origin) / g) - 2
    k1 = math.ceil((hi - origin) / g) + 2
    k = np.arange(k0, k1 + 1, dtype=np.float64)
    pts = origin + k * g
    if settings.swing != 50:
        odd = (k.astype(np.int64) % 2) == 1
        pts[odd] = origin + (k[odd] - 1) * g + 2 * g * settings.swing / 100.0
    return pts[(pts >= lo) & (pts <= hi)]


def grid_lines(settings: QuantizeSettings, ppq: int, lo: float, hi: float) -> np.ndarray:
    """Grid points (float ticks, ascending) in ``[lo, hi]``."""
    if _engine_grid_points is not None:
        pts = np.asarray(_engine_grid_points(settings, ppq, lo, hi), dtype=np.float64)
        return pts[(pts >= lo) & (pts <= hi)]
    return _spec_lattice(settings, ppq, lo, hi)


def snap(settings: QuantizeSettings, ppq: int, tick: float) -> int:
    """The grid point nearest ``tick`` (ties to the earlier one), as a whole tick (half up),
    never below 0 — the same rule quantize uses, so snapped edits land on quantized spots."""
    g = float(settings.grid_step(ppq))
    pts = grid_lines(settings, ppq, tick - 2 * g, tick + 2 * g)
    if not pts.size:
        return max(0, int(math.floor(tick + 0.5)))
    d = np.abs(pts - tick)
    best = pts[int(np.argmin(d))]  # argmin returns the first (earlier) on a tie
    return max(0, int(math.floor(best + 0.5)))


def snap_floor(settings: QuantizeSettings, ppq: int, tick: float) -> int:
    """The last grid point at or before ``tick`` (where a drawn note starts)."""
    g = float(settings.grid_step(ppq))
    pts = grid_lines(settings, ppq, tick - 2 * g, tick + 1e-9)
    if not pts.size:
        return max(0, int(tick))
    return max(0, int(math.floor(pts[-1] + 0.5)))
