"""The window plays a song of 4096 silences of 2^28 ticks through the real engine to a real
JACK port, metronome on (issue 14): opening, pressing play and clicking cost nothing per empty
tick, the song's first note and the clicks through its silence arrive, Space stops with every
note closed, and the window's memory stays bounded."""

from __future__ import annotations

import tracemalloc

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from tests import ui_jack_helpers
from tests.hostile_songs import gapped_bytes
from tests.jack_tools import unmatched_notes

pytestmark = [pytest.mark.jack, pytest.mark.timeout(180)]

recorder = ui_jack_helpers.recorder


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch, recorder):
    yield from ui_jack_helpers.jack_window(qtbot, tmp_path, monkeypatch, recorder.port_name)


def test_window_plays_and_clicks_through_silences_of_years(window, recorder, qtbot, tmp_path):
    w = window
    assert w.link.running, w.link.error
    path = tmp_path / "silences.mid"
    path.write_bytes(gapped_bytes(1, 4096, usec=62_500))  # 960 BPM at 1 PPQ: a beat = 62.5 ms
    tracemalloc.start()
    try:
        assert w.open_path(path, ask=False)
        w.transport.metronome.setChecked(True)
        qtbot.wait(200)  # the link hands a new song to the engine on the next event-loop turn
        qtbot.mouseClick(w.transport.play, Qt.LeftButton)
        qtbot.waitUntil(lambda: w.link.state().tick >= 6, timeout=20000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    w.activateWindow()
    QApplication.processEvents()
    qtbot.keyClick(w.piano_roll, Qt.Key_Space)
    qtbot.waitUntil(lambda: not w.link.state().playing, timeout=5000)
    qtbot.wait(300)  # note-offs reach the recorder
    events = recorder.finish()
    notes = [
        (f, 0x80 if d[0] & 0xF0 == 0x80 or d[2] == 0 else 0x90, d[1], d[2])
        for f, d in events
        if d[0] & 0xF0 in (0x80, 0x90)
    ]
    pitches = [p for _f, k, p, _v in notes if k == 0x90]
    assert 60 in pitches and 61 not in pitches  # the first note; the next is years away
    clicks = [p for p in pitches if p in (76, 77)]
    assert clicks[:6] == [76, 77, 77, 77, 76, 77]
    assert unmatched_notes(notes) == []
    assert peak < 64 * 2**20, f"{peak / 2**20:.0f} MB traced while opening and playing"
