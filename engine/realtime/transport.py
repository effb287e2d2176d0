"""The real-time engine: one thread owns the timeline; everyone else sends it commands.

Interface (thread-safe, for the GUI and the CLI): the command methods of :class:`Engine`
(``play``, ``stop``, ``pause``, ``locate``, ``set_loop``, ``set_tempo_override``,
``set_track_quantize``, ``set_song``, ``panic``, ``arm_record``, ``set_outputs``, ``set_input``,
``set_live``, ``set_metronome``, ``set_count_in``) only post a message and wake the engine
thread. :meth:`Engine.state` returns the latest immutable :class:`EngineState` snapshot (a
reference read, no lock), :meth:`Engine.poll_events` drains messages for the user (port errors,
end of song, takes recorded). Nothing outside the engine thread touches its data.

Heavy work never runs on the engine thread: a settings change rebuilds the affected track's
part of the :class:`~engine.realtime.schedule.Schedule` on the caller's thread, and the engine swaps the
finished timeline in. Notes already dispatched keep their note-offs; notes not yet played take
the new positions; a note already played in this pass is never played again even if the new
quantize moved it later (no doubled notes). What was played is the stretch the cursor has
covered this pass, plus the few notes a change moved across it (:mod:`engine.realtime.pass_memory`):
memory bounded by what moves, not by the song.

Keeping time (measured in bench/bench_engine.py): the thread sleeps on an Event until ~2 ms
before the next deadline, then spins with ``time.sleep(0)``, and the process switch interval
is lowered to 0.5 ms while the engine runs so a busy Python thread gives the GIL back quickly.
Outputs that accept events early (``lookahead > 0``: JACK MIDI, the audio instrument) get
every event ``lookahead`` seconds ahead with its exact time, so their timing does not depend
on the GIL at all.

Transport choices (as in Logic): ``stop`` halts and keeps the position; ``stop`` while stopped
goes back to the start. ``pause`` halts and keeps the position. Notes still sounding at the
loop end are cut there (their note-offs are sent at the loop end).
"""

from __future__ import annotations

import heapq
import itertools
import queue
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from engine.errors import QuantaError
from engine.model.song import Song, Track
from engine.model.tempo import TempoMap
from engine.quantize.settings import QuantizeSettings
from engine.realtime import clock
from engine.realtime.live_quantize import LiveQuantizer, LiveSettings, MusicalClock
from engine.realtime.live_thru import LiveThru
from engine.realtime.metronome import METRONOME_TRACK, ClickSettings, click_rows, count_in_clicks
from engine.realtime.midi_io import MidiSink, MidiSource
from engine.realtime.pass_memory import PassMemory, TrackMoves, track_moves
from engine.realtime.recorder import Recorder
from engine.realtime.rt_priority import RT_PRIORITY, raise_thread_priority
from engine.realtime.schedule import (
    KIND_NOTE_OFF,
    KIND_NOTE_ON,
    KIND_SYSEX,
    SCHED_DTYPE,
    Schedule,
    build_schedule,
    merge_rows,
    order_keys,
)
from engine.realtime.sounding import TrackedSink

SPIN_SECONDS = 0.002  #: the last stretch before a deadline is spun, not slept
RT_SPIN_SECONDS = 0.0003  #: the spin with SCHED_FIFO
SWITCH_INTERVAL = 0.0005  #: GIL switch interval while the engine runs
START_LEAD = 0.005  #: play starts this far ahead so the first events are not late
STATE_PERIOD = 0.005  #: the state snapshot is refreshed at most this often (200 Hz)
IDLE_WAKE = 0.02  #: with nothing due, the thread still wakes at 50 Hz to publish state
LATENESS_RING = 8192


@dataclass(frozen=True)
class EngineState:
    """What the GUI shows. Immutable: a snapshot, replaced as a whole by the engine thread."""

    playing: bool = False
    recording: bool = False
    counting_in: bool = False
    tick: float = 0.0
    seconds: float = 0.0
    loop: tuple[int, int] | None = None
    tempo_override: float | None = None
    loop_pass: int = 0
    sent: int = 0
    live_held: int = 0
    errors: tuple[str, ...] = ()
    song_loaded: bool = False
    commands_done: int = 0  #: how many commands the engine thread has carried out


