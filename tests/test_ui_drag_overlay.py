"""Dragging notes draws them as an overlay; the track is edited once, on release.

While the mouse moves, the track's array is left alone (no copy, no sort, no command): the
dragged notes are drawn on top at the place the release will put them, computed by the same
clamping the command uses. The release pushes one undoable command whose result is exactly the
last overlay. Driven with real mouse events (pytest-qt, offscreen).
"""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from engine.model.notes import make_notes
from tests.ui_roll_helpers import KEY_H, TPP, by_id, make_doc, make_roll, pt
from ui import commands
from ui.theme import color


@pytest.fixture
def doc():
    return make_doc()


@pytest.fixture
def roll(qtbot, doc):
    return make_roll(qtbot, doc)


def overlay_rows(canvas) -> list[tuple[int, int, int]]:
    o = canvas.overlay
    return sorted(zip(o.start.tolist(), o.end.tolist(), o.pitch.tolist(), strict=True))


def result_rows(doc, ids) -> list[tuple[int, int, int]]:
    notes = [by_id(doc, i) for i in ids]
    return sorted((int(n["start"]), int(n["end"]), int(n["pitch"])) for n in notes)


def test_the_track_is_untouched_until_release_and_the_move_is_drawn_on_top(roll, doc, qtbot):
    canvas = roll.canvas
    installed = doc.track().notes
    before = installed.tobytes()
    QTest.mousePress(canvas, Qt.LeftButton, Qt.NoModifier, pt(600, 62))  # note 1: 480..720
    QTest.mouseMove(canvas, pt(600 + 500, 62))
    QTest.mouseMove(canvas, pt(600 + 1000, 65))
    # Nothing edited yet: the same array object, same bytes, no undo step.
    assert doc.track().notes is installed and installed.tobytes() == before
    assert doc.undo_stack.count() == 0
    assert overlay_rows(canvas) == [(1440, 1680, 65)]  # 480+1000 snaps to 1440; 62+3
    img = canvas.grab().toImage()
    y_new, y_old = round((72 - 65 + 0.5) * KEY_H), round((72 - 62 + 0.5) * KEY_H)
    assert img.pixelColor(round(1560 / TPP), y_new) == color("note_selected")
    old_px = img.pixelColor(round(600 / TPP), y_old)
    assert old_px != color("note_selected")  # not drawn at its old place any more
    QTest.mouseRelease(canvas, Qt.LeftButton, Qt.NoModifier, pt(600 + 1000, 65))
    assert canvas.overlay is None
    assert doc.undo_stack.count() == 1 and doc.undo_stack.undoText() == "Move 1 note"
    n = by_id(doc, 1)
    assert (int(n["start"]), int(n["end"]), int(n["pitch"])) == (1440, 1680, 65)
    doc.undo_stack.undo()
    assert doc.track().notes.tobytes() == before


@pytest.mark.parametrize(
    ("press", "to", "mode"),
    [
        (pt(600, 62), pt(-3000, 40), "move"),  # the group is clamped at tick 0 as one
        (pt(600, 62), pt(600, 140), "move"),  # and at pitch 127
        (QPoint(70, pt(0, 62).y()), QPoint(20, pt(0, 62).y()), "resize_end"),
        (QPoint(97, pt(0, 64).y()), QPoint(400, pt(0, 64).y()), "resize_start"),
    ],
)
def test_the_last_overlay_is_exactly_what_the_release_does(roll, doc, press, to, mode):
    doc.set_selection([0, 1, 2])
    canvas = roll.canvas
    QTest.mousePress(canvas, Qt.LeftButton, Qt.NoModifier, press)
    QTest.mouseMove(canvas, QPoint((press.x() + to.x()) // 2, (press.y() + to.y()) // 2))
    QTest.mouseMove(canvas, to)
    assert canvas._drag["mode"] == mode
    shown = overlay_rows(canvas)
    QTest.mouseRelease(canvas, Qt.LeftButton, Qt.NoModifier, to)
    assert doc.undo_stack.count() == 1
    assert shown == result_rows(doc, (0, 1, 2))
    assert by_id(doc, 3).tobytes() == make_doc().track().notes[3].tobytes()  # untouched


def test_mouse_moves_on_a_big_track_build_no_edit(qtbot, monkeypatch):
    """On 100k notes a move must not copy, sort or build a command; the release builds one."""
    rng = np.random.default_rng(5)
    n = 100_000
    starts = np.sort(rng.integers(0, n * 48, n))
    doc = make_doc(make_notes(starts, starts + 200, rng.integers(40, 80, n), 90))
    roll = make_roll(qtbot, doc)
    canvas = roll.canvas
    notes = doc.track().notes
    first = int(np.searchsorted(notes["start"], 0))
    nid = int(notes["id"][first])
    note = notes[first]
    roll.vp.scroll_to(left_tick=0, top_px=(127 - int(note["pitch"]) - 5) * roll.vp.key_height)
    built = []
    real = commands.NotesCommand.__init__

    def counting(self, *a, **kw):
        built.append(1)
        real(self, *a, **kw)

    monkeypatch.setattr(commands.NotesCommand, "__init__", counting)
    at = QPoint(
        round(roll.vp.tick_to_x(int(note["start"]) + 100)),
        round(roll.vp.pitch_top_y(int(note["pitch"])) + KEY_H / 2),
    )
    assert canvas.note_at(at.toPointF()) == first
    QTest.mousePress(canvas, Qt.LeftButton, Qt.NoModifier, at)
    for dx in range(5, 100, 5):
        QTest.mouseMove(canvas, QPoint(at.x() + dx, at.y()))
        canvas.repaint()
    assert built == [] and doc.track().notes is notes
    QTest.mouseRelease(canvas, Qt.LeftButton, Qt.NoModifier, QPoint(at.x() + 95, at.y()))
    assert built == [1] and doc.undo_stack.count() == 1
    moved = doc.track().notes
    # 95 px = 950 ticks; the grabbed note's start lands on the nearest 1/16 (120 ticks).
    assert (
        int(moved["start"][moved["id"] == nid][0]) == round((int(note["start"]) + 950) / 120) * 120
    )
