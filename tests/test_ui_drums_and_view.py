"""GM drum names on the keyboard of a channel-10 track, and the piano roll's view state (zoom,
scroll, selected track) saved in the project's ``ui`` section and shown again on open."""

from __future__ import annotations

import json
import zipfile

import pytest
from PySide6.QtCore import QPoint, QSettings, Qt
from PySide6.QtTest import QTest

from engine.build import add_track, new_song
from engine.model.notes import make_notes
from engine.project.project import Project, load_project, save_project
from tests.ui_roll_helpers import KEY_H, known_notes, make_roll
from ui.app import create_app
from ui.autosave import RecoveryStore
from ui.main_window import MainWindow
from ui.pianoroll.drum_names import drum_name, is_drum_track
from ui.pianoroll.keyboard import DRUM_WIDTH, WIDTH
from ui.song_document import SongDocument
from ui.window_files import VIEW_STATE_VERSION


def drum_doc() -> SongDocument:
    song = new_song(ppq=480)
    add_track(song, known_notes(), "Keys")
    kit = make_notes([0, 480, 480, 960], [60, 540, 540, 1020], [36, 38, 42, 46], [100] * 4, 9)
    add_track(song, kit, "Drums")
    add_track(song, make_notes([0], [60], [36], [100], 0), "Low C on channel 1")
    return SongDocument(song)


def key_point(roll, pitch: int, x: int = 30) -> QPoint:
    return QPoint(x, round(roll.vp.pitch_top_y(pitch) + KEY_H / 2))


def test_gm_drum_names():
    assert [drum_name(p) for p in (35, 36, 38, 42, 46, 49, 51, 81)] == [
        "Kick 2",
        "Kick",
        "Snare",
        "Closed Hat",
        "Open Hat",
        "Crash",
        "Ride",
        "Open Triangle",
    ]
    assert drum_name(34) is None and drum_name(82) is None


def test_channel_10_track_shows_drum_names_on_the_keyboard(qtbot):
    doc = drum_doc()
    roll = make_roll(qtbot, doc)
    kb = roll.keyboard
    assert (
        doc.current_index == 1 and not kb.drums
    )  # track 0 is the conductor track and kb.width() == WIDTH
    assert kb.row_label(38) == "" and kb.row_label(60) == "C4"
    plain = kb.grab().toImage()

    doc.set_current_index(2)
    assert is_drum_track(doc.track()) and kb.drums and kb.width() == DRUM_WIDTH
    assert [kb.row_label(p) for p in (36, 38, 42, 46, 60)] == [
        "Kick",
        "Snare",
        "Closed Hat",
        "Open Hat",
        "Hi Bongo",
    ]
    # The name is painted: dark text pixels appear in the Snare row's left part.
    roll.vp.fit_pitches(34, 50)
    qtbot.wait(10)
    img = kb.grab().toImage()
    y0 = int(roll.vp.pitch_top_y(38)) + 2
    dark = sum(
        img.pixelColor(x, y).lightness() < 100
        for x in range(4, 50)
        for y in range(y0, y0 + int(roll.vp.key_height) - 4)
    )
    assert dark > 10
    assert img.size() != plain.size()

    # Clicking a drum row auditions that drum.
    with qtbot.waitSignal(roll.audition) as sig:
        QTest.mousePress(kb, Qt.LeftButton, Qt.NoModifier, key_point(roll, 38))
    assert sig.args[0] == 38 and sig.args[1] > 0
    QTest.mouseRelease(kb, Qt.LeftButton, Qt.NoModifier, key_point(roll, 38))

    # Pitch 36 on channel 1 is a C, not a kick drum.
    doc.set_current_index(3)
    assert not kb.drums and kb.width() == WIDTH and kb.row_label(36) == "C2"


def test_a_track_becomes_a_drum_track_when_its_notes_move_to_channel_10(qtbot):
    from ui.commands import NotesCommand

    doc = drum_doc()
    roll = make_roll(qtbot, doc)
    notes = doc.track().notes.copy()
    notes["channel"] = 9
    doc.push(NotesCommand(doc, 1, notes, "Channel 10"))
    assert roll.keyboard.drums
    doc.undo_stack.undo()
    assert not roll.keyboard.drums


