"""The window as a musician sees it (issue 12), checked on what is really painted.

- many tempo changes: only labels that fit are drawn, the rest are named on hover;
- the timing view's axis names its unit;
- the piano roll gets the room, and the docks keep the sizes the user gave them;
- the demo song is opened under its name;
- the other tracks' notes are drawn faintly behind the current one's, not clickable, toggled
  in the View menu and remembered.
"""

from __future__ import annotations

import math
import tempfile

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QSettings, Qt
from PySide6.QtGui import QColor
from PySide6.QtTest import QTest

from engine.build import add_meta, add_track, new_song, tempo_bytes
from engine.model import META_TEMPO, make_notes
from engine.project import Project
from engine.quantize import QuantizeSettings
from tests.ui_roll_helpers import make_roll
from ui import app as ui_app
from ui.app import create_app
from ui.autosave import RecoveryStore
from ui.main_window import MainWindow
from ui.pianoroll.note_painter import VECTOR_LIMIT
from ui.pianoroll.ruler import TEMPO_LABEL_GAP, TEMPO_TIP_LINES
from ui.song_document import SongDocument
from ui.theme import color
from ui.timing_view import TimingView
from ui.view_options import KEY_OTHER_TRACKS

PPQ = 480
BAR = 4 * PPQ


@pytest.fixture
def settings(tmp_path, monkeypatch):
    monkeypatch.setenv("QUANTA_PRESET_DIR", str(tmp_path / "presets"))
    return QSettings(str(tmp_path / "quanta.ini"), QSettings.IniFormat)


@pytest.fixture
def make_window(qtbot, settings, tmp_path):
    create_app()
    made = []

    def make(**kw):
        kw.setdefault("settings", settings)
        kw.setdefault("engine", False)
        kw.setdefault("recovery", RecoveryStore(tmp_path / "rec"))
        size = kw.pop("size", (1280, 800))
        w = MainWindow(**kw)
        w.resize(*size)
        w.show()
        qtbot.waitExposed(w)
        qtbot.wait(20)  # the first layout (dock sizes) and the deferred first view
        made.append(w)
        return w

    yield make
    for w in made:
        w.doc.undo_stack.setClean()
        w.close()
        w.deleteLater()


# -- tempo labels -------------------------------------------------------------------------


