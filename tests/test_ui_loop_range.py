"""The loop range, set by dragging in the piano roll ruler's loop strip (real mouse events).

Snapping is to bar lines, as a cycle drag in Logic/Cubase's ruler at bar zoom; Alt gives any
tick. The range is one undoable edit, is shaded in the roll, is saved in the project, and
is what L / the loop button hand to the engine (checked in the real engine's state snapshot).
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QSettings, Qt
from PySide6.QtTest import QTest

from engine.model import TimeSignatureMap
from engine.project.project import load_project
from tests.ui_roll_helpers import KEY_H, STRIP_Y, TPP, drag, make_doc, make_roll, strip
from ui.app import create_app
from ui.autosave import RecoveryStore
from ui.main_window import MainWindow
from ui.pianoroll.bars import BarGrid

BAR = 1920  # 4/4 at 480 PPQ


@pytest.fixture
def doc():
    return make_doc()


@pytest.fixture
def roll(qtbot, doc):
    return make_roll(qtbot, doc)


def test_snap_to_bar_picks_the_nearest_bar_line_and_extends_past_the_last():
    bars = BarGrid.build(TimeSignatureMap(480, []))  # 4/4 from tick 0, on forever
    assert [bars.snap(t) for t in (0, 959, 960, 961, 2800, 3000)] == [
        0,
        0,
        0,  # a tie goes to the earlier bar
        1920,
        1920,
        3840,
    ]
    assert bars.snap(6000) == 5760  # bars keep the last signature's length forever


def test_drag_in_loop_strip_sets_bar_snapped_range_undoably(roll, doc):
    assert doc.loop is None
    drag(roll.ruler, strip(1000), strip(5000))  # 1000 -> bar 2 (1920), 5000 -> bar 4 (5760)
    assert doc.loop == (1920, 3 * BAR)
    assert roll.ruler.loop == (1920, 3 * BAR)
    assert roll.canvas.loop_shade == (1920, 3 * BAR)
    assert doc.undo_stack.count() == 1
    assert doc.undo_stack.undoText() == "Set loop 2.1 \u2013 4.1"
    doc.undo_stack.undo()
    assert doc.loop is None and roll.ruler.loop is None and roll.canvas.loop_shade is None
    doc.undo_stack.redo()
    assert doc.loop == (1920, 5760)


def test_drag_leftwards_and_alt_bypasses_snapping(roll, doc):
    drag(roll.ruler, strip(5000), strip(1000))  # right to left: same range
    assert doc.loop == (1920, 5760)
    drag(roll.ruler, strip(1000), strip(2500), Qt.AltModifier)  # free: exact ticks
    assert doc.loop == (1000, 2500)
    assert doc.undo_stack.count() == 2
    doc.undo_stack.undo()
    assert doc.loop == (1920, 5760)


def test_click_in_loop_strip_without_a_range_changes_nothing(roll, doc, qtbot):
    drag(roll.ruler, strip(1000), strip(5000))
    with qtbot.assertNotEmitted(roll.locate):
        QTest.mouseClick(roll.ruler, Qt.LeftButton, Qt.NoModifier, strip(2000))
    assert doc.loop == (1920, 5760) and doc.undo_stack.count() == 1
    assert roll.ruler.loop == (1920, 5760)
    # The rows above the strip still move the playhead.
    with qtbot.waitSignal(roll.locate) as sig:
        QTest.mouseClick(roll.ruler, Qt.LeftButton, Qt.NoModifier, QPoint(96, 10))
    assert sig.args == [960]


def test_loop_range_is_shaded_in_the_roll_brighter_when_on(roll, doc):
    drag(roll.ruler, strip(1000), strip(5000))
    y = round(3.5 * KEY_H)  # an empty row (pitch 69, white key), between grid lines
    img = roll.canvas.grab().toImage()
    inside = img.pixelColor(round(3060 / TPP), y)
    outside = img.pixelColor(round(7020 / TPP), y)
    assert inside != outside
    roll.set_loop_enabled(True)
    on = roll.canvas.grab().toImage().pixelColor(round(3060 / TPP), y)
    assert on.red() > inside.red() and on.blue() <= inside.blue()  # warmer: the loop is on
    strip_on = roll.ruler.grab().toImage().pixelColor(round(3000 / TPP), STRIP_Y)
    assert (strip_on.red(), strip_on.green()) > (150, 120) and strip_on.blue() < 120


# -- in the window, with the real engine ------------------------------------------------------
@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("QUANTA_PRESET_DIR", str(tmp_path / "presets"))
    create_app()
    settings = QSettings(str(tmp_path / "quanta.ini"), QSettings.IniFormat)
    settings.setValue("audio/enabled", "false")  # no ports or device: the engine thread only
    w = MainWindow(settings=settings, recovery=RecoveryStore(tmp_path / "recovery"))
    w.show()
    qtbot.waitExposed(w)
    qtbot.wait(20)  # the first zoom-to-fit
    vp = w.piano_roll.vp
    vp.ticks_per_px = TPP
    vp.scroll_to(left_tick=0)
    yield w
    w.doc.undo_stack.setClean()
    w.close()
    w.deleteLater()


def test_l_loops_the_dragged_range_in_the_engine(window, qtbot):
    w = window
    assert w.link.running, w.link.error
    drag(w.piano_roll.ruler, strip(BAR), strip(3 * BAR))
    assert w.loop == (BAR, 3 * BAR)
    w.activateWindow()
    w.piano_roll.setFocus()
    QTest.keyClick(w, Qt.Key_L)
    assert w.transport.loop.isChecked()
    qtbot.waitUntil(lambda: w.link.state().loop == (BAR, 3 * BAR), timeout=3000)
    # A new range while looping goes to the engine at once; undo brings the old one back.
    drag(w.piano_roll.ruler, strip(0), strip(BAR), Qt.AltModifier)
    qtbot.waitUntil(lambda: w.link.state().loop == (0, BAR), timeout=3000)
    w.doc.undo_stack.undo()
    qtbot.waitUntil(lambda: w.link.state().loop == (BAR, 3 * BAR), timeout=3000)
    # Undoing the only range there was turns looping off.
    w.doc.undo_stack.undo()
    assert w.loop is None and not w.transport.loop.isChecked()
    qtbot.waitUntil(lambda: w.link.state().loop is None, timeout=3000)
    # The button with no range loops the whole song, rounded up to a bar.
    qtbot.mouseClick(w.transport.loop, Qt.LeftButton)
    assert w.loop == (0, 4 * BAR)
    qtbot.waitUntil(lambda: w.link.state().loop == (0, 4 * BAR), timeout=3000)


def test_loop_range_is_saved_and_reopened(window, qtbot, tmp_path):
    w = window
    drag(w.piano_roll.ruler, strip(BAR), strip(2 * BAR))
    qtbot.mouseClick(w.transport.loop, Qt.LeftButton)
    path = tmp_path / "looped.quanta"
    assert w.save_as(path)
    p = load_project(path)
    assert p.loop == (BAR, 2 * BAR) and p.loop_enabled
    w.new_song()
    assert w.loop is None
    assert w.open_path(path)
    assert w.loop == (BAR, 2 * BAR) and w.transport.loop.isChecked()
    assert w.piano_roll.ruler.loop == (BAR, 2 * BAR) and w.piano_roll.ruler.loop_enabled
    qtbot.waitUntil(lambda: w.link.state().loop == (BAR, 2 * BAR), timeout=3000)
