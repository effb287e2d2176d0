"""Quanta's main window: track list, piano roll, quantize panel, transport and status.

The window is the composition point of the UI: it owns the :class:`SongDocument` (the song,
its undo stack and selection), hands it to every view, and owns the :class:`EngineLink`
through which the engine hears about edits and the transport reads the engine's state.

Files: Open reads MIDI files and Quanta projects (menu, recent files, drag and drop); Save
writes a project atomically; Export writes MIDI (raw, or as played with each track's playback
quantize) or audio. Work is never lost: closing or opening with unsaved changes asks first,
and an :class:`Autosaver` keeps a recovery file that the next start offers after a crash.

Errors a user can cause (a broken file, a missing port) are shown as one line in a
non-blocking message box and the status bar; the song on screen is left as it was.
"""

from __future__ import annotations

import math
import weakref
from pathlib import Path

import numpy as np
from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence, QUndoCommand
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressDialog,
    QWidget,
)

from engine.build import add_meta, tempo_bytes
from engine.demo import demo_song
from engine.errors import QuantaError
from engine.notes import STATUS_META
from engine.project import Project, is_project_file, load_project, save_project
from engine.song import META_TEMPO, Song, Track
from ui.autosave import Autosaver, RecoveryFile, RecoveryStore
from ui.engine_link import EngineLink, track_sound, volume_db
from ui.song_document import SongDocument
from ui.status import StatusPanel
from ui.track_list import TrackList
from ui.transport_bar import TransportBar

APP_NAME = "Quanta"
MIDI_SUFFIXES = (".mid", ".midi", ".smf", ".kar", ".rmi")
OPEN_FILTER = (
    "MIDI files and Quanta projects (*.mid *.midi *.smf *.kar *.rmi *.quanta);;All files (*)"
)
PROJECT_FILTER = "Quanta project (*.quanta)"
MIDI_FILTER = "Standard MIDI file (*.mid)"
AUDIO_FILTER = "WAV audio (*.wav);;FLAC audio (*.flac)"
MAX_RECENT = 10
KEY_RECENT = "files/recent"
KEY_GEOMETRY = "window/geometry"
KEY_STATE = "window/state"
KEY_AUTOSAVE_S = "files/autosave_seconds"
AUDITION_MS = 300  #: an auditioned note sounds this long, or until the mouse is released
VIEW_STATE_VERSION = 1  #: of the ``view`` entry in a project's ``ui`` section


def openable(path: str | Path) -> bool:
    """Files Open and drag-and-drop accept: MIDI files and Quanta projects."""
    p = Path(path)
    return p.suffix.lower() in MIDI_SUFFIXES or is_project_file(p)


def read_file(path: str | Path) -> Project:
    """A project, or a MIDI file wrapped as one. Raises QuantaError with one line."""
    if is_project_file(path):
        return load_project(path)
    from engine.midifile import load_song

    return Project(song=load_song(path))


def quantized_song(song: Song) -> Song:
    """The song as it plays: every track's notes through its playback quantize (for export)."""
    from engine.schedule import playback_notes

    out = song.copy()
    for tr in out.tracks:
        if tr.quantize is not None and tr.notes.size:
            tr.notes = playback_notes(tr, song.ppq)
            tr.quantize = None
    return out


