"""The piano roll's coordinate system, shared by the canvas, keyboard, ruler and velocity lane.

One object owns zoom and scroll so the four views can never disagree about where a tick or a
pitch is drawn. x is linear in ticks (musicians edit in bars, not seconds); y has one row of
``key_height`` pixels per semitone, pitch 127 at the top.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

MIN_TICKS_PER_PX = 0.25
MAX_TICKS_PER_PX = 1 << 16
MIN_KEY_HEIGHT = 2.0
MAX_KEY_HEIGHT = 40.0
ROWS = 128


class RollViewport(QObject):
    """Zoom (ticks per pixel, key height) and scroll (left tick, top pixel) of one piano roll."""

    changed = Signal()

    def __init__(self, ppq: int = 480, parent=None):
        super().__init__(parent)
        self.ppq = ppq
        self.ticks_per_px = ppq / 48.0  # a quarter note is 48 px wide
        self.key_height = 12.0
        self.left_tick = 0.0
        self.top_px = (127 - 84) * 12.0  # C6 near the top: the musical middle is in view
        #: How far out time may zoom: MAX_TICKS_PER_PX, or more for a song too long to fit
        #: the screen at that (the roll raises it per song, see ``allow_zoom_out``).
        self.max_ticks_per_px = float(MAX_TICKS_PER_PX)
        self.width = 800  # of the canvas, in px (set by the canvas on resize)
        self.height = 400

    # -- mapping ----------------------------------------------------------------------
    def tick_to_x(self, tick):
        return (tick - self.left_tick) / self.ticks_per_px

    def x_to_tick(self, x):
        return self.left_tick + x * self.ticks_per_px

    def pitch_top_y(self, pitch):
        """y of the top edge of a pitch's row."""
        return (127 - pitch) * self.key_height - self.top_px

    def y_to_pitch(self, y) -> int:
        p = 127 - int((y + self.top_px) // self.key_height)
        return max(0, min(127, p))

    def visible_ticks(self) -> tuple[float, float]:
        return self.left_tick, self.left_tick + self.width * self.ticks_per_px

    def visible_pitches(self) -> tuple[int, int]:
        """(lowest, highest) pitch with any part of its row on screen."""
        return self.y_to_pitch(self.height - 1), self.y_to_pitch(0)

    def content_height(self) -> float:
        return ROWS * self.key_height

    def scaled(self, factor: float) -> RollViewport:
        """The same view in device pixels (``factor`` = device pixel ratio), for raster layers
        that must stay crisp on high-DPI screens."""
        out = RollViewport(self.ppq)
        out.ticks_per_px = self.ticks_per_px / factor
        out.max_ticks_per_px = self.max_ticks_per_px
        out.key_height = self.key_height * factor
        out.left_tick = self.left_tick
        out.top_px = self.top_px * factor
        out.width = max(1, round(self.width * factor))
        out.height = max(1, round(self.height * factor))
        return out

    # -- changing -----------------------------------------------------------------------
    def set_size(self, width: int, height: int) -> None:
        self.width, self.height = max(1, width), max(1, height)
        self.top_px = self._clamp_top(self.top_px)
        self.changed.emit()

    def scroll_to(self, left_tick: float | None = None, top_px: float | None = None) -> None:
        if left_tick is not None:
            self.left_tick = max(0.0, float(left_tick))
        if top_px is not None:
            self.top_px = self._clamp_top(float(top_px))
        self.changed.emit()

    def zoom_x(self, factor: float, anchor_x: float | None = None) -> None:
        """Zoom time by ``factor`` (>1 zooms in) keeping the tick under ``anchor_x`` in place."""
        ax = self.width / 2 if anchor_x is None else anchor_x
        anchor_tick = self.x_to_tick(ax)
        tpp = min(self.max_ticks_per_px, max(MIN_TICKS_PER_PX, self.ticks_per_px / factor))
        self.ticks_per_px = tpp
        self.left_tick = max(0.0, anchor_tick - ax * tpp)
        self.changed.emit()

    def zoom_y(self, factor: float, anchor_y: float | None = None) -> None:
        ay = self.height / 2 if anchor_y is None else anchor_y
        rel = (ay + self.top_px) / self.key_height
        self.key_height = min(MAX_KEY_HEIGHT, max(MIN_KEY_HEIGHT, self.key_height * factor))
        self.top_px = self._clamp_top(rel * self.key_height - ay)
        self.changed.emit()

    def fit_ticks(self, first: int, last: int) -> None:
        """Zoom so ``first..last`` fills the width ("zoom fully out" on a whole track)."""
        span = max(1, last - first)
        self.ticks_per_px = min(self.max_ticks_per_px, max(MIN_TICKS_PER_PX, span / self.width))
        self.left_tick = max(0.0, float(first))
        self.changed.emit()

    def allow_zoom_out(self, length_ticks: int) -> None:
        """Let time zoom out far enough to show ``length_ticks`` in about 100 pixels."""
        self.max_ticks_per_px = max(float(MAX_TICKS_PER_PX), length_ticks / 100.0)

    def fit_pitches(self, low: int, high: int) -> None:
        rows = max(1, high - low + 1)
        self.key_height = min(MAX_KEY_HEIGHT, max(MIN_KEY_HEIGHT, self.height / rows))
        self.top_px = self._clamp_top((127 - high) * self.key_height)
        self.changed.emit()

    def _clamp_top(self, top: float) -> float:
        return max(0.0, min(top, self.content_height() - self.height))
