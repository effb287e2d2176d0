"""MIDI in → live quantizer → MIDI out, with the raw performance handed to the recorder.

Why the work happens in the input callback: a message that goes out at once (quantize off, a
late note, a controller) is sent from the thread that received it, so the thru adds only a
lock and a few comparisons to the port API's own latency. Only messages the quantizer holds
for later wait in a small heap that the engine thread releases on time (or, for outputs that
accept events early, they are handed over at once with their exact future time).

Controllers, pitch bend and other non-note messages always pass at once: holding a sustain
pedal change back with the notes would be more surprising than sending it on time.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Callable

from engine.realtime import clock
from engine.realtime.live_quantize import LiveQuantizer, LiveSettings, MusicalClock
from engine.realtime.sounding import TrackedSink

RawCallback = Callable[[bytes, float], None]


class LiveThru:
    """Routes one input through the causal quantizer to every output. Thread-safe."""

    def __init__(
        self,
        quantizer: LiveQuantizer,
        outputs: list[TrackedSink] | None = None,
        on_raw: RawCallback | None = None,
        wake: Callable[[], None] | None = None,
    ):
        self.quantizer = quantizer
        self.outputs: list[TrackedSink] = list(outputs or [])
        self.on_raw = on_raw
        self._wake = wake
        self._lock = threading.Lock()
        self._held: list[tuple[float, int, float, TrackedSink, bytes]] = []
        self._seq = itertools.count()
        self.received = 0

    @classmethod
    def create(cls, settings: LiveSettings, tempo, ppq: int, **kw) -> LiveThru:
        return cls(LiveQuantizer(settings, MusicalClock(tempo, clock.now(), 0.0), ppq), **kw)

    @property
    def clock(self) -> MusicalClock:
        return self.quantizer.clock

    def set_settings(self, settings: LiveSettings) -> None:
        with self._lock:
            self.quantizer.set_settings(settings)

    def set_outputs(self, outputs: list[TrackedSink]) -> None:
        with self._lock:
            self.outputs = list(outputs)

    def follow(self, tempo, ppq: int, when: float, tick: float, keep_previous: bool) -> None:
        """Follow the transport: the song's tempo map and PPQ, at ``when`` at ``tick``."""
        with self._lock:
            q = self.quantizer
            if q.clock.tempo is not tempo:
                q.clock = MusicalClock(tempo)
                keep_previous = False
            q.ppq = ppq
            q.clock.anchor(when, tick, keep_previous)

    def anchor(self, when: float, tick: float, keep_previous: bool = False) -> None:
        """Musical time follows the transport: at ``when`` the song is at ``tick``."""
        with self._lock:
            self.quantizer.clock.anchor(when, tick, keep_previous)

    # -- the input callback ---------------------------------------------------------------
    def handle(self, data: bytes, when: float) -> None:
        """MidiSource callback: ``data`` arrived at ``when`` (engine clock)."""
        self.received += 1
        if self.on_raw is not None:
            self.on_raw(data, when)
        if not data:
            return
        status = data[0] & 0xF0
        woke = False
        with self._lock:
            q = self.quantizer
            if status == 0x90 and len(data) >= 3 and data[2] > 0:
                send = q.note_on(when, data[0] & 0x0F, data[1])
            elif (status == 0x80 or status == 0x90) and len(data) >= 3:
                send = q.note_off(when, data[0] & 0x0F, data[1])
            else:
                send = when
            if send <= when:
                for out in self.outputs:
                    out.send(when, data)
                return
            now = clock.now()
            for out in self.outputs:
                release = send - out.lookahead
                if release <= now:
                    out.send(send, data)
                else:
                    heapq.heappush(self._held, (release, next(self._seq), send, out, data))
                    woke = True
        if woke and self._wake is not None:
            self._wake()

    # -- called by the engine thread ------------------------------------------------------
    def release_due(self, now: float) -> float:
        """Send every held message that is due; return when the next one is (or inf)."""
        with self._lock:
            held = self._held
            while held and held[0][0] <= now:
                _, _, send, out, data = heapq.heappop(held)
                out.send(send, data)
            return held[0][0] if held else float("inf")

    def drop_held(self) -> None:
        """Forget held messages and open notes (stop/panic: the outputs close every note)."""
        with self._lock:
            self._held.clear()
            self.quantizer.reset()

    @property
    def held_count(self) -> int:
        return len(self._held)