@dataclass(frozen=True, eq=False)
class Timeline:
    """What the engine plays: the song's schedule plus metronome clicks, merged."""

    schedule: Schedule
    rows: np.ndarray
    secs: np.ndarray
    end_sec: float

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
    rows = schedule.rows
    end_tick = schedule.song.length_ticks()
    if clicks is not None:
        tsig = schedule.song.time_signatures()
        extra = click_rows(tsig, schedule.tempo, 0, end_tick + 1, clicks)
        rows, _ = merge_rows(rows, schedule.keys, extra, order_keys(extra))
    secs = np.ascontiguousarray(rows["sec"])
    return Timeline(schedule, rows, secs, float(schedule.tempo.tick_to_seconds(end_tick)))


@dataclass
class _Mapping:
    """Engine time → song position, published for the input thread (recorder)."""

    wall: float
    sec: float
    tempo: TempoMap
    loop_pass: int
    prev: _Mapping | None = None

    def tick_at(self, when: float) -> tuple[float, int]:
        m = self
        while m.prev is not None and when < m.wall:
            m = m.prev
        return float(m.tempo.seconds_to_tick(m.sec + (when - m.wall))), m.loop_pass


@dataclass
class _RT:
    """Engine-thread data. Only the engine thread reads or writes it."""

    timeline: Timeline | None = None
    playing: bool = False
    pos_tick: float = 0.0  # position while stopped
    play_start_tick: float = 0.0
    anchor_wall: float = 0.0
    anchor_sec: float = 0.0
    cursor: int = 0
    horizon_sec: float = 0.0
    loop: tuple[int, int] | None = None
    loop_sec: tuple[float, float] | None = None
    loop_pass: int = 0
    tempo_override: float | None = None
    default_out: tuple[TrackedSink, ...] = ()
    routes: dict[int, tuple[TrackedSink, ...]] = field(default_factory=dict)
    click_out: tuple[TrackedSink, ...] | None = None  # None: same as default_out
    metronome: bool = False
    count_in_bars: int = 0
    count_in_end: float = 0.0
    armed: bool = False
    record_quantize: QuantizeSettings | None = None
    max_lookahead: float = 0.0
    heap: list = field(default_factory=list)
    sounding: dict = field(default_factory=dict)
    played: PassMemory = field(default_factory=PassMemory)


