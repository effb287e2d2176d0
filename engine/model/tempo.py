"""Tempo map and time signatures: converting between ticks, seconds, bars and beats.

Everything here costs time and memory in proportion to the number of tempo or signature
changes (or to the range a caller asks for), never to the number of ticks: a file with a
silence of 2^28 ticks at 1 PPQ has as few bars to *count* as a short one, because bars and
beats are computed in closed form per time-signature segment.

A tempo of 0 µs per quarter note (infinitely fast) or any other non-positive or non-finite
tempo cannot time anything. Such a tempo event is kept in the file byte for byte, but the
tempo map ignores it: the tempo before it goes on (the SMF default of 120 BPM at the start),
as FluidSynth and most players do. :attr:`TempoMap.ignored` lists the ticks of ignored events.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_USEC_PER_QUARTER = 500_000  # 120 BPM, the SMF default when a file has no tempo event


def usable_tempo(usec: np.ndarray) -> np.ndarray:
    """Which tempos (µs per quarter) can time music: positive and finite."""
    usec = np.asarray(usec, dtype=np.float64)
    return np.isfinite(usec) & (usec > 0)


class TempoMap:
    """Piecewise-constant tempo: segment i starts at ``ticks[i]`` with ``usec[i]`` per quarter.

    Always starts at tick 0 (the SMF default tempo fills the gap before the first event).
    Tempos that cannot time anything (0, negative, NaN, infinite) are left out, see the
    module doc; ``ignored`` holds their ticks. Conversions are vectorised so the engine and
    renderer convert whole clips at once, and never divide by zero.
    """

    def __init__(self, ppq: int, ticks=(), usec_per_quarter=()):
        ticks = np.asarray(ticks, dtype=np.int64).reshape(-1)
        usec = np.asarray(usec_per_quarter, dtype=np.float64).reshape(-1)
        good = usable_tempo(usec)
        self.ignored = ticks[~good]
        ticks, usec = ticks[good], usec[good]
        if ticks.size == 0 or ticks[0] > 0:
            ticks = np.concatenate(([0], ticks))
            usec = np.concatenate(([DEFAULT_USEC_PER_QUARTER], usec))
        ticks = np.maximum(ticks, 0)
        # On one tick the last tempo event wins.
        keep = np.ones(ticks.size, dtype=bool)
        keep[:-1] = ticks[1:] != ticks[:-1]
        self.ppq = max(1, int(ppq))
        self.ticks = ticks[keep]
        self.usec = usec[keep]
        sec_per_tick = self.usec / 1e6 / self.ppq
        seg_seconds = np.diff(self.ticks) * sec_per_tick[:-1]
        self.seconds = np.concatenate(([0.0], np.cumsum(seg_seconds)))
        self._sec_per_tick = sec_per_tick

    @classmethod
    def constant(cls, ppq: int, bpm: float) -> TempoMap:
        """A single tempo; a BPM that cannot time anything gives the 120 BPM default."""
        bpm = float(bpm)
        usec = 60e6 / bpm if np.isfinite(bpm) and bpm > 0 else DEFAULT_USEC_PER_QUARTER
        return cls(ppq, [0], [usec])

    def tick_to_seconds(self, ticks):
        """Seconds from tick 0 (accepts fractional ticks, scalars or arrays)."""
        t = np.asarray(ticks, dtype=np.float64)
        i = np.searchsorted(self.ticks, t, side="right") - 1
        i = np.clip(i, 0, None)
        out = self.seconds[i] + (t - self.ticks[i]) * self._sec_per_tick[i]
        return float(out) if out.ndim == 0 else out

    def seconds_to_tick(self, seconds):
        """Fractional tick at a time in seconds (inverse of :meth:`tick_to_seconds`)."""
        s = np.asarray(seconds, dtype=np.float64)
        i = np.searchsorted(self.seconds, s, side="right") - 1
        i = np.clip(i, 0, None)
        out = self.ticks[i] + (s - self.seconds[i]) / self._sec_per_tick[i]
        return float(out) if out.ndim == 0 else out

    def bpm_at(self, tick: float) -> float:
        i = max(0, int(np.searchsorted(self.ticks, tick, side="right")) - 1)
        return 60e6 / float(self.usec[i])


@dataclass(frozen=True)
class TimeSignature:
    tick: int
    numerator: int
    denominator: int  # 4 for x/4, 8 for x/8


class TimeSignatureMap:
    """Bars and beats from time-signature events (4/4 at tick 0 when the file has none).

    A signature starts a bar at its own tick; a bar cut short by the next signature still
    counts as a bar (as DAWs number them). Per segment ``i`` the map keeps its first tick,
    bar and beat length and the number of its first bar, so every question (which bar holds
    a tick, where bar N starts, the bar lines or beats in a window, how many bars a song
    has) is answered in closed form with a binary search over the segments.
    """

    def __init__(self, ppq: int, signatures: list[TimeSignature]):
        sigs = sorted(signatures, key=lambda s: s.tick)
        sigs = [s if s.tick >= 0 else TimeSignature(0, s.numerator, s.denominator) for s in sigs]
        if not sigs or sigs[0].tick != 0:
            sigs.insert(0, TimeSignature(0, 4, 4))
        dedup: dict[int, TimeSignature] = {}
        for s in sigs:
            dedup[s.tick] = s
        self.ppq = ppq
        self.signatures = list(dedup.values())
        self._ticks = np.array([s.tick for s in self.signatures], dtype=np.int64)
        self._bar_len = np.array(
            [max(1, self.bar_ticks(s)) for s in self.signatures], dtype=np.int64
        )
        self._beat_len = np.array(
            [max(1, self.ppq * 4 // max(1, s.denominator)) for s in self.signatures],
            dtype=np.int64,
        )
        seg_bars = -(-np.diff(self._ticks) // self._bar_len[:-1])  # ceil: a cut bar counts
        self._first_bar = np.concatenate(([1], 1 + np.cumsum(seg_bars))).astype(np.int64)

    def bar_ticks(self, sig: TimeSignature) -> int:
        return self.ppq * 4 * sig.numerator // max(1, sig.denominator)

    # -- closed-form questions -----------------------------------------------------------

    def _segment(self, tick):
        return np.clip(np.searchsorted(self._ticks, tick, side="right") - 1, 0, None)

    def bar_at(self, tick: int) -> int:
        """Number (from 1) of the bar that holds ``tick`` (ticks before 0 are in bar 1)."""
        tick = max(0, int(tick))
        i = int(self._segment(tick))
        return int(self._first_bar[i]) + (tick - int(self._ticks[i])) // int(self._bar_len[i])

    def bar_start(self, bar: int) -> int:
        """Tick where bar ``bar`` (counted from 1; below 1 means 1) starts."""
        bar = max(1, int(bar))
        i = max(0, int(np.searchsorted(self._first_bar, bar, side="right")) - 1)
        return int(self._ticks[i]) + (bar - int(self._first_bar[i])) * int(self._bar_len[i])

    def bar_count(self, end_tick: int) -> int:
        """How many bar lines lie at ticks ``0 … end_tick`` (0 for a negative ``end_tick``)."""
        return self.bar_at(end_tick) if end_tick >= 0 else 0

    def bar_lines(
        self, t0: int, t1: int, every: int = 1, limit: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(ticks, numbers)`` of the bar lines in ``[t0, t1)``; with ``every`` > 1 only bars
        1, 1 + every, … (for a zoomed-out ruler); at most ``limit`` of them (the first).
        Costs the number of lines returned."""
        every = max(1, int(every))
        t0, t1 = max(0, int(t0)), int(t1)
        if t1 <= t0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        first = self.bar_at(t0)
        if self.bar_start(first) < t0:
            first += 1
        last = self.bar_at(t1 - 1)
        first += (-(first - 1)) % every
        if limit is not None:
            last = min(last, first + (max(0, int(limit)) - 1) * every)
        numbers = np.arange(first, last + 1, every, dtype=np.int64)
        i = np.clip(np.searchsorted(self._first_bar, numbers, side="right") - 1, 0, None)
        ticks = self._ticks[i] + (numbers - self._first_bar[i]) * self._bar_len[i]
        return ticks, numbers

    def beats(
        self, t0: int, t1: int, limit: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(ticks, is_downbeat)`` of every beat in ``[t0, t1)`` (at most ``limit``, the
        first); a beat that would fall in the next bar (a bar cut short by a signature
        change) is left out. Costs the number of beats returned."""
        bars = None if limit is None else max(0, int(limit)) + 1  # a bar holds >= 1 beat
        bar_ticks, _ = self.bar_lines(self.bar_start(self.bar_at(t0)), t1, limit=bars)
        if bar_ticks.size == 0:
            return np.zeros(0, np.int64), np.zeros(0, bool)
        seg = self._segment(bar_ticks)
        beat = self._beat_len[seg]
        bar_len = self._bar_len[seg]
        nxt = np.minimum(bar_ticks + bar_len, np.append(bar_ticks[1:], np.iinfo(np.int64).max))
        per_bar = -(-(nxt - bar_ticks) // beat)
        total = int(per_bar.sum())
        owner = np.repeat(np.arange(bar_ticks.size), per_bar)
        k = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(per_bar) - per_bar, per_bar)
        ticks = bar_ticks[owner] + k * beat[owner]
        keep = np.flatnonzero((ticks >= t0) & (ticks < t1))[:limit]
        return ticks[keep], (k == 0)[keep]

    def bars(self, end_tick: int):
        """Yield ``(bar_number, tick, signature)`` for every bar line up to ``end_tick``.

        Walks bar by bar: for counting or looking up bars use :meth:`bar_count`,
        :meth:`bar_at`, :meth:`bar_start` or :meth:`bar_lines`, which cost nothing per bar.
        """
        bar = 1
        for i, sig in enumerate(self.signatures):
            stop = self.signatures[i + 1].tick if i + 1 < len(self.signatures) else end_tick + 1
            length = max(1, self.bar_ticks(sig))
            tick = sig.tick
            while tick < stop and tick <= end_tick:
                yield bar, tick, sig
                bar += 1
                tick += length

    def position(self, tick: int) -> tuple[int, int, int]:
        """(bar, beat, tick-in-beat), all counted from 1 except the tick, as a DAW shows them."""
        tick = int(tick)
        i = int(self._segment(tick))
        sig_tick, length, beat_len = (int(a[i]) for a in (self._ticks, self._bar_len, self._beat_len))
        rel = tick - sig_tick
        bar = int(self._first_bar[i]) + rel // length
        in_bar = rel % length
        return bar, in_bar // beat_len + 1, in_bar % beat_len
