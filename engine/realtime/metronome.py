"""Metronome and count-in clicks, as MIDI notes to a chosen port and channel.

Clicks are schedule rows (``track = METRONOME_TRACK``) so the engine plays them with the same
timing path as the song. The first beat of a bar is accented (another pitch, louder), like the
GM-drum click of Logic/Cubase: side stick high (76) / low (77) woodblock on channel 10.
"""

from __future__ import annotations

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


def beat_ticks(tsig: TimeSignatureMap, start_tick: int, end_tick: int) -> list[tuple[int, bool]]:
    """``(tick, is_downbeat)`` for every beat in ``[start_tick, end_tick)`` (in closed form:
    the ticks before ``start_tick`` cost nothing)."""
    ticks, down = tsig.beats(start_tick, end_tick)
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
