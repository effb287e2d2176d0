"""Metronome and count-in clicks, as MIDI notes to a chosen port and channel.

The engine plays clicks from a :class:`ClickStream`: beats are made in closed form a block
at a time from where play is (never for the whole song), so a song with a silence of 2^28
beats costs the same as a short one and clicks all the way through it. Clicks go through the
same push/release path as the song's notes. The first beat of a bar is accented (another
pitch, louder), like the GM-drum click of Logic/Cubase: side stick high (76) / low (77)
woodblock on channel 10. :func:`click_rows` makes schedule rows (``track = METRONOME_TRACK``)
for a range, for callers that want them as a table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from engine.model.tempo import TempoMap, TimeSignatureMap
from engine.realtime.schedule import KIND_NOTE_ON, SCHED_DTYPE

METRONOME_TRACK = -1
#: Clicks made for one range at most: 2^20 beats, 145 hours at 120 BPM. Rows cost ~60
#: bytes each, so a hostile file (2^28 silent ticks at 1 PPQ is 2^28 beats) can't make the
#: metronome allocate gigabytes; past that many beats the metronome is silent.
MAX_CLICKS = 1 << 20


@dataclass(frozen=True)
class ClickSettings:
    channel: int = 9  #: 0-based: 9 is GM channel 10 (drums)
    accent_pitch: int = 76
    beat_pitch: int = 77
    accent_velocity: int = 120
    beat_velocity: int = 90


def beat_ticks(
    tsig: TimeSignatureMap, start_tick: int, end_tick: int, limit: int = MAX_CLICKS
) -> list[tuple[int, bool]]:
    """``(tick, is_downbeat)`` for the beats in ``[start_tick, end_tick)``, the first ``limit``
    of them (in closed form: the ticks before ``start_tick`` cost nothing)."""
    ticks, down = tsig.beats(start_tick, end_tick, limit=limit)
    return list(zip(ticks.tolist(), down.tolist(), strict=True))


def _rows(ticks, downbeats, tempo: TempoMap, click: ClickSettings, length: int) -> np.ndarray:
    ticks = np.asarray(ticks, dtype=np.int64)
    rows = np.zeros(ticks.size, dtype=SCHED_DTYPE)
    rows["track"] = METRONOME_TRACK
    rows["kind"] = KIND_NOTE_ON
    rows["status"] = 0x90 | click.channel
    rows["data1"] = np.where(downbeats, click.accent_pitch, click.beat_pitch)
    rows["data2"] = np.where(downbeats, click.accent_velocity, click.beat_velocity)
    rows["note"] = np.arange(ticks.size)
    rows["tick"] = ticks
    rows["sec"] = tempo.tick_to_seconds(ticks)
    rows["off_tick"] = ticks + length
    rows["off_sec"] = tempo.tick_to_seconds(ticks + length)
    return rows


def click_rows(
    tsig: TimeSignatureMap,
    tempo: TempoMap,
    start_tick: int,
    end_tick: int,
    click: ClickSettings | None = None,
) -> np.ndarray:
    """Note-on rows (with their note-off times) for the metronome over a tick range (the
    first :data:`MAX_CLICKS` beats of it)."""
    click = click or ClickSettings()
    ticks, down = tsig.beats(start_tick, end_tick, limit=MAX_CLICKS)
    return _rows(ticks, down, tempo, click, max(1, tsig.ppq // 8))


#: Beats a :class:`ClickStream` makes at once (a few minutes at usual tempos: ~30 µs of work).
CLICK_BLOCK = 256


class ClickStream:
    """The metronome's clicks from a position on, for the engine thread (``tempo`` and
    ``tsig`` of the timeline playing; beats at ticks ``< stop_tick``).

    :meth:`seek` puts it at a song time; :meth:`next_sec` is when the next click is due;
    :meth:`pop` hands it out. Beats are made :data:`CLICK_BLOCK` at a time in closed form
    (:meth:`TimeSignatureMap.beats`), so time and memory follow the clicks played, never the
    ticks skipped; seeking inside the block made last (a loop shorter than the block wrapping)
    allocates nothing.
    """

    __slots__ = ("tsig", "tempo", "stop_tick", "click", "_on", "_off", "_secs", "_downs",
                 "_offs", "_i", "_from", "_to", "_gate")

    def __init__(
        self,
        tsig: TimeSignatureMap,
        tempo: TempoMap,
        stop_tick: int,
        click: ClickSettings | None = None,
    ):
        self.tsig, self.tempo, self.stop_tick = tsig, tempo, int(stop_tick)
        self.click = click = click or ClickSettings()
        self._on = (
            bytes((0x90 | click.channel, click.beat_pitch, click.beat_velocity)),
            bytes((0x90 | click.channel, click.accent_pitch, click.accent_velocity)),
        )
        self._off = (
            bytes((0x80 | click.channel, click.beat_pitch, 0)),
            bytes((0x80 | click.channel, click.accent_pitch, 0)),
        )
        self._gate = max(1, tsig.ppq // 8)  # click length in ticks
        self._secs: list[float] = []
        self._offs: list[float] = []
        self._downs: list[bool] = []
        self._i = 0
        self._from = self._to = 0  # the block holds every beat in ticks [_from, _to)

    def _make(self, t0: int) -> None:
        """The block of beats from tick ``t0`` on."""
        t0 = max(0, t0)
        ticks, down = self.tsig.beats(t0, self.stop_tick, limit=CLICK_BLOCK)
        self._from = t0
        full = ticks.size == CLICK_BLOCK
        self._to = int(ticks[-1]) + 1 if full else max(t0, self.stop_tick)
        self._secs = np.asarray(self.tempo.tick_to_seconds(ticks), dtype=np.float64).tolist()
        self._offs = np.asarray(
            self.tempo.tick_to_seconds(ticks + self._gate), dtype=np.float64
        ).tolist()
        self._downs = down.tolist()
        self._i = 0

    def seek(self, sec: float) -> None:
        """Next click: the first beat at or after song time ``sec``."""
        tick = self.tempo.seconds_to_tick(sec)
        tick = int(math.floor(tick)) if math.isfinite(tick) else self.stop_tick
        tick = min(max(0, tick), self.stop_tick)
        if not (self._from <= tick < self._to):
            self._make(tick)
        secs = self._secs
        lo, hi = 0, len(secs)
        while lo < hi:  # bisect: first click at or after ``sec`` (no allocation)
            mid = (lo + hi) // 2
            if secs[mid] < sec:
                lo = mid + 1
            else:
                hi = mid
        self._i = lo
        self._advance()

    def _advance(self) -> None:
        """Past the block's last beat: make the next block (if the song goes on)."""
        if self._i >= len(self._secs) and self._to < self.stop_tick:
            self._make(self._to)

    def next_sec(self) -> float | None:
        """When the next click is due (song seconds), or ``None`` after the last one."""
        return self._secs[self._i] if self._i < len(self._secs) else None

    def pop(self) -> tuple[float, bytes, float, bytes]:
        """The next click: ``(sec, note-on, note-off sec, note-off)``; call after
        :meth:`next_sec` said there is one."""
        i = self._i
        down = self._downs[i]
        out = (self._secs[i], self._on[down], self._offs[i], self._off[down])
        self._i = i + 1
        self._advance()
        return out