def _finite_number(value) -> bool:
    """A JSON number a view can use: not a bool, finite, and not an integer too large for a
    float (a hostile project's ``10**400`` must be ignored, not raise)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


def render_song_to_file(song: Song, path, sample_rate: int = 48000, progress=None) -> None:
    """Render ``song`` as it plays (instruments, volume, mute/solo from ``Track.extra``) to a
    WAV/FLAC file, atomically. Raises QuantaError with one line on a bad plugin or path."""
    from engine.atomic_write import atomic_output, save_error_text
    from engine.errors import DeviceError
    from engine.mixer import Mixer
    from engine.render import AudioWriter, render_song

    block = 1024

    def make_mixer(tracks: list[int]) -> Mixer:
        mixer = Mixer(sample_rate, block)
        for t in tracks:
            tr = song.tracks[t]
            instrument, effects = track_sound(tr, sample_rate, block)
            strip = mixer.add_track(tr.name or f"Track {t + 1}", instrument, effects)
            m = mixer.tracks[strip]
            m.volume_db = volume_db(tr)
            m.mute = bool(tr.extra.get("mute", False))
            m.solo = bool(tr.extra.get("solo", False))
        return mixer

    path = Path(path)
    try:
        with atomic_output(path, suffix=path.suffix) as tmp:
            with AudioWriter(tmp, sample_rate, name=path) as writer:  # streamed: stays small
                render_song(song, make_mixer, progress=progress, on_block=writer.write)
    except OSError as exc:
        raise DeviceError(save_error_text(path, exc)) from None


class AddTracksCommand(QUndoCommand):
    """Add recorded takes as new tracks (undo removes them)."""

    def __init__(self, doc: SongDocument, tracks: list[Track], text: str):
        super().__init__(text)
        self.doc = weakref.proxy(doc)  # no cycle through the undo stack (ui.commands)
        self.tracks = tracks
        self.at = len(doc.song.tracks)

    def redo(self) -> None:
        self.doc.song.tracks[self.at : self.at] = self.tracks
        for i in range(self.at, self.at + len(self.tracks)):
            self.doc.trackChanged.emit(i)
        self.doc.set_current_index(self.at)

    def undo(self) -> None:
        if self.doc.current_index >= self.at:
            self.doc.set_current_index(max(0, self.at - 1))
        del self.doc.song.tracks[self.at : self.at + len(self.tracks)]
        self.doc.songReplaced.emit()  # indices past the end are gone: views rebuild


class SetTempoCommand(QUndoCommand):
    """Change the tempo in effect at a tick (the tempo event there, or a new one at 0)."""

    def __init__(self, doc: SongDocument, tick: int, bpm: float):
        super().__init__(f"Set tempo to {bpm:g} BPM")
        self.doc = weakref.proxy(doc)  # no cycle through the undo stack (ui.commands)
        self.index, self.event = self._find(doc.song, tick)
        track = doc.song.tracks[self.index]
        self.old = (track.events.copy(), track.payload.copy(), track.end_tick)
        edited = track.copy()
        if self.event is None:
            add_meta(edited, 0, META_TEMPO, tempo_bytes(bpm))
        else:
            off = int(edited.events["offset"][self.event])
            edited.payload[off : off + 3] = np.frombuffer(tempo_bytes(bpm), dtype=np.uint8)
        self.new = (edited.events, edited.payload, edited.end_tick)

    @staticmethod
    def _find(song: Song, tick: int) -> tuple[int, int | None]:
        best = (0, None, -1)
        for i, tr in enumerate(song.tracks):
            ev = tr.events
            idx = np.flatnonzero(
                (ev["status"] == STATUS_META)
                & (ev["data1"] == META_TEMPO)
                & (ev["length"] == 3)
                & (ev["tick"] <= tick)
            )
            for j in idx:
                if int(ev["tick"][j]) >= best[2]:
                    best = (i, int(j), int(ev["tick"][j]))
        return best[0], best[1]

    def _install(self, state) -> None:
        track = self.doc.song.tracks[self.index]
        track.events, track.payload, track.end_tick = state[0].copy(), state[1].copy(), state[2]
        self.doc.trackChanged.emit(self.index)

    def redo(self) -> None:
        self._install(self.new)

    def undo(self) -> None:
        self._install(self.old)


class MainWindow(QMainWindow):
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
        self._rebuild_recent()

    def _connect(self) -> None:
        d = self.doc
        d.songReplaced.connect(self._song_replaced)
        d.modifiedChanged.connect(lambda _m: self._update_title())
        d.pathChanged.connect(lambda _p: self._update_title())
        d.trackChanged.connect(self._track_changed)
        d.loopChanged.connect(self._loop_changed)
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
        tick = int(state.tick)
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
        state = self.link.state()
        if on and state is not None and not state.playing:
            self.link.play()

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
        end = max(1, self.doc.song.length_ticks())
        bars = [t for _b, t, _s in self.doc.song.time_signatures().bars(end)]
        stop = next((t for t in bars if t >= end), None)
        if stop is None:
            sig = self.doc.song.time_signatures()
            stop = bars[-1] + sig.bar_ticks(sig.signatures[-1])
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

    # == files =============================================================================
    def current_project(self) -> Project:
        """The song and the window's state, as saved (and autosaved)."""
        return Project(
            song=self.doc.song,
            loop=self.loop,
            loop_enabled=self.transport.loop.isChecked(),
            metronome=self.transport.metronome.isChecked(),
            edit_settings=self.doc.edit_settings,
            current_track=self.doc.current_index,
            ui={"view": self.view_state()},
        )

    def view_state(self) -> dict:
        """What the piano roll shows (zoom, scroll, track), saved in the project's ``ui``."""
        state = {"version": VIEW_STATE_VERSION, "track": self.doc.current_index}
        vp = getattr(self.piano_roll, "vp", None)
        if vp is not None:
            state.update(
                ticks_per_px=float(vp.ticks_per_px),
                key_height=float(vp.key_height),
                left_tick=float(vp.left_tick),
                top_px=float(vp.top_px),
            )
        return state

    def restore_view(self, state) -> bool:
        """Show a saved view; anything missing, of the wrong type or from a newer view
        format is ignored (the view falls back to fitting the track). True if applied."""
        if not isinstance(state, dict) or state.get("version") != VIEW_STATE_VERSION:
            return False
        track = state.get("track")
        if isinstance(track, int) and not isinstance(track, bool):
            if 0 <= track < len(self.doc.song.tracks):
                self.doc.set_current_index(track)
        vp = getattr(self.piano_roll, "vp", None)
        keys = ("ticks_per_px", "key_height", "left_tick", "top_px")
        values = [state.get(k) for k in keys]
        if vp is None or not all(_finite_number(v) for v in values):
            return False
        from ui.pianoroll.viewport import (
            MAX_KEY_HEIGHT,
            MAX_TICKS_PER_PX,
            MIN_KEY_HEIGHT,
            MIN_TICKS_PER_PX,
        )

        tpp, kh, left, top = (float(v) for v in values)
        vp.ticks_per_px = min(MAX_TICKS_PER_PX, max(MIN_TICKS_PER_PX, tpp))
        vp.key_height = min(MAX_KEY_HEIGHT, max(MIN_KEY_HEIGHT, kh))
        # A view saved in a project is outside data: keep it within the song and the keys.
        left = min(max(left, 0.0), float(max(self.doc.song.length_ticks(), 0)))
        top = min(max(top, 0.0), 128 * vp.key_height)
        vp.scroll_to(left_tick=left, top_px=top)
        return True

    def load_project(self, project: Project, path: str | Path | None) -> None:
        self.doc.set_song(project.song, path)
        if project.edit_settings is not None:
            self.doc.set_edit_settings(project.edit_settings)
        if 0 <= project.current_track < len(project.song.tracks):
            self.doc.set_current_index(project.current_track)
        self.doc.set_loop(project.loop)
        self.transport.loop.setChecked(project.loop_enabled)
        if hasattr(self.piano_roll, "set_loop_enabled"):
            self.piano_roll.set_loop_enabled(project.loop_enabled)
        self.transport.metronome.setChecked(project.metronome)
        view = project.ui.get("view") if isinstance(project.ui, dict) else None
        if self._shown_once:
            self.restore_view(view)
        else:
            self._pending_view = view  # after the first layout, instead of zoom-to-fit

    def open_path(self, path: str | Path, ask: bool = True) -> bool:
        """Open a MIDI file or project. Asks about unsaved changes first (``ask``)."""
        if ask and not self.confirm_discard("opening another file"):
            return False
        path = Path(path)
        try:
            project = read_file(path)
        except QuantaError as exc:
            self.show_error(str(exc))
            return False
        self.load_project(project, path)
        self._add_recent(path)
        self.status.showMessage(
            f"Opened {path.name}: {project.song.note_count()} notes, "
            f"{len(project.song.tracks)} tracks",
            5000,
        )
        return True

    def open_dialog(self) -> None:
        folder = str(self.doc.path.parent) if self.doc.path else ""
        path, _ = QFileDialog.getOpenFileName(self, "Open", folder, OPEN_FILTER)
        if path:
            self.open_path(path)

    def open_demo(self) -> None:
        if self.confirm_discard("opening the demo song"):
            self.untitled_name = "Demo Song"
            self.load_project(Project(song=demo_song()), None)

    def new_song(self) -> None:
        if not self.confirm_discard("starting a new song"):
            return
        from engine.build import add_track, new_song

        song = new_song()
        add_track(song, name="Track 1")
        self.untitled_name = "Untitled"
        self.load_project(Project(song=song), None)

    def save(self) -> bool:
        """Save to the project file; a MIDI file or a new song asks for a project name."""
        path = self.doc.path
        if path is None or not is_project_file(path) or path.suffix.lower() != ".quanta":
            return self.save_as()
        return self._write_project(path)

    def save_as(self, path: str | Path | None = None) -> bool:
        if path is None:
            base = (
                self.doc.path.with_suffix(".quanta") if self.doc.path else Path("Untitled.quanta")
            )
            path, _ = QFileDialog.getSaveFileName(self, "Save Project", str(base), PROJECT_FILTER)
            if not path:
                return False
        path = Path(path)
        if path.suffix.lower() != ".quanta":
            path = path.with_name(path.name + ".quanta")
        return self._write_project(path)

    def _write_project(self, path: Path) -> bool:
        try:
            save_project(self.current_project(), path)
        except QuantaError as exc:
            self.show_error(str(exc))
            return False
        self.doc.mark_saved(path)
        self.recovery.clear()
        self._add_recent(path)
        self.status.showMessage(f"Saved {path.name}", 4000)
        return True

    def export_midi(self, quantized: bool, path: str | Path | None = None) -> bool:
        """Write a Standard MIDI File: the raw notes, or the notes as they play."""
        if path is None:
            stem = self.doc.path.stem if self.doc.path else "Untitled"
            base = f"{stem}{' (quantized)' if quantized else ''}.mid"
            path, _ = QFileDialog.getSaveFileName(self, "Export MIDI", base, MIDI_FILTER)
            if not path:
                return False
        from engine.midifile import save_song

        try:
            song = quantized_song(self.doc.song) if quantized else self.doc.song
            save_song(song, path)
        except QuantaError as exc:
            self.show_error(str(exc))
            return False
        self.status.showMessage(f"Exported {Path(path).name}", 4000)
        return True

    def export_audio(self, path: str | Path | None = None) -> bool:
        """Render the song offline (engine.render: the same schedule and mixer as playback),
        with a progress dialog that can cancel, and write it atomically."""
        if path is None:
            stem = self.doc.path.stem if self.doc.path else "Untitled"
            path, _ = QFileDialog.getSaveFileName(self, "Export Audio", f"{stem}.wav", AUDIO_FILTER)
            if not path:
                return False
        progress = QProgressDialog("Rendering audio…", "Cancel", 0, 1000, self)
        progress.setWindowModality(Qt.WindowModal)
        progress.setMinimumDuration(300)

        class Cancelled(Exception):
            pass

        def on_progress(fraction: float) -> None:
            progress.setValue(int(fraction * 1000))
            QApplication.processEvents()
            if progress.wasCanceled():
                raise Cancelled

        try:
            render_song_to_file(self.doc.song, path, progress=on_progress)
        except Cancelled:
            self.status.showMessage("Audio export cancelled", 4000)
            return False
        except QuantaError as exc:
            self.show_error(str(exc))
            return False
        finally:
            progress.close()
        self.status.showMessage(f"Exported {Path(path).name}", 4000)
        return True

    # -- recent files ---------------------------------------------------------------------
    def recent_files(self) -> list[str]:
        value = self.settings.value(KEY_RECENT, [])
        if isinstance(value, str):
            value = [value] if value else []
        return [str(v) for v in value or []]

    def _add_recent(self, path: Path) -> None:
        p = str(Path(path).resolve())
        files = [p] + [f for f in self.recent_files() if f != p]
        self.settings.setValue(KEY_RECENT, files[:MAX_RECENT])
        self._rebuild_recent()

    def _rebuild_recent(self) -> None:
        self.recent_menu.clear()
        files = self.recent_files()
        for f in files:
            act = self.recent_menu.addAction(Path(f).name)
            act.setToolTip(f)
            act.setStatusTip(f)
            act.triggered.connect(lambda *_, f=f: self.open_path(f))
        self.recent_menu.setEnabled(bool(files))

    # -- drag and drop --------------------------------------------------------------------
    def _dropped_file(self, mime) -> str | None:
        for url in mime.urls() if mime.hasUrls() else []:
            if url.isLocalFile() and openable(url.toLocalFile()):
                return url.toLocalFile()
        return None

    def dragEnterEvent(self, event) -> None:
        if self._dropped_file(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:
        path = self._dropped_file(event.mimeData())
        if path:
            event.acceptProposedAction()
            QTimer.singleShot(0, lambda: self.open_path(path))  # not inside the drop handler

    # == unsaved changes, recovery, closing ===============================================
    def confirm_discard(self, doing: str = "closing") -> bool:
        """Ask to save unsaved changes. True when it is fine to go on."""
        if not self.doc.is_modified:
            return True
        name = self.doc.path.name if self.doc.path else "this song"
        box = QMessageBox(self)
        box.setObjectName("unsaved_prompt")
        box.setIcon(QMessageBox.Warning)
        box.setWindowTitle(APP_NAME)
        box.setText(f"Save changes to {name} before {doing}?")
        box.setInformativeText("Your changes will be lost if you don't save them.")
        box.setStandardButtons(QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel)
        box.setDefaultButton(QMessageBox.Save)
        answer = box.exec()
        if answer == QMessageBox.Save:
            return self.save()
        return answer == QMessageBox.Discard

    def offer_recovery(self) -> bool:
        """After a crash: offer the newest recovery file. True if work was recovered."""
        orphans = self.recovery.orphans()
        skipped = ""
        if self.recovery.damaged:  # reported, set aside; the intact ones are still offered
            lines = [f"{p.name}: {why}" for p, why in self.recovery.damaged]
            skipped = f"Skipped {len(lines)} damaged recovery file(s): " + "; ".join(lines)
        if not orphans:
            if skipped:
                self.status.showMessage(skipped, 20000)
            return False
        rec: RecoveryFile = orphans[0]
        box = QMessageBox(self)
        box.setObjectName("recovery_prompt")
        box.setIcon(QMessageBox.Question)
        box.setWindowTitle(APP_NAME)
        box.setText("Quanta did not close properly last time.")
        box.setInformativeText(
            f"Recover the unsaved work ({rec.describe()})?" + (f"\n\n{skipped}" if skipped else "")
        )
        recover = box.addButton("Recover", QMessageBox.AcceptRole)
        discard = box.addButton("Discard", QMessageBox.DestructiveRole)
        box.addButton("Not Now", QMessageBox.RejectRole)
        box.setDefaultButton(recover)
        box.exec()
        clicked = box.clickedButton()
        if clicked is discard:
            RecoveryStore.discard(rec)
            return False
        if clicked is not recover:
            return False
        try:
            project = load_project(rec.path)
        except QuantaError as exc:
            self.show_error(f"Recovery failed: {exc}")
            return False
        original = rec.original or None
        keep_path = original if original and Path(original).suffix.lower() == ".quanta" else None
        if keep_path is None:
            self.untitled_name = f"{Path(original).name} (recovered)" if original else "Recovered"
        self.load_project(project, keep_path)
        self.doc.undo_stack.resetClean()  # recovered work is unsaved until the user saves
        self.autosaver.force()  # now ours: safe even if we crash again right away
        RecoveryStore.discard(rec)
        self.status.showMessage(
            f"Recovered {rec.describe()}" + (f". {skipped}" if skipped else ""), 20000
        )
        return True

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._shown_once:
            self._shown_once = True
            self.resizeDocks([self.tracks_dock], [380], Qt.Horizontal)
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
        if isinstance(state, QByteArray):
            self.restoreState(state)

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
