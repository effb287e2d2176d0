"""The velocity lane under the piano roll: one stalk per note, drag to set velocities.

Dragging draws a velocity: every note whose start the pointer passes over (only selected
notes, when there is a selection) takes the velocity of the pointer's height. The whole drag
is one undo step ("Velocity of N notes").
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QLineF, QRectF, Qt
from PySide6.QtGui import QImage, QPainter, QPen
from PySide6.QtWidgets import QWidget

from ui import commands
from ui.painting import safe_painter
from ui.pianoroll.note_painter import _argb
from ui.pianoroll.viewport import RollViewport
from ui.song_document import SongDocument
from ui.theme import color, velocity_color

_LANE_LUT: np.ndarray | None = None


class VelocityLane(QWidget):
    def __init__(self, doc: SongDocument, vp: RollViewport, parent=None):
        super().__init__(parent)
        self.doc = doc
        self.vp = vp
        self._edits: dict[int, int] = {}  # note id -> new velocity, during a drag
        self._last_x: float | None = None
        self._cache_key = None
        self._starts = self._vels = None
        self.setFixedHeight(72)
        self.setAttribute(Qt.WA_OpaquePaintEvent)
        vp.changed.connect(self.update)
        doc.notesChanged.connect(self.update)
        doc.selectionChanged.connect(self.update)
        doc.currentTrackChanged.connect(self.update)

    def _vel_to_y(self, v):
        return self.height() - 3 - (np.asarray(v, dtype=np.float64) / 127.0) * (self.height() - 6)

    def _y_to_vel(self, y: float) -> int:
        v = round((self.height() - 3 - y) / (self.height() - 6) * 127)
        return max(1, min(127, v))

    def paintEvent(self, event) -> None:
        with safe_painter(self) as p:
            self._paint(p)

    def _paint(self, p: QPainter) -> None:
        p.fillRect(self.rect(), color("base"))
        p.setPen(QPen(color("border"), 1))
        p.drawLine(0, 0, self.width(), 0)
        track = self.doc.track()
        if track is not None and track.notes.size:
            notes = track.notes
            if self._cache_key is not notes:  # contiguous columns, rebuilt per edit
                self._cache_key = notes
                self._starts = np.ascontiguousarray(notes["start"], dtype=np.int64)
                self._vels = np.ascontiguousarray(notes["velocity"], dtype=np.int64)
            t0, t1 = self.vp.visible_ticks()
            # Only onsets on screen have a stalk: one contiguous slice of the sorted starts.
            # Whole-tick keys: a float key would convert every start to float per paint.
            i0, i1 = np.searchsorted(self._starts, [math.ceil(t0), math.ceil(t1)], side="left")
            vel = self._vels[i0:i1]
            if self._edits:
                vel = vel.copy()
                ids = notes["id"][i0:i1]
                for j, nid in enumerate(ids.tolist()):
                    if nid in self._edits:
                        vel[j] = self._edits[nid]
            x = np.floor((self._starts[i0:i1] - self.vp.left_tick) / self.vp.ticks_per_px)
            if self.doc.selection.size:
                sel = self.doc.selection_mask()[i0:i1]
            else:
                sel = np.zeros(i1 - i0, dtype=bool)
            if i1 - i0 > self.width() // 3:
                self._paint_columns(p, x.astype(np.int64), vel, sel)
            else:
                self._paint_stalks(p, x + 0.5, vel, sel)

    def _paint_stalks(self, p: QPainter, xs, vel, sel) -> None:
        """Few notes: one stalk with a handle per note, coloured like the note."""
        base = float(self.height() - 2)
        ys = self._vel_to_y(vel)
        for x, y, v, s in zip(xs.tolist(), ys.tolist(), vel.tolist(), sel.tolist(), strict=True):
            c = color("note_selected") if s else velocity_color(v)
            p.setPen(QPen(c, 2))
            p.drawLine(QLineF(x, base, x, y))
            p.fillRect(QRectF(x - 2, y - 2, 5, 5), c)

    def _paint_columns(self, p: QPainter, x, vel, sel) -> None:
        """Many notes: the loudest velocity per pixel column, drawn as one image, so the cost
        is bounded by the lane's size, not the note count."""
        global _LANE_LUT
        if _LANE_LUT is None:
            _LANE_LUT = np.array([_argb(velocity_color(max(1, v))) for v in range(128)], np.uint32)
            _LANE_LUT[0] = 0
        w, h = self.width(), self.height()
        ok = (x >= 0) & (x < w)
        top = np.zeros(w, dtype=np.int64)
        np.maximum.at(top, x[ok], vel[ok])
        colour = _LANE_LUT[top]
        if sel.any():
            m = ok & sel
            has_sel = np.zeros(w, dtype=bool)
            has_sel[x[m]] = True
            colour[has_sel] = _argb(color("note_selected"))
        ytop = np.asarray(self._vel_to_y(top))
        yy = np.arange(h, dtype=np.float64)[:, None]
        img = QImage(w, h, QImage.Format_ARGB32_Premultiplied)
        view = np.frombuffer(img.bits(), np.uint32).reshape(h, img.bytesPerLine() // 4)[:, :w]
        view[:] = np.where((yy >= ytop[None, :]) & (yy < h - 2), colour[None, :], np.uint32(0))
        p.drawImage(0, 0, img)

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.LeftButton:
            self._edits = {}
            self._last_x = event.position().x()
            self._paint_velocity(event.position().x(), event.position().y())

    def mouseMoveEvent(self, event) -> None:
        if self._last_x is not None:
            self._paint_velocity(event.position().x(), event.position().y())

    def _paint_velocity(self, x: float, y: float) -> None:
        track = self.doc.track()
        if track is None or not track.notes.size:
            return
        lo, hi = sorted((self._last_x, x))
        t0, t1 = self.vp.x_to_tick(lo - 3), self.vp.x_to_tick(hi + 3)
        notes = track.notes
        m = (notes["start"] >= t0) & (notes["start"] <= t1)
        sel = self.doc.selection_mask()
        if sel.any():
            m &= sel
        v = self._y_to_vel(y)
        for nid in notes["id"][m].tolist():
            self._edits[nid] = v
        self._last_x = x
        self.update()

    def mouseReleaseEvent(self, event) -> None:
        self._last_x = None
        edits, self._edits = self._edits, {}
        if edits and self.doc.current_index >= 0:
            ids = np.fromiter(edits.keys(), dtype=np.int32)
            track = self.doc.track()
            order = track.notes["id"][np.isin(track.notes["id"], ids)]
            vels = [edits[int(i)] for i in order]
            self.doc.push(
                commands.set_velocity(self.doc, self.doc.current_index, ids, velocity=vels)
            )
        self.update()
