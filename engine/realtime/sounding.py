"""A MidiSink wrapper that knows which notes are sounding, so none is ever left stuck.

Every message the engine and the live thru send goes through a :class:`TrackedSink`. It counts
note-ons and note-offs per channel and pitch, remembers the latest time it handed to a sink
that accepts events early (lookahead), and on stop/panic/shutdown sends a note-off for every
sounding note *no earlier than* that time: a note-off placed before a note-on the sink already
holds for later would leave that note stuck.

Send errors (a port that went away) are caught here and reported once through ``on_error``;
the engine must keep running when one output disappears.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np

from engine.realtime.midi_io import MidiSink


class TrackedSink:
    """Thread-safe front of one sink: sends, counts sounding notes, reports errors once."""

    def __init__(self, sink: MidiSink, on_error: Callable[[str, Exception], None] | None = None):
        self.sink = sink
        self.name = str(getattr(sink, "name", "output"))
        self.lookahead = float(getattr(sink, "lookahead", 0.0) or 0.0)
        self._lock = threading.Lock()
        self._sounding = np.zeros((16, 128), dtype=np.int32)
        self._last_when = float("-inf")
        self._on_error = on_error
        self._failed = False
        self.sent = 0

    def send(self, when: float, data: bytes) -> None:
        with self._lock:
            self._send_locked(when, data)

    def _send_locked(self, when: float, data: bytes) -> None:
        try:
            self.sink.send_at(when, data)
        except Exception as exc:  # a lost port must not stop the engine
            if not self._failed and self._on_error is not None:
                self._on_error(self.name, exc)
            self._failed = True
            return
        self._failed = False
        self.sent += 1
        if when > self._last_when:
            self._last_when = when
        if len(data) == 3:
            kind = data[0] & 0xF0
            ch, pitch = data[0] & 0x0F, data[1]
            if kind == 0x90 and data[2] > 0:
                self._sounding[ch, pitch] += 1
            elif (kind == 0x80 or kind == 0x90) and self._sounding[ch, pitch] > 0:
                self._sounding[ch, pitch] -= 1

    def sounding(self) -> list[tuple[int, int]]:
        """``(channel, pitch)`` of every note this sink is playing (or holds for later)."""
        with self._lock:
            return [(int(c), int(p)) for c, p in np.argwhere(self._sounding > 0)]

    def safe_time(self, now: float) -> float:
        """The earliest time a message may be placed without overtaking one already handed over."""
        return max(now, self._last_when)

    def all_notes_off(self, now: float, controllers: bool = False) -> float:
        """Close every sounding note at ``safe_time(now)``; returns that time.

        ``controllers`` adds sustain off, all-notes-off and all-sound-off on all 16 channels
        (the panic button), for notes that some other source left on.
        """
        with self._lock:
            when = max(now, self._last_when)
            for ch, pitch in np.argwhere(self._sounding > 0):
                self._send_locked(when, bytes((0x80 | int(ch), int(pitch), 0)))
            self._sounding[:] = 0
            if controllers:
                for ch in range(16):
                    for cc in (64, 123, 120):
                        self._send_locked(when, bytes((0xB0 | ch, cc, 0)))
            return when

    def close(self) -> None:
        with self._lock:
            try:
                self.sink.close()
            except Exception as exc:
                if self._on_error is not None:
                    self._on_error(self.name, exc)


def wait_delivered(sink, timeout: float = 1.0) -> None:
    """Before closing an output: give it time to send what it was handed early.

    Outputs with lookahead hold events (the final note-offs among them) for their exact
    frame; closing one at once would drop them and leave notes stuck. Uses the output's
    ``pending()`` when it has one, else waits out its lookahead.
    """
    import time

    lookahead = float(getattr(sink, "lookahead", 0.0) or 0.0)
    pending = getattr(sink, "pending", None)
    deadline = time.monotonic() + timeout
    if callable(pending):
        while time.monotonic() < deadline:
            try:
                if pending() <= 0:
                    break
            except Exception:
                return
            time.sleep(0.005)
        time.sleep(0.01)  # the period that holds the last event
    elif lookahead > 0:
        time.sleep(min(timeout, lookahead + 0.01))
