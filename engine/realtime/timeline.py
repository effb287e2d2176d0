"""What the engine plays and how it is rebuilt: the timeline, and building it off the
engine thread.

A settings change rebuilds the affected track's part of the schedule on the caller's
thread (or the builder thread), then posts the finished :class:`Timeline`; the engine thread
only swaps it in (:meth:`TimelineBuilder._swap`). Part of :class:`engine.realtime.transport.Engine`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np

from engine.errors import QuantaError
from engine.model.song import Song
from engine.model.tempo import TempoMap, TimeSignatureMap
from engine.quantize.settings import QuantizeSettings
from engine.realtime import clock
from engine.realtime.metronome import METRONOME_TRACK, ClickSettings, ClickStream
from engine.realtime.pass_memory import TrackMoves, track_moves
from engine.realtime.schedule import Schedule, build_schedule


@dataclass(frozen=True, eq=False)
class Timeline:
    """What the engine plays: the song's schedule, and how to click along with it.

    The clicks are not rows: :meth:`click_stream` makes them from where play is, a block of
    beats at a time, so the metronome costs nothing per beat of the song that is not played
    (a song can hold a silence of 2^28 beats).
    """

    schedule: Schedule
    rows: np.ndarray
    secs: np.ndarray
    end_sec: float
    end_tick: int = 0
    clicks: ClickSettings | None = None  #: ``None``: no metronome
    tsig: TimeSignatureMap | None = None

    def click_stream(self) -> ClickStream | None:
        """A new stream of this timeline's clicks (beats up to and including the end tick)."""
        if self.clicks is None or self.tsig is None:
            return None
        return ClickStream(self.tsig, self.tempo, self.end_tick + 1, self.clicks)

    @property
    def tempo(self) -> TempoMap:
        return self.schedule.tempo

    def message(self, i: int) -> bytes:
        r = self.rows[i]
        if int(r["track"]) == METRONOME_TRACK:
            return bytes((int(r["status"]), int(r["data1"]), int(r["data2"])))
        track = self.schedule.song.tracks[int(r["track"])]
        start = int(r["offset"])
        data = track.payload[start : start + int(r["length"])].tobytes()
        return data if int(r["status"]) == 0xF7 else b"\xf0" + data


def make_timeline(schedule: Schedule, clicks: ClickSettings | None) -> Timeline:
    """The timeline of ``schedule``, with the metronome when ``clicks`` is given. Costs the
    schedule's rows (one copy of their times), nothing per beat or tick."""
    rows = schedule.rows
    end_tick = schedule.song.length_ticks()
    tsig = schedule.song.time_signatures() if clicks is not None else None
    secs = np.ascontiguousarray(rows["sec"])
    end_sec = float(schedule.tempo.tick_to_seconds(end_tick))
    return Timeline(schedule, rows, secs, end_sec, end_tick, clicks, tsig)


