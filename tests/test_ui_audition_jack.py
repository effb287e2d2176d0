"""Auditioning on a real JACK port (dummy-driver server): clicking a key on the piano roll's
keyboard, or a note in the roll, sends that pitch to the current track's MIDI output, on the
track's channel, with its note-off on release or after AUDITION_MS — whichever comes first.

The recorder runs in its own process (see tests/test_ui_main_engine.py for why)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from tests import ui_jack_helpers
from tests.test_audio_jack import portaudio_on_jack  # noqa: F401 - PortAudio on the server
from ui.app import create_app
from ui.autosave import RecoveryStore
from ui.main_window import AUDITION_MS, MainWindow

pytestmark = pytest.mark.jack


recorder = ui_jack_helpers.recorder  # the shared out-of-process JACK recorder fixture


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch, recorder):
    for w in ui_jack_helpers.jack_window(qtbot, tmp_path, monkeypatch, recorder.port_name):
        qtbot.wait(30)
        yield w


def key_point(roll, pitch: int, x: int) -> QPoint:
    vp = roll.vp
    return QPoint(x, round(vp.pitch_top_y(pitch) + vp.key_height / 2))


def test_keyboard_and_note_clicks_sound_on_the_tracks_port(window, recorder, qtbot):
    w = window
    assert w.link.running and w.link.port_errors == []
    roll = w.piano_roll
    w.doc.set_current_index(2)  # Bass, channel 2 in the demo song
    ch = w.doc.track().channels[0]
    roll.vp.fit_pitches(24, 60)
    qtbot.wait(10)
    kb = roll.keyboard
    x = kb.width() // 2
    vel = int(40 + 87 * x / kb.width())

    # 1. Press and release after ~100 ms: the note-off comes with the release.
    QTest.mousePress(kb, Qt.LeftButton, Qt.NoModifier, key_point(roll, 40, x))
    qtbot.wait(100)
    QTest.mouseRelease(kb, Qt.LeftButton, Qt.NoModifier, key_point(roll, 40, x))
    qtbot.wait(AUDITION_MS + 200)  # no second note-off when the timer would have fired

    # 2. Held: the note-off comes after AUDITION_MS; the later release sends nothing.
    QTest.mousePress(kb, Qt.LeftButton, Qt.NoModifier, key_point(roll, 43, x))
    qtbot.wait(AUDITION_MS + 300)
    QTest.mouseRelease(kb, Qt.LeftButton, Qt.NoModifier, key_point(roll, 43, x))

    # 3. A note clicked in the roll sounds with its own pitch and velocity.
    note = w.doc.track().notes[0]
    vp = roll.vp
    vp.scroll_to(left_tick=0)
    px = round(vp.tick_to_x((int(note["start"]) + int(note["end"])) / 2))
    at = key_point(roll, int(note["pitch"]), px)
    assert roll.canvas.note_at(QPointF(at)) == 0, (at, vp.left_tick, vp.ticks_per_px)
    heard = []
    roll.canvas.audition.connect(lambda *a: heard.append(a))
    QTest.mouseClick(roll.canvas, Qt.LeftButton, Qt.NoModifier, at)
    qtbot.wait(150)
    assert heard[:1] == [(int(note["pitch"]), int(note["velocity"]))], (
        heard,
        QApplication.activeModalWidget(),
        QApplication.activePopupWidget(),
        w.doc.selection,
    )

    # 4. Drawing a note sounds it at the draw velocity (and is the one edit here).
    roll.set_tool("draw")
    empty = key_point(roll, 50, round(vp.tick_to_x(int(note["end"]) + 10)))
    assert roll.canvas.note_at(QPointF(empty)) == -1
    QTest.mouseClick(roll.canvas, Qt.LeftButton, Qt.NoModifier, empty)
    qtbot.wait(150)

    got = recorder.finish()
    msgs = [m for _f, m in got]
    # Which side lost a message, if one is missing: Quanta's port (dropped while it thought
    # the port was lost) or the recorder (its process callback missed a cycle under load).
    port_state = [(getattr(o, "status", "?"), getattr(o, "dropped", "?")) for o in w.link.outputs]
    p = int(note["pitch"])
    assert msgs == [
        bytes((0x90 | ch, 40, vel)),
        bytes((0x80 | ch, 40, 0)),
        bytes((0x90 | ch, 43, vel)),
        bytes((0x80 | ch, 43, 0)),
        bytes((0x90 | ch, p, int(note["velocity"]))),
        bytes((0x80 | ch, p, 0)),
        bytes((0x90 | ch, 50, roll.canvas.draw_velocity)),
        bytes((0x80 | ch, 50, 0)),
    ], port_state
    frames = [f for f, _m in got]
    held = (frames[3] - frames[2]) / recorder.rate
    released = (frames[1] - frames[0]) / recorder.rate
    # rtmidi on JACK sends at the next period, and the dummy driver's periods drift against
    # the wall clock on a loaded machine: each time is known to a few periods. Neither
    # note-off comes early (the release not before the mouse was released, the timer's not
    # before AUDITION_MS); how much later depends on when this loaded machine ran the GUI
    # thread, so only the order and count of messages above (one note-off each, the later
    # release sends nothing) is asserted beyond that.
    slack = 3 * recorder.period / recorder.rate
    assert released >= 0.1 - slack
    assert held >= AUDITION_MS / 1000 - slack
    assert w.doc.undo_stack.count() == 1  # clicking a note to hear it is not an edit
    assert w.doc.undo_stack.undoText() == "Draw note"


@pytest.mark.usefixtures("portaudio_on_jack")
def test_keyboard_click_sounds_the_tracks_instrument_on_the_audio_device(
    qtbot, tmp_path, monkeypatch
):
    """With audio on, a key click plays the current track's instrument on the JACK audio
    device — only that track's strip sounds, and only while the note is held."""
    monkeypatch.setenv("QUANTA_PRESET_DIR", str(tmp_path / "presets"))
    create_app()
    settings = QSettings(str(tmp_path / "quanta.ini"), QSettings.IniFormat)
    settings.setValue("audio/enabled", "true")
    settings.setValue("audio/block_size", 256)
    w = MainWindow(settings=settings, recovery=RecoveryStore(tmp_path / "recovery"))
    try:
        w.show()
        qtbot.waitExposed(w)
        assert w.link.audio is not None, w.link.audio_error
        mixer = w.link.audio.mixer
        w.doc.set_current_index(2)  # Bass
        bass = w.link._strips[2]
        others = [s for i, s in w.link._strips.items() if i != 2]
        qtbot.waitUntil(lambda: w.link.audio.callbacks > 20, timeout=5000)
        assert all(float(t.peak.max()) == 0.0 for t in mixer.tracks)  # silence before
        roll = w.piano_roll
        roll.vp.fit_pitches(24, 60)
        kb = roll.keyboard
        QTest.mousePress(kb, Qt.LeftButton, Qt.NoModifier, key_point(roll, 40, kb.width() - 2))
        qtbot.waitUntil(lambda: float(mixer.tracks[bass].peak.max()) > 0.05, timeout=3000)
        assert all(float(mixer.tracks[s].peak.max()) == 0.0 for s in others)
        QTest.mouseRelease(kb, Qt.LeftButton, Qt.NoModifier, key_point(roll, 40, kb.width() - 2))
        # The note-off reached the instrument: the strip falls silent after its release.
        qtbot.waitUntil(lambda: float(mixer.tracks[bass].peak.max()) < 1e-4, timeout=5000)
    finally:
        w.doc.undo_stack.setClean()
        w.close()
