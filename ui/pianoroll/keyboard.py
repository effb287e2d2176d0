"""The keyboard at the left of the piano roll: shows pitches and auditions them on click.

As in Logic, clicking a key also selects every note of that pitch (Shift adds them). On a drum
track (notes on channel 10) it becomes a drum map: each row is labelled with its General MIDI
drum (Kick, Snare, Closed Hat...) as in a drum editor, and it widens to fit the names."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QFont, QPainter, QPen
from PySide6.QtWidgets import QWidget

from ui.painting import safe_painter
from ui.pianoroll.drum_names import drum_name
from ui.pianoroll.viewport import RollViewport
from ui.theme import color

NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
BLACK = {1, 3, 6, 8, 10}
WIDTH = 56
DRUM_WIDTH = 96  #: wide enough for "Closed Hat" / "Hi Wood Block" at the row font


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
        self.drums = False  #: label rows with GM drum names
        self.setFixedWidth(WIDTH)
        self.setAttribute(Qt.WA_OpaquePaintEvent)
        self._shown = None
        vp.changed.connect(self._view_changed)

    def set_drums(self, on: bool) -> None:
        """Show GM drum names (a drum track) or note names."""
        on = bool(on)
        if on != self.drums:
            self.drums = on
            self.setFixedWidth(DRUM_WIDTH if on else WIDTH)
            self.update()

    def row_label(self, pitch: int) -> str:
        """What the row of ``pitch`` is called: its drum (drum track) or, for every C, its
        note name; "" where nothing is written."""
        if self.drums:
            name = drum_name(pitch)
            return name if name is not None else (pitch_name(pitch) if pitch % 12 == 0 else "")
        return pitch_name(pitch) if pitch % 12 == 0 else ""

    def _view_changed(self) -> None:
        # Horizontal scrolling and zooming leave the keyboard as it is: skip the repaint.
        now = (self.vp.top_px, self.vp.key_height, self.vp.height)
        if now != self._shown:
            self._shown = now
            self.update()

    def paintEvent(self, event) -> None:
        with safe_painter(self) as p:
            self._paint(p)

    def _paint(self, p: QPainter) -> None:
        vp = self.vp
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
            elif pitch % 12 in BLACK and self.drums:
                # A drum map: a full-width, slightly darker row, so the name stays readable.
                p.fillRect(r, color("key_white").darker(118))
            elif pitch % 12 in BLACK:
                p.fillRect(QRectF(0, y, w * 0.62, vp.key_height), color("key_black"))
            if pitch % 12 in (0, 5) or pitch % 12 in (4, 11):
                p.setPen(QPen(color("text_dim"), 1))
                edge = y + vp.key_height - 0.5 if pitch % 12 in (0, 5) else y + 0.5
                p.drawLine(0, int(edge), w, int(edge))
            if vp.key_height >= 7:
                label = self.row_label(pitch)
                if label:
                    p.setPen(color("key_black"))
                    align = (Qt.AlignLeft if self.drums else Qt.AlignRight) | Qt.AlignVCenter
                    p.drawText(r.adjusted(4, 0, -4, 0), align, label)
        p.setPen(QPen(color("border"), 1))
        p.drawLine(w - 1, 0, w - 1, self.height())

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
