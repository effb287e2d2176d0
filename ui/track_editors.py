"""Plugin editors opened from the track list: each gesture in the editor is one undoable
edit of the track's stored plugin state (``Track.extra``, saved in the project).

The editor works on a private instance of the plugin, loaded with the track's stored state
(the engine's instance stays the audio thread's alone). What the user turns is collected
until the controls rest for :data:`GESTURE_REST_MS` (a knob drag is one gesture, not a
hundred), then pushed as one :class:`~ui.track_list.TrackExtraCommand`; the engine link
applies a parameter-only change to the playing instances without restarting audio, so it is
heard at once. Undo/redo (or any other change of the track) is shown back in the editor.

LV2 plugins show their own X11 UI when Qt runs on xcb, in a child process
(:mod:`ui.lv2_editor_child`): a UI that crashes or hangs is reported in one line and replaced
by the generic sliders, and Quanta keeps running. Otherwise, and for VST3 and the other
formats, the generic sliders (``quanta plugins ui`` opens a VST3 plugin's own editor, in a
child process).
"""

from __future__ import annotations

import copy

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QWidget

from engine.errors import QuantaError

GESTURE_REST_MS = 350


def _entry(track, slot) -> dict | None:
    if slot == "instrument":
        e = track.extra.get("instrument")
    else:
        fx = track.extra.get("effects") or []
        e = fx[slot] if 0 <= slot < len(fx) else None
    return e if isinstance(e, dict) and e.get("format") else None


class TrackEditor(QObject):
    """One open editor for one plugin of one track (``slot``: "instrument" or an effect's
    index)."""

    def __init__(self, doc, index: int, slot, parent: QWidget | None = None):
        super().__init__(parent)
        from ui.settings_dialog import load_plugin

        self.doc, self.index, self.slot = doc, index, slot
        entry = _entry(doc.song.tracks[index], slot)
        if entry is None:
            raise QuantaError("this track has no plugin there")
        kind = "instrument" if slot == "instrument" else "effect"
        self.plugin = load_plugin(dict(entry, kind=kind), 48000, 256)
        self.name = entry.get("name") or self.plugin.info.name
        self.pending: dict[str, float] = {}
        self.failure = ""
        self.on_failure = None  # called with the one-line reason when the UI process fails
        self.rest = QTimer(self)
        self.rest.setSingleShot(True)
        self.rest.setInterval(GESTURE_REST_MS)
        self.rest.timeout.connect(self.commit)
        self.window = self._open_window()
        doc.trackChanged.connect(self._track_changed)

    def _open_window(self) -> QWidget:
        from PySide6.QtGui import QGuiApplication

        from ui.plugin_editor import GenericEditor

        if self.plugin.info.format == "lv2" and QGuiApplication.platformName() == "xcb":
            from engine.plugins import choose_ui
            from engine.plugins import discover as discover_lv2
            from ui.lv2_editor_child import ChildLV2Editor

            desc = discover_lv2().plugins.get(self.plugin.info.ident)
            try:
                choose_ui(desc or {})  # says at once why there is none, without a child
            except QuantaError as exc:
                return GenericEditor(self.plugin, note=str(exc), on_change=self._changed)
            values = {p.ident: p.value for p in self.plugin.parameters()}
            editor = ChildLV2Editor(self.name, self.plugin.info.ident, values, self)
            editor.changed.connect(self._changed)
            editor.failed.connect(self._ui_failed)
            return editor
        return GenericEditor(self.plugin, on_change=self._changed)

    def _ui_failed(self, why: str) -> None:
        """The plugin's UI process died, hung or could not show it: one line, and sliders."""
        from ui.plugin_editor import GenericEditor

        self.failure = why
        self.window = GenericEditor(self.plugin, note=why, on_change=self._changed)
        self.window.show()
        if self.on_failure is not None:
            self.on_failure(why)

    # -- gestures ----------------------------------------------------------------------------
    def _changed(self, ident: str, value: float) -> None:
        """A value the user set in the editor: taken now, committed when the hand rests."""
        self.pending[ident] = float(value)
        link = getattr(self.plugin, "_link", None)
        if link is not None:  # the private instance has no audio thread: apply here
            link.apply(self.plugin.core.controls)
        self.rest.start()

    def commit(self) -> None:
        """Push what the last gesture changed as one undoable edit of the track."""
        from ui.track_list import TrackExtraCommand

        if not self.pending:
            return
        track = self.doc.song.tracks[self.index]
        entry = _entry(track, self.slot)
        if entry is None:
            return
        names = {p.ident: p.name for p in self.plugin.parameters()}
        changed, self.pending = self.pending, {}
        new = copy.deepcopy(entry)
        new.setdefault("state", {}).setdefault("parameters", {}).update(changed)
        what = ", ".join(names.get(k, k) for k in changed)
        if self.slot == "instrument":
            key, value = "instrument", new
        else:
            key = "effects"
            value = copy.deepcopy(track.extra.get("effects") or [])
            value[self.slot] = new
        self.doc.push(TrackExtraCommand(self.doc, self.index, key, value, f"{self.name}: {what}"))

    def _track_changed(self, index: int) -> None:
        """Undo, redo or another window changed the track: show its values."""
        if index != self.index or self.pending:
            return
        entry = _entry(self.doc.song.tracks[index], self.slot)
        if entry is None:
            self.close()
            return
        stored = (entry.get("state") or {}).get("parameters", {})
        for p in self.plugin.parameters():  # a value not stored is the plugin's default
            try:
                value = float(stored.get(p.ident, p.default))
                if float(p.value) != value:
                    self.plugin.set_parameter(p.ident, value)
                    self._show(p.ident, value)
            except (QuantaError, TypeError, ValueError):
                continue

    def _show(self, ident: str, value: float) -> None:
        self.window.show_value(ident, value)

    def close(self) -> None:
        self.rest.stop()
        self.commit()
        try:
            self.doc.trackChanged.disconnect(self._track_changed)
        except (RuntimeError, TypeError):
            pass
        self.window.close()
        self.plugin.close()


class TrackEditors(QObject):
    """The open editors of the window, one per (track, slot) at most."""

    #: one line for the status bar when an editor cannot open
    message = Signal(str)

    def __init__(self, doc, parent: QWidget | None = None):
        super().__init__(parent)
        self.doc = doc
        self.open_editors: dict[tuple, TrackEditor] = {}
        doc.songReplaced.connect(self.close_all)

    def open(self, index: int, slot="instrument") -> TrackEditor:
        key = (index, slot)
        ed = self.open_editors.get(key)
        if ed is None:
            ed = TrackEditor(self.doc, index, slot)

            def failed(why: str, ed=ed) -> None:
                self.message.emit(why)
                ed.window.closed.connect(lambda: self._forget(key))

            ed.on_failure = failed
            self.open_editors[key] = ed
            ed.window.destroyed.connect(lambda *_: self.open_editors.pop(key, None))
            closed = getattr(ed.window, "closed", None)
            if closed is not None:
                closed.connect(lambda: self._forget(key))
        ed.window.show()
        ed.window.raise_()
        return ed

    def open_safely(self, index: int, slot="instrument") -> TrackEditor | None:
        """:meth:`open`, with a failure said in one line (``message``) instead of raised."""
        try:
            return self.open(index, slot)
        except QuantaError as exc:
            self.message.emit(f"Plugin editor: {exc}")
            return None

    def _forget(self, key) -> None:
        ed = self.open_editors.pop(key, None)
        if ed is not None:
            ed.rest.stop()
            ed.commit()

    def close_all(self) -> None:
        for ed in list(self.open_editors.values()):
            ed.close()
        self.open_editors.clear()
