"""In-memory stand-ins for MIDI ports, for engine tests that check logic rather than a device.

Named fakes on purpose: the tests that need real port traffic use JACK (tests/test_engine_jack.py).
"""

from __future__ import annotations

import threading

from engine.realtime import clock


class FakeSink:
    """Records ``(when, data, sent_at)`` for every message the engine hands over."""

    def __init__(self, name: str = "fake-out", lookahead: float = 0.0, fail: bool = False):
        self.name = name
        self.lookahead = lookahead
        self.fail = fail
        self.log: list[tuple[float, bytes, float]] = []
        self.closed = False
        self._lock = threading.Lock()

    def send_at(self, when: float, data: bytes) -> None:
        if self.fail:
            raise OSError("port vanished")
        with self._lock:
            self.log.append((when, bytes(data), clock.now()))

    def panic(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def notes(self) -> list[tuple[float, int, int, int]]:
        """``(when, status_kind, pitch, velocity)`` of note messages, note-on vel 0 as 0x80."""
        out = []
        for when, d, _ in list(self.log):
            kind = d[0] & 0xF0
            if kind in (0x80, 0x90) and len(d) == 3:
                out.append((when, 0x80 if kind == 0x80 or d[2] == 0 else 0x90, d[1], d[2]))
        return out

    def note_ons(self) -> list[tuple[float, int]]:
        return [(w, p) for w, k, p, _ in self.notes() if k == 0x90]


class FakeSource:
    """A MIDI input the test plays into by calling :meth:`feed`."""

    def __init__(self, name: str = "fake-in"):
        self.name = name
        self.callback = None

    def set_callback(self, callback) -> None:
        self.callback = callback

    def feed(self, data: bytes, when: float | None = None) -> None:
        if self.callback is not None:
            self.callback(bytes(data), clock.now() if when is None else when)

    def close(self) -> None:
        self.callback = None


def assert_every_note_closed(log_notes, allow_retrigger: bool = False) -> None:
    """In send order: no note-on on a sounding key (doubled) and every note-on closed."""
    open_keys: dict[tuple[int, int], float] = {}
    for when, kind, pitch, _vel in log_notes:
        key = (0, pitch)
        if kind == 0x90:
            assert allow_retrigger or key not in open_keys, f"doubled note {pitch} at {when}"
            open_keys[key] = when
        else:
            if key in open_keys:
                assert when >= open_keys[key], f"note-off of {pitch} before its note-on"
                del open_keys[key]
    assert not open_keys, f"stuck notes: {sorted(open_keys)}"
