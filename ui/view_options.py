"""View options that persist across runs (View menu), kept out of the window's layout code.

Each option is a checkable QAction bound to a QSettings key: the saved value is applied when
the action is made, and every toggle is saved at once (a crash does not lose it).
"""

from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QWidget

KEY_OTHER_TRACKS = "view/other_tracks_notes"


def _flag(settings: QSettings, key: str, default: bool) -> bool:
    value = settings.value(key, default)
    if isinstance(value, str):  # INI files give strings back
        return value.strip().lower() not in ("false", "0", "no", "off", "")
    return bool(value)


def other_tracks_action(parent: QWidget, settings: QSettings, roll) -> QAction | None:
    """"Other Tracks' Notes": draw the other tracks' notes faintly behind the current
    track's in the piano roll (on by default). None when there is no piano roll."""
    canvas = getattr(roll, "canvas", None)
    if canvas is None or not hasattr(canvas, "set_show_other_tracks"):
        return None
    act = QAction("Other Tracks' &Notes in the Piano Roll", parent)
    act.setObjectName("view_other_tracks")
    act.setCheckable(True)
    tip = "Draw the other tracks' notes faintly behind the current track's, to line parts up"
    act.setStatusTip(tip)
    act.setToolTip(tip)
    act.setChecked(_flag(settings, KEY_OTHER_TRACKS, True))
    canvas.set_show_other_tracks(act.isChecked())

    def toggled(on: bool) -> None:
        canvas.set_show_other_tracks(on)
        settings.setValue(KEY_OTHER_TRACKS, bool(on))

    act.toggled.connect(toggled)
    return act
