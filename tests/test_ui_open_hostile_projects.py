"""Whatever project the reader accepts, the window opens and draws without an exception,
including hostile view state (``ui.view`` with numbers no float holds)."""

from __future__ import annotations

import random

import pytest
from PySide6.QtCore import QSettings

from engine.project.project import ProjectError, project_from_bytes
from tests import hostile_projects as hp
from ui.app import create_app
from ui.autosave import RecoveryStore
from ui.main_window import MainWindow


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("QUANTA_PRESET_DIR", str(tmp_path / "presets"))
    monkeypatch.setenv("QUANTA_RECOVERY_DIR", str(tmp_path / "recovery"))
    create_app()
    settings = QSettings(str(tmp_path / "quanta.ini"), QSettings.IniFormat)
    w = MainWindow(settings=settings, engine=False, recovery=RecoveryStore(tmp_path / "recovery"))
    w.resize(1000, 700)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.doc.undo_stack.setClean()
    w.close()
    w.deleteLater()


HOSTILE_VIEWS = [
    {
        "version": 1,
        "track": 10**40,
        "ticks_per_px": 10**400,
        "key_height": 1e308,
        "left_tick": -1e308,
        "top_px": 10**30,
    },
    {
        "version": 1,
        "track": -5,
        "ticks_per_px": 0,
        "key_height": -1,
        "left_tick": 2**63,
        "top_px": -(10**20),
    },
    {
        "version": 1,
        "track": True,
        "ticks_per_px": "x",
        "key_height": None,
        "left_tick": [],
        "top_px": {},
    },
]


def test_accepted_hostile_projects_open_and_draw(window, qtbot):
    rng = random.Random(11)
    opened = 0
    errors: list[BaseException] = []
    import sys

    hook = sys.excepthook
    sys.excepthook = lambda t, e, tb: errors.append(e)  # Qt slots report exceptions here
    try:
        for i in range(120):
            _, data = hp.any_case(rng)
            try:
                project = project_from_bytes(data, "x")
            except ProjectError:
                continue
            project.ui = {"view": HOSTILE_VIEWS[i % len(HOSTILE_VIEWS)]}
            window.doc.undo_stack.setClean()
            window.load_project(project, None)
            window.restore_view(project.ui["view"])
            window.grab()
            opened += 1
    finally:
        sys.excepthook = hook
    assert errors == []
    assert opened > 10
