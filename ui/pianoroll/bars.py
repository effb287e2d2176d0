"""Bar and beat positions of a song, as arrays, for the ruler and the canvas's bar lines.

Computed once per song (TimeSignatureMap.bars walks bar by bar in Python) and then sliced with
``searchsorted`` on every paint.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.model import TimeSignatureMap


@dataclass
class BarGrid:
    bar_ticks: np.ndarray  #: tick of every bar line
    bar_numbers: np.ndarray  #: 1-based bar numbers
    beat_ticks: np.ndarray  #: tick of every beat that is not a bar line

    @classmethod
    def build(cls, sigs: TimeSignatureMap, end_tick: int) -> BarGrid:
        bars, numbers, beats = [], [], []
        for number, tick, sig in sigs.bars(end_tick):
            bars.append(tick)
            numbers.append(number)
            beat = max(1, sigs.ppq * 4 // sig.denominator)
            beats.extend(tick + beat * k for k in range(1, sig.numerator))
        return cls(
            np.asarray(bars, dtype=np.int64),
            np.asarray(numbers, dtype=np.int64),
            np.asarray(beats, dtype=np.int64),
        )

    def bars_in(self, t0: float, t1: float) -> tuple[np.ndarray, np.ndarray]:
        i0, i1 = np.searchsorted(self.bar_ticks, [t0, t1], side="left")
        return self.bar_ticks[i0:i1], self.bar_numbers[i0:i1]

    def beats_in(self, t0: float, t1: float) -> np.ndarray:
        i0, i1 = np.searchsorted(self.beat_ticks, [t0, t1], side="left")
        return self.beat_ticks[i0:i1]
