"""Tempo as the window shows it, safe against tempo events a file should never hold.

A Set Tempo event of 0 µs per quarter (or a map the engine could not make sense of) has no
BPM; the window shows "invalid" for it instead of dividing by zero in a paint or a status
update. The engine's tempo map decides how such a file plays; this only keeps the display
honest and alive.
"""

from __future__ import annotations

import math

import numpy as np


def bpm_of(usec_per_quarter: float) -> float | None:
    """BPM for a tempo in µs per quarter note, or None when it has none (0, negative, NaN)."""
    usec = float(usec_per_quarter)
    if not math.isfinite(usec) or usec <= 0:
        return None
    return 60e6 / usec


def bpm_text(usec_per_quarter: float) -> str:
    """``"96 BPM"``; ``"invalid tempo"`` for a tempo event without one."""
    bpm = bpm_of(usec_per_quarter)
    return "invalid tempo" if bpm is None else f"{bpm:.4g} BPM"


def bpm_at(tempo_map, tick: float) -> float | None:
    """The BPM in effect at ``tick`` (None where the file's tempo is invalid)."""
    ticks = np.asarray(tempo_map.ticks)
    if not ticks.size:
        return None
    i = max(0, int(np.searchsorted(ticks, tick, side="right")) - 1)
    return bpm_of(tempo_map.usec[i])
