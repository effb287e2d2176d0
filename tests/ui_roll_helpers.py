"""Shared setup for the piano roll / quantize panel tests: a small known song and a roll with a
fixed, known zoom so tests can click on exact ticks and pitches."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from engine.build import add_track, new_song
from engine.model.notes import make_notes
from ui.pianoroll import PianoRoll
from ui.pianoroll.ruler import LOOP_STRIP, POSITION_ROWS
from ui.song_document import SongDocument

TPP = 10.0  # ticks per pixel
KEY_H = 12.0
TOP_PITCH = 72  # the row at the top of the canvas


def known_notes() -> np.ndarray:
    #            id0  id1  id2  id3 (10 ticks late for 1/16)
    return make_notes(
        [0, 480, 960, 1930], [240, 720, 1200, 2400], [60, 62, 64, 60], [80, 90, 100, 110]
    )


def make_doc(notes: np.ndarray | None = None) -> SongDocument:
    song = new_song(ppq=480)
    add_track(song, known_notes() if notes is None else notes, "Keys")
    return SongDocument(song)


def make_roll(qtbot, doc: SongDocument) -> PianoRoll:
    roll = PianoRoll(doc)
    qtbot.addWidget(roll)
    roll.resize(1000, 620)
    roll.show()
    qtbot.waitExposed(roll)
    set_view(roll)
    return roll


def set_view(roll: PianoRoll) -> None:
    vp = roll.vp
    vp.ticks_per_px = TPP
    vp.key_height = KEY_H
    vp.scroll_to(left_tick=0, top_px=(127 - TOP_PITCH) * KEY_H)


def pt(tick: float, pitch: int, dy: float = KEY_H / 2) -> QPoint:
    """Canvas point at ``tick`` inside the row of ``pitch``."""
    return QPoint(round(tick / TPP), round((TOP_PITCH - pitch) * KEY_H + dy))


def by_id(doc: SongDocument, nid: int):
    n = doc.track().notes
    return n[n["id"] == nid][0]


#: The ruler's loop strip, where loops are drawn, moved and resized.
STRIP_Y = POSITION_ROWS + LOOP_STRIP // 2


def strip(tick: float) -> QPoint:
    """A point in the ruler's loop strip at ``tick`` (at the helpers' zoom)."""
    return QPoint(round(tick / TPP), STRIP_Y)


def drag(widget, a: QPoint, b: QPoint, mods=Qt.NoModifier) -> None:
    """A mouse drag from ``a`` to ``b`` with one move halfway, as a hand makes it."""
    QTest.mousePress(widget, Qt.LeftButton, mods, a)
    QTest.mouseMove(widget, QPoint((a.x() + b.x()) // 2, a.y()))
    QTest.mouseMove(widget, b)
    QTest.mouseRelease(widget, Qt.LeftButton, mods, b)
