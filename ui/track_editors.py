"""Plugin editors opened from the track list: each gesture in the editor is one undoable
edit of the track's stored plugin state (``Track.extra``, saved in the project).

The editor works on a private instance of the plugin, loaded with the track's stored state
(the engine's instance stays the audio thread's alone). What the user turns is collected
until the controls rest for :data:`GESTURE_REST_MS` (a knob drag is one gesture, not a
hundred), then pushed as one :class:`~ui.track_list.TrackExtraCommand`; the engine link
applies a parameter-only change to the playing instances without restarting audio, so it is
heard at once. Undo/redo (or any other change of the track) is shown back in the editor.

On an X11 desktop (Qt on xcb) plugins show their own editor in a child process: an LV2 UI
through :mod:`ui.lv2_editor_child`, a VST3 editor through :class:`engine.plugins.VST3Editor`
(the state blob crosses both ways; a state change that moves no parameter is not an undo
step). A UI that crashes or hangs is reported in one line and replaced by the generic
sliders, and Quanta keeps running. Elsewhere, and for other formats, the generic sliders.
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
        from ui.plugin_loading import load_plugin

        self.doc, self.index, self.slot = doc, index, slot
        entry = _entry(doc.song.tracks[index], slot)
        if entry is None:
            raise QuantaError("this track has no plugin there")
        kind = "instrument" if slot == "instrument" else "effect"
        self.plugin = load_plugin(dict(entry, kind=kind), 48000, 256)
        self.name = entry.get("name") or self.plugin.info.name
        self.pending: dict[str, float] = {}
        self.raw_changed = False  # a VST3 editor sent a new state blob
        self.failure = ""
        self.on_failure = None  # called with the one-line reason when the UI process fails
        self.rest = QTimer(self)
        self.rest.setSingleShot(True)
        self.rest.setInterval(GESTURE_REST_MS)
        self.rest.timeout.connect(self.commit)
        #: the state the editor opened with: what a stored state that lacks a part means
        self.base_state = self.plugin.get_state()
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
        vst3 = getattr(self.plugin, "plugin", None)  # the pedalboard object of a VST3 effect
        if self.plugin.info.format == "vst3" and vst3 is not None and (
            QGuiApplication.platformName() == "xcb"
        ):
            window = VST3Window(self.name, self.plugin.info.ident, vst3.raw_state, self)
            window.stateChanged.connect(self._vst3_state)
            window.failed.connect(self._ui_failed)
            return window
        return GenericEditor(self.plugin, on_change=self._changed)

    def _vst3_state(self, raw: bytes) -> None:
        """The VST3 editor's state changed: take it, and the parameter values it implies."""
        import base64

        before = {p.ident: p.value for p in self.plugin.parameters()}
        self.plugin.set_state({"raw_state": base64.b64encode(raw).decode()})
        changed = {p.ident: float(p.value) for p in self.plugin.parameters()
                   if before.get(p.ident) != p.value}  # fmt: skip
        if not changed:
            return  # the echo of a state we gave it (undo), or nothing a user can hear
        self.raw_changed = True
        self.pending.update(changed)
        self.rest.start()

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

        if not self.pending and not self.raw_changed:
            return
        track = self.doc.song.tracks[self.index]
        entry = _entry(track, self.slot)
        if entry is None:
            return
        names = {p.ident: p.name for p in self.plugin.parameters()}
        changed, self.pending = self.pending, {}
        new = copy.deepcopy(entry)
        if self.raw_changed:  # a VST3: its whole state (blob and parameters) is the truth
            self.raw_changed = False
            new["state"] = self.plugin.get_state()
        else:
            new.setdefault("state", {}).setdefault("parameters", {}).update(changed)
        what = ", ".join(names.get(k, k) for k in changed) or "state"
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
        state = entry.get("state") or {}
        if isinstance(self.window, VST3Window):
            self.window.show_state(self.plugin, {**self.base_state, **state})
            return
        stored = state.get("parameters", {})
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


