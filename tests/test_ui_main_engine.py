"""The window plays through the real engine to a real JACK MIDI port (dummy-driver server).

The output port comes from the saved settings exactly as at a user's start-up; a JACK client
(tests/jack_tools.py) records what arrives, with absolute frames, so timing is checked too.
"""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication

from engine.demo import demo_song
from tests import ui_jack_helpers
from tests.jack_tools import ExternalMidiSender, unmatched_notes
from tests.test_audio_jack import portaudio_on_jack  # noqa: F401 - PortAudio on the server
from ui.app import create_app
from ui.autosave import RecoveryStore
from ui.main_window import MainWindow

pytestmark = pytest.mark.jack
PPQ = 480


recorder = ui_jack_helpers.recorder  # the shared out-of-process JACK recorder fixture


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch, recorder):
    yield from ui_jack_helpers.jack_window(qtbot, tmp_path, monkeypatch, recorder.port_name)


def _expected_onsets(song, n: int):
    """(seconds, pitch) of the song's first ``n`` note-ons across tracks, by time."""
    tempo = song.tempo_map()
    starts = np.concatenate([t.notes["start"] for t in song.tracks if t.notes.size])
    pitches = np.concatenate([t.notes["pitch"] for t in song.tracks if t.notes.size])
    order = np.argsort(starts, kind="stable")[:n]
    return tempo.tick_to_seconds(starts[order]), pitches[order]


def _play_until(w, qtbot, tick: int) -> None:
    qtbot.mouseClick(w.transport.play, Qt.LeftButton)
    qtbot.waitUntil(lambda: w.link.state().tick >= tick, timeout=10000)


def _stop(w, qtbot) -> None:
    qtbot.waitUntil(lambda: not w.link.state().playing, timeout=3000)
    qtbot.wait(300)  # note-offs reach the recorder


def test_play_button_sends_the_song_to_a_jack_port_on_time(window, recorder, qtbot):
    w = window
    assert w.link.running, w.link.error
    assert w.link.port_errors == []
    assert w.status.ports.text() == f"MIDI out: {recorder.port_name}"

    _play_until(w, qtbot, 3 * PPQ)
    assert w.transport.play.isChecked()
    qtbot.waitUntil(lambda: w.transport.position.text() != "  1.1.000", timeout=2000)
    # Space stops (the window's shortcut); every sounding note gets its note-off.
    w.activateWindow()
    QApplication.processEvents()
    qtbot.keyClick(w.piano_roll, Qt.Key_Space)
    _stop(w, qtbot)
    assert not w.transport.play.isChecked()
    events = recorder.finish()

    notes = [
        (f, 0x80 if d[0] & 0xF0 == 0x80 or d[2] == 0 else 0x90, d[1], d[2])
        for f, d in events
        if d[0] & 0xF0 in (0x80, 0x90)
    ]
    ons = [x for x in notes if x[1] == 0x90]
    n = 16
    assert len(ons) >= n
    want_sec, want_pitch = _expected_onsets(demo_song(), n)
    frames = np.array([f for f, *_ in ons[:n]], dtype=np.float64)
    got_sec = (frames - frames[0]) / recorder.rate
    # The same notes (order within one instant may differ), each within 1 ms of its time
    # (the frame-exact JACK port places each to the frame) unless the port counted events that
    # the engine handed over after their frame had passed (a loaded machine): those went out
    # at the next period, so then each is within that period and its own 1 ms.
    assert sorted(p for _f, _s, p, _v in ons[:n]) == sorted(int(p) for p in want_pitch)
    late = sum(int(getattr(o, "late", 0)) for o in w.link.outputs)
    bound = 0.001 if late == 0 else 0.001 + 2 * recorder.period / recorder.rate
    assert np.max(np.abs(got_sec - (want_sec - want_sec[0]))) < bound, late
    assert unmatched_notes(notes) == []


def test_a_muted_track_sends_nothing(window, recorder, qtbot):
    w = window
    w.track_list.button(1, "mute").click()  # Drums, channel 10
    _play_until(w, qtbot, 3 * PPQ)
    w.stop()
    _stop(w, qtbot)
    events = recorder.finish()
    channels = {d[0] & 0x0F for _f, d in events if 0x80 <= d[0] < 0xA0}
    assert channels == {0, 1}  # keys and bass only: no channel-10 drums


