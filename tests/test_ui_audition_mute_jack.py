"""Auditioning follows mute and solo, as playback does (real JACK port, dummy-driver server).

Logic auditions through the track's channel strip: a muted strip, or one silenced because
another track is soloed, stays silent. The track list's M/S buttons are clicked for real and
the keyboard and a note in the roll are clicked; the recorder (its own process) sees exactly
the notes that should sound. A note already sounding when its track is muted still gets its
note-off, so muting never leaves a note hanging.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest

from tests import ui_jack_helpers

pytestmark = pytest.mark.jack

recorder = ui_jack_helpers.recorder  # the shared out-of-process JACK recorder fixture

BASS, DRUMS = 2, 1  # track indices in the demo song


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch, recorder):
    for w in ui_jack_helpers.jack_window(qtbot, tmp_path, monkeypatch, recorder.port_name):
        qtbot.wait(30)
        yield w


def key_point(roll, pitch: int) -> QPoint:
    vp = roll.vp
    return QPoint(roll.keyboard.width() - 2, round(vp.pitch_top_y(pitch) + vp.key_height / 2))


def click_key(roll, qtbot, pitch: int) -> None:
    QTest.mousePress(roll.keyboard, Qt.LeftButton, Qt.NoModifier, key_point(roll, pitch))
    qtbot.wait(60)
    QTest.mouseRelease(roll.keyboard, Qt.LeftButton, Qt.NoModifier, key_point(roll, pitch))
    qtbot.wait(60)


def toggle(w, qtbot, track: int, key: str) -> None:
    btn = w.track_list.button(track, key)
    was = btn.isChecked()
    qtbot.mouseClick(btn, Qt.LeftButton)
    assert btn.isChecked() != was
    assert bool(w.doc.song.tracks[track].extra.get(key)) == btn.isChecked()


def test_audition_is_silent_on_a_muted_or_unsoloed_track(window, recorder, qtbot):
    w = window
    assert w.link.running and w.link.port_errors == []
    roll = w.piano_roll
    w.doc.set_current_index(BASS)
    ch = w.doc.track().channels[0]
    roll.vp.fit_pitches(24, 60)
    qtbot.wait(10)
    heard = []
    roll.audition.connect(lambda *a: heard.append(a))

    # Muted: neither a key nor a note in the roll sounds (the roll still asks to audition).
    toggle(w, qtbot, BASS, "mute")
    click_key(roll, qtbot, 40)
    note = w.doc.track().notes[0]
    vp = roll.vp
    vp.scroll_to(left_tick=0)
    at = QPointF(
        vp.tick_to_x((int(note["start"]) + int(note["end"])) / 2),
        vp.pitch_top_y(int(note["pitch"])) + vp.key_height / 2,
    )
    assert roll.canvas.note_at(at) == 0
    QTest.mouseClick(roll.canvas, Qt.LeftButton, Qt.NoModifier, at.toPoint())
    qtbot.wait(60)
    assert (40, 0) in heard and (int(note["pitch"]), int(note["velocity"])) in heard
    assert w._auditioning is None

    # Unmuted, but another track is soloed: still silent.
    toggle(w, qtbot, BASS, "mute")
    toggle(w, qtbot, DRUMS, "solo")
    click_key(roll, qtbot, 41)

    # Soloed too: it sounds. No solo left: it sounds.
    toggle(w, qtbot, BASS, "solo")
    click_key(roll, qtbot, 43)
    toggle(w, qtbot, BASS, "solo")
    toggle(w, qtbot, DRUMS, "solo")
    click_key(roll, qtbot, 45)

    # Muted while the key is held: the note-off still comes on release.
    QTest.mousePress(roll.keyboard, Qt.LeftButton, Qt.NoModifier, key_point(roll, 47))
    qtbot.wait(30)
    toggle(w, qtbot, BASS, "mute")
    QTest.mouseRelease(roll.keyboard, Qt.LeftButton, Qt.NoModifier, key_point(roll, 47))
    qtbot.wait(150)

    msgs = [m for _f, m in recorder.finish()]
    vel = int(40 + 87 * (roll.keyboard.width() - 2) / roll.keyboard.width())
    assert msgs == [
        bytes((0x90 | ch, 43, vel)),
        bytes((0x80 | ch, 43, 0)),
        bytes((0x90 | ch, 45, vel)),
        bytes((0x80 | ch, 45, 0)),
        bytes((0x90 | ch, 47, vel)),
        bytes((0x80 | ch, 47, 0)),
    ]
