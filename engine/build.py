"""Building songs in code: new songs, tracks, meta and channel events.

Used by the demo song, the editor and tests, so that a song built in memory looks exactly
like one loaded from a file (conductor track with tempo and time signature, named tracks).
"""

from __future__ import annotations

import math

import numpy as np

from engine.model.notes import EVENT_DTYPE, STATUS_META, empty_notes
from engine.model.song import META_TEMPO, META_TIME_SIGNATURE, META_TRACK_NAME, Song, Track


def _next_seq(track: Track) -> int:
    top = -1
    if track.events.size:
        top = max(top, int(track.events["seq"].max()))
    if track.notes.size:
        top = max(top, int(track.notes["on_seq"].max()), int(track.notes["off_seq"].max()))
    return top + 1


def _insert(track: Track, ev: np.ndarray) -> None:
    events = np.concatenate((track.events, ev))
    order = np.lexsort((events["seq"], events["tick"]))
    track.events = events[order]
    track.end_tick = max(track.end_tick, int(ev["tick"].max()))


def add_meta(track: Track, tick: int, meta_type: int, data: bytes) -> None:
    """Append a meta event (type 0x00–0x7F) with its data bytes."""
    ev = np.zeros(1, dtype=EVENT_DTYPE)
    ev["tick"] = tick
    ev["seq"] = _next_seq(track)
    ev["status"] = STATUS_META
    ev["data1"] = meta_type
    ev["offset"] = track.payload.size
    ev["length"] = len(data)
    track.payload = np.concatenate((track.payload, np.frombuffer(bytes(data), dtype=np.uint8)))
    _insert(track, ev)


def add_channel_event(track: Track, tick: int, status: int, data1: int, data2: int = 0) -> None:
    """Append a channel message (CC, program, pitch bend, aftertouch...)."""
    ev = np.zeros(1, dtype=EVENT_DTYPE)
    ev["tick"] = tick
    ev["seq"] = _next_seq(track)
    ev["status"] = status
    ev["data1"] = data1
    ev["data2"] = data2
    _insert(track, ev)


def tempo_bytes(bpm: float) -> bytes:
    """A tempo meta event's three bytes (µs per quarter) for ``bpm``, kept within what the
    event can say: 1 µs (60,000,000 BPM) to 16,777,215 µs (about 3.58 BPM). Never 0, which
    would stop time (see engine.model.tempo)."""
    bpm = float(bpm)
    if not math.isfinite(bpm) or bpm <= 0:
        raise ValueError(f"tempo must be a positive number of BPM, not {bpm}")
    usec = min(max(round(60e6 / bpm), 1), 0xFFFFFF)
    return int(usec).to_bytes(3, "big")


def new_song(ppq: int = 480, bpm: float = 120.0, time_signature: tuple[int, int] = (4, 4)) -> Song:
    """An empty type-1 song with a conductor track holding the tempo and time signature."""
    conductor = Track()
    add_meta(conductor, 0, META_TRACK_NAME, b"Conductor")
    num, den = time_signature
    add_meta(conductor, 0, META_TIME_SIGNATURE, bytes((num, den.bit_length() - 1, 24, 8)))
    add_meta(conductor, 0, META_TEMPO, tempo_bytes(bpm))
    return Song(ppq=ppq, format=1, tracks=[conductor])


def add_track(song: Song, notes: np.ndarray | None = None, name: str = "") -> Track:
    """Add a track holding ``notes`` (NOTE_DTYPE, treated as new notes) and return it."""
    track = Track(notes=empty_notes() if notes is None else notes.copy())
    if name:
        add_meta(track, 0, META_TRACK_NAME, name.encode("latin-1", "replace"))
    if track.notes.size:
        track.end_tick = int(track.notes["end"].max())
    song.tracks.append(track)
    return track
