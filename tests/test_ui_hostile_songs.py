"""Hostile songs in the window (issue 14): a tempo of 0 and silences of 2^28 ticks.

A tempo-0 event once made the ruler's paint raise, which left its QPainter active and crashed
the process; 2^28-tick gaps made the GUI enumerate every bar (gigabytes) and overflow its
scroll bars. Here such songs are opened in the real window, scrolled to the end and painted
to PNGs; the process must survive, every paint must finish, and memory must stay bounded.
"""

from __future__ import annotations

import logging
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QWidget

from engine.build import add_meta, add_track, new_song
from engine.model import META_TEMPO, make_notes
from engine.project import Project
from tests.midi_corpus import meta, raw_smf, raw_track
from ui import painting
from ui.app import create_app, grab_window
from ui.autosave import RecoveryStore
from ui.main_window import MainWindow
from ui.painting import safe_painter
from ui.pianoroll.viewport import MIN_TICKS_PER_PX
from ui.tempo_text import bpm_text

GAP = (1 << 28) - 1  #: the longest delta time a MIDI file can hold


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("QUANTA_PRESET_DIR", str(tmp_path / "presets"))
    create_app()
    settings = QSettings(str(tmp_path / "quanta.ini"), QSettings.IniFormat)
    w = MainWindow(settings=settings, engine=False, recovery=RecoveryStore(tmp_path / "rec"))
    w.resize(1280, 800)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.doc.undo_stack.setClean()
    w.close()
    w.deleteLater()


@pytest.fixture(autouse=True)
def _fresh_failures():
    painting.paint_failures.clear()
    yield


def _grab(w, path: Path) -> QImage:
    grab_window(w, path)
    img = QImage(str(path))
    assert not img.isNull() and img.width() > 0
    return img


# -- exception-safe painting --------------------------------------------------------------


class _Broken(QWidget):
    """A widget whose paint raises half-way, as the ruler did on a tempo of 0."""

    def paintEvent(self, event) -> None:
        with safe_painter(self) as p:
            p.fillRect(self.rect(), 0xFF0000)
            raise ZeroDivisionError("float division by zero")


def test_an_exception_while_painting_ends_the_painter_and_is_logged_once(qtbot, caplog):
    w = _Broken()
    qtbot.addWidget(w)
    w.resize(40, 30)
    w.show()
    qtbot.waitExposed(w)
    with caplog.at_level(logging.ERROR, logger="quanta.ui.paint"):
        images = [w.grab().toImage() for _ in range(3)]
    # Painted as far as it got (red), three times, and the process is still here.
    assert all(img.pixelColor(5, 5).red() == 255 for img in images)
    [(where, count)] = painting.paint_failures.items()
    assert where.startswith("_Broken: ZeroDivisionError at test_ui_hostile_songs.py:")
    assert count >= 3
    logged = [r for r in caplog.records if r.name == "quanta.ui.paint"]
    assert len(logged) == 1 and "ZeroDivisionError" in logged[0].getMessage()


# -- tempo 0 ------------------------------------------------------------------------------


def _tempo0_file(path: Path) -> Path:
    track = raw_track(
        [
            (0, meta(0x51, b"\x00\x00\x00")),  # tempo 0 µs per quarter
            (0, b"\x90\x3c\x64"),
            (480, b"\x80\x3c\x00"),
            (480, meta(0x51, b"\x07\xa1\x20")),  # 120 BPM again
            (0, b"\x90\x40\x64"),
            (480, b"\x80\x40\x00"),
        ],
        running=False,
    )
    path.write_bytes(raw_smf(0, 480, [track]))
    return path


def test_a_midi_file_with_tempo_0_opens_and_paints(window, tmp_path):
    path = _tempo0_file(tmp_path / "tempo0.mid")
    # The reader may accept the file (it is then shown) or refuse it with one line; either
    # way the window lives and paints.
    opened = window.open_path(path, ask=False)
    assert opened or (window.last_error and "\n" not in window.last_error)
    img = _grab(window, tmp_path / "tempo0.png")
    assert img.width() == window.width()
    assert not painting.paint_failures, dict(painting.paint_failures)


