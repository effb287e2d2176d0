"""Causal (live) quantize: when to send a note that is being played right now.

A live note cannot move into the past, so the spec's live rules only ever delay notes
(QUANTIZE_SPEC, "Live input (causal) quantize"). This module is pure logic on a clock that maps
engine-clock seconds to musical ticks (:class:`MusicalClock`), so it is tested on a virtual
clock with exact numbers; :mod:`engine.realtime.live_thru` wires it between real ports.

Choices where the spec is silent (as a Logic/Cubase player would expect):

- Grid origin is tick 0 of the musical clock plus ``settings.offset``.
- ``strength`` applies in both modes: a note goes ``strength`` % of the way to its target.
- ``exclude_within`` and ``catch_within`` are measured to the *nearest* grid point in both
  modes: a note played just after a grid line (inside the safe zone) goes at once instead of
  being held for a whole step in ``next`` mode.
- Note-offs pair with note-ons first-in-first-out per channel and pitch (a repeated note on a
  sounding pitch is a second note). With ``ends = quantize-ends`` the note-off goes to its own
  quantized point if that is later than its arrival (never earlier: that is the past); if that
  would not leave it after its note-on, it goes to the first grid point after the note-on. Every
  other ``ends`` mode keeps the played length live (the note-off is delayed by exactly its
  note-on's delay).
- ``max_delay`` also bounds quantize-ends note-offs: a note-off is never held longer than that
  beyond its own note-on's delay.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from engine.errors import SettingsError
from engine.model.tempo import TempoMap
from engine.quantize.settings import QuantizeSettings

LIVE_MODES = ("nearest", "next")


class MusicalClock:
    """Maps engine-clock seconds to song ticks through a tempo map, from an anchor.

    ``anchor(when, tick)`` says: at engine time ``when`` the song is at ``tick``. The engine
    re-anchors on locate and loop wrap; ``quanta live`` anchors once at start.
    """

    def __init__(self, tempo: TempoMap, when: float = 0.0, tick: float = 0.0):
        self.tempo = tempo
        self._prev: tuple[float, float] | None = None
        self._when = float(when)
        self._sec = float(tempo.tick_to_seconds(tick))

    def anchor(self, when: float, tick: float, keep_previous: bool = False) -> None:
        """At engine time ``when`` the song is at ``tick``.

        A loop wrap is announced a little ahead of time (the engine schedules with lookahead):
        ``keep_previous`` keeps the old mapping in force for times before ``when``. Otherwise
        (play, locate) the new mapping holds for every time, before ``when`` too.
        """
        self._prev = (self._when, self._sec) if keep_previous else None
        self._when = float(when)
        self._sec = float(self.tempo.tick_to_seconds(tick))

    def _base(self, when: float) -> tuple[float, float]:
        if when < self._when and self._prev is not None:
            return self._prev
        return self._when, self._sec

    def tick_at(self, when: float) -> float:
        base_when, base_sec = self._base(when)
        return float(self.tempo.seconds_to_tick(base_sec + (when - base_when)))

    def seconds_between(self, from_tick: float, to_tick: float) -> float:
        """Seconds from one tick to another at the song's tempo (independent of the anchor)."""
        t = self.tempo.tick_to_seconds(np.array([from_tick, to_tick], dtype=np.float64))
        return float(t[1] - t[0])


@dataclass(frozen=True)
class LiveSettings:
    """Live input correction: the quantize grid (``None`` = plain thru) and the causal rules."""

    quantize: QuantizeSettings | None = None
    mode: str = "nearest"
    max_delay_ms: float | None = None  #: a note needing more delay than this goes at once

    def __post_init__(self) -> None:
        if self.mode not in LIVE_MODES:
            raise SettingsError("mode", f"{self.mode!r}; allowed: nearest, next")
        if self.max_delay_ms is not None and (
            not math.isfinite(self.max_delay_ms) or not 0 <= self.max_delay_ms <= 10_000
        ):
            raise SettingsError("max_delay", f"{self.max_delay_ms} ms; allowed 0–10000 ms")


