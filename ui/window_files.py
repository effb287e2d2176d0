"""The main window's file operations: open, save, export, recent files, recovery.

Open reads MIDI files and Quanta projects (menu, recent files, drag and drop); Save writes a
project atomically; Export writes MIDI (raw, or as played with each track's playback
quantize) or audio. Closing or opening with unsaved changes asks first, and the recovery file
an :class:`~ui.autosave.Autosaver` kept is offered after a crash. Part of
:class:`ui.main_window.MainWindow`.
"""

from __future__ import annotations

import math
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QMessageBox,
    QProgressDialog,
)

from engine.demo import demo_song
from engine.errors import QuantaError
from engine.model import Song
from engine.project import Project, is_project_file, load_project, save_project
from ui.autosave import RecoveryFile, RecoveryStore
from ui.engine_link import track_sound, volume_db

APP_NAME = "Quanta"
VIEW_STATE_VERSION = 1  #: of the ``view`` entry in a project's ``ui`` section
MIDI_SUFFIXES = (".mid", ".midi", ".smf", ".kar", ".rmi")
OPEN_FILTER = (
    "MIDI files and Quanta projects (*.mid *.midi *.smf *.kar *.rmi *.quanta);;All files (*)"
)
PROJECT_FILTER = "Quanta project (*.quanta)"
MIDI_FILTER = "Standard MIDI file (*.mid)"
AUDIO_FILTER = "WAV audio (*.wav);;FLAC audio (*.flac)"
MAX_RECENT = 10
KEY_RECENT = "files/recent"


def openable(path: str | Path) -> bool:
    """Files Open and drag-and-drop accept: MIDI files and Quanta projects."""
    p = Path(path)
    return p.suffix.lower() in MIDI_SUFFIXES or is_project_file(p)


def read_file(path: str | Path) -> Project:
    """A project, or a MIDI file wrapped as one. Raises QuantaError with one line."""
    if is_project_file(path):
        return load_project(path)
    from engine.smf import load_song

    return Project(song=load_song(path))


def quantized_song(song: Song) -> Song:
    """The song as it plays: every track's notes through its playback quantize (for export)."""
    from engine.realtime import playback_notes

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


def render_song_to_file(
    song: Song, path, sample_rate: int = 48000, progress=None, song_name: str = "the song"
) -> None:
    """Render ``song`` as it plays (instruments, volume, mute/solo from ``Track.extra``) to a
    WAV/FLAC file, atomically. Raises QuantaError with one line on a bad plugin or path."""
    from engine.atomic_write import atomic_output, save_error_text
    from engine.audio import AudioWriter, Mixer, render_song
    from engine.errors import DeviceError

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
                render_song(
                    song, make_mixer, progress=progress, on_block=writer.write, name=song_name
                )
    except OSError as exc:
        raise DeviceError(save_error_text(path, exc)) from None


class FileOperations:
    """The :class:`~ui.main_window.MainWindow`'s file operations (a mixin: it shares the
    window's attributes)."""

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
        from ui.pianoroll.viewport import MAX_KEY_HEIGHT, MIN_KEY_HEIGHT, MIN_TICKS_PER_PX

        tpp, kh, left, top = (float(v) for v in values)
        # The song's own zoom-out limit (a long song may be seen whole).
        vp.ticks_per_px = min(vp.max_ticks_per_px, max(MIN_TICKS_PER_PX, tpp))
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
        from engine.smf import save_song

        try:
            song = quantized_song(self.doc.song) if quantized else self.doc.song
            save_song(song, path)
        except QuantaError as exc:
            self.show_error(str(exc))
            return False
        self.status.showMessage(f"Exported {Path(path).name}", 4000)
        return True

    def export_audio(self, path: str | Path | None = None) -> bool:
        """Render the song offline (engine.audio.render: the same schedule and mixer as playback),
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
            name = self.doc.path.name if self.doc.path else "the song"
            render_song_to_file(self.doc.song, path, progress=on_progress, song_name=name)
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
