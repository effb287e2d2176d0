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

With a groove (QUANTIZE_SPEC part 2, "Live input with a groove"):

- The target of a held note is its slot's point by the offline rules (pre-quantize, ranges,
  timing amount; :func:`engine.quantize.groove.live_groove_target`); a note in an empty slot
  aims for its pre-quantized position. A target in the past sends the note at once;
  ``max_delay`` holds. ``next`` mode holds a note whose point has passed for the next slot that
  has a point. ``ends = quantize-ends`` note-offs use the straight base lattice, as offline.
- Humanize and flam are delays only, added after the quantize delay. A live *onset group* is
  the note-ons arriving within :data:`CHORD_WINDOW_S` of the group's first note (a chord played
  by hand spreads over a few milliseconds). Each group takes the next value of the seeded
  deviation sequence (pink or white, standardised over :data:`LIVE_SEQUENCE` values, clamped
  to ±3 SD); a positive deviation delays the whole group by that many ``humanize_ms``, a
  negative one sends it at once. ``humanize_velocity`` is not applied live (the thru only
  decides times).
- Flam: within a group, the i-th note of a channel (in the order played: waiting for the whole
  chord to sort it by pitch would add latency to every note) is delayed ``i * |flam|`` ticks
  more.
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
CHORD_WINDOW_S = 0.020  #: note-ons this close to a group's first note belong to it (live)
LIVE_SEQUENCE = 4096  #: humanize values drawn ahead for live input (cycled)


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


def _resolved(settings: LiveSettings) -> LiveSettings:
    """Look a groove name up once, here, not per note (the store may read files)."""
    q = settings.quantize
    if q is None or not isinstance(q.groove, str):
        return settings
    from engine.quantize.groove import resolve_groove

    return LiveSettings(resolve_groove(q), settings.mode, settings.max_delay_ms)


def _end_grid(q: QuantizeSettings) -> QuantizeSettings:
    """The grid note-offs are quantized on: with a groove, its straight base lattice."""
    if q.groove is None:
        return q
    from engine.quantize.settings import parse_grid_text

    n, kind = parse_grid_text(q.groove.base)
    return q.replace(division=n, grid_type=kind, tuplet=None, swing=50, groove=None)


class LiveQuantizer:
    """Decides the send time of each live note-on/note-off (pure; not thread-safe by itself)."""

    def __init__(self, settings: LiveSettings, clock: MusicalClock, ppq: int):
        self.clock = clock
        self.ppq = ppq
        self.settings = _resolved(settings)
        self._noise: np.ndarray | None = None
        self._noise_key: tuple | None = None
        self._noise_i = 0
        self._prepare_noise()
        #: (channel, pitch) -> FIFO of (arrival, send time) of notes whose note-off is pending
        self._open: dict[tuple[int, int], deque[tuple[float, float]]] = {}
        self._group_when = -math.inf  #: arrival of the current onset group's first note
        self._group_delay = 0.0  #: its humanize delay in seconds
        self._group_count: dict[int, int] = {}  #: notes per channel in the current group

    def set_settings(self, settings: LiveSettings) -> None:
        """New settings apply to the next note-on; open notes keep their pairing and delay."""
        self.settings = _resolved(settings)
        self._prepare_noise()

    def reset(self) -> None:
        """Forget open notes (after stop/panic sent their note-offs)."""
        self._open.clear()
        self._group_when = -math.inf
        self._group_count.clear()

    # -- humanize / flam (delays only) ----------------------------------------------------
    def _prepare_noise(self) -> None:
        """Draw the humanize sequence now, not when a note arrives (no work on the note path)."""
        q = self.settings.quantize
        if q is None or q.humanize_ms <= 0:
            return
        key = (q.humanize_noise, q.humanize_seed)
        if getattr(self, "_noise_key", None) != key:
            from engine.quantize.humanize import deviation_sequence

            self._noise = deviation_sequence(LIVE_SEQUENCE, q.humanize_noise, q.humanize_seed, 0, 0)
            self._noise_key = key
            self._noise_i = 0

    def _humanize_value(self, q: QuantizeSettings) -> float:
        value = float(self._noise[self._noise_i % LIVE_SEQUENCE])
        self._noise_i += 1
        return value

    def _extra_delay(self, when: float, channel: int, send: float) -> float:
        """Humanize and flam delays (seconds) for a note-on arriving at ``when``."""
        q = self.settings.quantize
        if q is None or (q.humanize_ms <= 0 and q.flam == 0):
            return 0.0
        if when - self._group_when > CHORD_WINDOW_S:
            self._group_when = when
            self._group_count.clear()
            self._group_delay = 0.0
            if q.humanize_ms > 0:
                self._group_delay = max(0.0, self._humanize_value(q)) * q.humanize_ms / 1000.0
        i = self._group_count.get(channel, 0)
        self._group_count[channel] = i + 1
        extra = self._group_delay
        if q.flam and i:
            t = self.clock.tick_at(send)
            extra += self.clock.seconds_between(t, t + i * abs(q.flam))
        return extra

    # -- decisions ------------------------------------------------------------------------
    def _delay_target(self, when: float) -> float:
        s = self.settings
        q = s.quantize
        if q is None:
            return when
        t = self.clock.tick_at(when)
        if q.groove is not None:
            return self._groove_target(when, t, q)
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

    def _groove_target(self, when: float, t: float, q: QuantizeSettings) -> float:
        from engine.quantize.groove import live_groove_target

        target = live_groove_target(t, q, q.groove, self.ppq, self.settings.mode)
        if target is None or target <= t:
            return when
        send = when + self.clock.seconds_between(t, target)
        limit = self.settings.max_delay_ms
        if limit is not None and send - when > limit / 1000.0 + 1e-12:
            return when
        return send

    def note_on(self, when: float, channel: int, pitch: int) -> float:
        """Send time of a note-on arriving at ``when`` (engine clock)."""
        send = self._delay_target(when)
        send += self._extra_delay(when, channel, send)
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
        q = _end_grid(self.settings.quantize)
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