class VST3Window(QObject):
    """A VST3 plugin's own editor in a child process (engine.plugins.VST3Editor), as a
    window-like object: ``stateChanged(bytes)`` when the user changed something, ``failed``
    with one line if the editor process dies."""

    stateChanged = Signal(bytes)
    failed = Signal(str)
    closed = Signal()

    def __init__(self, name: str, path: str, raw: bytes, parent=None):
        super().__init__(parent)
        from engine.plugins import VST3Editor

        self.name = name
        self.editor = VST3Editor(path, raw)
        self.sliders: dict = {}
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._poll)
        self._timer.start(50)

    def _poll(self) -> None:
        state = self.editor.poll()
        if state is not None:
            self.stateChanged.emit(state)
        if self.editor.closed:
            self._timer.stop()
            if self.editor.error:
                self.failed.emit(f"{self.editor.error}; showing the generic sliders")
            self.closed.emit()

    def show_state(self, plugin, state: dict) -> None:
        """Undo/redo: give the editor the stored state (the blob if there is one)."""
        import base64

        plugin.set_state(state)
        raw = state.get("raw_state")
        self.editor.push_state(base64.b64decode(raw) if raw else plugin.plugin.raw_state)

    def show_value(self, ident: str, value: float) -> None:
        pass  # VST3 values travel as the whole state (show_state)

    def show(self) -> None:
        pass

    def raise_(self) -> None:
        pass

    def close(self) -> None:
        if not self.editor.closed:
            self._timer.stop()
            self.editor.close()
            self.closed.emit()


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

    # -- presets (LV2 through lilv; VST3 programs and .vstpreset files) -------------------
    def _instance(self, index: int, slot):
        from engine.plugins import has_presets
        from ui.plugin_loading import load_plugin

        entry = _entry(self.doc.song.tracks[index], slot)
        if entry is None or not has_presets(entry.get("format", "")):
            return None, None
        kind = "instrument" if slot == "instrument" else "effect"
        return entry, load_plugin(dict(entry, kind=kind), 48000, 256)

    def presets(self, index: int, slot="instrument") -> list[tuple[str, str]]:
        """``(label, ident)`` of the presets of the track's plugin ([] if none): LV2 presets,
        VST3 factory programs and ``.vstpreset`` files."""
        from app.paths import vst3_preset_dir
        from engine.plugins import list_plugin_presets

        entry, plugin = self._instance(index, slot)
        if plugin is None:
            return []
        try:
            return list_plugin_presets(plugin, vst3_preset_dir())
        finally:
            plugin.close()

    def apply_preset(self, index: int, slot, ident: str, label: str) -> None:
        """Load a preset into the track's plugin as one undoable edit (saved with the
        project, heard at once through the engine link; an open editor shows it)."""
        from app.paths import vst3_preset_dir
        from engine.plugins import load_plugin_preset
        from ui.track_list import TrackExtraCommand

        entry, plugin = self._instance(index, slot)
        if plugin is None:
            return
        new = copy.deepcopy(entry)
        try:
            before = plugin.get_state().get("parameters", {})
            load_plugin_preset(plugin, ident, vst3_preset_dir())
            state = plugin.get_state()
        except QuantaError as exc:
            self.message.emit(f"Preset: {exc}")
            return
        finally:
            plugin.close()
        if "raw_state" in state:  # a VST3: its whole state is the truth
            new["state"] = state
        else:  # LV2: the values the preset set (a value not stored is the default)
            params = new.setdefault("state", {}).setdefault("parameters", {})
            params.update({k: float(v) for k, v in state.get("parameters", {}).items()
                           if v != before.get(k) or k in params})  # fmt: skip
        track = self.doc.song.tracks[index]
        if slot == "instrument":
            key, value = "instrument", new
        else:
            key = "effects"
            value = copy.deepcopy(track.extra.get("effects") or [])
            value[slot] = new
        text = f"{entry.get('name') or plugin.info.name}: preset {label}"
        self.doc.push(TrackExtraCommand(self.doc, index, key, value, text))

    def save_preset(self, index: int, slot, label: str) -> str | None:
        """Save the track's plugin settings as a user preset (an LV2 preset bundle, or a
        VST3 ``.vstpreset`` in Quanta's user data folder); where it was written."""
        from app.paths import vst3_preset_dir
        from engine.plugins import save_plugin_preset

        entry, plugin = self._instance(index, slot)
        if plugin is None:
            return None
        try:
            path = save_plugin_preset(plugin, label, vst3_preset_dir())
        except QuantaError as exc:
            self.message.emit(f"Preset: {exc}")
            return None
        finally:
            plugin.close()
        self.message.emit(f"Saved preset {label!r} ({path})")
        return path

    def add_preset_actions(self, index: int, menu) -> None:
        """Add a "Presets" submenu per plugin of the track that has presets (LV2, VST3)."""
        from engine.plugins import has_presets

        track = self.doc.song.tracks[index]
        slots = ["instrument"] + list(range(len(track.extra.get("effects") or [])))
        for slot in slots:
            entry = _entry(track, slot)
            if entry is None or not has_presets(entry.get("format", "")):
                continue
            name = entry.get("name") or entry.get("ident")
            sub = menu.addMenu(f"Presets: {name}")
            try:
                presets = self.presets(index, slot)
            except QuantaError as exc:
                sub.addAction(str(exc)).setEnabled(False)
                continue
            for label, uri in presets:
                sub.addAction(label, lambda s=slot, u=uri, lb=label: self.apply_preset(
                    index, s, u, lb))  # fmt: skip
            sub.addSeparator()
            sub.addAction("Save current as preset…", lambda s=slot: self._ask_preset(index, s))

    def _ask_preset(self, index: int, slot) -> None:
        from PySide6.QtWidgets import QInputDialog

        label, ok = QInputDialog.getText(None, "Save preset", "Preset name:")
        if ok and label.strip():
            self.save_preset(index, slot, label.strip())

    def _forget(self, key) -> None:
        ed = self.open_editors.pop(key, None)
        if ed is not None:
            ed.rest.stop()
            ed.commit()

    def close_all(self) -> None:
        for ed in list(self.open_editors.values()):
            ed.close()
        self.open_editors.clear()
