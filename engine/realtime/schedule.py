"""The song as one time-ordered list of MIDI events, for the engine and the offline renderer.

Both the real-time engine and the offline renderer play a song from the same ``Schedule`` so
that what is heard live and what is rendered cannot drift apart. Notes go through playback
quantize here (non-destructively: the track's raw notes are never touched).

A schedule is immutable and built in parts, one per track. Changing one track's quantize
rebuilds only that track's part and re-merges (:meth:`Schedule.with_track`), which is cheap
enough to do while the song plays; the heavy work happens on the caller's thread and the engine
thread only swaps the finished object in.

Rows (``SCHED_DTYPE``) hold channel messages as status/data bytes; sysex rows point into the
track's payload. Note-on rows carry their note-off time too (``off_sec``/``off_tick``), so the
engine can keep a sounding note's note-off even when the schedule is swapped under it; the
separate note-off rows serve consumers that want a flat list (the renderer).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.model.notes import STATUS_ESCAPE, STATUS_META, STATUS_SYSEX
from engine.model.song import Song, Track
from engine.model.tempo import TempoMap
from engine.quantize.settings import QuantizeSettings

#: Row kinds. At one instant note-offs go first, then other messages (a program change
#: or CC applies before the note it belongs to), then note-ons.
KIND_NOTE_OFF = 0
KIND_MESSAGE = 1
KIND_SYSEX = 2
KIND_NOTE_ON = 3

SCHED_DTYPE = np.dtype(
    [
        ("sec", np.float64),  # song seconds from tick 0 (tempo map applied)
        ("tick", np.int64),
        ("track", np.int32),
        ("kind", np.uint8),
        ("status", np.uint8),
        ("data1", np.uint8),
        ("data2", np.uint8),
        ("note", np.int32),  # note id within its track (note rows), else -1
        ("off_sec", np.float64),  # note-on rows: when its note-off is due
        ("off_tick", np.int64),
        ("off_vel", np.uint8),  # note-on rows: the release velocity
        ("offset", np.uint32),  # sysex rows: payload start in the track's payload
        ("length", np.uint32),  # sysex rows: payload byte count
    ]
)


def _message_length(status: int) -> int:
    """Bytes in a channel message: program change and channel pressure have one data byte."""
    return 2 if (status & 0xF0) in (0xC0, 0xD0) else 3


def playback_notes(
    track: Track,
    ppq: int,
    settings: QuantizeSettings | None = None,
    tempo: TempoMap | None = None,
    stream: int = 0,
):
    """The notes the engine plays for ``track``: its raw notes through its playback quantize.

    ``settings`` overrides ``track.quantize`` (``None`` means: use the track's own).
    """
    return playback_notes_and_events(track, ppq, settings, tempo, stream)[0]


def playback_notes_and_events(
    track: Track,
    ppq: int,
    settings: QuantizeSettings | None = None,
    tempo: TempoMap | None = None,
    stream: int = 0,
):
    """``(notes, events)`` as played: with ``controllers = follow`` the CC, bend and pressure
    events move with their notes, exactly as the offline apply writes them. ``tempo`` converts
    humanize milliseconds; ``stream`` (the track index) picks the track's humanize sequence,
    the same as the offline apply, so "play quantized" sounds like the file it would save."""
    q = settings if settings is not None else track.quantize
    if q is None or track.notes.size == 0:
        return track.notes, track.events
    from engine.quantize.controllers import follow_notes
    from engine.quantize.core import quantize_notes  # the offline quantizer: one code path

    res = quantize_notes(track.notes, q, ppq, tempo=tempo, stream=stream)
    events = track.events
    if res.shift is not None:
        events = follow_notes(events, track.notes, res.shift)
    return res.notes, events


def _track_part(track: Track, index: int, ppq: int, tempo: TempoMap) -> np.ndarray:
    notes, ev = playback_notes_and_events(track, ppq, None, tempo, index)
    ev = ev[ev["status"] != STATUS_META]
    n, m = notes.size, ev.size
    part = np.zeros(2 * n + m, dtype=SCHED_DTYPE)
    part["track"] = index
    on, off, msg = part[:n], part[n : 2 * n], part[2 * n :]
    if n:
        status_on = (0x90 | notes["channel"]).astype(np.uint8)
        on["tick"] = notes["start"]
        on["kind"] = KIND_NOTE_ON
        on["status"] = status_on
        on["data1"] = notes["pitch"]
        on["data2"] = notes["velocity"]
        on["note"] = notes["id"]
        on["off_tick"] = notes["end"]
        on["off_vel"] = notes["off_velocity"]
        on["off_sec"] = tempo.tick_to_seconds(notes["end"])
        on["sec"] = tempo.tick_to_seconds(notes["start"])
        off["tick"] = notes["end"]
        off["sec"] = on["off_sec"]
        off["kind"] = KIND_NOTE_OFF
        off["status"] = (0x80 | notes["channel"]).astype(np.uint8)
        off["data1"] = notes["pitch"]
        off["data2"] = notes["off_velocity"]
        off["note"] = notes["id"]
    if m:
        msg["tick"] = ev["tick"]
        msg["sec"] = tempo.tick_to_seconds(ev["tick"])
        sysex = (ev["status"] == STATUS_SYSEX) | (ev["status"] == STATUS_ESCAPE)
        msg["kind"] = np.where(sysex, KIND_SYSEX, KIND_MESSAGE)
        msg["status"] = ev["status"]
        msg["data1"] = ev["data1"]
        msg["data2"] = ev["data2"]
        msg["note"] = -1
        msg["offset"] = ev["offset"]
        msg["length"] = ev["length"]
    return part


#: Ticks below this (in magnitude) fit the tick field of :func:`order_keys` (38 bits). A
#: MIDI file reaches it with about 1,000 of the longest deltas (2^28 - 1 ticks each).
KEY_TICK_LIMIT = 1 << 38


def order_keys(rows: np.ndarray, ticks: np.ndarray | None = None) -> np.ndarray:
    """One int64 per row whose order is the playing order: tick, kind, track, data byte.

    Tick order is time order (one tempo map for all tracks), so a single integer key replaces
    a five-column lexsort and lets a rebuilt track be *merged* into the rest instead of
    re-sorting everything. Tracks are offset by one so the metronome (-1) sorts first.
    ``ticks`` replaces the rows' ticks (see :func:`_key_ticks`: their ranks, for songs whose
    ticks do not fit the key).
    """
    tick = rows["tick"].astype(np.int64) if ticks is None else ticks
    return (
        (tick << 25)
        | (rows["kind"].astype(np.int64) << 23)
        | ((rows["track"].astype(np.int64) + 1) << 7)
        | (rows["data1"].astype(np.int64) & 0x7F)
    )


def ticks_fit_keys(ticks: np.ndarray) -> bool:
    """True when every tick fits the tick field of :func:`order_keys` as it is."""
    return not ticks.size or (
        int(ticks.max()) < KEY_TICK_LIMIT and int(ticks.min()) > -KEY_TICK_LIMIT
    )


def _key_ticks(rows: np.ndarray) -> np.ndarray | None:
    """``None`` when the rows' ticks fit the key; else each tick's rank among them (same
    order, few enough to fit): a song of thousands of 2^28-tick silences still sorts right,
    at the cost of a full sort instead of a merge when one track changes."""
    ticks = rows["tick"]
    if ticks_fit_keys(ticks):
        return None
    return np.unique(ticks, return_inverse=True)[1].reshape(-1).astype(np.int64)


def _sorted(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keys = order_keys(rows, _key_ticks(rows))
    order = np.argsort(keys, kind="stable")
    return _raw(rows)[order].view(SCHED_DTYPE), keys[order]


def _raw(rows: np.ndarray) -> np.ndarray:
    """The rows as opaque fixed-size records: numpy copies those ~10x faster than structs."""
    return np.ascontiguousarray(rows).view(np.dtype((np.void, rows.dtype.itemsize)))


def merge_rows(a, a_keys, b, b_keys) -> tuple[np.ndarray, np.ndarray]:
    """Merge two sorted row arrays (with their keys) into one, in O(len(a) + len(b))."""
    n = a.size + b.size
    b_at = np.searchsorted(a_keys, b_keys, side="right") + np.arange(b_keys.size)
    a_at = np.ones(n, dtype=bool)
    a_at[b_at] = False
    a_at = np.flatnonzero(a_at)
    rows = np.empty(n, dtype=a.dtype)
    keys = np.empty(n, dtype=np.int64)
    raw = _raw(rows)
    raw[a_at] = _raw(a)
    raw[b_at] = _raw(b)
    keys[a_at] = a_keys
    keys[b_at] = b_keys
    return rows, keys


def _merge(parts: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    rows = np.concatenate(parts) if parts else np.zeros(0, dtype=SCHED_DTYPE)
    return _sorted(rows)


@dataclass(frozen=True, eq=False)
class Schedule:
    """Every playable event of a song in time order (``rows``), plus what is needed to send it.

    ``rows`` is shared read-only between threads; never modify it in place.
    """

    song: Song
    tempo: TempoMap
    parts: tuple[np.ndarray, ...]
    rows: np.ndarray
    keys: np.ndarray  #: :func:`order_keys` of ``rows`` (ascending)

    @property
    def end_sec(self) -> float:
        return float(self.tempo.tick_to_seconds(self.song.length_ticks()))

    def message(self, i: int) -> bytes:
        """The MIDI bytes of row ``i`` (a new ``bytes`` object; call only when sending)."""
        r = self.rows[i]
        kind = int(r["kind"])
        if kind == KIND_SYSEX:
            track = self.song.tracks[int(r["track"])]
            start = int(r["offset"])
            data = track.payload[start : start + int(r["length"])].tobytes()
            return data if int(r["status"]) == STATUS_ESCAPE else b"\xf0" + data
        status = int(r["status"])
        if _message_length(status) == 2:
            return bytes((status, int(r["data1"])))
        return bytes((status, int(r["data1"]), int(r["data2"])))

    def with_track(self, index: int, track: Track) -> Schedule:
        """A schedule where track ``index`` is replaced (only that track is rebuilt).

        The other tracks' rows are kept in order and the new part is merged in, so the cost
        is a copy of the rows plus the one track's quantize, not a sort of the whole song.
        """
        tracks = list(self.song.tracks)
        tracks[index] = track
        song = self.song.with_tracks(tracks)
        parts = list(self.parts)
        parts[index] = _track_part(track, index, song.ppq, self.tempo)
        if not (ticks_fit_keys(self.rows["tick"]) and ticks_fit_keys(parts[index]["tick"])):
            return Schedule(song, self.tempo, tuple(parts), *_merge(parts))  # ranked keys
        keep = np.flatnonzero(self.rows["track"] != index)
        rest = _raw(self.rows)[keep].view(SCHED_DTYPE)
        new_rows, new_keys = _sorted(parts[index])
        rows, keys = merge_rows(rest, self.keys[keep], new_rows, new_keys)
        return Schedule(song, self.tempo, tuple(parts), rows, keys)

    def with_tempo(self, tempo: TempoMap) -> Schedule:
        """The same events timed by another tempo map (e.g. a tempo override)."""
        parts = []
        for p in self.parts:
            p = p.copy()
            p["sec"] = tempo.tick_to_seconds(p["tick"])
            p["off_sec"] = tempo.tick_to_seconds(p["off_tick"])
            parts.append(p)
        rows = self.rows.copy()  # same order: ticks do not change
        rows["sec"] = tempo.tick_to_seconds(rows["tick"])
        rows["off_sec"] = tempo.tick_to_seconds(rows["off_tick"])
        return Schedule(self.song, tempo, tuple(parts), rows, self.keys)

    def index_at(self, sec: float) -> int:
        """First row at or after song time ``sec``."""
        return int(np.searchsorted(self.rows["sec"], sec, side="left"))


def build_schedule(song: Song, tempo: TempoMap | None = None) -> Schedule:
    """The schedule of a whole song; ``tempo`` overrides the song's own tempo map."""
    tempo = tempo if tempo is not None else song.tempo_map()
    parts = tuple(_track_part(t, i, song.ppq, tempo) for i, t in enumerate(song.tracks))
    return Schedule(song, tempo, parts, *_merge(list(parts)))


def flat_events(schedule: Schedule) -> list[tuple[float, int, bytes]]:
    """``(seconds, track, bytes)`` of every row, note-offs included: the offline renderer's view.

    Not for the real-time engine (it builds a Python object per event).
    """
    return [
        (float(schedule.rows["sec"][i]), int(schedule.rows["track"][i]), schedule.message(i))
        for i in range(schedule.rows.size)
    ]
