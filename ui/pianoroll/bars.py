"""Bar and beat positions of a song, in closed form per time-signature segment.

Within one time signature, bar ``k`` of the segment starts at ``tick + k * bar_length`` and is
bar number ``first + k``, so nothing here walks the song bar by bar: a file with gaps of 2^28
ticks at 1 PPQ (hundreds of millions of bars) costs what a one-bar song costs. The ruler, the
canvas and loop snapping ask only for what is on screen (or for one bar line), and get at most
a few lines per pixel whatever the zoom.

The last time signature runs on forever, so bars past the song's end keep its length.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from engine.tempo import TimeSignatureMap

#: Never more bar lines than this per segment in one request (a safety net: callers thin
#: lines to a minimum spacing in pixels, which keeps them far below it).
MAX_LINES = 1 << 16


@dataclass(frozen=True)
class Segment:
    """One time signature's stretch of bars."""

    tick: int  #: first bar line
    length: int  #: ticks per bar (at least 1)
    beat: int  #: ticks per beat (at least 1)
    numerator: int
    first_bar: int  #: 1-based number of the bar at ``tick``
    count: float  #: bar lines in this segment (``inf`` for the last one)


class BarGrid:
    """Where bars and beats fall, for any range of ticks, without enumerating the song."""

    def __init__(self, segments: list[Segment]):
        self.segments = segments
        self._starts = np.asarray([s.tick for s in segments], dtype=np.int64)

    @classmethod
    def build(cls, sigs: TimeSignatureMap, end_tick: int | None = None) -> BarGrid:
        """The grid of ``sigs`` (``end_tick`` is accepted for compatibility and unused: the
        grid has no end)."""
        segs: list[Segment] = []
        number = 1
        n = len(sigs.signatures)
        for i, sig in enumerate(sigs.signatures):
            length = max(1, int(sigs.bar_ticks(sig)))
            beat = max(1, int(sigs.ppq) * 4 // sig.denominator)
            if i + 1 < n:
                span = int(sigs.signatures[i + 1].tick) - int(sig.tick)
                count: float = float(max(0, -(-span // length)))
            else:
                count = math.inf
            segs.append(Segment(int(sig.tick), length, beat, sig.numerator, number, count))
            if count != math.inf:
                number += int(count)
        return cls(segs)

    # -- one bar line --------------------------------------------------------------------
    def _segment(self, tick: float) -> int:
        return max(0, int(np.searchsorted(self._starts, tick, side="right")) - 1)

    def bar_length_at(self, tick: float) -> int:
        return self.segments[self._segment(tick)].length

    def at_or_before(self, tick: float) -> int:
        """The last bar line at or before ``tick`` (0 before the first)."""
        if tick <= 0:
            return 0
        s = self.segments[self._segment(tick)]
        k = (int(math.floor(tick)) - s.tick) // s.length
        if k >= s.count:
            k = int(s.count) - 1
        return s.tick + max(0, k) * s.length

    def after(self, tick: float) -> int:
        """The first bar line strictly after ``tick``."""
        if tick < 0:
            return 0
        i = self._segment(tick)
        s = self.segments[i]
        k = (int(math.floor(tick)) - s.tick) // s.length + 1
        if k < s.count:
            return s.tick + k * s.length
        return self.segments[i + 1].tick

    def before(self, tick: int) -> int:
        """The last bar line strictly before ``tick`` (0 if none)."""
        return self.at_or_before(math.ceil(tick) - 1) if tick > 0 else 0

    def snap(self, tick: float) -> int:
        """The bar line nearest ``tick`` (ties to the earlier one), never below 0."""
        if tick <= 0:
            return 0
        a = self.at_or_before(tick)
        b = self.after(a)
        return a if tick - a <= b - tick else b

    def number_at(self, tick: float) -> int:
        """Number of the bar holding ``tick``."""
        s = self.segments[self._segment(tick)]
        k = (int(math.floor(max(0.0, tick))) - s.tick) // s.length
        return s.first_bar + int(min(max(0, k), s.count - 1))

    # -- ranges --------------------------------------------------------------------------
    def _visible_segments(self, t0: float, t1: float) -> range:
        return range(self._segment(t0), int(np.searchsorted(self._starts, t1, side="left")))

    @staticmethod
    def _every(s: Segment, ticks_per_px: float, min_px: float) -> int:
        """Label or draw every 1st, 2nd, 4th... bar so lines stay ``min_px`` apart."""
        if min_px <= 0:
            return 1
        bar_px = s.length / max(ticks_per_px, 1e-12)
        return 1 << max(0, math.ceil(math.log2(max(1.0, min_px / max(bar_px, 1e-12)))))

    def _bar_range(self, s: Segment, t0: float, t1: float) -> tuple[int, int]:
        """Bars ``k0 <= k < k1`` of ``s`` whose lines fall in ``[t0, t1)``."""
        k0 = max(0, math.ceil((t0 - s.tick) / s.length))
        k1 = math.ceil((t1 - s.tick) / s.length)
        if s.count != math.inf:
            k1 = min(k1, int(s.count))
        return k0, max(k0, k1)

    def bars_in(
        self, t0: float, t1: float, ticks_per_px: float = 1.0, min_px: float = 0.0
    ) -> tuple[np.ndarray, np.ndarray]:
        """(ticks, numbers) of the bar lines in ``[t0, t1)``; with ``min_px``, only every
        1st/2nd/4th... bar (numbers 1, 1+n, 1+2n...) so lines are at least that far apart."""
        ticks, numbers = [], []
        for i in self._visible_segments(t0, t1):
            s = self.segments[i]
            every = self._every(s, ticks_per_px, min_px)
            k0, k1 = self._bar_range(s, t0, t1)
            k0 += (-(s.first_bar - 1 + k0)) % every  # first bar whose number is kept
            k1 = min(k1, k0 + MAX_LINES * every)
            k = np.arange(k0, k1, every, dtype=np.int64)
            ticks.append(s.tick + k * s.length)
            numbers.append(s.first_bar + k)
        if not ticks:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        return np.concatenate(ticks), np.concatenate(numbers)

    def beats_in(self, t0: float, t1: float) -> np.ndarray:
        """Ticks of the beats in ``[t0, t1)`` that are not bar lines (empty where beats are
        too dense to be drawn: more than :data:`MAX_LINES` bars in one segment). A bar cut
        short by the next time signature has no beats past it."""
        out = []
        for i in self._visible_segments(t0, t1):
            s = self.segments[i]
            if s.numerator < 2:
                continue
            k0, k1 = self._bar_range(s, t0 - s.length, t1)
            if k1 - k0 > MAX_LINES:
                continue
            bars = s.tick + np.arange(k0, k1, dtype=np.int64) * s.length
            beats = (bars[:, None] + s.beat * np.arange(1, s.numerator, dtype=np.int64)).ravel()
            stop = t1 if i + 1 == len(self.segments) else min(t1, self.segments[i + 1].tick)
            out.append(beats[(beats >= t0) & (beats < stop)])  # a new signature, a new bar
        return np.concatenate(out) if out else np.zeros(0, np.int64)