def count_in_clicks(
    tsig: TimeSignatureMap, tempo: TempoMap, start_tick: int, bars: int, click=None
) -> tuple[float, list[tuple[float, bytes, float, bytes]]]:
    """Count-in before ``start_tick``: its length in seconds and its clicks.

    Each click is ``(seconds before start, note-on, seconds before start of its note-off,
    note-off)``. The count-in uses the bar length and tempo in force at ``start_tick``.
    """
    click = click or ClickSettings()
    sig = tsig.signatures[0]
    for s in tsig.signatures:
        if s.tick <= start_tick:
            sig = s
    beat = max(1, tsig.ppq * 4 // sig.denominator)
    sec_per_tick = 60.0 / tempo.bpm_at(start_tick) / tsig.ppq
    total_beats = bars * sig.numerator
    length = total_beats * beat * sec_per_tick
    clicks = []
    for k in range(total_beats):
        down = k % sig.numerator == 0
        pitch = click.accent_pitch if down else click.beat_pitch
        vel = click.accent_velocity if down else click.beat_velocity
        before = length - k * beat * sec_per_tick
        off_before = before - (tsig.ppq // 8) * sec_per_tick
        clicks.append(
            (
                before,
                bytes((0x90 | click.channel, pitch, vel)),
                off_before,
                bytes((0x80 | click.channel, pitch, 0)),
            )
        )
    return length, clicks
