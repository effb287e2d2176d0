"""Piano roll editing driven by real mouse and keyboard events (pytest-qt, offscreen).

Every test asserts exact ticks/pitches in the model, and that undo/redo restores exact bytes.
"""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from tests.ui_roll_helpers import TPP, by_id, make_doc, make_roll, pt


@pytest.fixture
def doc():
    return make_doc()


@pytest.fixture
def roll(qtbot, doc):
    return make_roll(qtbot, doc)


def drag(widget, a: QPoint, b: QPoint, mods=Qt.NoModifier, release_mods=None):
    QTest.mousePress(widget, Qt.LeftButton, mods, a)
    mid = QPoint((a.x() + b.x()) // 2, (a.y() + b.y()) // 2)
    QTest.mouseMove(widget, mid)
    QTest.mouseMove(widget, b)
    QTest.mouseRelease(widget, Qt.LeftButton, mods if release_mods is None else release_mods, b)


def undo_redo_exact(doc, before: bytes):
    after = doc.track().notes.tobytes()
    doc.undo_stack.undo()
    assert doc.track().notes.tobytes() == before
    doc.undo_stack.redo()
    assert doc.track().notes.tobytes() == after


def test_click_selects_and_shift_click_adds(roll, doc, qtbot):
    qtbot.mouseClick(roll.canvas, Qt.LeftButton, pos=pt(120, 60))
    assert doc.selection.tolist() == [0]
    qtbot.mouseClick(roll.canvas, Qt.LeftButton, Qt.ShiftModifier, pt(600, 62))
    assert doc.selection.tolist() == [0, 1]
    qtbot.mouseClick(roll.canvas, Qt.LeftButton, Qt.ShiftModifier, pt(600, 62))
    assert doc.selection.tolist() == [0]
    qtbot.mouseClick(roll.canvas, Qt.LeftButton, pos=pt(3000, 70))  # empty: clears
    assert doc.selection.tolist() == []


def test_drag_moves_in_time_and_pitch_snapped_to_grid(roll, doc):
    before = doc.track().notes.tobytes()
    # grab note 0 in its middle, drag 1000 ticks right and two semitones down
    drag(roll.canvas, pt(120, 60), pt(120 + 1000, 58))
    n = by_id(doc, 0)
    assert (int(n["start"]), int(n["end"]), int(n["pitch"])) == (960, 1200, 58)  # 1000 -> 960
    assert doc.undo_stack.undoText() == "Move 1 note"
    assert doc.undo_stack.count() == 1
    undo_redo_exact(doc, before)


def test_alt_drag_bypasses_snap(roll, doc):
    drag(roll.canvas, pt(120, 60), pt(120 + 1000, 60), Qt.AltModifier)
    n = by_id(doc, 0)
    assert (int(n["start"]), int(n["end"]), int(n["pitch"])) == (1000, 1240, 60)


def test_drag_snaps_to_swung_grid_points(roll, doc):
    doc.set_edit_settings(doc.edit_settings.replace(division=8, swing=75.0))
    # 1/8 at 480 PPQ: G=240, swung off-beat at 2*240*0.75 = 360; a drop at 350 lands there
    drag(roll.canvas, pt(120, 60), pt(120 + 350, 60))
    assert int(by_id(doc, 0)["start"]) == 360


def test_moving_a_selection_moves_every_selected_note(roll, doc, qtbot):
    doc.set_selection([0, 1, 2])
    before = doc.track().notes.tobytes()
    drag(roll.canvas, pt(600, 62), pt(600 + 240, 63))
    starts = {i: int(by_id(doc, i)["start"]) for i in range(4)}
    pitches = {i: int(by_id(doc, i)["pitch"]) for i in range(4)}
    assert starts == {0: 240, 1: 720, 2: 1200, 3: 1930}
    assert pitches == {0: 61, 1: 63, 2: 65, 3: 60}
    assert doc.undo_stack.undoText() == "Move 3 notes"
    undo_redo_exact(doc, before)


def test_resize_end_and_start_snap(roll, doc):
    before = doc.track().notes.tobytes()
    # note 1 spans 480..720 (x 48..72); x=70 is in its right-edge handle
    drag(roll.canvas, QPoint(70, pt(0, 62).y()), QPoint(105, pt(0, 62).y()))
    n = by_id(doc, 1)
    assert (int(n["start"]), int(n["end"])) == (480, 1080)  # 720+350 -> 1080
    assert doc.undo_stack.undoText() == "Resize 1 note (end)"
    # left handle of note 2 (960..1200, x 96..120): drag start 2 px right -> 980 -> snaps 960?
    drag(roll.canvas, QPoint(97, pt(0, 64).y()), QPoint(97 + 10, pt(0, 64).y()))
    n2 = by_id(doc, 2)
    assert (int(n2["start"]), int(n2["end"])) == (1080, 1200)  # 960+100 -> nearest 1080
    assert doc.undo_stack.undoText() == "Resize 1 note (start)"
    doc.undo_stack.undo()
    undo_redo_exact(doc, before)


def test_resize_never_makes_a_note_empty(roll, doc):
    drag(roll.canvas, QPoint(70, pt(0, 62).y()), QPoint(10, pt(0, 62).y()))
    n = by_id(doc, 1)
    assert int(n["start"]) == 480 and int(n["end"]) > 480


def test_rubber_band_selects_and_shift_adds(roll, doc):
    drag(roll.canvas, pt(400, 65), pt(1100, 59))
    assert doc.selection.tolist() == [1, 2]
    drag(roll.canvas, pt(1900, 61), pt(2000, 59), Qt.ShiftModifier)
    assert doc.selection.tolist() == [1, 2, 3]


def test_draw_tool_adds_a_grid_note_and_drag_sets_its_length(roll, doc):
    roll.set_tool("draw")
    before = doc.track().notes.tobytes()
    qtbot_click = QTest.mouseClick
    qtbot_click(roll.canvas, Qt.LeftButton, Qt.NoModifier, pt(3050, 67))
    n = by_id(doc, 4)
    assert (int(n["start"]), int(n["end"]), int(n["pitch"]), int(n["velocity"])) == (
        3000,
        3120,
        67,
        100,
    )
    assert int(n["on_seq"]) == -1 and doc.selection.tolist() == [4]
    assert doc.undo_stack.undoText() == "Draw note"
    undo_redo_exact(doc, before)
    drag(roll.canvas, pt(4000, 66), pt(4470, 66))
    n = by_id(doc, 5)
    assert (int(n["start"]), int(n["end"]), int(n["pitch"])) == (3960, 4440, 66)


def test_double_click_on_empty_space_draws(roll, doc):
    QTest.mouseDClick(roll.canvas, Qt.LeftButton, Qt.NoModifier, pt(2890, 65))
    notes = doc.track().notes
    new = notes[notes["id"] == 4]
    assert new.size == 1 and int(new["start"][0]) == 2880 and int(new["pitch"][0]) == 65


def key(roll, k, mods=Qt.NoModifier):
    QTest.keyClick(roll.canvas, k, mods)


def test_arrow_keys_transpose_and_move_by_grid(roll, doc):
    doc.set_selection([1])
    before = doc.track().notes.tobytes()
    key(roll, Qt.Key_Up)
    assert int(by_id(doc, 1)["pitch"]) == 63
    assert doc.undo_stack.undoText() == "Transpose 1 note +1"
    key(roll, Qt.Key_Up, Qt.ShiftModifier)
    assert int(by_id(doc, 1)["pitch"]) == 75
    key(roll, Qt.Key_Down)
    assert int(by_id(doc, 1)["pitch"]) == 74
    key(roll, Qt.Key_Left)
    assert int(by_id(doc, 1)["start"]) == 360
    key(roll, Qt.Key_Right)
    key(roll, Qt.Key_Right)
    assert (int(by_id(doc, 1)["start"]), int(by_id(doc, 1)["end"])) == (600, 840)
    for _ in range(6):
        doc.undo_stack.undo()
    assert doc.track().notes.tobytes() == before


def test_transpose_and_move_clamp_to_midi_range_and_tick_zero(roll, doc):
    doc.set_selection([0, 1])
    for _ in range(12):
        key(roll, Qt.Key_Up, Qt.ShiftModifier)
    assert [int(by_id(doc, i)["pitch"]) for i in (0, 1)] == [125, 127]  # shape kept
    key(roll, Qt.Key_Left)
    assert int(by_id(doc, 0)["start"]) == 0  # nothing moves before tick 0


def test_delete_duplicate_select_all(roll, doc):
    before = doc.track().notes.tobytes()
    doc.set_selection([1, 2])
    key(roll, Qt.Key_D, Qt.ControlModifier)
    notes = doc.track().notes
    assert notes.size == 6
    assert doc.selection.tolist() == [4, 5]
    assert [(int(by_id(doc, i)["start"]), int(by_id(doc, i)["pitch"])) for i in (4, 5)] == [
        (1200, 62),
        (1680, 64),
    ]
    assert doc.undo_stack.undoText() == "Duplicate 2 notes"
    key(roll, Qt.Key_Delete)
    assert doc.track().notes.size == 4 and doc.undo_stack.undoText() == "Delete 2 notes"
    key(roll, Qt.Key_A, Qt.ControlModifier)
    assert doc.selection.tolist() == [0, 1, 2, 3]
    key(roll, Qt.Key_Backspace)
    assert doc.track().notes.size == 0
    for _ in range(3):
        doc.undo_stack.undo()
    assert doc.track().notes.tobytes() == before


def test_copy_paste_at_playhead(roll, doc):
    doc.set_selection([1, 2])
    key(roll, Qt.Key_C, Qt.ControlModifier)
    roll.set_playhead(3840)
    key(roll, Qt.Key_V, Qt.ControlModifier)
    pasted = doc.track().notes[np.isin(doc.track().notes["id"], doc.selection)]
    assert pasted["start"].tolist() == [3840, 4320] and pasted["pitch"].tolist() == [62, 64]
    assert pasted["end"].tolist() == [4080, 4560]
    assert doc.undo_stack.undoText() == "Paste 2 notes"
    doc.set_selection([0])
    key(roll, Qt.Key_X, Qt.ControlModifier)
    assert 0 not in doc.track().notes["id"] and doc.undo_stack.undoText() == "Cut 1 note"


def test_velocity_lane_drag_sets_velocity_in_one_step(roll, doc):
    lane = roll.velocity_lane
    before = doc.track().notes.tobytes()
    y = 30
    want = lane._y_to_vel(y)
    drag(lane, QPoint(0, y), QPoint(50, y))  # passes over the starts of notes 0 and 1
    assert [int(by_id(doc, i)["velocity"]) for i in range(4)] == [want, want, 100, 110]
    assert doc.undo_stack.undoText() == "Velocity of 2 notes"
    assert doc.undo_stack.count() == 1
    undo_redo_exact(doc, before)


def test_keyboard_click_auditions_and_releases(roll, qtbot):
    kb = roll.keyboard
    with qtbot.waitSignal(roll.audition) as on:
        QTest.mousePress(kb, Qt.LeftButton, Qt.NoModifier, QPoint(20, pt(0, 64).y()))
    assert on.args[0] == 64 and 1 <= on.args[1] <= 127
    with qtbot.waitSignal(roll.audition) as off:
        QTest.mouseRelease(kb, Qt.LeftButton, Qt.NoModifier, QPoint(20, pt(0, 64).y()))
    assert off.args == [64, 0]


def test_ruler_click_locates(roll, qtbot):
    with qtbot.waitSignal(roll.locate) as sig:
        QTest.mouseClick(roll.ruler, Qt.LeftButton, Qt.NoModifier, QPoint(96, 10))
    assert sig.args == [960]
    assert roll.canvas.playhead == 960


def wheel(widget, pos: QPoint, dy: int, mods):
    ev = QWheelEvent(
        QPointF(pos),
        QPointF(widget.mapToGlobal(pos)),
        QPoint(0, 0),
        QPoint(0, dy),
        Qt.NoButton,
        mods,
        Qt.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(widget, ev)


def test_ctrl_wheel_zooms_around_the_pointer_and_keys_zoom(roll):
    vp = roll.vp
    anchor = vp.x_to_tick(200)
    wheel(roll.canvas, QPoint(200, 50), 120, Qt.ControlModifier)
    assert vp.ticks_per_px == pytest.approx(TPP / 1.25)
    assert vp.x_to_tick(200) == pytest.approx(anchor)
    tpp = vp.ticks_per_px
    key(roll, Qt.Key_Minus, Qt.ControlModifier)
    assert vp.ticks_per_px == pytest.approx(tpp * 1.5)
    left = vp.left_tick
    wheel(roll.canvas, QPoint(200, 50), -120, Qt.ShiftModifier)  # shift+wheel scrolls time
    assert vp.left_tick > left


def test_follow_playhead_pages_the_view(roll):
    t0, t1 = roll.vp.visible_ticks()
    roll.set_playhead(int(t1) + 5000)
    a, b = roll.vp.visible_ticks()
    assert a <= t1 + 5000 < b


def test_undo_restores_selection_too(roll, doc):
    doc.set_selection([2])
    key(roll, Qt.Key_Delete)
    assert doc.selection.tolist() == []
    doc.undo_stack.undo()
    assert doc.selection.tolist() == [2]


def test_tool_keys_and_buttons(roll, doc, qtbot):
    key(roll, Qt.Key_D)
    assert roll.canvas.tool == "draw" and roll._tools["draw"].isChecked()
    qtbot.mouseClick(roll._tools["select"], Qt.LeftButton)
    assert roll.canvas.tool == "select"
    QTest.mouseClick(roll.canvas, Qt.LeftButton, Qt.NoModifier, pt(3050, 67))
    assert doc.track().notes.size == 4  # the select tool does not draw on a single click


def test_keys_sent_to_the_roll_widget_work_too(roll, doc, qtbot):
    with qtbot.waitSignal(roll.quantizeRequested):
        QTest.keyClick(roll, Qt.Key_Q)
    doc.set_selection([2])
    QTest.keyClick(roll, Qt.Key_Up)
    assert int(by_id(doc, 2)["pitch"]) == 65


def test_keyboard_click_selects_that_pitch_and_same_pitch_key(roll, doc):
    QTest.mouseClick(roll.keyboard, Qt.LeftButton, Qt.NoModifier, QPoint(20, pt(0, 60).y()))
    assert doc.selection.tolist() == [0, 3]
    QTest.mouseClick(roll.keyboard, Qt.LeftButton, Qt.ShiftModifier, QPoint(20, pt(0, 64).y()))
    assert doc.selection.tolist() == [0, 2, 3]
    doc.set_selection([1])
    key(roll, Qt.Key_Up, Qt.ControlModifier)
    assert int(by_id(doc, 1)["velocity"]) == 98
    doc.set_selection([0])
    key(roll, Qt.Key_A, Qt.ControlModifier | Qt.ShiftModifier)
    assert doc.selection.tolist() == [0, 3]


def test_ruler_position_text_uses_time_signature_and_tempo(roll):
    # 4/4 at 120 BPM (480 PPQ): tick 2520 is bar 2, beat 2, tick 120, 2.625 s
    assert roll.ruler.position_text(2520) == "Bar 2 · beat 2 · tick 120 — 0:02.625"


def test_scroll_bars_follow_and_drive_the_view(roll):
    vp = roll.vp
    vp.scroll_to(left_tick=4800)
    # A short song: one scroll step is one pixel at the current zoom.
    assert roll.hbar.value() == round(4800 / vp.ticks_per_px)
    roll.hbar.setValue(100)
    assert vp.left_tick == 100 * vp.ticks_per_px
    roll.vbar.setValue(300)
    assert vp.top_px == 300
    assert vp.y_to_pitch(0) == 127 - 300 // 12
