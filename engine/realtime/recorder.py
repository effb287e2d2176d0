"""Recording: the raw performance, as it arrived, into a Track (one per loop take).

What is recorded is the raw performance (QUANTIZE_SPEC, live input); the clip's own quantize
is applied on top at playback, non-destructively. Arrival times are turned into ticks by the
transport's mapping at the moment of arrival (``tick_of(when) -> (tick, take)``), so loop
passes split naturally into takes.

Pairing: note-offs close the oldest open note of the same channel and pitch (first in, first
out). A note still held when recording stops is closed at the stop position. Notes before
tick 0 (played during a count-in from the song start) are dropped; everything else is kept,
including controllers, pitch bend, aftertouch, program changes and sysex.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable

import numpy as np

from engine.model.notes import EVENT_DTYPE, STATUS_SYSEX, empty_notes
from engine.model.song import Track
from engine.quantize.settings import QuantizeSettings

TickMapper = Callable[[float], tuple[float, int]]


def _tick(x: float) -> int:
    return int(math.floor(x + 0.5))


class Recorder:
    """Collects ``(data, when)`` from the input thread; builds Tracks when asked. Thread-safe."""

    def __init__(self, tick_of: TickMapper):
        self._tick_of = tick_of
        self._lock = threading.Lock()
        self._events: list[tuple[float, int, bytes]] = []
        self.active = False

    def start(self) -> None:
        with self._lock:
            self._events = []
            self.active = True

    def feed(self, data: bytes, when: float) -> None:
        """MidiSource-style callback; ignored while not recording."""
        if not self.active or not data or data[0] < 0x80 or data[0] in (0xF8, 0xFE):
            return
        tick, take = self._tick_of(when)
        with self._lock:
            self._events.append((tick, take, bytes(data)))

    def stop(
        self, stop_tick: float | None = None, quantize: QuantizeSettings | None = None
    ) -> list[Track]:
        """End recording; one Track per take that holds anything (in take order)."""
        with self._lock:
            self.active = False
            events, self._events = self._events, []
        takes = sorted({take for _, take, _ in events})
        tracks = []
        for take in takes:
            rows = [(t, d) for t, k, d in events if k == take]
            end = stop_tick if stop_tick is not None and len(takes) == 1 else None
            track = build_track(rows, end)
            if track.notes.size or track.events.size:
                track.quantize = quantize
                tracks.append(track)
        return tracks


def build_track(rows: list[tuple[float, bytes]], end_tick: float | None = None) -> Track:
    """A Track from ``(tick, bytes)`` in arrival order (see the module doc for the rules)."""
    open_notes: dict[tuple[int, int], deque] = {}
    notes: list[tuple[int, int, int, int, int, int, int]] = []
    others: list[tuple[int, int, int, int, bytes]] = []
    last = 0
    for seq, (t, data) in enumerate(rows):
        tick = _tick(t)
        last = max(last, tick)
        status = data[0]
        kind = status & 0xF0
        if kind in (0x80, 0x90) and len(data) >= 3:
            key = (status & 0x0F, data[1])
            if kind == 0x90 and data[2] > 0:
                open_notes.setdefault(key, deque()).append((tick, data[2], seq))
            elif open_notes.get(key):
                start, vel, on_seq = open_notes[key].popleft()
                off_vel = data[2] if kind == 0x80 else 0
                notes.append((start, tick, key[1], vel, off_vel, key[0], on_seq))
        elif status == STATUS_SYSEX:
            others.append((tick, seq, status, 0, data[1:]))
        elif 0x80 <= status < 0xF0:
            d1 = data[1] if len(data) > 1 else 0
            d2 = data[2] if len(data) > 2 else 0
            others.append((tick, seq, status, d1, bytes((d2,))))
    close_at = _tick(end_tick) if end_tick is not None else last
    for (ch, pitch), fifo in open_notes.items():
        for start, vel, on_seq in fifo:
            notes.append((start, max(close_at, start + 1), pitch, vel, 0, ch, on_seq))
    notes = [n for n in notes if n[0] >= 0]
    for i, n in enumerate(notes):
        if n[1] <= n[0]:  # note-off in the same tick as its note-on: keep a 1-tick note
            notes[i] = (n[0], n[0] + 1, *n[2:])
    notes.sort(key=lambda n: (n[0], n[2], n[5]))
    arr = empty_notes(len(notes))
    if notes:
        cols = list(zip(*notes, strict=True))
        for name, col in zip(
            ("start", "end", "pitch", "velocity", "off_velocity", "channel"), cols[:6], strict=True
        ):
            arr[name] = col
        arr["id"] = np.arange(len(notes), dtype=np.int32)
    others = [o for o in others if o[0] >= 0]
    ev = np.zeros(len(others), dtype=EVENT_DTYPE)
    payload = bytearray()
    for i, (tick, _seq, status, d1, extra) in enumerate(others):
        ev[i]["tick"] = tick
        ev[i]["seq"] = -1
        ev[i]["status"] = status
        ev[i]["data1"] = d1
        if status == STATUS_SYSEX:
            ev[i]["offset"] = len(payload)
            ev[i]["length"] = len(extra)
            payload += extra
        else:
            ev[i]["data2"] = extra[0]
    if ev.size:
        ev = ev[np.argsort(ev["tick"], kind="stable")]
        ev["seq"] = np.arange(ev.size, dtype=np.int32)
    end = max([0] + [int(n[1]) for n in notes] + [int(o[0]) for o in others])
    return Track(
        notes=arr, events=ev, payload=np.frombuffer(bytes(payload), dtype=np.uint8), end_tick=end
    )
