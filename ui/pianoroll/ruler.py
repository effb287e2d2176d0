"""The ruler above the piano roll: bar numbers and beats from the song's time signatures, and
a marker at every tempo change from the tempo map.

Clicking or dragging in the ruler moves the playhead (emits ``locate``); hovering shows the
position as bar.beat.tick and as clock time (through the tempo map)."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QLineF, QRectF, Qt, Signal
from PySide6.QtGui import QFont, QPainter, QPen
from PySide6.QtWidgets import QWidget

from ui.pianoroll.viewport import RollViewport
from ui.theme import color


class Ruler(QWidget):
    locate = Signal(int)

    def __init__(self, vp: RollViewport, bar_grid, song_maps=None, parent=None):
        super().__init__(parent)
        self.vp = vp
        self.bar_grid = bar_grid  # a callable returning the canvas's BarGrid
        self.song_maps = song_maps  # a callable returning (TempoMap, TimeSignatureMap)
        self.setMouseTracking(True)
        self.playhead = 0
        self.setFixedHeight(30)
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
                p.drawText(QRectF(x + 3, 1, 60, 15), Qt.AlignLeft | Qt.AlignVCenter, str(number))
        if self.song_maps is not None:
            tempo, _sigs = self.song_maps()
            i0, i1 = np.searchsorted(tempo.ticks, [t0, t1], side="left")
            if tempo.ticks.size > 1 or tempo.usec[0] != 500_000:
                p.setPen(QPen(color("warning"), 1))
                small = QFont(self.font())
                small.setPointSizeF(max(6.0, small.pointSizeF() * 0.8))
                p.setFont(small)
                for k in range(int(i0), int(i1)):
                    x = math.floor(vp.tick_to_x(float(tempo.ticks[k]))) + 0.5
                    bpm = 60e6 / float(tempo.usec[k])
                    p.drawLine(QLineF(x, 16, x, h - 6))
                    p.drawText(
                        QRectF(x + 3, 15, 80, 10), Qt.AlignLeft | Qt.AlignVCenter, f"{bpm:.4g} BPM"
                    )
        x = vp.tick_to_x(self.playhead)
        p.setPen(QPen(color("playhead"), 2))
        p.drawLine(QLineF(x, 0, x, h))
        p.setPen(QPen(color("border"), 1))
        p.drawLine(0, h - 1, self.width(), h - 1)
        p.end()

    def mousePressEvent(self, event) -> None:
        self.locate.emit(max(0, int(self.vp.x_to_tick(event.position().x()))))

    def mouseMoveEvent(self, event) -> None:
        tick = max(0, int(self.vp.x_to_tick(event.position().x())))
        if event.buttons() & Qt.LeftButton:
            self.locate.emit(tick)
        self.setToolTip(self.position_text(tick))

    def position_text(self, tick: int) -> str:
        """``"Bar 3 · beat 2 · tick 120 — 0:04.250"``: what the pointer is over."""
        if self.song_maps is None:
            return ""
        tempo, sigs = self.song_maps()
        bar, beat, rest = sigs.position(tick)
        secs = float(tempo.tick_to_seconds(tick))
        return f"Bar {bar} · beat {beat} · tick {rest} — {int(secs // 60)}:{secs % 60:06.3f}"