@pytest.mark.usefixtures("portaudio_on_jack")
def test_sound_through_the_audio_device_on_jack(qtbot, tmp_path, monkeypatch):
    """With audio on, the window opens the JACK audio device and reports it by name."""
    monkeypatch.setenv("QUANTA_PRESET_DIR", str(tmp_path / "presets"))
    create_app()
    settings = QSettings(str(tmp_path / "quanta.ini"), QSettings.IniFormat)
    settings.setValue("audio/enabled", "true")
    settings.setValue("audio/block_size", 256)
    w = MainWindow(settings=settings, recovery=RecoveryStore(tmp_path / "recovery"))
    try:
        w.show()
        assert w.link.audio is not None, w.link.audio_error
        qtbot.mouseClick(w.transport.play, Qt.LeftButton)
        qtbot.waitUntil(lambda: w.link.state().tick >= PPQ, timeout=10000)
        w.stop()
        qtbot.waitUntil(lambda: w.link.audio.callbacks > 50, timeout=5000)
        w._refresh_status()
        assert w.status.audio.text().startswith("Audio: ")
        assert "48000 Hz · 256 frames" in w.status.audio.text()
        assert w.status.underruns.text() == f"Underruns: {w.link.underruns}"
        peak = max(float(t.peak.max()) for t in w.link.audio.mixer.tracks)
        assert peak > 0.01  # the instruments really played the song
    finally:
        w.doc.undo_stack.setClean()
        w.close()  # closes the stream before the fixture detaches PortAudio from the server


def test_record_takes_midi_in_as_a_new_undoable_track(qtbot, tmp_path, monkeypatch, jack_server):
    monkeypatch.setenv("QUANTA_PRESET_DIR", str(tmp_path / "presets"))
    sender = ExternalMidiSender(servername=jack_server.name)
    create_app()
    settings = QSettings(str(tmp_path / "quanta.ini"), QSettings.IniFormat)
    settings.setValue("midi/api", "jack")
    settings.setValue("midi/input", sender.port_name)
    settings.setValue("audio/enabled", "false")
    w = MainWindow(settings=settings, recovery=RecoveryStore(tmp_path / "recovery"))
    try:
        w.show()
        assert w.link.input is not None, w.link.port_errors
        w._refresh_status()
        assert w.status.ports.text().endswith(f"MIDI in: {sender.port_name}")
        tracks_before = len(w.doc.song.tracks)
        qtbot.mouseClick(w.transport.record, Qt.LeftButton)  # arms and starts playing
        qtbot.waitUntil(lambda: w.link.state().playing, timeout=5000)
        rate = 48000
        sender.send(
            [
                (0, bytes((0x90, 60, 100))),
                (rate // 10, bytes((0x80, 60, 0))),  # 0.1 s long
                (rate // 5, bytes((0x90, 64, 90))),  # 0.2 s after the first
                (rate * 3 // 10, bytes((0x80, 64, 0))),
            ]
        )
        qtbot.wait(200)
        qtbot.mouseClick(w.transport.stop, Qt.LeftButton)
        qtbot.waitUntil(lambda: len(w.doc.song.tracks) == tracks_before + 1, timeout=5000)
        take = w.doc.song.tracks[-1]
        assert list(take.notes["pitch"]) == [60, 64]
        assert list(take.notes["velocity"]) == [100, 90]
        ticks_per_sec = 96 / 60 * PPQ  # the demo's tempo
        lengths = take.notes["end"] - take.notes["start"]
        assert np.all(np.abs(lengths - 0.1 * ticks_per_sec) <= 8)
        gap = int(take.notes["start"][1] - take.notes["start"][0])
        assert abs(gap - 0.2 * ticks_per_sec) <= 8
        assert take.quantize == w.doc.edit_settings  # recorded raw, played quantized
        assert not w.transport.record.isChecked()
        assert w.doc.undo_stack.undoText() == "Record 1 take"
        w.doc.undo_stack.undo()
        assert len(w.doc.song.tracks) == tracks_before
    finally:
        w.doc.undo_stack.setClean()
        w.close()
        sender.close()


def test_choose_the_output_port_in_settings_then_play(qtbot, tmp_path, monkeypatch, recorder):
    monkeypatch.setenv("QUANTA_PRESET_DIR", str(tmp_path / "presets"))
    from ui.settings_dialog import SettingsDialog

    create_app()
    settings = QSettings(str(tmp_path / "quanta.ini"), QSettings.IniFormat)
    settings.setValue("audio/enabled", "false")
    w = MainWindow(settings=settings, recovery=RecoveryStore(tmp_path / "recovery"))
    try:
        w.show()
        w._refresh_status()
        assert w.status.ports.text() == "MIDI out: none — choose a port in Settings"
        d = SettingsDialog(settings, w.doc, parent=w)
        d.api.setCurrentIndex(d.api.findData("jack"))
        outputs = [d.output.itemData(i) for i in range(d.output.count())]
        assert recorder.port_name in outputs  # listed from the live JACK graph
        d.output.setCurrentIndex(d.output.findData(recorder.port_name))
        d.accept()
        w.apply_device_settings()
        assert w.status.ports.text() == f"MIDI out: {recorder.port_name}"
        assert QSettings(settings.fileName(), QSettings.IniFormat).value("midi/output") == (
            recorder.port_name
        )
        _play_until(w, qtbot, 2 * PPQ)
        w.stop()
        _stop(w, qtbot)
        assert sum(1 for _f, d in recorder.finish() if d[0] & 0xF0 == 0x90) > 5
    finally:
        w.doc.undo_stack.setClean()
        w.close()
