"""The main window, offscreen with pytest-qt: files, editing, undo, presets, prompts, recovery.

Everything runs the real widgets on the real song model; the engine is not started here
(tests/test_ui_main_engine.py plays through JACK). Modal dialogs are answered the way a user
would: a timer finds the open box and clicks one of its buttons.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, QSettings, Qt, QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from engine.demo import demo_song
from engine.project.project import load_project
from engine.quantize.core import quantize_notes
from engine.quantize.settings import QuantizeSettings
from engine.realtime.schedule import playback_notes
from engine.smf.midifile import load_song, save_song
from tests import procs
from tests.ui_window_helpers import close_window, show_window
from ui.app import create_app
from ui.autosave import RecoveryStore
from ui.commands import delete_notes, move_notes, set_velocity
from ui.main_window import MainWindow
from ui.transport_bar import format_position, format_time

PPQ = 480
SIXTEENTH = PPQ // 4


@pytest.fixture
def settings(tmp_path, monkeypatch):
    monkeypatch.setenv("QUANTA_PRESET_DIR", str(tmp_path / "presets"))
    monkeypatch.setenv("QUANTA_RECOVERY_DIR", str(tmp_path / "recovery"))
    return QSettings(str(tmp_path / "quanta.ini"), QSettings.IniFormat)


@pytest.fixture
def make_window(qtbot, settings, tmp_path):
    create_app()
    made = []

    def make(**kw):
        kw.setdefault("settings", settings)
        kw.setdefault("engine", False)
        kw.setdefault("recovery", RecoveryStore(tmp_path / "recovery"))
        w = MainWindow(**kw)  # closed below, not by qtbot: a modified song would prompt
        show_window(qtbot, w)
        made.append(w)
        return w

    yield make
    for w in made:
        close_window(w)  # nothing to ask about when the test tears down


def answer_next_box(button, log: list | None = None, delay_ms: int = 30):
    """Click ``button`` (a QMessageBox.StandardButton or a button text) on the next modal box."""

    def click():
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(delay_ms, click)
            return
        if log is not None:
            log.append(box.text())
        if isinstance(button, str):
            target = next(b for b in box.buttons() if b.text() == button)
        else:
            target = box.button(button)
        target.click()

    QTimer.singleShot(delay_ms, click)


def raw_notes(track_name: str):
    return next(t for t in demo_song().tracks if t.name == track_name).notes


# -- opening ------------------------------------------------------------------------------
def test_no_file_opens_the_demo_song_with_its_tracks(make_window):
    w = make_window()
    assert w.windowTitle() == "Demo Song — Quanta"
    names = [w.track_list.item(r, 0).text() for r in range(w.track_list.rowCount())]
    assert names == ["Drums", "Bass", "Keys"]  # the conductor track is not listed
    assert [w.track_list.item(r, 1).text() for r in range(3)] == ["10", "2", "1"]
    assert w.track_list.item(1, 2).text() == "GM 34 · Bass"
    assert w.doc.track().name == "Drums"
    assert w.transport.position.text() == "  1.1.000"
    assert w.transport.tempo.value() == pytest.approx(96.0)
    assert w.transport.signature.text().strip() == "4/4"
    assert w.piano_roll.objectName() == "piano_roll"
    assert w.quantize_panel is not None


def test_position_shows_bars_beats_ticks_and_time_from_the_maps():
    song = demo_song()
    tick = 4 * PPQ + PPQ + 5  # bar 2, beat 2, tick 5
    assert format_position(song, tick) == "  2.2.005"
    assert format_time(song, 96 * PPQ) == "1:00.000"  # 96 quarters at 96 BPM


def test_open_a_midi_file_by_path_and_it_lands_in_recent_files(make_window, tmp_path):
    path = tmp_path / "groove.mid"
    save_song(demo_song(), path)
    w = make_window()
    assert w.open_path(path)
    expected = load_song(path)
    for a, b in zip(w.doc.song.tracks, expected.tracks, strict=True):
        assert np.array_equal(a.notes, b.notes)
    assert w.windowTitle() == "groove.mid — Quanta"
    assert w.recent_files()[0] == str(path.resolve())
    assert [a.text() for a in w.recent_menu.actions()] == ["groove.mid"]


def test_a_broken_file_gives_one_line_and_keeps_the_song(make_window, tmp_path):
    bad = tmp_path / "broken.mid"
    bad.write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00")
    w = make_window()
    before = w.doc.song.tracks[1].notes.copy()
    errors = []
    w.errorShown.connect(errors.append)
    assert not w.open_path(bad)
    assert len(errors) == 1 and "broken.mid" in errors[0] and "\n" not in errors[0]
    assert np.array_equal(w.doc.song.tracks[1].notes, before)
    assert w.windowTitle() == "Demo Song — Quanta"


def test_drag_and_drop_opens_a_midi_file(make_window, tmp_path, qtbot):
    path = tmp_path / "dropped.mid"
    song = demo_song()
    song.tracks[1].notes = song.tracks[1].notes[:5]
    save_song(song, path)
    w = make_window()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    enter = QDragEnterEvent(w.rect().center(), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(w, enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(w.rect().center()), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(w, drop)
    qtbot.waitUntil(lambda: w.doc.path == path)
    assert w.doc.song.tracks[1].notes.size == 5
    # A file that is not MIDI is refused at the door.
    other = QMimeData()
    other.setUrls([QUrl.fromLocalFile(str(tmp_path / "notes.txt"))])
    enter = QDragEnterEvent(w.rect().center(), Qt.CopyAction, other, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(w, enter)
    assert not enter.isAccepted()


# -- selecting, quantizing, undo ----------------------------------------------------------
def test_select_quantize_with_q_then_undo_and_redo_with_keys(make_window, qtbot):
    w = make_window()
    w.activateWindow()
    QApplication.processEvents()
    assert QApplication.activeWindow() is w  # shortcuts need the active window
    raw = w.doc.track().notes.copy()
    chosen = raw["id"][:8]
    w.doc.set_selection(chosen)
    qtbot.keyClick(w.piano_roll, Qt.Key_Q)
    notes = w.doc.track().notes
    sel = np.isin(notes["id"], chosen)
    expected = quantize_notes(raw, QuantizeSettings(), PPQ, selected=np.isin(raw["id"], chosen))
    assert np.array_equal(notes, expected.notes)
    assert np.all(notes["start"][sel] % SIXTEENTH == 0)
    unsel = ~np.isin(raw["id"], chosen)
    assert np.array_equal(notes[~sel], raw[unsel])  # the rest did not move
    assert w.doc.undo_stack.undoText() == "Quantize 8 notes to 1/16 (selection)"
    assert w.windowTitle() == "Demo Song • — Quanta"

    qtbot.keyClick(w.piano_roll, Qt.Key_Z, Qt.ControlModifier)
    assert np.array_equal(w.doc.track().notes, raw)
    assert not w.doc.is_modified
    qtbot.keyClick(w.piano_roll, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    assert np.array_equal(w.doc.track().notes, expected.notes)


def test_whole_track_quantize_through_the_edit_menu(make_window):
    w = make_window()
    w.doc.set_current_index(2)  # Bass
    raw = w.doc.track().notes.copy()
    w.quantize()
    assert np.array_equal(w.doc.track().notes, quantize_notes(raw, QuantizeSettings(), PPQ).notes)
    assert w.doc.undo_stack.undoText().startswith(f"Quantize {raw.size} notes to 1/16")


def test_apply_a_factory_preset_from_the_panel(make_window):
    w = make_window()
    w.doc.set_current_index(3)  # Keys
    raw = w.doc.track().notes.copy()
    w.quantize_panel.choose_preset("Swing 1/16 62")
    want = QuantizeSettings(division=16, swing=62.0)
    assert w.doc.edit_settings == want
    w.quantize()
    assert np.array_equal(w.doc.track().notes, quantize_notes(raw, want, PPQ).notes)
    starts = w.doc.track().notes["start"]
    # Off-beat sixteenths land at 62 % of a pair of steps: 2*120*0.62 = 148.8 → 149.
    assert set(np.unique(starts % (2 * SIXTEENTH))) <= {0, 149}


def test_note_edits_are_undoable_and_named(make_window):
    w = make_window()
    doc = w.doc
    raw = doc.track().notes.copy()
    first = raw["id"][:3]
    doc.push(move_notes(doc, 1, first, SIXTEENTH, 2))
    doc.push(set_velocity(doc, 1, first, 30))
    doc.push(delete_notes(doc, 1, raw["id"][-1:]))
    moved = doc.track().notes[np.isin(doc.track().notes["id"], first)]
    src = raw[np.isin(raw["id"], first)]
    assert np.array_equal(np.sort(moved["pitch"]), np.sort(src["pitch"] + 2))
    assert np.all(moved["velocity"] == 30)
    assert doc.track().notes.size == raw.size - 1
    texts = [doc.undo_stack.text(i) for i in range(doc.undo_stack.count())]
    assert all(texts) and len(texts) == 3
    for _ in range(3):
        w.undo_action.trigger()
    assert np.array_equal(doc.track().notes, raw)


def test_mute_solo_and_volume_are_undoable_track_state(make_window, qtbot):
    w = make_window()
    mute = w.track_list.button(2, "mute")
    qtbot.mouseClick(mute, Qt.LeftButton)
    assert w.doc.song.tracks[2].extra["mute"] is True
    assert w.doc.undo_stack.undoText() == "Mute Bass"
    slider = w.track_list.volume_slider(3)
    for v in (70, 60, 50):  # a drag: several values, one undo step
        slider.setValue(v)
    assert w.doc.song.tracks[3].extra["volume"] == 0.5
    assert w.doc.undo_stack.count() == 2
    w.doc.undo_stack.undo()
    assert "volume" not in w.doc.song.tracks[3].extra
    assert w.track_list.volume_slider(3).value() == 80
    w.doc.undo_stack.undo()
    assert not mute.isChecked() and "mute" not in w.doc.song.tracks[2].extra


# -- saving -------------------------------------------------------------------------------
def test_save_and_reopen_a_project_gives_identical_arrays(make_window, tmp_path):
    w = make_window()
    w.doc.set_current_index(3)
    w.quantize_panel.choose_preset("Swing 1/16 62")
    w.quantize_panel.play_quantized.setChecked(True)  # non-destructive playback quantize
    w.doc.set_current_index(1)
    w.doc.set_selection(w.doc.track().notes["id"][:4])
    w.quantize()
    qbtn = w.track_list.button(2, "solo")
    qbtn.click()
    w.transport.loop.setChecked(True)
    path = tmp_path / "session.quanta"
    assert w.save_as(path)
    assert not w.doc.is_modified and w.windowTitle() == "session.quanta — Quanta"

    w2 = make_window()
    assert w2.open_path(path)
    for a, b in zip(w.doc.song.tracks, w2.doc.song.tracks, strict=True):
        assert np.array_equal(a.notes, b.notes)
        assert np.array_equal(a.events, b.events)
        assert np.array_equal(a.payload, b.payload)
        assert a.quantize == b.quantize and a.extra == b.extra
    assert w2.doc.song.tracks[3].quantize == QuantizeSettings(division=16, swing=62.0)
    assert w2.doc.song.tracks[2].extra["solo"] is True
    assert w2.track_list.button(2, "solo").isChecked()
    assert w2.transport.loop.isChecked() and w2.loop == (0, 4 * 4 * PPQ)
    assert w2.doc.current_index == 1
    # Save (not Save As) now writes to the same file without asking.
    w2.doc.push(delete_notes(w2.doc, 1, w2.doc.track().notes["id"][:1]))
    assert w2.save()
    assert load_project(path).song.tracks[1].notes.size == w.doc.song.tracks[1].notes.size - 1


def test_export_midi_raw_and_quantized_as_played(make_window, tmp_path):
    w = make_window()
    w.doc.song.tracks[2].quantize = QuantizeSettings(division=8, strength=100.0)
    raw_path, q_path = tmp_path / "raw.mid", tmp_path / "played.mid"
    assert w.export_midi(quantized=False, path=raw_path)
    assert w.export_midi(quantized=True, path=q_path)
    raw, played = load_song(raw_path), load_song(q_path)
    assert np.array_equal(raw.tracks[2].notes["start"], w.doc.song.tracks[2].notes["start"])
    want = playback_notes(w.doc.song.tracks[2], PPQ)
    assert np.array_equal(np.sort(played.tracks[2].notes["start"]), np.sort(want["start"]))
    assert np.all(played.tracks[2].notes["start"] % (PPQ // 2) == 0)
    # Other tracks (no playback quantize) are exported as they are.
    assert np.array_equal(played.tracks[1].notes["start"], raw.tracks[1].notes["start"])


def test_tempo_edit_changes_the_song_and_is_undoable(make_window):
    w = make_window()
    w.transport.tempo.setValue(120.0)
    w.transport.tempo.editingFinished.emit()
    assert w.doc.song.tempo_map().bpm_at(0) == pytest.approx(120.0)
    assert w.doc.undo_stack.undoText() == "Set tempo to 120 BPM"
    assert w.transport.time.text() == "0:00.000"
    w.locate(4 * PPQ)
    assert w.transport.time.text() == "0:02.000"  # four quarters at 120 BPM
    w.doc.undo_stack.undo()
    assert w.doc.song.tempo_map().bpm_at(0) == pytest.approx(96.0)
    assert w.transport.time.text() == "0:02.500"


# -- never lose work ----------------------------------------------------------------------
def test_unsaved_changes_prompt_cancel_keeps_window_discard_closes(make_window, qtbot):
    w = make_window()
    w.doc.push(delete_notes(w.doc, 1, w.doc.track().notes["id"][:1]))
    asked = []
    answer_next_box(QMessageBox.Cancel, asked)
    assert not w.close()
    assert w.isVisible()
    assert asked == ["Save changes to this song before closing?"]
    answer_next_box(QMessageBox.Discard)
    assert w.close()
    assert not w.isVisible()


def test_unsaved_changes_prompt_save_writes_the_project(make_window, tmp_path):
    w = make_window()
    path = tmp_path / "keep.quanta"
    assert w.save_as(path)
    w.doc.push(delete_notes(w.doc, 1, w.doc.track().notes["id"][:2]))
    answer_next_box(QMessageBox.Save)
    assert w.close()
    assert load_project(path).song.tracks[1].notes.size == w.doc.song.tracks[1].notes.size


def test_opening_another_file_asks_first(make_window, tmp_path):
    w = make_window()
    path = tmp_path / "other.mid"
    save_song(demo_song(), path)
    w.doc.push(delete_notes(w.doc, 1, w.doc.track().notes["id"][:1]))
    asked = []
    answer_next_box(QMessageBox.Cancel, asked)
    assert not w.open_path(path)
    assert asked == ["Save changes to this song before opening another file?"]
    assert w.doc.is_modified and w.doc.path is None


def _dead_pid() -> int:
    p = procs.spawn([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_autosave_then_crash_then_recover_gives_the_same_song(make_window, tmp_path):
    folder = tmp_path / "recovery"
    crashed = make_window(recovery=RecoveryStore(folder, pid=_dead_pid()))
    doc = crashed.doc
    doc.set_current_index(2)
    doc.set_selection(doc.track().notes["id"][:6])
    crashed.quantize()
    crashed.track_list.button(3, "mute").click()
    assert crashed.autosaver.autosave()
    assert not crashed.autosaver.autosave()  # nothing new: no write
    song = crashed.doc.song.copy()
    crashed.autosaver.timer.stop()  # the "crash": the window never closes cleanly
    assert len(list(folder.glob("recovery-*.quanta"))) == 1

    fresh = make_window(recovery=RecoveryStore(folder))
    asked = []
    answer_next_box("Recover", asked)
    assert fresh.offer_recovery()
    assert asked == ["Quanta did not close properly last time."]
    for a, b in zip(song.tracks, fresh.doc.song.tracks, strict=True):
        assert np.array_equal(a.notes, b.notes) and a.extra == b.extra
    assert fresh.doc.is_modified  # recovered work still needs saving
    assert fresh.windowTitle() == "Recovered • — Quanta"
    # The crashed session's file is gone; ours holds the work now.
    assert [p.name for p in folder.iterdir()] == [fresh.recovery.own_path.name]
    fresh.doc.undo_stack.setClean()
    fresh.close()
    assert list(folder.iterdir()) == []  # a clean exit leaves nothing behind


def test_recovery_discard_removes_the_file_and_not_now_keeps_it(make_window, tmp_path):
    folder = tmp_path / "recovery"
    crashed = make_window(recovery=RecoveryStore(folder, pid=_dead_pid()))
    crashed.doc.push(delete_notes(crashed.doc, 1, crashed.doc.track().notes["id"][:1]))
    crashed.autosaver.autosave()
    crashed.autosaver.timer.stop()
    w = make_window(recovery=RecoveryStore(folder))
    answer_next_box("Not Now")
    assert not w.offer_recovery()
    assert len(list(folder.glob("recovery-*"))) == 1
    answer_next_box("Discard")
    assert not w.offer_recovery()
    assert list(folder.glob("recovery-*")) == []
    assert not w.offer_recovery()  # nothing left to offer: no box at all


def test_autosave_timer_writes_while_modified_and_save_clears(make_window, tmp_path, qtbot):
    w = make_window(autosave_seconds=0.05)
    own = w.recovery.own_path
    qtbot.wait(120)
    assert not own.exists()  # unmodified: nothing written
    w.doc.push(delete_notes(w.doc, 1, w.doc.track().notes["id"][:1]))
    qtbot.waitUntil(own.exists, timeout=2000)
    assert load_project(own).song.tracks[1].notes.size == w.doc.song.tracks[1].notes.size
    assert w.save_as(tmp_path / "saved.quanta")
    assert not own.exists()


# -- status, settings, CLI ---------------------------------------------------------------
def test_status_names_missing_ports_and_says_no_audio_once(make_window):
    w = make_window()
    st = w.status
    st.show_state({"playing": False, "outputs": [], "audio_device": None, "underruns": 0})
    assert st.ports.text() == "MIDI out: none — choose a port in Settings"
    assert st.audio.text() == "no audio device"
    st.audio.setText("")
    st.show_state(
        {
            "playing": True,
            "outputs": ["synth:in"],
            "inputs": ["keys:out"],
            "underruns": 3,
            "lateness_ms": 1.25,
        }
    )
    assert st.audio.text() == ""  # said once, not re-said every poll
    assert st.ports.text() == "MIDI out: synth:in · MIDI in: keys:out"
    assert st.engine.text() == "Engine: playing (late 1.2 ms)"
    assert st.underruns.text() == "Underruns: 3"


def test_settings_dialog_persists_device_choices(qtbot, settings):
    from ui.settings_dialog import KEY_AUDIO_BLOCK, KEY_AUDIO_RATE, KEY_MIDI_API, SettingsDialog

    create_app()
    d = SettingsDialog(settings)
    qtbot.addWidget(d)
    d.rate.setCurrentIndex(d.rate.findData(96000))
    d.block.setCurrentIndex(d.block.findData(128))
    d.api.setCurrentIndex(d.api.findData("jack"))
    assert d.latency.text() == "1.3 ms per block"
    d.accept()
    again = QSettings(settings.fileName(), QSettings.IniFormat)
    assert int(again.value(KEY_AUDIO_RATE)) == 96000
    assert int(again.value(KEY_AUDIO_BLOCK)) == 128
    assert again.value(KEY_MIDI_API) == "jack"
    d2 = SettingsDialog(again)
    qtbot.addWidget(d2)
    assert d2.rate.currentData() == 96000 and d2.block.currentData() == 128


def test_cli_screenshot_renders_the_window_to_png(tmp_path, monkeypatch, settings, capsys):
    from PySide6.QtGui import QImage

    from app.cli import main

    create_app()
    out = tmp_path / "shot.png"
    assert main(["gui", "--screenshot", str(out), "--size", "1300x900"]) == 0
    assert capsys.readouterr().out == f"wrote {out} (1300x900 PNG)\n"  # says where it wrote
    img = QImage(str(out))
    assert (img.width(), img.height()) == (1300, 900)
    # Not a blank image: the dark theme plus bright notes give many distinct colours.
    colours = {img.pixel(x, y) for x in range(0, 1300, 7) for y in range(0, 900, 7)}
    assert len(colours) > 50


def test_cli_with_a_broken_file_and_screenshot_exits_2_with_one_line(tmp_path, capsys):
    from app.cli import main

    create_app()
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"not midi at all")
    assert main(["gui", str(bad), "--screenshot", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("quanta: error: bad.mid")
    assert not Path(tmp_path / "x.png").exists()


def test_export_audio_renders_the_song_and_honours_mute(make_window, tmp_path):
    import soundfile as sf

    w = make_window()
    full, muted = tmp_path / "full.wav", tmp_path / "muted.wav"
    assert w.export_audio(full)
    for i in (1, 2, 3):  # mute every track: the render must be silent
        w.track_list.button(i, "mute").click()
    assert w.export_audio(muted)
    audio, rate = sf.read(full)
    assert rate == 48000 and audio.shape[1] == 2
    seconds = w.doc.song.tempo_map().tick_to_seconds(w.doc.song.length_ticks())
    assert seconds < audio.shape[0] / rate < seconds + 4.0  # the song plus its release tail
    rms = float(np.sqrt(np.mean(audio**2)))
    assert rms > 0.01
    silent, _ = sf.read(muted)
    assert float(np.abs(silent).max()) < 1e-3  # only dither noise is left
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".wav") == [
        "full.wav",
        "muted.wav",
    ]


def test_track_sound_choose_instrument_effect_and_parameters(make_window, qtbot, tmp_path):
    from ui.settings_dialog import SettingsDialog

    w = make_window()
    d = SettingsDialog(w.settings, w.doc, track_index=3)
    qtbot.addWidget(d)
    assert d.track.currentData() == 3 and d.instrument.currentData() is None  # GM sounds
    d.instrument.setCurrentIndex(d.instrument.findData("builtin:organ"))
    names = [d.params.item(r, 0).text() for r in range(d.params.rowCount())]
    assert "Volume" in names
    d.params.cellWidget(names.index("Volume"), 1).setValue(0.5)
    d.effect_choice.setCurrentIndex(d.effect_choice.findData("delay"))
    d._add_effect()
    assert d.effects.count() == 1 and d.params.rowCount() > 0  # the delay's parameters
    d.accept()
    inst = w.doc.song.tracks[3].extra["instrument"]
    assert (inst["format"], inst["ident"]) == ("builtin", "organ")
    assert inst["state"]["parameters"]["volume"] == 0.5
    assert [(f["format"], f["ident"]) for f in w.doc.song.tracks[3].extra["effects"]] == [
        ("stock", "delay")
    ]
    assert w.track_list.item(2, 2).text() == "Quanta Synth: organ"
    # It is the song's sound: saved in the project, rendered, and undoable.
    path = tmp_path / "sound.quanta"
    assert w.save_as(path)
    assert load_project(path).song.tracks[3].extra["instrument"]["ident"] == "organ"
    assert w.export_audio(tmp_path / "organ.wav")
    w.doc.undo_stack.undo()
    w.doc.undo_stack.undo()
    assert "instrument" not in w.doc.song.tracks[3].extra


def test_status_shows_plugin_latency_and_which_audio_path(make_window):
    st = make_window().status
    base = {"playing": False, "outputs": [], "audio_device": "JACK", "sample_rate": 48000}
    st.show_state({**base, "block_size": 256, "plugin_latency_ms": 0.0, "audio_mode": "compiled"})
    assert st.audio.text() == "Audio: JACK · 48000 Hz · 256 frames"
    assert "compiled code" in st.audio.toolTip()
    st.show_state(
        {**base, "block_size": 256, "plugin_latency_ms": 31.3, "audio_mode": "render-ahead"}
    )
    assert st.audio.text() == "Audio: JACK · 48000 Hz · 256 frames · plugins +31.3 ms"
    assert "render a little ahead" in st.audio.toolTip()
    st.show_state({**base, "block_size": 256, "audio_mode": "python"})
    assert "runs Python" in st.audio.toolTip()


def test_a_damaged_recovery_file_is_set_aside_and_the_others_still_offered(make_window, tmp_path):
    folder = tmp_path / "recovery"
    crashed = make_window(recovery=RecoveryStore(folder, pid=_dead_pid()))
    crashed.doc.push(delete_notes(crashed.doc, 1, crashed.doc.track().notes["id"][:1]))
    assert crashed.autosaver.autosave()
    crashed.autosaver.timer.stop()
    good = crashed.recovery.own_path
    # Newer than the good one, so it would be offered first: a deflate stream cut short.
    bad = folder / f"recovery-{_dead_pid()}.quanta"
    damaged = good.read_bytes()[:-300]
    bad.write_bytes(damaged)
    os.utime(bad, (time.time() + 60, time.time() + 60))
    w = make_window(recovery=RecoveryStore(folder))
    asked = []
    answer_next_box("Recover", asked)
    assert w.offer_recovery()
    assert asked == ["Quanta did not close properly last time."]
    assert w.doc.song.tracks[1].notes.size == crashed.doc.song.tracks[1].notes.size
    message = w.status.currentMessage()
    assert message.startswith("Recovered ") and bad.name in message
    assert "Skipped 1 damaged recovery file(s)" in message
    assert not bad.exists()
    assert (folder / (bad.name + ".damaged")).read_bytes() == damaged
    assert not w.offer_recovery()  # the damaged file is never offered again
