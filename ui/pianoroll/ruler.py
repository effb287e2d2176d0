"""The ruler above the piano roll: bar numbers and beats from the song's time signatures, a
marker at every tempo change from the tempo map, and the loop strip.

Clicking or dragging in the upper part moves the playhead (emits ``locate``); hovering shows
the position as bar.beat.tick and as clock time (through the tempo map).

The loop strip is the lower band (as the cycle area of Logic's and Cubase's rulers). Dragging
outside the range draws a new one; dragging the range's body moves it (its length kept);
dragging within a few pixels of its left or right edge resizes it — as in Logic's cycle area.
Everything snaps to bar lines; Alt or Shift places it on any tick. While dragging the ruler
emits ``loopDragged`` so the roll shades the range live; on release ``loopChosen(start, end,
action)`` with action "set", "move" or "resize" — the roll turns that into one undoable
command, which the engine follows at once when looping is on (also while playing; the window
hands the engine ``loopDragged`` ranges too, so playing follows the drag). The range is drawn
yellow when looping is on and grey when off, as in Logic.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from PySide6.QtCore import QLineF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QWidget

from ui.painting import safe_painter
from ui.pianoroll.viewport import RollViewport
from ui.tempo_text import bpm_text
from ui.theme import color

SMF_DEFAULT_USEC = 500_000  #: 120 BPM: the tempo of a file without tempo events
TEMPO_LABEL_GAP = 6  #: px kept free between two tempo labels
TEMPO_HOVER_PX = 4  #: the tooltip names tempo changes this close to the pointer
TEMPO_TIP_LINES = 8  #: at most this many changes listed in the tooltip
LOOP_STRIP = 10  #: height in px of the loop strip at the bottom of the ruler
POSITION_ROWS = 30  #: height of the bar/beat/tempo part above it
LOOP_EDGE_PX = 5  #: how close to an end of the loop range a press resizes it instead of moving
DRAG_START_PX = 3  #: the pointer must travel this far before a press on the range moves it


class TempoLabel(NamedTuple):
    """A tempo label as drawn: the change's tick, its text and its x extent in pixels."""

    tick: int
    text: str
    left: float
    right: float


def _free(event) -> bool:
    """Alt (as everywhere in the roll) or Shift (as Logic's finer cycle drag) turns snap off."""
    return bool(event.modifiers() & (Qt.AltModifier | Qt.ShiftModifier))


