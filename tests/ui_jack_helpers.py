"""The main window wired to a JACK MIDI port, shared by the UI tests that play for real."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings

from tests.jack_tools import ExternalMidiRecorder
from tests.ui_window_helpers import shown_window
from ui.app import create_app
from ui.autosave import RecoveryStore
from ui.main_window import MainWindow


@pytest.fixture
def recorder(jack_server_factory):
    """The recorder in its own process: an in-process Python JACK callback would need this
    process's GIL while rtmidi lists ports holding it (a deadlock no user setup has).

    On its own real-time JACK server (JACK_DEFAULT_SERVER names it, so the window's port
    opens there too): on the shared non-real-time one, a loaded 2-core machine made JACK
    drop the test's clients mid-test (seen in CI as a peer "gone" and lost clicks)."""
    server = jack_server_factory(realtime=True)
    rec = ExternalMidiRecorder(servername=server.name)
    yield rec
    rec.close()


def jack_window(qtbot, tmp_path, monkeypatch, port_name: str):
    """Yield a shown MainWindow whose MIDI output is ``port_name`` on JACK (sound off), then
    close it, which stops the engine and closes its port before the recorder goes away."""
    monkeypatch.setenv("QUANTA_PRESET_DIR", str(tmp_path / "presets"))
    create_app()
    settings = QSettings(str(tmp_path / "quanta.ini"), QSettings.IniFormat)
    settings.setValue("midi/api", "jack")
    settings.setValue("midi/output", port_name)
    settings.setValue("audio/enabled", "false")  # MIDI only; sound has its own tests
    w = MainWindow(settings=settings, recovery=RecoveryStore(tmp_path / "recovery"))
    yield from shown_window(qtbot, w)