class TimelineBuilder:
    """The :class:`~engine.realtime.transport.Engine`'s timeline building (a mixin: it shares
    the engine's attributes)."""

    def set_song(self, song: Song) -> None:
        with self._model_lock:
            self._song = song
            self._rebuild_all()

    def set_tempo_override(self, bpm: float | None) -> None:
        """Play at a fixed tempo instead of the song's tempo map (``None``: the song's)."""
        if bpm is not None and not 1 <= bpm <= 999:
            raise QuantaError(f"tempo {bpm}: allowed 1–999 BPM")
        with self._model_lock:
            self._tempo_override = bpm
            self._rebuild_all()
        self._post("tempo_override", bpm)

    def set_track_quantize(self, index: int, settings: QuantizeSettings | None) -> None:
        """Change one track's playback quantize; takes effect from the next unplayed notes.

        Returns at once: the track's part of the schedule is rebuilt on a builder thread
        (a 1M-note song takes ~0.5 s) and swapped in when ready; a burst of changes costs one
        rebuild per track. :meth:`wait_rebuilt` waits for it (tests, command line).
        """
        with self._model_lock:
            if self._song is None or not 0 <= index < len(self._song.tracks):
                raise QuantaError(f"track {index}: no such track")
            track = self._song.tracks[index].copy()
            track.quantize = settings
            tracks = list(self._song.tracks)
            tracks[index] = track
            self._song = self._song.with_tracks(tracks)
            self._dirty.add(index)
            self._building = True
            if self._builder is None:
                self._builder = threading.Thread(
                    target=self._build_loop, name="quanta-schedule", daemon=True
                )
                self._builder.start()
        self._build_wanted.set()

    def wait_rebuilt(self, timeout: float = 10.0) -> bool:
        """Block until every quantize change so far is in the engine's schedule."""
        deadline = clock.now() + timeout
        while self._building:
            if clock.now() > deadline:
                return False
            time.sleep(0.002)
        return True

    def _build_loop(self) -> None:
        while True:
            self._build_wanted.wait()
            self._build_wanted.clear()
            if self._closing:
                return
            with self._model_lock:
                dirty, self._dirty = self._dirty, set()
                song, schedule, generation = self._song, self._schedule, self._generation
            base, moves = schedule, []
            playing = self._state.playing  # moves only matter to a pass in progress
            if dirty and schedule is not None:
                try:
                    for i in sorted(dirty):
                        old_part = schedule.parts[i]
                        schedule = schedule.with_track(i, song.tracks[i])
                        if playing:
                            moves.append(track_moves(i, old_part, schedule.parts[i]))
                except Exception as exc:  # a bad setting must not kill the builder
                    self._events.append(("error", f"playback quantize failed: {exc}"))
                    schedule = None
            with self._model_lock:
                if schedule is not None and generation == self._generation:
                    self._schedule = schedule
                    tl = make_timeline(schedule, self._clicks)
                    self._post("timeline", tl, tuple(moves), base)
                if not self._dirty:
                    self._building = False

    def _rebuild_all(self) -> None:
        if self._song is None:
            return
        self._generation += 1
        self._dirty.clear()
        tempo = (
            TempoMap.constant(self._song.ppq, self._tempo_override)
            if self._tempo_override is not None
            else None
        )
        self._schedule = build_schedule(self._song, tempo)
        self._post("timeline", make_timeline(self._schedule, self._clicks))

    def _swap(
        self,
        now: float,
        tl: Timeline,
        moves: tuple[TrackMoves, ...] = (),
        base: Schedule | None = None,
    ) -> None:
        """Play ``tl`` from the current position. ``moves`` (from a quantize change made on
        ``base``) tell :class:`PassMemory` which notes crossed the horizon."""
        rt = self._rt
        old = rt.timeline
        rt.timeline = tl
        if rt.playing and old is not None and old.schedule is base:
            for m in moves:
                rt.played.apply(m, rt.horizon_sec)
        if old is not None and old.tempo is not tl.tempo:
            if rt.playing:
                pos_tick = float(old.tempo.seconds_to_tick(self._pos_sec_old(old, now)))
                hor_tick = float(old.tempo.seconds_to_tick(rt.horizon_sec))
                start_tick = float(old.tempo.seconds_to_tick(rt.played.start_sec))
                rt.horizon_sec = float(tl.tempo.tick_to_seconds(hor_tick))
                rt.played.start_sec = float(tl.tempo.tick_to_seconds(start_tick))
                self._set_anchor(now, float(tl.tempo.tick_to_seconds(pos_tick)))
        self._update_loop_sec()
        rt.click_stream = None
        if rt.playing:
            rt.cursor = int(np.searchsorted(tl.secs, rt.horizon_sec, side="left"))
            rt.click_stream = tl.click_stream()
            if rt.click_stream is not None:
                rt.click_stream.seek(rt.horizon_sec)

    def _pos_sec_old(self, old: Timeline, now: float) -> float:
        rt = self._rt
        return rt.anchor_sec + (now - rt.anchor_wall)
