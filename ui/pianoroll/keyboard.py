"""The keyboard at the left of the piano roll: shows pitches and auditions them on click.

As in Logic, clicking a key also selects every note of that pitch (Shift adds them)."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QFont, QPainter, QPen
from PySide6.QtWidgets import QWidget

from ui.pianoroll.viewport import RollViewport
from ui.theme import color

NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
BLACK = {1, 3, 6, 8, 10}


def pitch_name(pitch: int) -> str:
    """Scientific pitch name with middle C (60) as C4, as most DAWs label it."""
    return f"{NAMES[pitch % 12]}{pitch // 12 - 1}"


class Keyboard(QWidget):
    """Vertical keyboard aligned with the roll's rows. Emits audition(pitch, velocity);
    velocity 0 on release."""

    audition = Signal(int, int)
    #: A key was clicked: select every note of this pitch (bool: add to the selection).
    pitchClicked = Signal(int, bool)

    def __init__(self, vp: RollViewport, parent=None):
        super().__init__(parent)
        self.vp = vp
        self.pressed = -1
        self.setFixedWidth(56)
        self.setAttribute(Qt.WA_OpaquePaintEvent)
        self._shown = None
        vp.changed.connect(self._view_changed)

    def _view_changed(self) -> None:
        # Horizontal scrolling and zooming leave the keyboard as it is: skip the repaint.
        now = (self.vp.top_px, self.vp.key_height, self.vp.height)
        if now != self._shown:
            self._shown = now
            self.update()

    def paintEvent(self, event) -> None:
        vp = self.vp
        p = QPainter(self)
        p.fillRect(self.rect(), color("key_white"))
        lo, hi = vp.visible_pitches()
        w = self.width()
        font = QFont(self.font())
        font.setPointSizeF(max(6.0, min(8.0, vp.key_height * 0.7)))
        p.setFont(font)
        for pitch in range(lo, hi + 1):
            y = vp.pitch_top_y(pitch)
            r = QRectF(0, y, w, vp.key_height)
            if pitch == self.pressed:
                p.fillRect(r, color("key_pressed"))
            elif pitch % 12 in BLACK:
                p.fillRect(QRectF(0, y, w * 0.62, vp.key_height), color("key_black"))
            if pitch % 12 in (0, 5) or pitch % 12 in (4, 11):
                p.setPen(QPen(color("text_dim"), 1))
                edge = y + vp.key_height - 0.5 if pitch % 12 in (0, 5) else y + 0.5
                p.drawLine(0, int(edge), w, int(edge))
            if pitch % 12 == 0 and vp.key_height >= 7:
                p.setPen(color("key_black"))
                p.drawText(
                    r.adjusted(0, 0, -4, 0), Qt.AlignRight | Qt.AlignVCenter, pitch_name(pitch)
                )
        p.setPen(QPen(color("border"), 1))
        p.drawLine(w - 1, 0, w - 1, self.height())
        p.end()

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.LeftButton:
            self.pressed = self.vp.y_to_pitch(event.position().y())
            # Louder towards the right edge, as on a real key struck near its front.
            vel = int(40 + 87 * min(1.0, max(0.0, event.position().x() / self.width())))
            self.audition.emit(self.pressed, vel)
            self.pitchClicked.emit(self.pressed, bool(event.modifiers() & Qt.ShiftModifier))
            self.update()

    def mouseReleaseEvent(self, event) -> None:
        if self.pressed >= 0:
            self.audition.emit(self.pressed, 0)
            self.pressed = -1
            self.update()

    def wheelEvent(self, event) -> None:
        steps = event.angleDelta().y() / 120.0
        self.vp.scroll_to(top_px=self.vp.top_px - steps * 3 * self.vp.key_height)
