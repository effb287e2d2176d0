"""How far notes sit off the grid: for ``quanta info`` and the GUI's timing view.

Offsets are measured to the same nearest (swung) grid point the quantizer pulls a note to,
so "3 % off" here means exactly what the exclude/catch ranges mean.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from engine.quantize.grid import nearest_grid
from engine.quantize.settings import QuantizeSettings


def grid_offsets(starts: np.ndarray, settings: QuantizeSettings, ppq: int) -> np.ndarray:
    """Signed offsets ``t - q(t)`` of each start from its nearest grid point, in ticks.

    Negative = early (ahead of the grid), positive = late. float64, since G may be fractional.
    """
    t = np.asarray(starts, dtype=np.float64)
    return t - nearest_grid(t, settings, ppq)


def grid_offsets_percent(starts: np.ndarray, settings: QuantizeSettings, ppq: int) -> np.ndarray:
    """The same offsets in percent of one grid step G (−50…+50 on a straight grid)."""
    return grid_offsets(starts, settings, ppq) / float(settings.grid_step(ppq)) * 100.0


@dataclass(frozen=True)
class OffsetStats:
    """Timing summary of a set of note starts against one grid."""

    grid: str  #: the grid's musician name, e.g. "1/16"
    notes: int
    mean_abs_ticks: float
    max_abs_ticks: float
    mean_abs_percent: float  #: in % of G
    max_abs_percent: float
    within_5_percent: float  #: share of notes (in %) at most 5 % of G off the grid
    within_10_percent: float

    def to_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        if not self.notes:
            return f"timing vs {self.grid}: no notes"
        return (
            f"timing vs {self.grid}: mean {self.mean_abs_ticks:.1f} ticks "
            f"({self.mean_abs_percent:.1f} % of a step), max {self.max_abs_ticks:.1f} ticks "
            f"({self.max_abs_percent:.1f} %); {self.within_5_percent:.1f} % of notes within 5 %, "
            f"{self.within_10_percent:.1f} % within 10 %"
        )


def offset_stats(starts: np.ndarray, settings: QuantizeSettings, ppq: int) -> OffsetStats:
    """Mean/max absolute offset and the share of notes within 5 % and 10 % of G."""
    g = float(settings.grid_step(ppq))
    ticks = np.abs(grid_offsets(starts, settings, ppq))
    n = int(ticks.size)
    if not n:
        return OffsetStats(settings.grid_label, 0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    pct = ticks / g * 100.0
    # A hair of tolerance so that an offset of exactly 5 % (e.g. 6 ticks of 120) counts.
    eps = 1e-9
    return OffsetStats(
        grid=settings.grid_label,
        notes=n,
        mean_abs_ticks=float(ticks.mean()),
        max_abs_ticks=float(ticks.max()),
        mean_abs_percent=float(pct.mean()),
        max_abs_percent=float(pct.max()),
        within_5_percent=float(np.count_nonzero(pct <= 5 + eps) / n * 100.0),
        within_10_percent=float(np.count_nonzero(pct <= 10 + eps) / n * 100.0),
    )
