"""The transport bar: play/stop/record/loop/metronome, tempo and the song position.

The bar only shows and asks: it emits requests (``playToggled``, ``stopRequested``...) that the
main window turns into Engine commands, and it shows the position the window reads from the
engine's state snapshot. Position is shown as a DAW shows it, bars:beats:ticks from the song's
time signatures, plus minutes:seconds from its tempo map, so a tempo change is honoured.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontDatabase, QIcon, QPainter, QPixmap, QPolygonF
from PySide6.QtWidgets import QDoubleSpinBox, QLabel, QToolBar, QToolButton, QWidget

from engine.model import Song
from ui.tempo_text import bpm_at
from ui.theme import COLORS

ICON_PX = 16


def transport_icon(kind: str) -> QIcon:
    """Play/pause/stop/rewind/record drawn as vector shapes: crisp at any DPI, no font glyphs
    (many fonts lack the media symbols)."""
    icon = QIcon()
    for scale in (1, 2, 3):
        px = QPixmap(ICON_PX * scale, ICON_PX * scale)
        px.setDevicePixelRatio(scale)
        px.fill(Qt.transparent)
        p = QPainter(px)
        p.setRenderHint(QPainter.Antialiasing)
        p.setPen(Qt.NoPen)
        p.setBrush(QColor(COLORS["error"] if kind == "record" else COLORS["text"]))
        s = ICON_PX
        if kind == "play":
            p.drawPolygon(QPolygonF([QPointF(4, 2.5), QPointF(13.5, 8), QPointF(4, 13.5)]))
        elif kind == "pause":
            p.drawRect(QRectF(4, 3, 3, 10))
            p.drawRect(QRectF(9, 3, 3, 10))
        elif kind == "stop":
            p.drawRect(QRectF(3.5, 3.5, 9, 9))
        elif kind == "rewind":
            p.drawRect(QRectF(3, 3, 2, 10))
            p.drawPolygon(QPolygonF([QPointF(13, 3), QPointF(5.5, 8), QPointF(13, 13)]))
        elif kind == "record":
            p.drawEllipse(QRectF(3, 3, s - 6, s - 6))
        p.end()
        icon.addPixmap(px)
    return icon


def format_position(song: Song, tick: int) -> str:
    """``"  3.2.120"``: bar, beat (both from 1) and tick within the beat."""
    bar, beat, sub = song.time_signatures().position(max(0, int(tick)))
    return f"{bar:3d}.{beat}.{sub:03d}"


def format_time(song: Song, tick: int) -> str:
    """``"0:05.250"``: minutes, seconds and milliseconds at ``tick`` via the tempo map."""
    sec = song.tempo_map().tick_to_seconds(max(0, int(tick)))
    ms = int(round(sec * 1000))
    return f"{ms // 60000}:{(ms // 1000) % 60:02d}.{ms % 1000:03d}"


class TransportBar(QToolBar):
    """Transport controls. Checkable buttons reflect the engine state the window sets."""

    playToggled = Signal()
    stopRequested = Signal()
    rewindRequested = Signal()
    recordToggled = Signal(bool)
    loopToggled = Signal(bool)
    metronomeToggled = Signal(bool)
    tempoEdited = Signal(float)

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Transport", parent)
        self.setObjectName("transport")
        self.setMovable(False)
        self.setFloatable(False)
        self._song: Song | None = None
        self._tick = 0
        self.rewind = self._button("rewind", "Go to start (Home)", self.rewindRequested.emit)
        self.play = self._button("play", "Play / stop (Space)", self.playToggled.emit)
        self.play.setObjectName("play")
        self.play.setCheckable(True)
        self.stop = self._button(
            "■", "Stop (returns to where play started)", self.stopRequested.emit
        )
        self.record = self._button("record", "Record from MIDI in with live quantize (R)", None)
        self.record.setCheckable(True)
        self.record.setObjectName("record")
        self.record.toggled.connect(self.recordToggled.emit)
        self.addSeparator()
        self.loop = self._button("⟳", "Loop the loop range (L)", None)
        self.loop.setCheckable(True)
        self.loop.toggled.connect(self.loopToggled.emit)
        self.metronome = self._button("♩", "Metronome click (K)", None)
        self.metronome.setCheckable(True)
        self.metronome.toggled.connect(self.metronomeToggled.emit)
        self.addSeparator()

        mono = QFontDatabase.systemFont(QFontDatabase.FixedFont)
        mono.setPointSizeF(max(mono.pointSizeF(), 11.0))
        mono.setWeight(QFont.DemiBold)
        self.position = QLabel()
        self.position.setObjectName("position")
        self.position.setFont(mono)
        self.position.setToolTip("Position: bar . beat . tick")
        self.position.setMinimumWidth(110)
        self.position.setAlignment(Qt.AlignCenter)
        self.addWidget(self.position)
        self.time = QLabel()
        self.time.setObjectName("dim")
        self.time.setFont(mono)
        self.time.setToolTip("Position: minutes:seconds.milliseconds")
        self.time.setMinimumWidth(96)
        self.time.setAlignment(Qt.AlignCenter)
        self.addWidget(self.time)
        self.addSeparator()
        self.tempo = QDoubleSpinBox()
        self.tempo.setObjectName("tempo")
        self.tempo.setRange(20.0, 400.0)
        self.tempo.setDecimals(2)
        self.tempo.setSuffix(" BPM")
        self.tempo.setKeyboardTracking(False)
        self.tempo.setToolTip("Tempo at the song position; editing it sets the song's tempo")
        self.tempo.editingFinished.connect(self._tempo_edited)
        self.addWidget(self.tempo)
        self.signature = QLabel()
        self.signature.setObjectName("dim")
        self.signature.setToolTip("Time signature at the song position")
        self.addWidget(self.signature)
        self._shown_bpm = 0.0

    def _button(self, text: str, tip: str, slot) -> QToolButton:
        b = QToolButton()
        if text in ("play", "pause", "stop", "rewind", "record"):
            b.setIcon(transport_icon(text))
            b.setObjectName(text)
        else:
            b.setText(text)
        b.setToolTip(tip)
        b.setMinimumWidth(34)
        b.setFocusPolicy(Qt.NoFocus)  # Space belongs to the window, not a focused button
        if slot is not None:
            b.clicked.connect(lambda *_: slot())
        self.addWidget(b)
        return b

    # -- shown state ------------------------------------------------------------------
    def set_song(self, song: Song) -> None:
        """Show positions in this song's bars and time (call again after a tempo change)."""
        self._song = song
        self._tempo_map = song.tempo_map()
        self._sig_map = song.time_signatures()
        self.set_position(self._tick, force=True)

    def set_position(self, tick: int, force: bool = False) -> None:
        """Show ``tick``; cheap when it did not change (called at the poll rate)."""
        if self._song is None or (tick == self._tick and not force):
            return
        self._tick = int(tick)
        bar, beat, sub = self._sig_map.position(max(0, self._tick))
        self.position.setText(f"{bar:3d}.{beat}.{sub:03d}")
        ms = int(round(self._tempo_map.tick_to_seconds(max(0, self._tick)) * 1000))
        self.time.setText(f"{ms // 60000}:{(ms // 1000) % 60:02d}.{ms % 1000:03d}")
        self._show_tempo(bpm_at(self._tempo_map, tick))
        sigs = self._sig_map.signatures
        sig = sigs[0]
        for s in sigs:
            if s.tick <= tick:
                sig = s
        self.signature.setText(f" {sig.numerator}/{sig.denominator} ")

    def _show_tempo(self, bpm: float | None) -> None:
        """The tempo at the position; ``None`` (a tempo event of 0 in the file) reads
        "invalid" until the position reaches a real tempo or the user types one."""
        if self.tempo.hasFocus():
            return
        if bpm is None:
            if self.tempo.specialValueText():
                return
            self._shown_bpm = math.nan
            self.tempo.blockSignals(True)
            self.tempo.setSpecialValueText("invalid tempo")  # shown at the minimum value
            self.tempo.setValue(self.tempo.minimum())
            self.tempo.blockSignals(False)
            return
        if abs(bpm - self._shown_bpm) > 1e-9 or self.tempo.specialValueText():
            self._shown_bpm = bpm
            self.tempo.blockSignals(True)
            self.tempo.setSpecialValueText("")
            self.tempo.setValue(bpm)
            self.tempo.blockSignals(False)

    def set_playing(self, playing: bool) -> None:
        if self.play.isChecked() != playing:
            self.play.blockSignals(True)
            self.play.setChecked(playing)
            self.play.blockSignals(False)
        self.play.setIcon(transport_icon("pause" if playing else "play"))

    def set_recording(self, on: bool) -> None:
        if self.record.isChecked() != on:
            self.record.blockSignals(True)
            self.record.setChecked(on)
            self.record.blockSignals(False)

    def _tempo_edited(self) -> None:
        bpm = float(self.tempo.value())
        if self.tempo.specialValueText() and bpm == self.tempo.minimum():
            return  # "invalid tempo" still shown: focus left without a new value
        self.tempo.setSpecialValueText("")
        if not abs(bpm - self._shown_bpm) <= 1e-6:  # also after "invalid" (NaN)
            self._shown_bpm = bpm
            self.tempoEdited.emit(bpm)
