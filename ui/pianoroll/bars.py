"""Bar and beat positions of a song, in closed form per time-signature segment.

Within one time signature, bar ``k`` of the segment starts at ``tick + k * bar_length`` and is
bar number ``first + k``, so nothing here walks the song bar by bar: a file with gaps of 2^28
ticks at 1 PPQ (hundreds of millions of bars) costs what a one-bar song costs. The ruler, the
canvas and loop snapping ask only for what is on screen (or for one bar line), and get at most
a few lines per pixel whatever the zoom. The segments are held as numpy columns, so a file
with a hundred thousand time signatures is built and drawn with array operations.

The last time signature runs on forever, so bars past the song's end keep its length.
"""

from __future__ import annotations

import math

import numpy as np

from engine.model import TimeSignatureMap

#: Never more bar lines than this per segment in one request (a safety net: callers thin
#: lines to a minimum spacing in pixels, which keeps them far below it).
MAX_LINES = 1 << 16
#: Beats are left out when more time signatures than this are on screen at once.
MAX_BEAT_SEGMENTS = 512


class BarGrid:
    """Where bars and beats fall, for any range of ticks, without enumerating the song.

    Segment ``i`` (one time signature) starts at ``tick[i]`` with bars of ``length[i]`` ticks
    and beats of ``beat[i]`` ticks, ``numerator[i]`` beats to the bar; its first bar is number
    ``first[i]`` and it holds ``count[i]`` bar lines (``inf`` for the last segment).
    """

    def __init__(self, tick, length, beat, numerator, first, count):
        self.tick = np.asarray(tick, np.int64)
        self.length = np.asarray(length, np.int64)
        self.beat = np.asarray(beat, np.int64)
        self.numerator = np.asarray(numerator, np.int64)
        self.first = np.asarray(first, np.int64)
        self.count = np.asarray(count, np.float64)

    @classmethod
    def build(cls, sigs: TimeSignatureMap, end_tick: int | None = None) -> BarGrid:
        """The grid of ``sigs`` (``end_tick`` is accepted for compatibility and unused: the
        grid has no end)."""
        s = sigs.signatures
        tick = np.fromiter((x.tick for x in s), np.int64, len(s))
        num = np.fromiter((x.numerator for x in s), np.int64, len(s))
        den = np.fromiter((x.denominator for x in s), np.int64, len(s))
        ppq = int(sigs.ppq)
        # The same arithmetic as TimeSignatureMap.bar_ticks, and never a zero-length bar.
        length = np.maximum(1, ppq * 4 * num // den)
        beat = np.maximum(1, ppq * 4 // den)
        count = np.empty(len(s), np.float64)
        count[:-1] = -(-np.diff(tick) // length[:-1])  # ceil: a cut-short bar still counts
        count[-1] = math.inf
        first = np.ones(len(s), np.int64)
        first[1:] += np.cumsum(count[:-1]).astype(np.int64)
        return cls(tick, length, beat, num, first, count)

    # -- one bar line --------------------------------------------------------------------
    def _segment(self, tick: float) -> int:
        return max(0, int(np.searchsorted(self.tick, tick, side="right")) - 1)

    def _bar_index(self, i: int, tick: float) -> int:
        """Index within segment ``i`` of the bar holding ``tick``."""
        k = (int(math.floor(max(0.0, tick))) - int(self.tick[i])) // int(self.length[i])
        return int(min(max(0, k), self.count[i] - 1))

    def bar_length_at(self, tick: float) -> int:
        return int(self.length[self._segment(tick)])

    def at_or_before(self, tick: float) -> int:
        """The last bar line at or before ``tick`` (0 before the first)."""
        if tick <= 0:
            return 0
        i = self._segment(tick)
        return int(self.tick[i]) + self._bar_index(i, tick) * int(self.length[i])

    def after(self, tick: float) -> int:
        """The first bar line strictly after ``tick``."""
        if tick < 0:
            return 0
        i = self._segment(tick)
        k = (int(math.floor(tick)) - int(self.tick[i])) // int(self.length[i]) + 1
        if k < self.count[i]:
            return int(self.tick[i]) + k * int(self.length[i])
        return int(self.tick[i + 1])

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
        i = self._segment(tick)
        return int(self.first[i]) + self._bar_index(i, tick)

    # -- ranges --------------------------------------------------------------------------
    def _visible(self, t0: float, t1: float) -> slice:
        return slice(self._segment(t0), int(np.searchsorted(self.tick, t1, side="left")))

    def bars_in(
        self, t0: float, t1: float, ticks_per_px: float = 1.0, min_px: float = 0.0
    ) -> tuple[np.ndarray, np.ndarray]:
        """(ticks, numbers) of the bar lines in ``[t0, t1)``; with ``min_px``, only every
        1st/2nd/4th... bar (numbers 1, 1+n, 1+2n...) so lines are at least that far apart.
        Vectorised over the segments on screen: no Python loop per segment or per bar."""
        sl = self._visible(t0, t1)
        tick, length = self.tick[sl], self.length[sl]
        first, count = self.first[sl], self.count[sl]
        if not tick.size:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        if min_px > 0:
            bar_px = length / max(ticks_per_px, 1e-12)
            every = np.exp2(np.maximum(0, np.ceil(np.log2(np.maximum(1.0, min_px / bar_px)))))
            every = every.astype(np.int64)
        else:
            every = np.ones(tick.size, np.int64)
        k0 = np.maximum(0, np.ceil((t0 - tick) / length)).astype(np.int64)
        k1 = np.minimum(np.ceil((t1 - tick) / length), count)
        k0 += (-(first - 1 + k0)) % every  # the first bar whose number is kept
        n = np.clip(np.ceil((k1 - k0) / every), 0, MAX_LINES).astype(np.int64)
        which = np.repeat(np.arange(tick.size), n)
        j = np.arange(which.size) - np.repeat(np.cumsum(n) - n, n)
        k = k0[which] + j * every[which]
        return tick[which] + k * length[which], first[which] + k

    def beats_in(self, t0: float, t1: float) -> np.ndarray:
        """Ticks of the beats in ``[t0, t1)`` that are not bar lines. A bar cut short by the
        next time signature has no beats past it. Empty where beats are too dense to draw
        (more than :data:`MAX_LINES` bars of one segment, or more than
        :data:`MAX_BEAT_SEGMENTS` segments, on screen)."""
        sl = self._visible(t0, t1)
        if sl.stop - sl.start > MAX_BEAT_SEGMENTS:
            return np.zeros(0, np.int64)
        out = []
        last = self.tick.size - 1
        for i in range(sl.start, sl.stop):
            num = int(self.numerator[i])
            if num < 2:
                continue
            start, length = int(self.tick[i]), int(self.length[i])
            k0 = max(0, math.ceil((t0 - length - start) / length))
            k1 = math.ceil((t1 - start) / length)
            if i < last:
                k1 = min(k1, int(self.count[i]))
            if k1 - k0 > MAX_LINES:
                continue
            bars = start + np.arange(k0, max(k0, k1), dtype=np.int64) * length
            beats = (bars[:, None] + int(self.beat[i]) * np.arange(1, num, dtype=np.int64)).ravel()
            stop = t1 if i == last else min(t1, int(self.tick[i + 1]))
            out.append(beats[(beats >= t0) & (beats < stop)])
        return np.concatenate(out) if out else np.zeros(0, np.int64)
