"""Tiny MIDI files that describe enormous songs: silences of 2^28 ticks (the longest delta a
file can hold), thousands of them, and unusable tempos. Shared by the engine, play and render
tests of issue 14."""

from __future__ import annotations

from engine.model.song import Song
from engine.smf.midifile import load_song_bytes
from tests import midi_corpus as mc

GAP = (1 << 28) - 1  #: the longest delta a MIDI file can hold


def tempo_event(usec: int) -> bytes:
    return mc.meta(0x51, int(usec).to_bytes(3, "big"))


def gapped_bytes(
    ppq: int, gaps: int, gap: int = GAP, length: int = 1, usec: int | None = None
) -> bytes:
    """Format 0: a note (pitch 60 + i % 12, ``length`` ticks) at tick 0 and after each of
    ``gaps`` silences of ``gap`` ticks; an optional tempo event at tick 0."""
    events: list[tuple[int, bytes]] = []
    if usec is not None:
        events.append((0, tempo_event(usec)))
    delta = 0
    for i in range(gaps + 1):
        pitch = 60 + i % 12
        events.append((delta, bytes((0x90, pitch, 100))))
        events.append((length, bytes((0x80, pitch, 0))))
        delta = gap - length
    return mc.raw_smf(0, ppq, [mc.raw_track(events, running=False)])


def gapped_song(ppq: int, gaps: int, gap: int = GAP, length: int = 1, usec=None) -> Song:
    return load_song_bytes(gapped_bytes(ppq, gaps, gap, length, usec))


def note_ticks(gaps: int, gap: int = GAP) -> list[int]:
    """Where :func:`gapped_bytes` puts its note-ons."""
    return [i * gap for i in range(gaps + 1)]
