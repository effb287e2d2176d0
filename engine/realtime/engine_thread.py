"""The engine thread: it carries out commands, dispatches events on time and publishes state.

Only this thread touches the engine's real-time data (``_rt``). Part of
:class:`engine.realtime.transport.Engine`.
"""

from __future__ import annotations

import heapq
import queue
import time
from dataclasses import dataclass

import numpy as np

from engine.model.tempo import TempoMap
from engine.realtime import clock
from engine.realtime.metronome import METRONOME_TRACK, count_in_clicks
from engine.realtime.rt_priority import RT_PRIORITY, raise_thread_priority
from engine.realtime.schedule import (
    KIND_NOTE_OFF,
    KIND_NOTE_ON,
    KIND_SYSEX,
)
from engine.realtime.sounding import TrackedSink
from engine.realtime.timeline import Timeline

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


class EngineThread:
    """The :class:`~engine.realtime.transport.Engine`'s thread side (a mixin: it shares the
    engine's attributes)."""

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
        rt.click_stream = tl.click_stream()
        if rt.click_stream is not None:
            rt.click_stream.seek(start_sec)
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
        rt.click_stream = None
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
                if rt.click_stream is not None:
                    rt.click_stream.seek(loop[0])
                continue
            self._dispatch_until(tl, h_sec, loop_end_wall)
            break
        if (
            (rt.loop_sec is None or rt.horizon_sec >= rt.loop_sec[1])
            and rt.cursor >= tl.rows.size
            and (rt.click_stream is None or rt.click_stream.next_sec() is None)
            and not rt.heap
        ):
            end_wall = rt.anchor_wall + (tl.end_sec - rt.anchor_sec)
            if now >= end_wall:
                self._halt(now)
                self._events.append(("end", None))

    def _dispatch_clicks(self, until_sec: float, loop_end_wall: float | None) -> None:
        """Hand out the metronome's clicks due before ``until_sec``."""
        rt = self._rt
        stream = rt.click_stream
        if stream is None:
            return
        sinks = (rt.click_out if rt.click_out is not None else rt.default_out) if rt.metronome else ()
        aw, asec = rt.anchor_wall, rt.anchor_sec
        while True:
            sec = stream.next_sec()
            if sec is None or sec >= until_sec:
                return
            sec, on, off_sec, off = stream.pop()
            off_due = aw + (off_sec - asec)
            if loop_end_wall is not None and off_due > loop_end_wall:
                off_due = loop_end_wall
            for s in sinks:
                self._push(aw + (sec - asec), s, on, (off_due, off))

    def _dispatch_until(self, tl: Timeline, until_sec: float, loop_end_wall: float | None):
        rt = self._rt
        self._dispatch_clicks(until_sec, loop_end_wall)
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
            click = rt.click_stream.next_sec() if rt.click_stream is not None else None
            if click is not None:
                t = min(t, rt.anchor_wall + (click - rt.anchor_sec) - rt.max_lookahead)
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


def _raise_thread_priority() -> bool:
    """SCHED_FIFO for the engine thread when allowed (see engine.realtime.rt_priority)."""
    return raise_thread_priority(RT_PRIORITY)
