"""The main window's menus and actions (File, Edit, Transport, Settings, View).

Every action is also added to the window so its shortcut works while the menu bar is hidden.
Part of :class:`ui.main_window.MainWindow`.
"""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence

from ui.view_options import other_tracks_action


class MenuActions:
    """The :class:`~ui.main_window.MainWindow`'s menus (a mixin: it shares the window's
    attributes)."""

    def _action(self, menu, text: str, slot, shortcut=None, tip: str = "") -> QAction:
        act = QAction(text, self)
        if shortcut is not None:
            act.setShortcut(QKeySequence(shortcut))
        if tip:
            act.setStatusTip(tip)
            act.setToolTip(tip)
        act.triggered.connect(lambda *_: slot())
        menu.addAction(act)
        self.addAction(act)  # shortcuts work while the menu bar is hidden (offscreen, tests)
        return act

    def _build_actions(self) -> None:
        bar = self.menuBar()
        f = bar.addMenu("&File")
        self._action(f, "&New", self.new_song, QKeySequence.New, "Start an empty song")
        self._action(f, "Open &Demo Song", self.open_demo, None, "The built-in humanized loop")
        self._action(f, "&Open…", self.open_dialog, QKeySequence.Open, "Open MIDI or project")
        self.recent_menu = f.addMenu("Open &Recent")
        f.addSeparator()
        self._action(f, "&Save", self.save, QKeySequence.Save, "Save the Quanta project")
        self._action(f, "Save &As…", self.save_as, QKeySequence.SaveAs, "Save under a new name")
        f.addSeparator()
        self._action(f, "Export &MIDI (raw)…", lambda: self.export_midi(quantized=False))
        self._action(
            f,
            "Export MIDI (&quantized as played)…",
            lambda: self.export_midi(quantized=True),
            None,
            "Export with each track's playback quantize applied",
        )
        self._action(f, "Export &Audio…", self.export_audio, None, "Render the song to a file")
        f.addSeparator()
        self._action(f, "&Quit", self.close, QKeySequence.Quit)

        e = bar.addMenu("&Edit")
        self.undo_action = self.doc.undo_stack.createUndoAction(self, "&Undo")
        self.undo_action.setShortcut(QKeySequence.Undo)
        self.redo_action = self.doc.undo_stack.createRedoAction(self, "&Redo")
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        for act in (self.undo_action, self.redo_action):
            e.addAction(act)
            self.addAction(act)
        e.addSeparator()
        self._action(e, "Select &All (Ctrl+A in the roll)", self.doc.select_all)
        self._action(e, "&Quantize", self.quantize, "Q", "Quantize the selection or the track")

        t = bar.addMenu("&Transport")
        self.play_action = self._action(t, "&Play / Stop", self.toggle_play, "Space")
        self._action(t, "Go to &Start", self.rewind, "Home")
        self.record_action = self._action(t, "&Record", self.transport.record.toggle, "R")
        self._action(t, "&Loop", self.transport.loop.toggle, "L")
        self._action(t, "&Metronome", self.transport.metronome.toggle, "K")
        self._action(t, "Pa&nic (all notes off)", self._panic, None)

        s = bar.addMenu("&Settings")
        self._action(s, "&Preferences…", self.open_settings, QKeySequence.Preferences)

        v = bar.addMenu("&View")
        v.addAction(self.tracks_dock.toggleViewAction())
        if self.quantize_panel is not None:
            v.addAction(self.quantize_dock.toggleViewAction())
        self.other_tracks_action = other_tracks_action(self, self.settings, self.piano_roll)
        if self.other_tracks_action is not None:
            v.addSeparator()
            v.addAction(self.other_tracks_action)
            self.addAction(self.other_tracks_action)
        self._rebuild_recent()