# -- view state in the project ----------------------------------------------------------------
@pytest.fixture
def make_window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("QUANTA_PRESET_DIR", str(tmp_path / "presets"))
    create_app()
    made = []

    def make():
        settings = QSettings(str(tmp_path / f"q{len(made)}.ini"), QSettings.IniFormat)
        w = MainWindow(settings=settings, engine=False, recovery=RecoveryStore(tmp_path / "r"))
        w.show()
        qtbot.waitExposed(w)
        qtbot.wait(20)  # the first view (zoom to fit, or the project's saved view)
        made.append(w)
        return w

    yield make
    for w in made:
        w.doc.undo_stack.setClean()
        w.close()
        w.deleteLater()


def test_view_state_is_saved_and_restored(make_window, qtbot, tmp_path):
    w = make_window()
    w.doc.set_current_index(1)  # Bass
    roll = w.piano_roll
    # Zoom and scroll the way a user does: Ctrl+wheel is covered elsewhere; keys and bars here.
    roll.vp.zoom_x(2.0, anchor_x=0)
    roll.vp.zoom_y(1.5)
    roll.hbar.setValue(roll.hbar.value() + 37)
    roll.vbar.setValue(roll.vbar.value() - 25)
    want = (roll.vp.ticks_per_px, roll.vp.key_height, roll.vp.left_tick, roll.vp.top_px)
    path = tmp_path / "view.quanta"
    assert w.save_as(path)
    with zipfile.ZipFile(path) as z:
        view = json.loads(z.read("project.json"))["ui"]["view"]
    assert view == {
        "version": VIEW_STATE_VERSION,
        "track": 1,
        "ticks_per_px": want[0],
        "key_height": want[1],
        "left_tick": want[2],
        "top_px": want[3],
    }

    # Opened in a fresh window (before it is laid out) and in a running one.
    w2 = make_window()
    assert w2.open_path(path)
    qtbot.wait(20)
    vp2 = w2.piano_roll.vp
    assert w2.doc.current_index == 1
    assert (vp2.ticks_per_px, vp2.key_height, vp2.left_tick, vp2.top_px) == want
    assert w2.piano_roll.hbar.value() == roll.hbar.value()


def test_view_state_applies_when_the_window_opens_with_the_project(make_window, qtbot, tmp_path):
    w = make_window()
    w.doc.set_current_index(2)
    w.piano_roll.vp.zoom_x(4.0, anchor_x=0)
    w.piano_roll.vp.scroll_to(left_tick=960.0)
    path = tmp_path / "v.quanta"
    assert w.save_as(path)
    # Load before the first show: the saved view replaces the first zoom-to-fit.
    create_app()
    w3 = MainWindow(
        settings=QSettings(str(tmp_path / "w3.ini"), QSettings.IniFormat),
        engine=False,
        recovery=RecoveryStore(tmp_path / "r3"),
    )
    try:
        w3.load_project(load_project(path), path)
        w3.show()
        qtbot.waitExposed(w3)
        qtbot.wait(30)
        vp = w3.piano_roll.vp
        assert w3.doc.current_index == 2
        assert vp.left_tick == 960.0 and vp.ticks_per_px == w.piano_roll.vp.ticks_per_px
    finally:
        w3.doc.undo_stack.setClean()
        w3.close()
        w3.deleteLater()


def test_projects_without_or_with_an_unknown_view_fit_the_track(make_window, qtbot, tmp_path):
    w = make_window()
    fitted = (w.piano_roll.vp.ticks_per_px, w.piano_roll.vp.left_tick)
    song = w.doc.song
    for i, ui in enumerate(({}, {"view": {"version": 99, "ticks_per_px": 1.0}}, {"view": 7})):
        path = tmp_path / f"old{i}.quanta"
        save_project(Project(song=song, current_track=w.doc.current_index, ui=ui), path)
        w2 = make_window()
        assert w2.open_path(path, ask=False)
        qtbot.wait(10)
        assert (w2.piano_roll.vp.ticks_per_px, w2.piano_roll.vp.left_tick) == fitted