def grid_neighbours(t: float, settings: QuantizeSettings, ppq: int) -> tuple[float, float]:
    """The grid points ``(p, n)`` with ``p <= t < n``, swing applied (spec "Grid"/"Swing").

    Built from the unswung lattice: pair k spans ``[2kG, 2(k+1)G)`` and holds the points
    ``2kG`` and ``2kG + 2G*swing/100`` (for a straight grid at 50 % that is ``(2k+1)G``).
    """
    g = float(settings.grid_step(ppq))
    origin = float(settings.offset)
    u = t - origin
    pair = 2.0 * g
    base = math.floor(u / pair) * pair
    if base > u:  # u/pair rounded up to a whole number (tiny negative u)
        base -= pair
    elif base + pair <= u:
        base += pair
    mid = base + pair * settings.swing / 100.0
    if u < mid:
        return origin + base, origin + mid
    return origin + mid, origin + base + pair


def nearest_point(t: float, settings: QuantizeSettings, ppq: int) -> float:
    """q(t) from the offline quantizer's grid, so live and offline share one definition."""
    from engine.quantize.grid import nearest_grid

    return float(nearest_grid(np.array([t], dtype=np.float64), settings, ppq)[0])


class LiveQuantizer:
    """Decides the send time of each live note-on/note-off (pure; not thread-safe by itself)."""

    def __init__(self, settings: LiveSettings, clock: MusicalClock, ppq: int):
        self.clock = clock
        self.ppq = ppq
        self.settings = settings
        #: (channel, pitch) -> FIFO of (arrival, send time) of notes whose note-off is pending
        self._open: dict[tuple[int, int], deque[tuple[float, float]]] = {}

    def set_settings(self, settings: LiveSettings) -> None:
        """New settings apply to the next note-on; open notes keep their pairing and delay."""
        self.settings = settings

    def reset(self) -> None:
        """Forget open notes (after stop/panic sent their note-offs)."""
        self._open.clear()

    # -- decisions ------------------------------------------------------------------------
    def _delay_target(self, when: float) -> float:
        s = self.settings
        q = s.quantize
        if q is None:
            return when
        t = self.clock.tick_at(when)
        g = float(q.grid_step(self.ppq))
        qn = nearest_point(t, q, self.ppq)
        d = abs(t - qn)
        if q.exclude_within > 0 and d <= q.exclude_within / 100.0 * g:
            return when
        if q.catch_within is not None and d > q.catch_within / 100.0 * g:
            return when
        if s.mode == "nearest":
            if qn < t:
                return when  # late: it cannot move into the past
            target = qn
        else:
            target = qn if qn >= t else grid_neighbours(t, q, self.ppq)[1]
        moved = t + q.strength / 100.0 * (target - t)
        send = when + self.clock.seconds_between(t, moved)
        if s.max_delay_ms is not None and send - when > s.max_delay_ms / 1000.0 + 1e-12:
            return when
        return max(send, when)

    def note_on(self, when: float, channel: int, pitch: int) -> float:
        """Send time of a note-on arriving at ``when`` (engine clock)."""
        send = self._delay_target(when)
        self._open.setdefault((channel, pitch), deque()).append((when, send))
        return send

    def note_off(self, when: float, channel: int, pitch: int) -> float:
        """Send time of a note-off arriving at ``when``: never before its note-on."""
        fifo = self._open.get((channel, pitch))
        if not fifo:
            return when  # no open note (e.g. cleared by panic): harmless, send at once
        on_arrival, on_send = fifo.popleft()
        if not fifo:
            del self._open[(channel, pitch)]
        delay = on_send - on_arrival
        q = self.settings.quantize
        if q is None or q.ends != "quantize-ends":
            return when + delay
        return self._quantized_off(when, on_send, delay)

    def _quantized_off(self, when: float, on_send: float, delay: float) -> float:
        q = self.settings.quantize
        t = self.clock.tick_at(when)
        qn = nearest_point(t, q, self.ppq)
        g = float(q.grid_step(self.ppq))
        d = abs(t - qn)
        target = when
        in_range = not (q.exclude_within > 0 and d <= q.exclude_within / 100.0 * g) and not (
            q.catch_within is not None and d > q.catch_within / 100.0 * g
        )
        if in_range and qn > t:
            target = when + self.clock.seconds_between(t, t + q.strength / 100.0 * (qn - t))
        if target <= on_send:
            on_tick = self.clock.tick_at(on_send)
            nxt = grid_neighbours(on_tick, q, self.ppq)[1]
            target = on_send + self.clock.seconds_between(on_tick, nxt)
        limit = self.settings.max_delay_ms
        if limit is not None and target - when > delay + limit / 1000.0:
            target = max(when + delay, on_send)
        return max(target, when)

    @property
    def open_notes(self) -> int:
        return sum(len(f) for f in self._open.values())
