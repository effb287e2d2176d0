"""Tempo map and time signatures: converting between ticks, seconds, bars and beats."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_USEC_PER_QUARTER = 500_000  # 120 BPM, the SMF default when a file has no tempo event


class TempoMap:
    """Piecewise-constant tempo: segment i starts at ``ticks[i]`` with ``usec[i]`` per quarter.

    Always starts at tick 0 (the SMF default tempo fills the gap before the first event).
    Conversions are vectorised so the engine and renderer convert whole clips at once.
    """

    def __init__(self, ppq: int, ticks=(), usec_per_quarter=()):
        ticks = np.asarray(ticks, dtype=np.int64)
        usec = np.asarray(usec_per_quarter, dtype=np.float64)
        if ticks.size == 0 or ticks[0] != 0:
            ticks = np.concatenate(([0], ticks))
            usec = np.concatenate(([DEFAULT_USEC_PER_QUARTER], usec))
        # On one tick the last tempo event wins.
        keep = np.ones(ticks.size, dtype=bool)
        keep[:-1] = ticks[1:] != ticks[:-1]
        self.ppq = int(ppq)
        self.ticks = ticks[keep]
        self.usec = usec[keep]
        sec_per_tick = self.usec / 1e6 / self.ppq
        seg_seconds = np.diff(self.ticks) * sec_per_tick[:-1]
        self.seconds = np.concatenate(([0.0], np.cumsum(seg_seconds)))
        self._sec_per_tick = sec_per_tick

    @classmethod
    def constant(cls, ppq: int, bpm: float) -> TempoMap:
        return cls(ppq, [0], [60e6 / bpm])

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
    """Bars and beats from time-signature events (4/4 at tick 0 when the file has none)."""

    def __init__(self, ppq: int, signatures: list[TimeSignature]):
        sigs = sorted(signatures, key=lambda s: s.tick)
        if not sigs or sigs[0].tick != 0:
            sigs.insert(0, TimeSignature(0, 4, 4))
        dedup: dict[int, TimeSignature] = {}
        for s in sigs:
            dedup[s.tick] = s
        self.ppq = ppq
        self.signatures = list(dedup.values())

    def bar_ticks(self, sig: TimeSignature) -> int:
        return self.ppq * 4 * sig.numerator // sig.denominator

    def bars(self, end_tick: int):
        """Yield ``(bar_number, tick, signature)`` for every bar line up to ``end_tick``."""
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
        bar = 1
        for i, sig in enumerate(self.signatures):
            nxt = self.signatures[i + 1].tick if i + 1 < len(self.signatures) else None
            length = max(1, self.bar_ticks(sig))
            if nxt is not None and tick >= nxt:
                bar += -(-(nxt - sig.tick) // length)
                continue
            rel = tick - sig.tick
            beat_len = max(1, self.ppq * 4 // sig.denominator)
            bar += rel // length
            in_bar = rel % length
            return bar, in_bar // beat_len + 1, in_bar % beat_len
        return bar, 1, 0
