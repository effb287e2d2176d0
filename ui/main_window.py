"""Quanta's main window: track list, piano roll, quantize panel, transport and status.

The window is the composition point of the UI: it owns the :class:`SongDocument` (the song,
its undo stack and selection), hands it to every view, and owns the :class:`EngineLink`
through which the engine hears about edits and the transport reads the engine's state.

The window is assembled from its layout and behaviour here, its menus and actions
(:mod:`ui.window_menus`) and its file operations: open, save, export, recent files and crash
recovery (:mod:`ui.window_files`). Work is never lost: closing or opening with unsaved
changes asks first, and an :class:`Autosaver` keeps a recovery file.

Errors a user can cause (a broken file, a missing port) are shown as one line in a
non-blocking message box and the status bar; the song on screen is left as it was.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QMainWindow,
    QMessageBox,
    QWidget,
)

from engine.build import add_meta
from engine.demo import demo_song
from engine.errors import QuantaError
from engine.model import META_TEMPO
from ui.autosave import Autosaver, RecoveryStore
from ui.commands import AddTracksCommand, SetTempoCommand
from ui.engine_link import EngineLink
from ui.song_document import SongDocument
from ui.status import StatusPanel
from ui.track_list import DEFAULT_WIDTH as TRACK_LIST_WIDTH
from ui.track_list import MIN_WIDTH as TRACK_LIST_MIN
from ui.track_list import TrackList
from ui.transport_bar import TransportBar
from ui.window_files import (
    APP_NAME,
    FileOperations,
)
from ui.window_menus import MenuActions

KEY_GEOMETRY = "window/geometry"
KEY_STATE = "window/state"
KEY_AUTOSAVE_S = "files/autosave_seconds"
AUDITION_MS = 300  #: an auditioned note sounds this long, or until the mouse is released


class MainWindow(MenuActions, FileOperations, QMainWindow):
    """The Quanta window. ``engine=False`` runs without an engine (tests of files only)."""

    #: A one-line error was shown to the user (for tests and logs).
    errorShown = Signal(str)

    def __init__(
        self,
        document: SongDocument | None = None,
        *,
        settings: QSettings | None = None,
        engine=None,
        recovery: RecoveryStore | None = None,
        autosave_seconds: float | None = None,
        start_engine: bool = True,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.settings = settings if settings is not None else QSettings()
        self.doc = document if document is not None else SongDocument(demo_song())
        self.doc.setParent(self)
        self.last_error = ""
        self._message_box: QMessageBox | None = None
        self._shown_once = False
        self._pending_view: dict | None = None  # a project's saved view, shown once laid out
        self._auditioning: tuple[int, int] | None = None  # (track, pitch) sounding on audition
        self._audition_off = QTimer(self)
        self._audition_off.setSingleShot(True)
        self._audition_off.setTimerType(Qt.PreciseTimer)  # coarse timers fire up to 5 % early
        self._audition_off.setInterval(AUDITION_MS)
        self._audition_off.timeout.connect(self._end_audition)
        #: What the title calls a song that has no file yet ("Demo Song", "Untitled"...).
        self.untitled_name = "Demo Song" if document is None else "Untitled"
        self.setWindowTitle(APP_NAME)
        self.setAcceptDrops(True)
        self.setDockNestingEnabled(True)
        self.resize(1280, 800)

        self.transport = TransportBar(self)
        self.addToolBar(Qt.TopToolBarArea, self.transport)
        self.status = StatusPanel(self)
        self.setStatusBar(self.status)
        self.track_list = TrackList(self.doc)
        self.tracks_dock = self._add_dock(
            "Tracks", self.track_list, Qt.LeftDockWidgetArea, "tracks_dock"
        )
        self.piano_roll = self._make_piano_roll()
        self.setCentralWidget(self.piano_roll)
        self.quantize_panel = self._make_quantize_panel()

        self.link = EngineLink(self.doc, engine if engine not in (None, False) else None, self)
        self.recovery = recovery if recovery is not None else RecoveryStore()
        seconds = autosave_seconds or float(self.settings.value(KEY_AUTOSAVE_S, 30))
        self.autosaver = Autosaver(self.doc, self.recovery, self.current_project, seconds, self)
        self.autosaver.failed.connect(lambda m: self.status.showMessage(m, 8000))

        self.apply_undo_limit()
        self._build_actions()
        self._connect()
        self._song_replaced()
        self._restore_layout()
        if start_engine and engine is not False:
            self.start_engine()

    # == construction ======================================================================
    def _add_dock(self, title: str, widget: QWidget, area, name: str) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetFloatable)
        self.addDockWidget(area, dock)
        return dock

    def _make_piano_roll(self) -> QWidget:
        try:
            from ui.pianoroll import PianoRoll
        except ImportError as exc:  # the piano roll is another module; say so, do not crash
            label = QLabel(f"Piano roll unavailable: {exc}")
            label.setAlignment(Qt.AlignCenter)
            return label
        roll = PianoRoll(self.doc)
        roll.setObjectName("piano_roll")
        return roll

    def _make_quantize_panel(self) -> QWidget | None:
        try:
            from ui.quantize_panel import QuantizePanel
        except ImportError:
            return None
        preview = getattr(self.piano_roll, "preview", None)
        try:
            panel = QuantizePanel(self.doc, preview=preview)
        except TypeError:
            panel = QuantizePanel(self.doc)
        panel.setObjectName("quantize_panel")
        self.quantize_dock = self._add_dock(
            "Quantize", panel, Qt.RightDockWidgetArea, "quantize_dock"
        )
        return panel


    def _connect(self) -> None:
        d = self.doc
        d.songReplaced.connect(self._song_replaced)
        d.modifiedChanged.connect(lambda _m: self._update_title())
        d.pathChanged.connect(lambda _p: self._update_title())
        d.trackChanged.connect(self._track_changed)
        d.loopChanged.connect(self._loop_changed)
        d.editSettingsChanged.connect(self._live_settings_changed)
        tb = self.transport
        tb.playToggled.connect(self.toggle_play)
        tb.stopRequested.connect(self.stop)
        tb.rewindRequested.connect(self.rewind)
        tb.recordToggled.connect(self.set_recording)
        tb.loopToggled.connect(self.set_loop_enabled)
        tb.metronomeToggled.connect(self.link.set_metronome)
        tb.tempoEdited.connect(self.set_tempo)
        self.link.stateChanged.connect(self._engine_state)
        self.link.message.connect(lambda m: self.status.showMessage(m, 8000))
        self.link.takesRecorded.connect(self._takes)
        self.track_list.instrumentRequested.connect(self.open_settings)
        from ui.track_editors import TrackEditors

        self.plugin_editors = TrackEditors(self.doc, self)
        self.plugin_editors.message.connect(lambda m: self.status.showMessage(m, 8000))
        self.track_list.editorRequested.connect(self.plugin_editors.open_safely)
        self.track_list.effectEditorRequested.connect(self.plugin_editors.open_safely)
        self.track_list.plugin_menus = self.plugin_editors.add_preset_actions
        roll = self.piano_roll
        if hasattr(roll, "locate"):
            roll.locate.connect(self.locate)
        if hasattr(roll, "quantizeRequested"):
            roll.quantizeRequested.connect(self.quantize)
        if hasattr(roll, "audition"):
            roll.audition.connect(self.audition)
        ruler = getattr(roll, "ruler", None)
        if ruler is not None and hasattr(ruler, "loopDragged"):
            ruler.loopDragged.connect(self._loop_dragged)
            ruler.loopDragEnded.connect(self._loop_changed)  # back to the document's range
        self._lateness_timer = QTimer(self)
        self._lateness_timer.setInterval(500)
        self._lateness_timer.timeout.connect(self._refresh_status)
        self._lateness_timer.start()

    # == engine ============================================================================
    def start_engine(self) -> bool:
        if not self.link.start():
            self.status.set_engine_error(f"not running ({self.link.error})")
            return False
        s = self.settings
        out = str(s.value("midi/output", "") or "")
        inp = str(s.value("midi/input", "") or "")
        if out or inp:
            self.link.open_ports([out] if out else [], inp or None, s.value("midi/api", "jack"))
            for err in self.link.port_errors:
                self.status.showMessage(err, 10000)
        self._start_audio()
        self._refresh_status()
        return True

    def _start_audio(self) -> None:
        """Sound through the audio device (Settings → Audio), unless turned off there."""
        s = self.settings
        if str(s.value("audio/enabled", "true")).lower() in ("false", "0", "no"):
            return
        self.link.start_audio(
            str(s.value("audio/device", "") or "") or None,
            int(s.value("audio/rate", 48000)),
            int(s.value("audio/block_size", 256)),
        )
        if self.link.audio_error:
            self.status.showMessage(self.link.audio_error, 10000)

    def _status_snapshot(self) -> dict | None:
        state = self.link.state()
        if state is None:
            return None
        p50, p99, mx, n = self.link.lateness_ms()
        return {
            "playing": state.playing,
            "recording": state.recording,
            "lateness_ms": p99 if n else None,
            "outputs": list(self.link.output_labels),
            "inputs": [self.link.input_label] if self.link.input else [],
            "audio_device": self.link.audio_device,
            "sample_rate": self.link.audio.sample_rate if self.link.audio else None,
            "block_size": self.link.audio.block_size if self.link.audio else None,
            "plugin_latency_ms": self.link.audio.plugin_latency * 1000 if self.link.audio else 0,
            "audio_mode": self.link.audio.mode if self.link.audio else None,
            "underruns": self.link.underruns,
        }

    def _refresh_status(self) -> None:
        if self.link.running:
            self.status.show_state(self._status_snapshot())

    def _engine_state(self, state) -> None:
        # A position the engine could not compute (a hostile tempo map) keeps the last one.
        tick = int(state.tick) if math.isfinite(state.tick) else self._playhead
        self.transport.set_position(tick)
        self.transport.set_playing(bool(state.playing))
        self.transport.set_recording(bool(state.recording))
        if hasattr(self.piano_roll, "set_playhead") and (state.playing or tick != self._playhead):
            self.piano_roll.set_playhead(tick)
        self._playhead = tick

    def toggle_play(self) -> None:
        """Space: play from the position, or stop (keeping the position, as in Logic)."""
        if not self.link.running:
            self.status.showMessage(f"The engine is not running ({self.link.error})", 6000)
            self.transport.set_playing(False)
            return
        state = self.link.state()
        if state is not None and state.playing:
            self.link.stop()
        else:
            self.link.play()
        self.link.poll()

    def stop(self) -> None:
        self.link.stop()
        if self.transport.record.isChecked():
            self.transport.record.setChecked(False)

    def rewind(self) -> None:
        self.locate(0)

    def locate(self, tick: int) -> None:
        self.link.locate(tick)
        self.transport.set_position(int(tick))
        if hasattr(self.piano_roll, "set_playhead"):
            self.piano_roll.set_playhead(int(tick))

    def set_recording(self, on: bool) -> None:
        """Arm recording with the live quantize settings (the panel's); R or the ● button."""
        self.link.arm_record(on, self.doc.edit_settings if on else None)
        # What is played in while armed is corrected live (causally) with the same settings.
        self.link.set_live_quantize(self.doc.edit_settings if on else None)
        state = self.link.state()
        if on and state is not None and not state.playing:
            self.link.play()

    def _live_settings_changed(self) -> None:
        """A groove chosen or an amount moved while armed: live correction follows at once."""
        if self.transport.record.isChecked():
            self.link.set_live_quantize(self.doc.edit_settings)

    @property
    def loop(self) -> tuple[int, int] | None:
        """The song's loop range (held by the document: saved, undoable)."""
        return self.doc.loop

    def set_loop_enabled(self, on: bool) -> None:
        """L or the loop button: loop the range set in the ruler (the whole song, rounded up
        to a bar, when none was set)."""
        if on and self.doc.loop is None:
            self.doc.set_loop(self._default_loop())
        self.link.set_loop(self.doc.loop if on else None)
        if hasattr(self.piano_roll, "set_loop_enabled"):
            self.piano_roll.set_loop_enabled(on)

    def _loop_changed(self) -> None:
        """A new range from the ruler (or undo): the engine loops it at once if looping is on;
        undoing the only range there was turns looping off."""
        if not self.transport.loop.isChecked():
            return
        if self.doc.loop is None:
            self.transport.loop.setChecked(False)
        else:
            self.link.set_loop(self.doc.loop)

    def _loop_dragged(self, start: int, end: int) -> None:
        """While the loop is dragged in the ruler with looping on, the engine loops the range
        under the pointer, so playing follows the drag; the release makes it an edit (or, with
        nothing chosen, hands back the document's range)."""
        if self.transport.loop.isChecked():
            self.link.set_loop((start, end))

    def _default_loop(self) -> tuple[int, int]:
        """The whole song, rounded up to a whole bar."""
        from ui.pianoroll.bars import BarGrid  # closed form: no walk over every bar

        end = max(1, self.doc.song.length_ticks())
        bars = BarGrid.build(self.doc.song.time_signatures())
        stop = end if bars.at_or_before(end) == end else bars.after(end)
        return (0, max(stop, 1))

    def _panic(self) -> None:
        if self.link.engine is not None:
            self.link.engine.panic()

    def set_tempo(self, bpm: float) -> None:
        self.doc.push(SetTempoCommand(self.doc, self.transport._tick, bpm))

    def _track_changed(self, index: int) -> None:
        tr = self.doc.song.tracks[index] if index < len(self.doc.song.tracks) else None
        if tr is not None and tr.meta_events(META_TEMPO):
            self.transport.set_song(self.doc.song)

    def _takes(self, tracks: list) -> None:
        n = len(tracks)
        for k, t in enumerate(tracks):
            if not t.name:
                add_meta(t, 0, 0x03, f"Take {len(self.doc.song.tracks) + k}".encode())
        self.doc.push(AddTracksCommand(self.doc, tracks, f"Record {n} take{'s' * (n != 1)}"))

    # == audition ==========================================================================
    def audition(self, pitch: int, velocity: int) -> None:
        """Play ``pitch`` on the current track's outputs (its instrument and MIDI out), as a
        short note: note-off on mouse release (velocity 0) or after AUDITION_MS, whichever
        comes first. A new audition ends the previous one."""
        if velocity <= 0:
            if self._auditioning is not None and self._auditioning[1] == pitch:
                self._end_audition()
            return
        self._end_audition()
        track = self.doc.current_index
        if self.link.audition(track, pitch, velocity):
            self._auditioning = (track, pitch)
            self._audition_off.start()

    def _end_audition(self) -> None:
        self._audition_off.stop()
        sounding, self._auditioning = self._auditioning, None
        if sounding is not None:
            self.link.audition(sounding[0], sounding[1], 0)

    # == editing ===========================================================================
    def quantize(self) -> None:
        """Q: the panel's Apply (selection, else whole track), one undo step."""
        panel = self.quantize_panel
        if panel is not None and hasattr(panel, "apply"):
            panel.apply()
            return
        from ui.commands import quantize_apply

        i = self.doc.current_index
        if i < 0:
            return
        ids = self.doc.selection if self.doc.selection.size else None
        try:
            self.doc.push(quantize_apply(self.doc, i, self.doc.edit_settings, ids))
        except QuantaError as exc:
            self.show_error(str(exc))


    def dragEnterEvent(self, event) -> None:
        if self._dropped_file(event.mimeData()) or self._dropped_grooves(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:
        path = self._dropped_file(event.mimeData())
        if path:
            event.acceptProposedAction()
            QTimer.singleShot(0, lambda: self.open_path(path))  # not inside the drop handler
            return
        grooves = self._dropped_grooves(event.mimeData())
        if grooves:
            event.acceptProposedAction()
            QTimer.singleShot(0, lambda: self.import_grooves(grooves))

    def _dropped_grooves(self, mime) -> list[str]:
        """Groove files (.agr/.rgt/.json that are not projects) among dropped local files."""
        from ui.groove_pool import is_groove_file

        if self.quantize_panel is None or not mime.hasUrls():
            return []
        return [
            u.toLocalFile() for u in mime.urls() if u.isLocalFile() and is_groove_file(u.toLocalFile())
        ]

    def import_grooves(self, paths: list[str]) -> int:
        """Import dropped groove files into the pool; a bad one is one line (message box and
        status bar) and adds nothing. Returns how many were imported."""
        pool = self.quantize_panel.groove_pool
        done, names = 0, []
        for path in paths:
            template = pool.import_file(path)
            if template is None:
                self.show_error(pool.last_error or f"{path}: not imported")
                continue
            done += 1
            names.append(template.name)
        if names:
            self.status.showMessage(
                "Imported groove " + ", ".join(f"“{n}”" for n in names), 8000
            )
        return done


    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._shown_once:
            self._shown_once = True
            if not self._layout_restored:  # first start: the roll gets the room
                width = max(TRACK_LIST_MIN, min(TRACK_LIST_WIDTH, round(self.width() * 0.2)))
                self.resizeDocks([self.tracks_dock], [width], Qt.Horizontal)
            if hasattr(self.piano_roll, "zoom_to_fit"):
                QTimer.singleShot(0, self._first_view)  # after the layout settled
            self.piano_roll.setFocus()

    def _first_view(self) -> None:
        view, self._pending_view = self._pending_view, None
        if not self.restore_view(view):
            self.piano_roll.zoom_to_fit()

    def closeEvent(self, event) -> None:
        if not self.confirm_discard("closing"):
            event.ignore()
            return
        self.settings.setValue(KEY_GEOMETRY, self.saveGeometry())
        self.settings.setValue(KEY_STATE, self.saveState())
        self.settings.sync()
        self._end_audition()
        self.link.shutdown()
        self.autosaver.shutdown()
        event.accept()

    def _restore_layout(self) -> None:
        geo = self.settings.value(KEY_GEOMETRY)
        if isinstance(geo, QByteArray):
            self.restoreGeometry(geo)
        state = self.settings.value(KEY_STATE)
        # Dock sizes and places as the user left them; the defaults only on first start.
        self._layout_restored = isinstance(state, QByteArray) and self.restoreState(state)

    # == view state ========================================================================
    def _song_replaced(self) -> None:
        self._playhead = 0
        self.transport.set_song(self.doc.song)
        self.transport.set_position(0, force=True)
        self._update_title()

    def _update_title(self) -> None:
        name = self.doc.path.name if self.doc.path else self.untitled_name
        self.setWindowTitle(f"{name}{' •' if self.doc.is_modified else ''} — {APP_NAME}")

    def show_error(self, message: str) -> None:
        """One line, non-blocking (the box is window-modal but does not stop the event loop)."""
        self.last_error = message
        self.status.showMessage(message, 10000)
        box = QMessageBox(QMessageBox.Warning, APP_NAME, message, QMessageBox.Ok, self)
        box.setObjectName("error_box")
        box.open()
        self._message_box = box
        self.errorShown.emit(message)

    def open_settings(self, track_index: int | None = None) -> None:
        from ui.settings_dialog import SettingsDialog

        dialog = SettingsDialog(self.settings, self.doc, track_index, self)
        if dialog.exec():
            self.apply_undo_limit()
            self.apply_device_settings()

    def apply_undo_limit(self) -> None:
        """Settings → Editing → Undo steps (at start, and after the dialog's OK)."""
        from ui.settings_dialog import undo_limit

        steps = undo_limit(self.settings)
        if steps != self.doc.undo_limit and not self.doc.set_undo_limit(steps):
            self.status.showMessage(
                f"Undo steps: {steps or 'unlimited'} from the next song opened or started", 8000
            )

    def apply_device_settings(self) -> None:
        """Reopen ports and the audio device from the saved settings (after Settings → OK)."""
        if not self.link.running:
            return
        s = self.settings
        out = str(s.value("midi/output", "") or "")
        inp = str(s.value("midi/input", "") or "")
        self.link.open_ports([out] if out else [], inp or None, s.value("midi/api", "jack"))
        if not inp:
            self.link.set_input(None)
        for err in self.link.port_errors:
            self.status.showMessage(err, 10000)
        self.link.close_audio()
        self._start_audio()
        self._refresh_status()