def _tempo0_song():
    song = new_song(ppq=480)
    add_meta(song.tracks[0], 0, META_TEMPO, b"\x00\x00\x00")
    add_meta(song.tracks[0], 960, META_TEMPO, (500_000).to_bytes(3, "big"))
    add_track(song, make_notes([0, 960], [480, 1440], [60, 64]), "Keys")
    return song


def test_a_song_holding_tempo_0_paints_the_tempo_it_plays(window, tmp_path):
    song = _tempo0_song()
    window.load_project(Project(song=song), None)
    window.piano_roll.zoom_to_fit()
    _grab(window, tmp_path / "tempo0-model.png")
    assert not painting.paint_failures, dict(painting.paint_failures)
    # The ruler labels exactly what the song's tempo map holds (the engine decides what a
    # tempo of 0 means), and nothing divided by zero on the way.
    tempo = window.piano_roll.canvas.song_maps()[0]
    labels = [label.text for label in window.piano_roll.ruler.tempo_labels]
    assert labels == [bpm_text(u) for u in tempo.usec]
    assert all(text.endswith(" BPM") or text == "invalid tempo" for text in labels)
    window.transport.set_position(0, force=True)
    assert window.transport.position.text().strip() == "1.1.000"


def test_a_tempo_map_holding_0_reads_invalid_in_the_ruler_and_the_transport(
    window, tmp_path, monkeypatch
):
    """Whatever the engine's map makes of such a file, the window never divides by a tempo:
    a map that still holds 0 shows "invalid tempo" in the ruler and the transport."""
    from engine.model import TempoMap

    song = _tempo0_song()
    raw = TempoMap(480, [0, 960], [500_000, 500_000])
    raw.usec = np.array([0.0, 500_000.0])  # as a map that kept the file's 0 would
    monkeypatch.setattr(song, "tempo_map", lambda: raw)
    window.load_project(Project(song=song), None)
    window.piano_roll.zoom_to_fit()
    _grab(window, tmp_path / "tempo0-raw.png")
    assert not painting.paint_failures, dict(painting.paint_failures)
    labels = [label.text for label in window.piano_roll.ruler.tempo_labels]
    assert labels == ["invalid tempo", "120 BPM"]
    tip = window.piano_roll.ruler.tempo_tip(window.piano_roll.vp.tick_to_x(10))
    assert tip.startswith("Tempo: invalid tempo")
    transport = window.transport
    transport.set_position(0, force=True)
    assert transport.tempo.text() == "invalid tempo"  # not the previous song's 96 BPM
    transport.set_position(1000)
    assert transport.tempo.text() == "120.00 BPM"
    transport.set_position(10)
    assert transport.tempo.text() == "invalid tempo"
    transport.tempo.editingFinished.emit()  # focus left, nothing typed: no edit
    assert window.doc.undo_stack.count() == 0
    transport.tempo.setValue(90.0)
    transport.tempo.editingFinished.emit()  # a typed tempo replaces the invalid one
    assert window.doc.undo_stack.undoText() == "Set tempo to 90 BPM"
    at_0 = [d for t, d in window.doc.song.tracks[0].meta_events(META_TEMPO) if t == 0]
    assert b"\x00\x00\x00" not in at_0  # the invalid event now holds the typed tempo
    real = type(window.doc.song).tempo_map(window.doc.song)  # not the stub
    assert real.usec[0] == round(60e6 / 90)


# -- long silences ------------------------------------------------------------------------


def _silent_song(ppq: int, gaps: int):
    starts = np.arange(gaps + 1, dtype=np.int64) * (GAP + ppq)
    song = new_song(ppq=ppq)
    add_track(song, make_notes(starts, starts + ppq, np.full(starts.size, 60)), "Sparse")
    return song, starts


