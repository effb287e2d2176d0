"""The undo history is bounded and each step is small.

- Settings → Editing → Undo steps (default 500) caps the history; the oldest steps go first and
  undo keeps working back to the oldest step kept (driven with real key presses in the roll).
- A step keeps only the notes its edit changed (ui.note_diff): moving one note of a 100k-note
  track costs bytes, not the 3 MB array; a whole-track quantize keeps the arrays. Undo and
  redo still give back the exact bytes (checked here on random edits of random tracks).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest

from engine.model.notes import make_notes
from engine.quantize.settings import QuantizeSettings
from tests.ui_roll_helpers import make_doc, make_roll
from ui import commands
from ui.app import create_app
from ui.autosave import RecoveryStore
from ui.main_window import MainWindow
from ui.note_diff import splice
from ui.settings_dialog import KEY_UNDO_LIMIT, SettingsDialog, undo_limit
from ui.song_document import DEFAULT_UNDO_LIMIT, SongDocument


def as_bytes(notes: np.ndarray) -> bytes:
    return np.ascontiguousarray(notes).tobytes()


def test_the_default_limit_is_500_steps():
    doc = SongDocument()
    assert DEFAULT_UNDO_LIMIT == 500
    assert doc.undo_limit == 500 and doc.undo_stack.undoLimit() == 500


def test_oldest_steps_go_and_undo_still_works_after_the_limit(qtbot):
    doc = make_doc()
    doc.set_undo_limit(20)
    roll = make_roll(qtbot, doc)
    canvas = roll.canvas
    canvas.setFocus()
    doc.set_selection([0])  # the note at tick 0
    states = [as_bytes(doc.track().notes)]
    for _ in range(30):  # each Right moves the note one 1/16 (120 ticks): one undo step
        QTest.keyClick(canvas, Qt.Key_Right)
        states.append(as_bytes(doc.track().notes))
    assert len(set(states)) == 31  # every press changed the track
    assert doc.undo_stack.count() == 20 and doc.undo_stack.index() == 20
    for k in range(20):
        doc.undo_stack.undo()
        assert as_bytes(doc.track().notes) == states[29 - k]
    assert not doc.undo_stack.canUndo()
    assert as_bytes(doc.track().notes) == states[10]  # the 10 oldest steps are gone
    assert int(doc.track().notes[doc.track().notes["id"] == 0]["start"][0]) == 10 * 120
    doc.undo_stack.redo()
    assert as_bytes(doc.track().notes) == states[11]


def big_doc(n: int = 100_000) -> SongDocument:
    rng = np.random.default_rng(3)
    starts = np.sort(rng.integers(0, n * 60, n))
    notes = make_notes(starts, starts + 100, rng.integers(30, 90, n), 90)
    doc = make_doc(notes)
    return doc


def test_a_step_holds_what_changed_not_the_whole_track(qtbot):
    doc = big_doc()
    roll = make_roll(qtbot, doc)
    roll.canvas.setFocus()
    track_bytes = doc.track().notes.nbytes
    assert track_bytes == 100_000 * 33
    nid = int(doc.track().notes["id"][50_000])
    doc.set_selection([nid])
    before = as_bytes(doc.track().notes)
    for key in (Qt.Key_Right, Qt.Key_Up, Qt.Key_Right):
        QTest.keyClick(roll.canvas, key)
    steps = [doc.undo_stack.command(i) for i in range(doc.undo_stack.count())]
    assert len(steps) == 3
    assert all(s.nbytes < 1024 for s in steps), [s.nbytes for s in steps]
    after = as_bytes(doc.track().notes)
    for _ in steps:
        doc.undo_stack.undo()
    assert as_bytes(doc.track().notes) == before
    for _ in steps:
        doc.undo_stack.redo()
    assert as_bytes(doc.track().notes) == after
    # A quantize of every note changes most of them: the step keeps the arrays (about two
    # tracks' worth), which is what a splice of every row would cost anyway.
    doc.push(commands.quantize_apply(doc, doc.current_index, QuantizeSettings(division=16)))
    assert doc.undo_stack.command(3).nbytes >= track_bytes
    doc.undo_stack.undo()
    assert as_bytes(doc.track().notes) == after


EDIT = st.sampled_from(["move", "delete", "add", "velocity", "resize"])


@settings(max_examples=150, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 60),
    kind=EDIT,
    frac=st.floats(0, 1),
)
def test_a_splice_rebuilds_both_arrays_exactly(seed, n, kind, frac):
    rng = np.random.default_rng(seed)
    starts = np.sort(rng.integers(0, 2000, n))
    old = make_notes(starts, starts + rng.integers(1, 300, n), rng.integers(0, 128, n), 64)
    old["id"] = rng.permutation(n * 2)[:n] if n else old["id"]  # ids in any order
    pick = rng.random(n) < frac
    new = old.copy()
    if kind == "move":
        new["start"][pick] += 77
        new["end"][pick] += 77
    elif kind == "delete":
        new = new[~pick]
    elif kind == "add":
        extra = make_notes(rng.integers(0, 2000, 3), 2100, 60, 100)
        extra["id"] = np.arange(3) + 10 * n + 1
        new = np.concatenate((new, extra))
    elif kind == "velocity":
        new["velocity"][pick] = 1
    else:
        new["end"][pick] += 5
    new = new[np.argsort(new["start"], kind="stable")]
    s = splice(old, new)
    if s is None:  # most rows changed: the caller keeps the arrays
        return
    assert as_bytes(s.forward(old)) == as_bytes(new)
    assert as_bytes(s.backward(new)) == as_bytes(old)
    assert s.old_rows.size <= pick.sum() and s.new_rows.size <= pick.sum() + 3


def test_scattered_changes_are_compared_row_by_row_and_still_exact():
    """Over 256 separate runs of untouched notes, rows are gathered and compared at once."""
    n = 3000
    starts = np.arange(n) * 10
    old = make_notes(starts, starts + 5, 60, 64)
    new = old.copy()
    new["velocity"][::3] = 100  # 1000 changes, 1000 runs
    s = splice(old, new)
    assert s is not None and s.old_at.tolist() == list(range(0, n, 3))
    assert as_bytes(s.forward(old)) == as_bytes(new)
    assert as_bytes(s.backward(new)) == as_bytes(old)


# -- the setting, in the window -------------------------------------------------------------
@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("QUANTA_PRESET_DIR", str(tmp_path / "presets"))
    create_app()
    qs = QSettings(str(tmp_path / "quanta.ini"), QSettings.IniFormat)
    qs.setValue(KEY_UNDO_LIMIT, 40)
    w = MainWindow(settings=qs, engine=False, recovery=RecoveryStore(tmp_path / "recovery"))
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.doc.undo_stack.setClean()
    w.close()


def test_the_window_uses_the_saved_limit_and_the_dialog_changes_it(window, qtbot):
    w = window
    assert w.doc.undo_stack.undoLimit() == 40
    dialog = SettingsDialog(w.settings, w.doc, None, w)
    qtbot.addWidget(dialog)
    assert dialog.undo_steps.value() == 40
    dialog.tabs.setCurrentWidget(dialog.undo_steps.parentWidget())
    dialog.undo_steps.selectAll()
    QTest.keyClicks(dialog.undo_steps, "120")
    dialog.accept()
    assert undo_limit(w.settings) == 120
    w.apply_undo_limit()  # what Settings → OK runs
    assert w.doc.undo_stack.undoLimit() == 120  # empty history: at once
    # With history, the new limit waits for the next song (the history is not cut short).
    w.piano_roll.canvas.setFocus()
    w.doc.select_all()
    QTest.keyClick(w.piano_roll.canvas, Qt.Key_Up)
    assert w.doc.undo_stack.count() == 1
    w.settings.setValue(KEY_UNDO_LIMIT, 7)
    w.apply_undo_limit()
    assert w.doc.undo_stack.undoLimit() == 120 and w.doc.undo_limit == 7
    assert "next song" in w.status.currentMessage()
    w.doc.undo_stack.setClean()
    w.new_song()
    assert w.doc.undo_stack.undoLimit() == 7


def test_a_bad_saved_limit_falls_back_to_the_default(tmp_path):
    qs = QSettings(str(tmp_path / "q.ini"), QSettings.IniFormat)
    for bad in ("lots", -3, 10**9):
        qs.setValue(KEY_UNDO_LIMIT, bad)
        assert undo_limit(qs) == DEFAULT_UNDO_LIMIT
    qs.setValue(KEY_UNDO_LIMIT, 0)
    assert undo_limit(qs) == 0  # unlimited, on purpose
