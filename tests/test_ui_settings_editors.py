"""Settings → Track sound → Effects → "Edit…" (issue 13): the selected effect's editor,
the same one the track list opens (generic sliders here: offscreen Qt), one undo step per
gesture, and OK does not put older values back."""

from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QWidget

from tests.test_ui_plugin_editors import make_doc
from ui import settings_dialog
from ui.settings_dialog import SettingsDialog


def dialog(tmp_path, monkeypatch, doc, parent=None) -> SettingsDialog:
    monkeypatch.setattr(settings_dialog, "host_plugins", lambda: [])  # no plugin scan
    settings = QSettings(str(tmp_path / "q.ini"), QSettings.IniFormat)
    return SettingsDialog(settings, doc, 2, parent)


def spin(d: SettingsDialog, name: str):
    """The value box of the parameter called ``name`` in the dialog's table."""
    rows = [r for r in range(d.params.rowCount()) if d.params.item(r, 0).text() == name]
    assert len(rows) == 1, name
    return d.params.cellWidget(rows[0], 1)


def test_edit_opens_the_selected_effects_editor_with_undo(qtbot, tmp_path, monkeypatch):
    doc = make_doc()
    d = dialog(tmp_path, monkeypatch, doc)
    qtbot.addWidget(d)
    assert d.effects.count() == 1 and d.effects.item(0).text() == "ZamComp"
    d.edit_effect.click()  # nothing selected
    assert d.sound_note.text() == "Select an effect to edit"

    d.effects.setCurrentRow(0)
    spin(d, "Threshold").setValue(-20.0)  # typed in the dialog (pending until OK)
    start = doc.undo_stack.count()
    d.edit_effect.click()
    # what the dialog had changed is stored first (one step), then the editor opens
    assert doc.undo_stack.count() == start + 1
    assert doc.undo_stack.undoText() == "Change effects of Bass"
    editors = d.track_editors()
    ed = editors.open_editors[(2, 0)]
    assert ed.window.isVisible() and ed.window.parent() is d  # takes input beside the modal
    assert ed.plugin.get_parameter("thr") == -20.0

    ed.window.sliders["rat"].setValue(800)  # a gesture in the editor: one more step
    ed.rest.timeout.emit()
    assert doc.undo_stack.count() == start + 2
    assert doc.undo_stack.undoText() == "ZamComp: Ratio"
    ratio = 1.0 + 19.0 * 800 / 1000
    assert spin(d, "Ratio").value() == round(ratio, 3)  # the dialog's table follows

    d.accept()  # OK: no step that puts the old ratio back; the editor closes with it
    assert doc.undo_stack.count() == start + 2
    params = doc.song.tracks[2].extra["effects"][0]["state"]["parameters"]
    assert params["thr"] == -20.0 and params["rat"] == ratio
    assert editors.open_editors == {}
    doc.undo_stack.undo()
    assert "rat" not in doc.song.tracks[2].extra["effects"][0]["state"]["parameters"]


def test_edit_uses_the_windows_editors(qtbot, tmp_path, monkeypatch):
    """From the main window, "Edit…" opens the window's editor for that plugin (not a
    second one) and says in one line when it cannot."""
    from ui.track_editors import TrackEditors

    doc = make_doc()
    doc.song.tracks[2].extra["effects"] = [
        {"name": "Gone", "kind": "effect", "format": "lv2", "ident": "urn:nope:gone", "state": {}}
    ]
    parent = QWidget()
    qtbot.addWidget(parent)
    parent.plugin_editors = TrackEditors(doc, parent)
    d = dialog(tmp_path, monkeypatch, doc, parent)
    assert d.track_editors() is parent.plugin_editors
    d.effects.setCurrentRow(0)
    d.edit_effect.click()
    assert d.sound_note.text().startswith("Plugin editor: ") and "urn:nope:gone" in (
        d.sound_note.text())  # fmt: skip
    assert "\n" not in d.sound_note.text()
    assert parent.plugin_editors.open_editors == {}
    d.reject()