@pytest.mark.parametrize(("ppq", "gaps"), [(1, 3), (480, 3), (1, 2000)])
def test_silences_of_2_28_ticks_open_scroll_to_the_end_and_paint_in_bounded_memory(
    window, tmp_path, ppq, gaps
):
    song, starts = _silent_song(ppq, gaps)
    roll = window.piano_roll
    rss0 = _rss_bytes()
    tracemalloc.start()
    try:
        window.load_project(Project(song=song), None)
        roll.zoom_to_fit()
        _grab(window, tmp_path / "silence-fit.png")
        hbar = roll.hbar
        assert hbar.maximum() == 0  # the whole song fits: nothing to scroll
        roll.vp.zoom_x(1e15, 0)  # zoom all the way in at the left edge
        assert roll.vp.ticks_per_px == MIN_TICKS_PER_PX
        assert 0 < hbar.maximum() < 2**31 - 1 and hbar.pageStep() > 0
        hbar.setValue(hbar.maximum())  # scroll to the end, as a user drags the bar there
        _t0, t1 = roll.vp.visible_ticks()
        assert t1 >= starts[-1] + ppq  # the end of the song is reached
        _grab(window, tmp_path / "silence-end.png")
        roll.vp.scroll_to(left_tick=float(starts[-1]) - 10 * roll.vp.ticks_per_px)
        canvas_img = roll.canvas.grab().toImage()
        _size, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 200 * 2**20, f"peak {peak / 2**20:.0f} MB of Python allocations"
    assert _rss_bytes() - rss0 < 300 * 2**20
    assert not painting.paint_failures, dict(painting.paint_failures)
    # The last note is drawn where it is: left of it the row is empty, on it a note.
    rect = roll.canvas.visible_rect_for(starts.size - 1)
    y = rect.center().y()
    on = canvas_img.pixelColor(rect.left() + 3, y)
    off = canvas_img.pixelColor(max(0, rect.left() - 5), y)
    assert on != off
    # Bars far out are numbered in closed form: 4/4 bars of 4 * ppq ticks.
    grid = roll.canvas.bar_grid()
    assert grid.number_at(float(starts[-1])) == int(starts[-1]) // (4 * ppq) + 1


