"""The ruler above the piano roll: bar numbers and beats from the song's time signatures.

Clicking or dragging in the ruler moves the playhead (emits ``locate``)."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QLineF, QRectF, Qt, Signal
from PySide6.QtGui import QPainter, QPen
from PySide6.QtWidgets import QWidget

from ui.pianoroll.viewport import RollViewport
from ui.theme import color


class Ruler(QWidget):
    locate = Signal(int)

    def __init__(self, vp: RollViewport, bar_grid, parent=None):
        super().__init__(parent)
        self.vp = vp
        self.bar_grid = bar_grid  # a callable returning the canvas's BarGrid
        self.playhead = 0
        self.setFixedHeight(24)
        self.setAttribute(Qt.WA_OpaquePaintEvent)
        vp.changed.connect(self.update)

    def paintEvent(self, event) -> None:
        vp = self.vp
        p = QPainter(self)
        p.fillRect(self.rect(), color("panel"))
        t0, t1 = vp.visible_ticks()
        bars = self.bar_grid()
        h = self.height()
        if vp.ppq / vp.ticks_per_px >= 6:
            p.setPen(QPen(color("text_dim"), 1))
            xs = np.floor(vp.tick_to_x(bars.beats_in(t0, t1).astype(np.float64))) + 0.5
            p.drawLines([QLineF(x, h - 5, x, h) for x in xs.tolist()])
        ticks, numbers = bars.bars_in(t0 - 1, t1)
        if ticks.size:
            bar_px = (
                float(bars.bar_ticks[1] - bars.bar_ticks[0]) / vp.ticks_per_px
                if bars.bar_ticks.size > 1
                else 1e9
            )
            every = 1 << max(0, math.ceil(math.log2(max(1.0, 36 / max(bar_px, 1e-9)))))
            keep = (numbers - 1) % every == 0
            p.setPen(QPen(color("text"), 1))
            for tick, number in zip(ticks[keep].tolist(), numbers[keep].tolist(), strict=True):
                x = math.floor(vp.tick_to_x(tick)) + 0.5
                p.drawLine(QLineF(x, 6, x, h))
                p.drawText(QRectF(x + 3, 0, 60, h - 4), Qt.AlignLeft | Qt.AlignVCenter, str(number))
        x = vp.tick_to_x(self.playhead)
        p.setPen(QPen(color("playhead"), 2))
        p.drawLine(QLineF(x, 0, x, h))
        p.setPen(QPen(color("border"), 1))
        p.drawLine(0, h - 1, self.width(), h - 1)
        p.end()

    def mousePressEvent(self, event) -> None:
        self.locate.emit(max(0, int(self.vp.x_to_tick(event.position().x()))))

    def mouseMoveEvent(self, event) -> None:
        if event.buttons() & Qt.LeftButton:
            self.locate.emit(max(0, int(self.vp.x_to_tick(event.position().x()))))
