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

Where the code is: this module holds the interface (commands and queries); the engine thread
(command handling, dispatch, state) is :mod:`engine.realtime.engine_thread` and the timeline
and its rebuilding off the engine thread are :mod:`engine.realtime.timeline`.
"""

from __future__ import annotations

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
from engine.realtime.engine_thread import (
    LATENESS_RING,
    SPIN_SECONDS,
    SWITCH_INTERVAL,
    EngineState,
    EngineThread,
    _Mapping,
)
from engine.realtime.live_quantize import LiveQuantizer, LiveSettings, MusicalClock
from engine.realtime.live_thru import LiveThru
from engine.realtime.metronome import ClickSettings, ClickStream
from engine.realtime.midi_io import MidiSink, MidiSource
from engine.realtime.pass_memory import PassMemory
from engine.realtime.recorder import Recorder
from engine.realtime.schedule import (
    SCHED_DTYPE,
    Schedule,
)
from engine.realtime.sounding import TrackedSink
from engine.realtime.timeline import Timeline, TimelineBuilder, make_timeline


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
    click_stream: ClickStream | None = None  # the metronome's next clicks (while playing)
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


class Engine(TimelineBuilder, EngineThread):
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


__all__ = ["Engine", "EngineState", "Timeline", "make_timeline", "SCHED_DTYPE"]