def _tempo_song(changes: int = 83, bars: int = 16) -> SongDocument:
    """A rubato song: ``changes`` tempo events spread over ``bars`` bars, 60..142 BPM."""
    song = new_song(ppq=PPQ)
    ticks = np.linspace(0, bars * BAR, changes, endpoint=False).astype(int)
    for k, tick in enumerate(ticks.tolist()):
        add_meta(song.tracks[0], tick, META_TEMPO, tempo_bytes(60 + k))
    starts = np.arange(0, bars * BAR, PPQ)
    add_track(song, make_notes(starts, starts + PPQ // 2, np.full(starts.size, 60)), "Keys")
    return SongDocument(song)


def _visible_changes(roll) -> list[int]:
    tempo, _ = roll.canvas.song_maps()
    t0, t1 = roll.vp.visible_ticks()
    return [int(t) for t in tempo.ticks if t0 <= t < t1]


def test_83_tempo_changes_draw_only_the_labels_that_fit(qtbot):
    doc = _tempo_song()
    roll = make_roll(qtbot, doc)
    roll.vp.fit_ticks(0, 16 * BAR)  # the whole song: about 8 px between changes
    roll.ruler.grab()
    labels = roll.ruler.tempo_labels
    visible = _visible_changes(roll)
    assert len(visible) == 83
    assert 3 <= len(labels) < len(visible)
    # Never two labels on top of each other...
    for a, b in zip(labels, labels[1:], strict=False):
        assert a.right + TEMPO_LABEL_GAP <= b.left
    # ...and every change left without one would have collided with the label before it.
    drawn = {lab.tick for lab in labels}
    for tick in visible:
        if tick in drawn:
            continue
        before = [lab for lab in labels if lab.tick <= tick]
        x = max(0.0, math.floor(roll.vp.tick_to_x(float(tick)))) + 3
        assert before and x < before[-1].right + TEMPO_LABEL_GAP, tick
    # The labels drawn name their tempo: the first is the song's first.
    assert labels[0].tick == 0 and labels[0].text == "60 BPM"


def test_zoomed_in_every_tempo_change_on_screen_gets_its_label(qtbot):
    roll = make_roll(qtbot, _tempo_song())
    roll.vp.fit_ticks(0, 2 * BAR)  # ~10 changes over the width
    roll.ruler.grab()
    visible = _visible_changes(roll)
    assert len(visible) >= 8
    assert [lab.tick for lab in roll.ruler.tempo_labels] == visible


def test_hover_names_the_tempo_changes_whose_labels_did_not_fit(qtbot):
    roll = make_roll(qtbot, _tempo_song())
    roll.vp.fit_ticks(0, 16 * BAR)
    roll.ruler.grab()
    drawn = {lab.tick for lab in roll.ruler.tempo_labels}
    tempo, _ = roll.canvas.song_maps()
    hidden = next(int(t) for t in tempo.ticks if int(t) not in drawn)
    k = int(np.searchsorted(tempo.ticks, hidden))
    x = round(roll.vp.tick_to_x(float(hidden)))
    QTest.mouseMove(roll.ruler, QPoint(x, 20))
    tip = roll.ruler.toolTip()
    assert f": {60 + k} BPM" in tip and "Tempo change at" in tip
    assert tip.count("Tempo change at") <= TEMPO_TIP_LINES


# -- the timing view's unit ---------------------------------------------------------------


def test_timing_view_axis_says_percent_of_a_grid_step(qtbot):
    view = TimingView()
    qtbot.addWidget(view)
    view.resize(330, 170)
    starts = np.array([0, 130, 250, 355, 480], dtype=np.int64)
    view.set_data(starts, None, QuantizeSettings(), PPQ)
    img = view.grab().toImage()
    texts = {text: rect for text, rect in view.drawn_labels}
    assert "% of a grid step" in texts and "+50" in texts and "−50" in texts
    rect = texts["% of a grid step"]
    assert view.rect().toRectF().contains(rect)
    # Text pixels really are there: lighter than the background, inside the unit's strip.
    bg = color("base").lightness()
    lit = [
        img.pixelColor(x, y).lightness() > bg + 40
        for x in range(int(rect.left()), int(rect.right()))
        for y in range(int(rect.top()), int(rect.bottom()))
    ]
    assert sum(lit) >= 20


# -- room for the roll, docks that remember -----------------------------------------------


def test_the_piano_roll_gets_most_of_the_width(make_window):
    w = make_window()
    assert w.tracks_dock.width() <= 0.2 * w.width()  # it was 380 px: 30 %
    assert w.piano_roll.width() >= 0.5 * w.width()


def test_dock_sizes_are_restored_on_the_next_start(make_window, settings):
    w = make_window()
    w.resizeDocks([w.tracks_dock, w.quantize_dock], [341, 367], Qt.Horizontal)
    QTest.qWait(20)
    sizes = (w.tracks_dock.width(), w.quantize_dock.width())
    assert sizes[0] != w.tracks_dock.minimumWidth() and abs(sizes[0] - 341) <= 2
    w.close()
    again = make_window()
    assert (again.tracks_dock.width(), again.quantize_dock.width()) == sizes


# -- the demo song's name -----------------------------------------------------------------


def test_quanta_without_a_file_opens_the_demo_song_under_its_name(tmp_path, monkeypatch):
    seen = []
    grab = ui_app.grab_window

    def grab_and_note_title(window, path):
        seen.append(window.windowTitle())
        return grab(window, path)

    monkeypatch.setenv("QUANTA_PRESET_DIR", str(tmp_path / "presets"))
    monkeypatch.setattr(ui_app, "grab_window", grab_and_note_title)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    assert ui_app.run(None, screenshot=str(tmp_path / "shot.png"), start_engine=False) == 0
    assert seen == ["Demo Song — Quanta"]
    assert (tmp_path / "shot.png").stat().st_size > 0
    assert list(scratch.iterdir()) == []  # its throwaway settings folder is gone (issue 14)


# -- other tracks' notes ------------------------------------------------------------------


def _two_track_doc(other_notes=None) -> SongDocument:
    song = new_song(ppq=PPQ)
    add_track(song, make_notes([0], [PPQ], [60]), "Lead")
    other = make_notes([2 * PPQ], [3 * PPQ], [64]) if other_notes is None else other_notes
    add_track(song, other, "Pad")
    doc = SongDocument(song)
    doc.set_current_index(1)  # "Lead"
    return doc


def _pixel(canvas, tick: float, pitch: int) -> QColor:
    vp = canvas.vp
    img = canvas.grab().toImage()
    x = round(vp.tick_to_x(tick))
    y = round(vp.pitch_top_y(pitch) + vp.key_height / 2)
    return img.pixelColor(x, y)


def test_other_tracks_notes_are_painted_faintly_behind_and_toggle_off(qtbot):
    doc = _two_track_doc()
    roll = make_roll(qtbot, doc)
    canvas = roll.canvas
    assert doc.track().name == "Lead"
    on = _pixel(canvas, 2.5 * PPQ, 64)  # inside the other track's note
    empty = _pixel(canvas, 4.5 * PPQ, 64)  # the same row, no note anywhere
    assert on != empty
    # Faint: a blend of the row and the note colour, far from a note of one's own.
    own = _pixel(canvas, 0.5 * PPQ, 60)
    assert on.lightness() - empty.lightness() < 0.5 * abs(own.lightness() - empty.lightness())
    canvas.set_show_other_tracks(False)
    assert _pixel(canvas, 2.5 * PPQ, 64) == empty


def test_other_tracks_notes_cannot_be_clicked(qtbot):
    doc = _two_track_doc()
    roll = make_roll(qtbot, doc)
    vp = roll.vp
    at = QPoint(round(vp.tick_to_x(2.5 * PPQ)), round(vp.pitch_top_y(64) + vp.key_height / 2))
    assert roll.canvas.note_at(at.toPointF()) == -1
    QTest.mouseClick(roll.canvas, Qt.LeftButton, Qt.NoModifier, at)
    assert doc.selection.size == 0 and doc.undo_stack.count() == 0


def test_many_other_notes_are_rasterised_and_only_the_visible_ones_cost(qtbot):
    starts = np.arange(0, 100_000 * 4, 4, dtype=np.int64)  # 100k short notes, 208 bars
    pitches = 40 + (np.arange(starts.size) % 48)
    doc = _two_track_doc(make_notes(starts, starts + 3, pitches))
    roll = make_roll(qtbot, doc)
    roll.vp.fit_ticks(0, 16 * BAR)
    t0, t1 = roll.vp.visible_ticks()
    lo, hi = roll.vp.visible_pitches()
    visible = int(np.sum((starts + 3 > t0) & (starts < t1) & (pitches >= lo) & (pitches <= hi)))
    roll.canvas.grab()
    assert roll.canvas.other_tracks.last_count == visible > VECTOR_LIMIT
    assert visible < starts.size // 10
    k = int(np.flatnonzero((starts > t0 + 200) & (pitches >= lo) & (pitches <= hi))[0])
    on = _pixel(roll.canvas, float(starts[k]) + 1, int(pitches[k]))
    roll.canvas.set_show_other_tracks(False)
    off = _pixel(roll.canvas, float(starts[k]) + 1, int(pitches[k]))
    assert on != off


def test_view_menu_toggle_is_remembered(make_window, settings):
    w = make_window()
    act = w.other_tracks_action
    assert act.isChecked() and w.piano_roll.canvas.show_other_tracks
    assert act in w.menuBar().actions()[-1].menu().actions()  # the View menu
    act.trigger()
    assert not w.piano_roll.canvas.show_other_tracks
    settings.sync()
    assert str(settings.value(KEY_OTHER_TRACKS)).lower() == "false"
    w.close()
    again = make_window()
    assert not again.other_tracks_action.isChecked()
    assert not again.piano_roll.canvas.show_other_tracks


def test_other_tracks_in_the_window_on_the_demo_song(make_window, tmp_path):
    w = make_window()
    w.load_project(Project(song=w.doc.song), None)
    w.doc.set_current_index(w.track_list.rows[1])  # Bass: the drums and keys behind it
    w.piano_roll.canvas.grab()
    assert w.piano_roll.canvas.other_tracks.last_count > 0
