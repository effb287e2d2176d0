"""Moving and resizing the loop range in the ruler's loop strip (real mouse events).

As in Logic's cycle area: drag the range's body to move it (its length kept), drag within a
few pixels of either end to resize it; both snap to bar lines, Alt or Shift places freely.
Each drag is one undoable edit named by what it did, and the engine loops the new range at
once, also while playing — already during the drag, as the range under the pointer
(checked in the real engine's state snapshot).
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QSettings, Qt
from PySide6.QtTest import QTest

from engine.model import TimeSignatureMap
from tests.ui_roll_helpers import STRIP_Y, TPP, drag, make_doc, make_roll, strip
from ui.app import create_app
from ui.autosave import RecoveryStore
from ui.main_window import MainWindow
from ui.pianoroll.bars import BarGrid

BAR = 1920  # 4/4 at 480 PPQ; 192 px at the test zoom


@pytest.fixture
def doc():
    return make_doc()


@pytest.fixture
def roll(qtbot, doc):
    r = make_roll(qtbot, doc)
    drag(r.ruler, strip(BAR), strip(3 * BAR))  # the range bars 2-3: x 192..576
    assert doc.loop == (BAR, 3 * BAR)
    return r


def test_bar_before_and_after():
    bars = BarGrid.build(TimeSignatureMap(480, []))  # 4/4 from tick 0, on forever
    assert [bars.before(t) for t in (0, 1, 1920, 1921, 9999)] == [0, 0, 0, 1920, 9600]
    assert [bars.after(t) for t in (0, 1919, 1920, 3840, 6000)] == [
        1920,
        1920,
        3840,
        5760,
        7680,
    ]


def test_drag_the_body_moves_the_range_by_whole_bars(roll, doc):
    drag(roll.ruler, strip(3000), strip(3000 + 2100))  # start 1920+2100=4020 -> bar 3840
    assert doc.loop == (2 * BAR, 4 * BAR)
    assert roll.ruler.loop == doc.loop and roll.canvas.loop_shade == doc.loop
    assert doc.undo_stack.count() == 2
    assert doc.undo_stack.undoText() == "Move loop to 3.1 \u2013 5.1"
    doc.undo_stack.undo()
    assert doc.loop == (BAR, 3 * BAR) and roll.ruler.loop == (BAR, 3 * BAR)
    doc.undo_stack.redo()
    assert doc.loop == (2 * BAR, 4 * BAR)


def test_move_is_shaded_live_and_clamped_at_the_song_start(roll, doc, qtbot):
    QTest.mousePress(roll.ruler, Qt.LeftButton, Qt.NoModifier, strip(3000))
    with qtbot.waitSignal(roll.ruler.loopDragged) as live:
        QTest.mouseMove(roll.ruler, strip(3000 - 900))  # start 1020: bar 1920 is nearest
    assert live.args == [BAR, 3 * BAR]
    QTest.mouseMove(roll.ruler, strip(3000 - 1500))  # start 420 -> bar line 0
    assert roll.canvas.loop_shade == (0, 2 * BAR) and doc.loop == (BAR, 3 * BAR)  # not yet
    QTest.mouseMove(roll.ruler, strip(0))
    QTest.mouseRelease(roll.ruler, Qt.LeftButton, Qt.NoModifier, QPoint(-50, STRIP_Y))
    assert doc.loop == (0, 2 * BAR)  # never before tick 0, length kept


@pytest.mark.parametrize("free", [Qt.AltModifier, Qt.ShiftModifier])
def test_alt_or_shift_moves_and_resizes_freely(roll, doc, free):
    drag(roll.ruler, strip(3000), strip(3000 + 1000), free)
    assert doc.loop == (BAR + 1000, 3 * BAR + 1000)
    end = 3 * BAR + 1000
    drag(roll.ruler, strip(end - 20), strip(end + 730), free)  # the right edge, +750
    assert doc.loop == (BAR + 1000, end + 750)
    drag(roll.ruler, strip(end + 740), strip(end + 740), free)  # a click on an edge
    assert doc.loop == (BAR + 1000, end + 750)
    assert doc.undo_stack.undoText().startswith("Resize loop to")


def test_drag_an_edge_resizes_snapped_to_bars(roll, doc):
    drag(roll.ruler, strip(3 * BAR - 20), strip(7000))  # right edge to 7000 -> bar 7680
    assert doc.loop == (BAR, 4 * BAR)
    assert doc.undo_stack.undoText() == "Resize loop to 2.1 \u2013 5.1"
    drag(roll.ruler, strip(BAR + 20), strip(500))  # left edge to 500 -> bar line 0
    assert doc.loop == (0, 4 * BAR)
    assert doc.undo_stack.count() == 3
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert doc.loop == (BAR, 3 * BAR)


def test_an_edge_dragged_past_the_other_keeps_one_bar_or_one_tick(roll, doc):
    drag(roll.ruler, strip(3 * BAR - 20), strip(100))  # the end dragged before the start
    assert doc.loop == (BAR, 2 * BAR)
    drag(roll.ruler, strip(BAR + 20), strip(9000))  # the start dragged past the end
    assert doc.loop == (BAR, 2 * BAR)  # unchanged: the bar before the end is the start
    drag(roll.ruler, strip(2 * BAR - 20), strip(100), Qt.AltModifier)
    assert doc.loop == (BAR, BAR + 1)


def test_a_click_on_a_free_range_leaves_it_where_it_is(roll, doc):
    drag(roll.ruler, strip(700), strip(2500), Qt.AltModifier)  # off the bar lines
    assert doc.loop == (700, 2500)
    for tick in (1600, 700 + 20, 2500 - 20):  # body, left edge, right edge
        QTest.mouseClick(roll.ruler, Qt.LeftButton, Qt.NoModifier, strip(tick))
        assert doc.loop == (700, 2500)
    assert doc.undo_stack.count() == 2


def test_outside_the_range_a_drag_still_draws_a_new_one(roll, doc):
    drag(roll.ruler, strip(4 * BAR + 500), strip(6 * BAR))
    assert doc.loop == (4 * BAR, 6 * BAR)
    assert doc.undo_stack.undoText() == "Set loop 5.1 \u2013 7.1"


def test_cursor_shows_what_a_drag_would_do(roll):
    r = roll.ruler
    for tick, shape in (
        (BAR + 20, Qt.SizeHorCursor),
        (3 * BAR - 20, Qt.SizeHorCursor),
        (2 * BAR, Qt.OpenHandCursor),
    ):
        QTest.mouseMove(r, strip(tick))
        assert r.cursor().shape() == shape, tick
    assert "move the loop" in r.toolTip()
    QTest.mouseMove(r, strip(4 * BAR))
    assert r.cursor().shape() == Qt.ArrowCursor and "set the loop" in r.toolTip()


# -- the engine follows, while playing --------------------------------------------------------
@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("QUANTA_PRESET_DIR", str(tmp_path / "presets"))
    create_app()
    settings = QSettings(str(tmp_path / "quanta.ini"), QSettings.IniFormat)
    settings.setValue("audio/enabled", "false")  # no ports or device: the engine thread only
    w = MainWindow(settings=settings, recovery=RecoveryStore(tmp_path / "recovery"))
    w.show()
    qtbot.waitExposed(w)
    qtbot.wait(20)
    w.piano_roll.vp.ticks_per_px = TPP
    w.piano_roll.vp.scroll_to(left_tick=0)
    yield w
    w.link.stop()
    w.doc.undo_stack.setClean()
    w.close()
    w.deleteLater()


def test_moving_the_loop_while_playing_loops_the_new_range(window, qtbot):
    w = window
    assert w.link.running, w.link.error
    w.link.engine.set_tempo_override(400)  # a bar in 0.6 s: the test waits less
    ruler = w.piano_roll.ruler
    drag(ruler, strip(0), strip(BAR))
    qtbot.mouseClick(w.transport.loop, Qt.LeftButton)
    w.toggle_play()
    qtbot.waitUntil(
        lambda: w.link.state().playing and w.link.state().loop == (0, BAR), timeout=3000
    )
    qtbot.waitUntil(lambda: w.link.state().loop_pass >= 1, timeout=5000)  # it wraps in bar 1
    # Mid-drag the engine already loops the range under the pointer (not yet an edit).
    QTest.mousePress(ruler, Qt.LeftButton, Qt.NoModifier, strip(BAR // 2))
    QTest.mouseMove(ruler, strip(BAR // 2 + 2 * BAR))
    qtbot.waitUntil(lambda: w.link.state().loop == (2 * BAR, 3 * BAR), timeout=3000)
    assert w.loop == (0, BAR) and w.doc.undo_stack.count() == 1
    QTest.mouseMove(ruler, strip(BAR // 2 + BAR))  # the body, one bar right
    QTest.mouseRelease(ruler, Qt.LeftButton, Qt.NoModifier, strip(BAR // 2 + BAR))
    assert w.loop == (BAR, 2 * BAR) and w.doc.undo_stack.count() == 2
    qtbot.waitUntil(lambda: w.link.state().loop == (BAR, 2 * BAR), timeout=3000)
    passes = w.link.state().loop_pass
    qtbot.waitUntil(lambda: w.link.state().loop_pass > passes, timeout=5000)
    qtbot.wait(100)
    state = w.link.state()
    assert state.playing and BAR <= state.tick < 2 * BAR  # looping in the moved range
    # Resizing while playing: the engine follows too.
    drag(ruler, strip(2 * BAR - 20), strip(3 * BAR))
    qtbot.waitUntil(lambda: w.link.state().loop == (BAR, 3 * BAR), timeout=3000)
    assert w.link.state().playing
    # A drag that ends where it began is no edit, and the engine keeps the document's range.
    QTest.mousePress(ruler, Qt.LeftButton, Qt.NoModifier, strip(2 * BAR))
    QTest.mouseMove(ruler, strip(4 * BAR))
    qtbot.waitUntil(lambda: w.link.state().loop == (3 * BAR, 5 * BAR), timeout=3000)
    QTest.mouseRelease(ruler, Qt.LeftButton, Qt.NoModifier, strip(2 * BAR))  # back: no move
    qtbot.waitUntil(lambda: w.link.state().loop == (BAR, 3 * BAR), timeout=3000)
    assert w.loop == (BAR, 3 * BAR) and w.doc.undo_stack.count() == 3