class Ruler(QWidget):
    locate = Signal(int)
    #: The loop range while it is being dragged (start, end); not yet an edit.
    loopDragged = Signal(int, int)
    #: The loop range chosen by a drag in the loop strip (start < end) and how: "set" (drawn
    #: anew), "move" (body dragged) or "resize" (an edge dragged).
    loopChosen = Signal(int, int, str)
    #: A loop drag ended (after ``loopChosen``, or with nothing chosen): show the real range.
    loopDragEnded = Signal()

    def __init__(self, vp: RollViewport, bar_grid, song_maps=None, parent=None):
        super().__init__(parent)
        self.vp = vp
        self.bar_grid = bar_grid  # a callable returning the canvas's BarGrid
        self.song_maps = song_maps  # a callable returning (TempoMap, TimeSignatureMap)
        self.setMouseTracking(True)
        self.playhead = 0
        self.loop: tuple[int, int] | None = None  #: the range drawn in the loop strip
        self.loop_enabled = False
        self._loop_drag: dict | None = None  # a drag in the loop strip: mode, anchor, range
        #: The tempo labels drawn by the last paint (the rest did not fit).
        self.tempo_labels: list[TempoLabel] = []
        self.setFixedHeight(POSITION_ROWS + LOOP_STRIP)
        self.setAttribute(Qt.WA_OpaquePaintEvent)
        vp.changed.connect(self.update)

    def in_loop_strip(self, y: float) -> bool:
        return y >= POSITION_ROWS

    def paintEvent(self, event) -> None:
        with safe_painter(self) as p:
            self._paint(p)

    def _paint(self, p: QPainter) -> None:
        vp = self.vp
        p.fillRect(self.rect(), color("panel"))
        t0, t1 = vp.visible_ticks()
        bars = self.bar_grid()
        h = POSITION_ROWS
        if vp.ppq / vp.ticks_per_px >= 6:
            p.setPen(QPen(color("text_dim"), 1))
            xs = np.unique(np.floor(vp.tick_to_x(bars.beats_in(t0, t1).astype(np.float64)))) + 0.5
            p.drawLines([QLineF(x, h - 5, x, h) for x in xs.tolist()])
        # Numbered bars at least as far apart as the widest number on screen needs.
        widest = p.fontMetrics().horizontalAdvance(str(bars.number_at(t1)))
        ticks, numbers = bars.bars_in(t0 - 1, t1, vp.ticks_per_px, max(36, widest + 8))
        p.setPen(QPen(color("text"), 1))
        # One line per pixel column, and a number only where it fits after the one before
        # (many time signatures on screen can put bars of different segments close).
        xs, first = np.unique(np.floor(vp.tick_to_x(ticks.astype(np.float64))), return_index=True)
        p.drawLines([QLineF(x + 0.5, 6, x + 0.5, h) for x in xs.tolist()])
        free_from = -1e9
        for x, j in zip(xs.tolist(), first.tolist(), strict=True):
            if x + 3 < free_from:
                continue
            text = str(int(numbers[j]))
            p.drawText(QRectF(x + 3.5, 1, widest + 6, 15), Qt.AlignLeft | Qt.AlignVCenter, text)
            free_from = x + 3 + p.fontMetrics().horizontalAdvance(text) + 6
        self._paint_tempo(p, t0, t1)
        self._paint_loop_strip(p)
        x = vp.tick_to_x(self.playhead)
        if -2 <= x <= self.width() + 2:
            p.setPen(QPen(color("playhead"), 2))
            p.drawLine(QLineF(x, 0, x, self.height()))
        p.setPen(QPen(color("border"), 1))
        p.drawLine(0, self.height() - 1, self.width(), self.height() - 1)

    def _tempo_changes(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(ticks, µs per quarter) of the tempo map, or None when the song keeps the SMF
        default tempo throughout (nothing to mark)."""
        if self.song_maps is None:
            return None
        tempo, _sigs = self.song_maps()
        if tempo.ticks.size <= 1 and tempo.usec[0] == SMF_DEFAULT_USEC:
            return None
        return tempo.ticks, tempo.usec

    def _paint_tempo(self, p: QPainter, t0: float, t1: float) -> None:
        """A marker at every tempo change on screen (one per pixel column) and a label for each
        one that fits after the label before it; the rest are named by the hover tooltip. On a
        song with dozens of changes this keeps the labels readable instead of a smear."""
        self.tempo_labels = []
        changes = self._tempo_changes()
        if changes is None:
            return
        ticks, usec = changes
        i0, i1 = np.searchsorted(ticks, [t0, t1], side="left")
        if i0 > 0 and ticks[i0 - 1] < t0:  # the tempo in effect at the left edge
            i0 -= 1
        xs = np.floor(self.vp.tick_to_x(ticks[i0:i1].astype(np.float64)))
        cols, first = np.unique(np.maximum(xs, -1.0), return_index=True)
        p.setPen(QPen(color("warning"), 1))
        small = QFont(self.font())
        small.setPointSizeF(max(6.0, small.pointSizeF() * 0.8))
        p.setFont(small)
        fm = p.fontMetrics()
        h = POSITION_ROWS
        p.drawLines([QLineF(x + 0.5, 16, x + 0.5, h - 6) for x in cols.tolist() if x >= 0])
        free_from = -1e9  # x where the next label may start
        for x, j in zip(cols.tolist(), first.tolist(), strict=True):
            k = int(i0) + j
            text = bpm_text(usec[k])
            left = max(0.0, x) + 3
            if left < free_from:
                continue
            width = fm.horizontalAdvance(text)
            box = QRectF(left, 15, width + 2, 10)
            p.fillRect(box.adjusted(-1, 0, 1, 0), color("panel"))  # over the hidden markers
            p.drawText(box, Qt.AlignLeft | Qt.AlignVCenter, text)
            self.tempo_labels.append(TempoLabel(int(ticks[k]), text, left, left + width))
            free_from = left + width + TEMPO_LABEL_GAP

    def tempo_tip(self, x: float) -> str:
        """The tempo at ``x`` and the tempo changes within a few pixels of it (their labels
        may have been left out for lack of room)."""
        changes = self._tempo_changes()
        if changes is None:
            return ""
        ticks, usec = changes
        vp = self.vp
        tick = vp.x_to_tick(x)
        i = max(0, int(np.searchsorted(ticks, tick, side="right")) - 1)
        lines = [f"Tempo: {bpm_text(usec[i])}"]
        lo, hi = vp.x_to_tick(x - TEMPO_HOVER_PX), vp.x_to_tick(x + TEMPO_HOVER_PX)
        j0, j1 = (int(v) for v in np.searchsorted(ticks, [lo, hi], side="left"))
        _tempo, sigs = self.song_maps()
        for k in range(j0, min(j1, j0 + TEMPO_TIP_LINES)):
            bar, beat, rest = sigs.position(int(ticks[k]))
            lines.append(f"Tempo change at {bar}.{beat}.{rest:03d}: {bpm_text(usec[k])}")
        if j1 - j0 > TEMPO_TIP_LINES:
            lines.append(f"… and {j1 - j0 - TEMPO_TIP_LINES} more (zoom in to see them)")
        return "\n".join(lines)

    def _paint_loop_strip(self, p: QPainter) -> None:
        top = POSITION_ROWS
        p.fillRect(QRectF(0, top, self.width(), LOOP_STRIP), color("base"))
        p.setPen(QPen(color("border"), 1))
        p.drawLine(QLineF(0, top + 0.5, self.width(), top + 0.5))
        if self.loop is None:
            return
        x0, x1 = (float(self.vp.tick_to_x(t)) for t in self.loop)
        if x1 < 0 or x0 > self.width():
            return
        x0, x1 = max(x0, -2.0), min(x1, self.width() + 2.0)  # a long range far zoomed in
        c = QColor(color("loop" if self.loop_enabled else "loop_off"))
        r = QRectF(x0, top + 1.5, max(1.0, x1 - x0), LOOP_STRIP - 3)
        fill = QColor(c)
        fill.setAlpha(200 if self.loop_enabled else 140)
        p.fillRect(r, fill)
        p.setPen(QPen(c.lighter(130), 1))
        p.drawRect(r)

    def set_loop(self, loop: tuple[int, int] | None, enabled: bool | None = None) -> None:
        """Show this loop range (and whether looping is on)."""
        self.loop = loop
        if enabled is not None:
            self.loop_enabled = bool(enabled)
        self.update()

    def _loop_tick(self, x: float, free: bool) -> int:
        tick = max(0.0, float(self.vp.x_to_tick(x)))
        return max(0, int(math.floor(tick + 0.5))) if free else self.bar_grid().snap(tick)

    def loop_part_at(self, x: float) -> str:
        """What a press at ``x`` in the loop strip grabs: "start" or "end" (an edge: resize),
        "body" (move) or "" (outside: draw a new range). A range too narrow for three parts
        is moved from inside and resized from just outside its ends."""
        if self.loop is None:
            return ""
        x0, x1 = (float(self.vp.tick_to_x(t)) for t in self.loop)
        if x1 - x0 >= 3 * LOOP_EDGE_PX:
            if abs(x - x0) <= LOOP_EDGE_PX:
                return "start"
            if abs(x - x1) <= LOOP_EDGE_PX:
                return "end"
            return "body" if x0 < x < x1 else ""
        if x0 <= x <= x1:
            return "body"
        if x0 - LOOP_EDGE_PX <= x < x0:
            return "start"
        if x1 < x <= x1 + LOOP_EDGE_PX:
            return "end"
        return ""

    def _loop_range(self, event) -> tuple[int, int]:
        """The range the drag in progress makes, from the pointer and its modifiers."""
        d = self._loop_drag
        free = _free(event)
        x = event.position().x()
        bars = self.bar_grid()
        if d["part"] == "":
            here = self._loop_tick(x, free)
            return (min(d["anchor"], here), max(d["anchor"], here))
        start, end = d["range"]
        if abs(x - d["press_x"]) < DRAG_START_PX:
            return (start, end)  # a click, or a hand's tremor, does not snap a free range
        shift = float(self.vp.x_to_tick(x)) - float(self.vp.x_to_tick(d["press_x"]))
        if d["part"] == "body":
            moved = max(0.0, start + shift)
            new = max(0, int(math.floor(moved + 0.5))) if free else bars.snap(moved)
            return (new, new + end - start)
        # An edge follows the pointer from where it was grabbed, so a click leaves it alone.
        edge = start if d["part"] == "start" else end
        here = max(0.0, edge + shift)
        here = max(0, int(math.floor(here + 0.5))) if free else bars.snap(here)
        if d["part"] == "start":
            if here >= end:
                here = end - 1 if free else bars.before(end)
            return (max(0, here), end)
        if here <= start:
            here = start + 1 if free else bars.after(start)
        return (start, here)

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.LeftButton and self.in_loop_strip(event.position().y()):
            x = event.position().x()
            part = self.loop_part_at(x)
            self._loop_drag = {
                "part": part,
                "press_x": x,
                "range": self.loop,
                "anchor": self._loop_tick(x, _free(event)),
            }
            if part == "body":
                self.setCursor(Qt.ClosedHandCursor)
            return
        self.locate.emit(max(0, int(self.vp.x_to_tick(event.position().x()))))

    def mouseMoveEvent(self, event) -> None:
        tick = max(0, int(self.vp.x_to_tick(event.position().x())))
        if self._loop_drag is not None:
            start, end = self._loop_range(event)
            if end > start:
                self.loop = (start, end)
                self.update()
                self.loopDragged.emit(start, end)
        elif event.buttons() & Qt.LeftButton:
            self.locate.emit(tick)
        self._hover(event.position())

    def _hover(self, pos) -> None:
        """Cursor and tooltip for what the pointer is over."""
        if not self.in_loop_strip(pos.y()):
            self.unsetCursor()
            tip = self.position_text(max(0, int(self.vp.x_to_tick(pos.x()))))
            tempo = self.tempo_tip(pos.x())
            self.setToolTip(f"{tip}\n{tempo}" if tempo else tip)
            return
        part = self.loop_part_at(pos.x()) if self._loop_drag is None else self._loop_drag["part"]
        if part in ("start", "end"):
            self.setCursor(Qt.SizeHorCursor)
            tip = "Drag to resize the loop (snaps to bars; Alt or Shift: free)"
        elif part == "body":
            self.setCursor(Qt.ClosedHandCursor if self._loop_drag else Qt.OpenHandCursor)
            tip = "Drag to move the loop (snaps to bars; Alt or Shift: free)"
        else:
            self.unsetCursor()
            tip = "Drag to set the loop range (snaps to bars; Alt or Shift: free)"
        self.setToolTip(tip)

    def mouseReleaseEvent(self, event) -> None:
        d = self._loop_drag
        if d is None:
            return
        start, end = self._loop_range(event)
        self._loop_drag = None
        self._hover(event.position())
        if end > start and (start, end) != d["range"]:
            action = {"": "set", "body": "move"}.get(d["part"], "resize")
            self.loopChosen.emit(start, end, action)
        self.loopDragEnded.emit()

    def position_text(self, tick: int) -> str:
        """``"Bar 3 · beat 2 · tick 120 — 0:04.250"``: what the pointer is over."""
        if self.song_maps is None:
            return ""
        tempo, sigs = self.song_maps()
        bar, beat, rest = sigs.position(tick)
        secs = float(tempo.tick_to_seconds(tick))
        return f"Bar {bar} · beat {beat} · tick {rest} — {int(secs // 60)}:{secs % 60:06.3f}"