def test_scroll_range_maps_back_to_ticks_on_a_very_long_song(window):
    song, starts = _silent_song(1, 2000)
    window.load_project(Project(song=song), None)
    roll = window.piano_roll
    roll.vp.zoom_x(1e15, 0)  # 0.25 ticks per pixel: 2e12 px of song
    assert roll.vp.ticks_per_px == MIN_TICKS_PER_PX
    hbar = roll.hbar
    assert hbar.maximum() < 2**31 - 1
    hbar.setValue(hbar.maximum() // 2)
    middle = roll.vp.left_tick
    assert abs(middle - (starts[-1] + 8) / 2) < 0.01 * starts[-1]
    roll.vp.scroll_to(left_tick=float(starts[1000]))
    assert abs(hbar.value() * roll._scroll_unit - starts[1000]) <= roll._scroll_unit


def test_an_engine_position_that_is_not_finite_keeps_the_last_one(window):
    """Playing a tempo-0 file once gave the window an infinite position (OverflowError in
    the state slot, every poll); the window keeps showing the last position instead."""
    from types import SimpleNamespace

    window._engine_state(SimpleNamespace(tick=960, playing=True, recording=False))
    window._engine_state(SimpleNamespace(tick=float("inf"), playing=True, recording=False))
    assert window.piano_roll.canvas.playhead == 960
    assert window.transport.position.text().strip() == "1.3.000"


def test_tens_of_thousands_of_time_signatures_and_tempos_paint_one_line_per_pixel(
    window, tmp_path
):
    from engine.smf import load_song

    n = 20_000
    events = []
    for k in range(n):  # a signature every 7 ticks, a tempo 3 ticks after each
        events.append((0 if k == 0 else 4, meta(0x58, bytes((1 + k % 7, 2, 24, 8)))))
        events.append((3, meta(0x51, (400_000 + k).to_bytes(3, "big"))))
    notes = [(0, b"\x90\x3c\x64"), (96, b"\x80\x3c\x00")]
    path = tmp_path / "signatures.mid"
    path.write_bytes(raw_smf(1, 96, [raw_track(events, False), raw_track(notes, False)]))
    song = load_song(path)
    window.load_project(Project(song=song), None)
    roll = window.piano_roll
    roll.zoom_to_fit()
    tracemalloc.start()
    try:
        _grab(window, tmp_path / "signatures.png")
        _size, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert not painting.paint_failures, dict(painting.paint_failures)
    assert peak < 100 * 2**20
    labels = roll.ruler.tempo_labels
    assert 1 <= len(labels) <= roll.ruler.width() // 20
    for a, b in zip(labels, labels[1:], strict=False):
        assert a.right < b.left
    # Bar numbers still come from the signatures: the engine's own walk agrees.
    sigs = song.time_signatures()
    for tick in (0, 7 * 1234 + 5, 7 * n - 1):
        assert roll.canvas.bar_grid().number_at(tick) == sigs.position(tick)[0]


# -- thousands of tracks ------------------------------------------------------------------


def test_thousands_of_tracks_open_with_widgets_only_for_the_rows_on_screen(window, tmp_path):
    from ui.track_list import COL_MUTE, WIDGET_MARGIN_ROWS

    n = 3000
    song = new_song(ppq=480)
    for k in range(n):
        add_track(song, make_notes([10 * k], [10 * k + 240], [36 + k % 60]), f"T{k}")
    rss0 = _rss_bytes()
    window.load_project(Project(song=song), None)
    _grab(window, tmp_path / "tracks.png")
    tracks = window.track_list
    assert tracks.rowCount() == n
    with_widgets = [r for r in range(n) if tracks.cellWidget(r, COL_MUTE) is not None]
    on_screen = tracks.viewport().height() // tracks.rowHeight(0) + 1
    assert 0 < len(with_widgets) <= on_screen + WIDGET_MARGIN_ROWS + 1
    assert _rss_bytes() - rss0 < 200 * 2**20
    # Scrolled to the end, the last rows get theirs, and they work.
    tracks.verticalScrollBar().setValue(tracks.verticalScrollBar().maximum())
    last = tracks.rowCount() - 1
    assert tracks.cellWidget(last, COL_MUTE) is not None
    tracks.cellWidget(last, COL_MUTE).click()
    assert window.doc.song.tracks[tracks.rows[last]].extra.get("mute") is True
    assert window.doc.undo_stack.undoText() == f"Mute T{n - 1}"
    # The other tracks' notes: one merged slice per paint, all 2999 others present.
    window.doc.set_current_index(tracks.rows[0])
    roll = window.piano_roll
    roll.vp.fit_ticks(0, 10 * n)
    roll.vp.fit_pitches(0, 127)
    roll.canvas.grab()
    assert roll.canvas.other_tracks.last_count == n - 1


def test_editing_the_current_track_does_not_rebuild_the_other_tracks_layer(window):
    from ui.commands import move_notes

    song = new_song(ppq=480)
    add_track(song, make_notes([0], [480], [60]), "A")
    add_track(song, make_notes([960], [1440], [64]), "B")
    window.load_project(Project(song=song), None)
    doc, layer = window.doc, window.piano_roll.canvas.other_tracks
    doc.set_current_index(1)
    window.piano_roll.canvas.grab()
    merged = layer._merged
    doc.push(move_notes(doc, 1, doc.track().notes["id"], 120, 0))  # edit the current track
    window.piano_roll.canvas.grab()
    assert layer._merged is merged
    doc.push(move_notes(doc, 2, doc.song.tracks[2].notes["id"], 120, 0))  # edit another
    window.piano_roll.canvas.grab()
    assert layer._merged is not merged and layer._merged.start.tolist() == [1080]


def test_a_long_songs_whole_view_is_saved_and_restored_with_the_project(window, tmp_path):
    from ui.pianoroll.viewport import MAX_TICKS_PER_PX

    song, _starts = _silent_song(1, 3)
    window.load_project(Project(song=song), None)
    window.piano_roll.zoom_to_fit()
    tpp = window.piano_roll.vp.ticks_per_px
    assert tpp > MAX_TICKS_PER_PX  # the whole 8e8-tick song on screen
    assert window.save_as(tmp_path / "long.quanta")
    window.piano_roll.vp.zoom_x(1e15)
    assert window.open_path(tmp_path / "long.quanta", ask=False)
    assert window.piano_roll.vp.ticks_per_px == pytest.approx(tpp)