class Engine:
    """The real-time engine. Create, :meth:`start`, send commands, :meth:`shutdown`."""

    def __init__(self, ppq_for_live: int = 480, live_tempo_bpm: float = 120.0):
        self._cmds: queue.SimpleQueue = queue.SimpleQueue()
        self._post_lock = threading.Lock()
        self._posted = 0
        self._done = 0
        self._wake = threading.Event()
        self._state = EngineState()
        self._events: deque[tuple[str, object]] = deque(maxlen=1024)
        self._errors: deque[str] = deque(maxlen=16)
        self._takes: deque[Track] = deque()
        self._thread: threading.Thread | None = None
        #: True when the engine thread got SCHED_FIFO (set by the engine thread at start).
        self.realtime_priority = False
        self._spin = SPIN_SECONDS
        self._old_switch = sys.getswitchinterval()
        self._rt = _RT()
        self._seq = itertools.count()
        self._tokens = itertools.count(1)
        self.lateness = np.zeros(LATENESS_RING, dtype=np.float64)
        self.lateness_count = 0
        # Caller side (any thread), guarded by _model_lock.
        self._model_lock = threading.RLock()
        self._song: Song | None = None
        self._schedule: Schedule | None = None
        self._tempo_override: float | None = None
        self._clicks: ClickSettings | None = None
        self._sinks: dict[int, TrackedSink] = {}
        self._dirty: set[int] = set()  # tracks whose quantize changed, not yet rebuilt
        self._generation = 0  # bumped by every full rebuild (it supersedes pending ones)
        self._building = False
        self._closing = False
        self._builder: threading.Thread | None = None
        self._build_wanted = threading.Event()
        self._input: MidiSource | None = None
        self._mapping = _Mapping(0.0, 0.0, TempoMap.constant(ppq_for_live, live_tempo_bpm), 0)
        self.live = LiveThru(
            LiveQuantizer(
                LiveSettings(),
                MusicalClock(TempoMap.constant(ppq_for_live, live_tempo_bpm), clock.now()),
                ppq_for_live,
            ),
            wake=self._wake.set,
        )
        self.recorder = Recorder(lambda when: self._mapping.tick_at(when))
        self.live.on_raw = self.recorder.feed

    # == lifecycle ========================================================================
    def start(self) -> Engine:
        if self._thread is None:
            self._old_switch = sys.getswitchinterval()
            sys.setswitchinterval(SWITCH_INTERVAL)
            self._thread = threading.Thread(target=self._run, name="quanta-engine", daemon=True)
            self._thread.start()
        return self

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop playing, close every note, detach the input; sinks stay open (the owner's)."""
        self._closing = True
        self._build_wanted.set()
        if self._builder is not None:
            self._builder.join(timeout)
            self._builder = None
        if self._thread is None:
            return
        self._post("quit")
        self._thread.join(timeout)
        self._thread = None
        with self._model_lock:
            if self._input is not None:
                self._input.set_callback(None)
        sys.setswitchinterval(self._old_switch)

    def __enter__(self) -> Engine:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.shutdown()

    # == commands (any thread) ============================================================
    def _post(self, name: str, *args) -> None:
        with self._post_lock:
            self._posted += 1
            self._cmds.put((name, args))
        self._wake.set()

    def play(self) -> None:
        self._post("play")

    def stop(self) -> None:
        self._post("stop")

    def pause(self) -> None:
        self._post("pause")

    def locate(self, tick: float) -> None:
        self._post("locate", float(tick))

    def panic(self) -> None:
        self._post("panic")

    def set_loop(self, start_tick: int | None, end_tick: int | None = None) -> None:
        """Loop ``[start, end)`` in ticks; ``set_loop(None)`` turns looping off."""
        if start_tick is None:
            self._post("loop", None)
            return
        if end_tick is None or end_tick <= start_tick or start_tick < 0:
            raise QuantaError(f"loop {start_tick}:{end_tick}: the end must come after the start")
        self._post("loop", (int(start_tick), int(end_tick)))

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

    def set_metronome(
        self, enabled: bool, sink: MidiSink | None = None, click: ClickSettings | None = None
    ) -> None:
        """Metronome clicks (and count-in) to ``sink`` (default: the song's outputs)."""
        with self._model_lock:
            self._clicks = (click or ClickSettings()) if enabled else None
            out = (self._tracked(sink),) if sink is not None else None
            if self._schedule is not None:
                self._post("timeline", make_timeline(self._schedule, self._clicks))
        self._post("metronome", enabled, out, click or ClickSettings())

    def set_count_in(self, bars: int) -> None:
        self._post("count_in", max(0, int(bars)))

    def set_outputs(self, sinks: list[MidiSink], track: int | None = None) -> None:
        """Where tracks play (``track=None``: every track without its own route) and live thru."""
        with self._model_lock:
            tracked = tuple(self._tracked(s) for s in sinks)
        if track is None:
            self.live.set_outputs(list(tracked))
        self._post("outputs", track, tracked)

    def set_input(self, source: MidiSource | None) -> None:
        """MIDI in for live correction and recording (``None`` detaches it)."""
        with self._model_lock:
            if self._input is not None:
                self._input.set_callback(None)
            self._input = source
            if source is not None:
                source.set_callback(self.live.handle)

    def set_live(self, settings: LiveSettings) -> None:
        self.live.set_settings(settings)

    def arm_record(self, armed: bool, quantize: QuantizeSettings | None = None) -> None:
        """Record the input from the next ``play`` on; takes get ``quantize`` as playback quantize."""
        self._post("arm", bool(armed), quantize)

    def record_free(self, on: bool, quantize: QuantizeSettings | None = None) -> None:
        """Record the input without running the transport (``quanta live --record``).

        Ticks count from the moment recording starts, at the live tempo; the take appears in
        :meth:`takes` when recording is switched off.
        """
        self._post("record_free", bool(on), quantize)

    # == state out (any thread) ===========================================================
    def state(self) -> EngineState:
        return self._state

    def poll_events(self) -> list[tuple[str, object]]:
        out = []
        while self._events:
            out.append(self._events.popleft())
        return out

    def takes(self) -> list[Track]:
        """Tracks recorded since the last call (raw performance, one per loop take)."""
        out = []
        while self._takes:
            out.append(self._takes.popleft())
        return out

    def lateness_ms(self) -> tuple[float, float, float, int]:
        """(p50, p99, max) of how late events were handed to their outputs, and the count."""
        n = min(self.lateness_count, LATENESS_RING)
        if n == 0:
            return 0.0, 0.0, 0.0, 0
        lat = self.lateness[:n] * 1000.0
        p50, p99 = np.percentile(lat, [50, 99])
        return float(p50), float(p99), float(lat.max()), self.lateness_count

    def wait_until_stopped(self, timeout: float | None = None) -> bool:
        """Block until the transport stops (end of song or a stop). Polls the snapshot."""
        deadline = None if timeout is None else clock.now() + timeout
        while self._state.playing or self._state.commands_done < self._posted:
            if deadline is not None and clock.now() > deadline:
                return False
            time.sleep(0.01)
        return True

    # == caller-side helpers ==============================================================
    def _tracked(self, sink: MidiSink) -> TrackedSink:
        if isinstance(sink, TrackedSink):
            return sink
        tracked = self._sinks.get(id(sink))
        if tracked is None or tracked.sink is not sink:
            tracked = TrackedSink(sink, self._report_error)
            self._sinks[id(sink)] = tracked
        return tracked

    def _report_error(self, name: str, exc: Exception) -> None:
        msg = f"output {name!r} failed: {exc}"
        self._errors.append(msg)
        self._events.append(("error", msg))

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

    # == the engine thread ================================================================
    def _run(self) -> None:
        self.realtime_priority = _raise_thread_priority()
        if self.realtime_priority:
            # A real-time thread is woken on time (no timer slack): spinning would only steal
            # a core from JACK and the GUI, so spin just the last fraction of a millisecond.
            self._spin = RT_SPIN_SECONDS
        rt = self._rt
        running = True
        last_publish = 0.0
        while running:
            self._wake.clear()
            done = self._done
            while True:
                try:
                    name, args = self._cmds.get_nowait()
                except queue.Empty:
                    break
                self._done += 1
                if name == "quit":
                    running = False
                    break
                self._command(name, args, clock.now())
            if not running:
                break
            now = clock.now()
            if rt.playing:
                self._dispatch(now)
            self._release(now)
            live_next = self.live.release_due(now)
            if now - last_publish >= STATE_PERIOD or done != self._done:
                self._publish(now)
                last_publish = now
            self._wait_until(min(self._next_deadline(now), live_next, now + IDLE_WAKE))
        self._halt(clock.now())
        self.live.drop_held()
        for s in self._all_sinks():
            s.all_notes_off(clock.now())
        self._publish(clock.now())

    def _wait_until(self, target: float) -> None:
        now = clock.now()
        coarse = target - self._spin - now
        if coarse > 0 and self._wake.wait(coarse):
            return
        sleep = time.sleep
        while clock.now() < target:
            if self._wake.is_set():
                return
            sleep(0)

    def _all_sinks(self) -> set[TrackedSink]:
        rt = self._rt
        sinks = set(rt.default_out)
        for outs in rt.routes.values():
            sinks.update(outs)
        if rt.click_out:
            sinks.update(rt.click_out)
        sinks.update(self.live.outputs)
        return sinks

    def _update_lookahead(self) -> None:
        rt = self._rt
        rt.max_lookahead = max((s.lookahead for s in self._all_sinks()), default=0.0)

    # -- commands ---------------------------------------------------------------------
    def _command(self, name: str, args: tuple, now: float) -> None:
        rt = self._rt
        if name == "play":
            self._play(now)
        elif name == "stop":
            if rt.playing:
                self._halt(now)
            else:
                rt.pos_tick = 0.0
        elif name == "pause":
            if rt.playing:
                self._halt(now)
        elif name == "locate":
            was = rt.playing
            if was:
                self._halt(now)
            rt.pos_tick = max(0.0, args[0])
            if was:
                self._play(now, count_in=False)
        elif name == "panic":
            self._halt(now) if rt.playing else None
            self.live.drop_held()
            for s in self._all_sinks():
                s.all_notes_off(now, controllers=True)
        elif name == "loop":
            rt.loop = args[0]
            self._update_loop_sec()
        elif name == "timeline":
            self._swap(now, *args)
        elif name == "tempo_override":
            rt.tempo_override = args[0]
        elif name == "outputs":
            track, outs = args
            if rt.playing:  # notes already handed to an output that is being replaced
                for s in set(rt.default_out if track is None else rt.routes.get(track, ())):
                    if s not in outs:
                        s.all_notes_off(now)
            if track is None:
                rt.default_out = outs
            else:
                rt.routes[track] = outs
            self._update_lookahead()
        elif name == "metronome":
            enabled, out, _click = args
            rt.metronome = enabled
            rt.click_out = out
            self._update_lookahead()
        elif name == "record_free":
            on, quantize = args
            if on and not rt.playing and not self.recorder.active:
                tempo = self.live.clock.tempo
                self._mapping = _Mapping(now, 0.0, tempo, 0)
                self.live.anchor(now, 0.0)
                rt.record_quantize = quantize
                self.recorder.start()
            elif not on and not rt.playing and self.recorder.active:
                self._finish_take(now)
        elif name == "count_in":
            rt.count_in_bars = args[0]
        elif name == "arm":
            rt.armed, rt.record_quantize = args
            if rt.playing and rt.armed and not self.recorder.active:
                self.recorder.start()
            elif rt.playing and not rt.armed and self.recorder.active:
                self._finish_take(now)

    def _update_loop_sec(self) -> None:
        rt = self._rt
        if rt.loop is None or rt.timeline is None:
            rt.loop_sec = None
            return
        tempo = rt.timeline.tempo
        rt.loop_sec = (
            float(tempo.tick_to_seconds(rt.loop[0])),
            float(tempo.tick_to_seconds(rt.loop[1])),
        )

    def _set_anchor(self, wall: float, sec: float, new_pass: bool = False) -> None:
        rt = self._rt
        rt.anchor_wall, rt.anchor_sec = wall, sec
        tempo = rt.timeline.tempo
        prev = None
        if new_pass:  # keep one previous mapping (not a chain that grows every pass)
            m = self._mapping
            prev = _Mapping(m.wall, m.sec, m.tempo, m.loop_pass)
        self._mapping = _Mapping(wall, sec, tempo, rt.loop_pass, prev=prev)
        self.live.follow(
            tempo,
            rt.timeline.schedule.song.ppq,
            wall,
            float(tempo.seconds_to_tick(sec)),
            keep_previous=new_pass,
        )

    def _play(self, now: float, count_in: bool = True) -> None:
        rt = self._rt
        if rt.playing or rt.timeline is None:
            return
        tl = rt.timeline
        start_sec = float(tl.tempo.tick_to_seconds(rt.pos_tick))
        rt.play_start_tick = rt.pos_tick
        lead = START_LEAD + rt.max_lookahead
        pre = 0.0
        if count_in and rt.count_in_bars > 0:
            song = tl.schedule.song
            pre, clicks = count_in_clicks(
                song.time_signatures(), tl.tempo, int(rt.pos_tick), rt.count_in_bars
            )
            outs = rt.click_out if rt.click_out is not None else rt.default_out
            t0 = now + lead + pre
            for before, on, off_before, off in clicks:
                for s in outs:
                    self._push(t0 - before, s, on, (t0 - off_before, off))
        rt.count_in_end = now + lead + pre
        rt.loop_pass = 0
        self._set_anchor(now + lead + pre, start_sec)
        rt.cursor = int(np.searchsorted(tl.secs, start_sec, side="left"))
        rt.horizon_sec = start_sec
        rt.played.new_pass(start_sec)
        rt.playing = True
        if rt.armed and not self.recorder.active:
            self.recorder.start()

    def _position_sec(self, now: float) -> float:
        rt = self._rt
        if rt.playing:
            return rt.anchor_sec + (now - rt.anchor_wall)
        return float(rt.timeline.tempo.tick_to_seconds(rt.pos_tick)) if rt.timeline else 0.0

    def _halt(self, now: float) -> None:
        rt = self._rt
        if rt.playing and rt.timeline is not None:
            sec = max(
                self._position_sec(now),
                float(rt.timeline.tempo.tick_to_seconds(rt.play_start_tick)),
            )
            rt.pos_tick = float(rt.timeline.tempo.seconds_to_tick(sec))
        rt.playing = False
        rt.heap.clear()
        rt.played.new_pass(0.0)
        closed = set()
        for sink, _, _ in rt.sounding:
            closed.add(sink)
        rt.sounding.clear()
        for s in self._all_sinks() | closed:
            s.all_notes_off(now)
        if self.recorder.active:
            self._finish_take(now)

    def _finish_take(self, now: float) -> None:
        tick, _ = self._mapping.tick_at(now)
        tracks = self.recorder.stop(tick, self._rt.record_quantize)
        self._takes.extend(tracks)
        if tracks:
            self._events.append(("takes", len(tracks)))

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
        if rt.playing:
            rt.cursor = int(np.searchsorted(tl.secs, rt.horizon_sec, side="left"))

    def _pos_sec_old(self, old: Timeline, now: float) -> float:
        rt = self._rt
        return rt.anchor_sec + (now - rt.anchor_wall)

    # -- dispatch and release -----------------------------------------------------------
    def _push(self, due: float, sink: TrackedSink, data: bytes, off, token: int = 0) -> None:
        heapq.heappush(
            self._rt.heap, (due - sink.lookahead, next(self._seq), due, sink, data, off, token)
        )

    def _dispatch(self, now: float) -> None:
        rt = self._rt
        tl = rt.timeline
        horizon_wall = now + rt.max_lookahead
        for _ in range(1000):  # a wrap per iteration; bounded even for absurdly short loops
            h_sec = rt.anchor_sec + (horizon_wall - rt.anchor_wall)
            loop = rt.loop_sec
            in_loop = loop is not None and rt.horizon_sec < loop[1] and loop[1] > loop[0]
            loop_end_wall = rt.anchor_wall + (loop[1] - rt.anchor_sec) if in_loop else None
            if in_loop and h_sec >= loop[1]:
                self._dispatch_until(tl, loop[1], loop_end_wall)
                rt.loop_pass += 1
                rt.played.new_pass(loop[0])
                self._set_anchor(loop_end_wall, loop[0], new_pass=True)
                rt.cursor = int(np.searchsorted(tl.secs, loop[0], side="left"))
                rt.horizon_sec = loop[0]
                continue
            self._dispatch_until(tl, h_sec, loop_end_wall)
            break
        if (
            (rt.loop_sec is None or rt.horizon_sec >= rt.loop_sec[1])
            and rt.cursor >= tl.rows.size
            and not rt.heap
        ):
            end_wall = rt.anchor_wall + (tl.end_sec - rt.anchor_sec)
            if now >= end_wall:
                self._halt(now)
                self._events.append(("end", None))

    def _dispatch_until(self, tl: Timeline, until_sec: float, loop_end_wall: float | None):
        rt = self._rt
        j = int(np.searchsorted(tl.secs, until_sec, side="left"))
        if until_sec > rt.horizon_sec:
            rt.horizon_sec = until_sec
        i0 = rt.cursor
        if j <= i0:
            return
        rt.cursor = j
        aw, asec = rt.anchor_wall, rt.anchor_sec
        played = rt.played
        skip = played.skip
        routes, default = rt.routes, rt.default_out
        clicks = (rt.click_out if rt.click_out is not None else default) if rt.metronome else ()
        for k, r in enumerate(tl.rows[i0:j].tolist()):
            sec, _tick, track, kind, status, d1, d2, note, off_sec, _ot, off_vel, _o, _l = r
            if kind == KIND_NOTE_OFF:
                continue  # the engine closes notes itself (see _release)
            sinks = clicks if track == METRONOME_TRACK else routes.get(track, default)
            if not sinks:
                continue
            due = aw + (sec - asec)
            off = None
            if kind == KIND_NOTE_ON:
                if skip and played.already_played((track, note)):
                    continue
                data = bytes((status, d1, d2))
                off_due = aw + (off_sec - asec)
                if loop_end_wall is not None and off_due > loop_end_wall:
                    off_due = loop_end_wall
                off = (off_due, bytes((0x80 | (status & 0x0F), d1, off_vel)))
            elif kind == KIND_SYSEX or track == METRONOME_TRACK:
                data = tl.message(i0 + k)
            elif (status & 0xF0) in (0xC0, 0xD0):
                data = bytes((status, d1))
            else:
                data = bytes((status, d1, d2))
            for s in sinks:
                self._push(due, s, data, off)

    def _release(self, now: float) -> None:
        rt = self._rt
        heap = rt.heap
        sounding = rt.sounding
        ring = self.lateness
        while heap and heap[0][0] <= now:
            release, _, due, sink, data, off, token = heapq.heappop(heap)
            if token:  # the engine's own note-off: only if that note still sounds
                key = (sink, data[0] & 0x0F, data[1])
                if sounding.get(key) != token:
                    continue
                del sounding[key]
                sink.send(due, data)
            elif off is not None:
                key = (sink, data[0] & 0x0F, data[1])
                if key in sounding:  # same pitch still sounding: close it first (retrigger)
                    sink.send(due, bytes((0x80 | key[1], key[2], 0)))
                tok = next(self._tokens)
                sounding[key] = tok
                sink.send(due, data)
                off_due, off_data = off
                heapq.heappush(
                    heap,
                    (off_due - sink.lookahead, next(self._seq), off_due, sink, off_data, None, tok),
                )
            else:
                sink.send(due, data)
            ring[self.lateness_count % LATENESS_RING] = clock.now() - release
            self.lateness_count += 1

    def _next_deadline(self, now: float) -> float:
        rt = self._rt
        t = rt.heap[0][0] if rt.heap else float("inf")
        if rt.playing and rt.timeline is not None:
            tl = rt.timeline
            if rt.cursor < tl.secs.size:
                t = min(t, rt.anchor_wall + (tl.secs[rt.cursor] - rt.anchor_sec) - rt.max_lookahead)
            if rt.loop_sec is not None and rt.horizon_sec < rt.loop_sec[1]:
                t = min(t, rt.anchor_wall + (rt.loop_sec[1] - rt.anchor_sec) - rt.max_lookahead)
            t = min(t, rt.anchor_wall + (tl.end_sec - rt.anchor_sec))
        return max(t, now)

    def _publish(self, now: float) -> None:
        rt = self._rt
        sec = self._position_sec(now)
        tick = float(rt.timeline.tempo.seconds_to_tick(sec)) if rt.timeline else 0.0
        self._state = EngineState(
            playing=rt.playing,
            recording=self.recorder.active,
            counting_in=rt.playing and now < rt.count_in_end,
            tick=tick,
            seconds=sec,
            loop=rt.loop,
            tempo_override=rt.tempo_override,
            loop_pass=rt.loop_pass,
            sent=sum(s.sent for s in self._all_sinks()),
            live_held=self.live.held_count,
            errors=tuple(self._errors),
            song_loaded=rt.timeline is not None,
            commands_done=self._done,
        )


__all__ = ["Engine", "EngineState", "Timeline", "make_timeline", "SCHED_DTYPE"]


def _raise_thread_priority() -> bool:
    """SCHED_FIFO for the engine thread when allowed (see engine.realtime.rt_priority)."""
    return raise_thread_priority(RT_PRIORITY)
