"""Never lose work: periodic recovery files, and finding them again after a crash.

Each running Quanta writes its own recovery file, ``recovery-<pid>.quanta`` (a normal project
file, so recovering is just opening it), into the user data folder while the song has unsaved
changes. A clean exit or a save removes it. A file whose process is no longer alive is what a
crash left behind; the next start offers it. Naming files by pid keeps two Quanta windows from
mistaking each other's live autosave for a crash.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from app.paths import user_data_dir
from engine.errors import QuantaError
from engine.project import Project, load_project, save_project
from ui.song_document import SongDocument

PREFIX = "recovery-"
SUFFIX = ".quanta"
DAMAGED_SUFFIX = ".damaged"
DEFAULT_INTERVAL_S = 30
#: Environment variable that replaces the recovery folder (tests, portable installs).
RECOVERY_DIR_ENV = "QUANTA_RECOVERY_DIR"


def default_recovery_dir() -> Path:
    """``$QUANTA_RECOVERY_DIR`` if set, else the user data folder's ``recovery`` subfolder."""
    override = os.environ.get(RECOVERY_DIR_ENV, "").strip()
    if override:
        return Path(override).expanduser()
    return user_data_dir() / "recovery"


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


@dataclass(frozen=True)
class RecoveryFile:
    """A recovery file left by a session that did not exit cleanly."""

    path: Path
    pid: int
    saved_at: float  #: modification time (seconds since the epoch)
    original: str  #: the file the session was editing ("" for an unsaved song)

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.saved_at))
        name = Path(self.original).name if self.original else "an unsaved song"
        return f"{name}, autosaved {when}"


class RecoveryStore:
    """The recovery folder: this session's file, and the ones crashed sessions left."""

    def __init__(self, folder: str | Path | None = None, pid: int | None = None):
        self.folder = Path(folder) if folder is not None else default_recovery_dir()
        self.pid = os.getpid() if pid is None else pid
        #: (path, reason) of recovery files the last :meth:`orphans` found damaged.
        self.damaged: list[tuple[Path, str]] = []

    @property
    def own_path(self) -> Path:
        return self.folder / f"{PREFIX}{self.pid}{SUFFIX}"

    def write(self, project: Project, original: str | Path | None) -> Path:
        """Save ``project`` as this session's recovery file (atomically)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        project.ui = dict(project.ui, recovery_of=str(original or ""), saved_at=time.time())
        save_project(project, self.own_path)
        return self.own_path

    def clear(self) -> None:
        """Remove this session's recovery file (after a save or a clean exit)."""
        self.own_path.unlink(missing_ok=True)

    def orphans(self) -> list[RecoveryFile]:
        """Recovery files of sessions that are no longer running, newest first.

        Only files that open are offered. A damaged one (a crash mid-write on a filesystem
        without atomic rename, a disk error) must not hide the others: it is renamed to
        ``….quanta.damaged`` (kept for inspection, never offered again) and listed in
        :attr:`damaged` with the reason, for the window to report.
        """
        found: list[RecoveryFile] = []
        self.damaged: list[tuple[Path, str]] = []
        if not self.folder.is_dir():
            return found
        for p in self.folder.glob(f"{PREFIX}*{SUFFIX}"):
            try:
                pid = int(p.name[len(PREFIX) : -len(SUFFIX)])
            except ValueError:
                continue
            if pid == self.pid or _alive(pid):
                continue
            try:
                saved_at = p.stat().st_mtime
                original = str(load_project(p).ui.get("recovery_of", ""))
            except FileNotFoundError:
                continue  # removed meanwhile (another Quanta recovered it)
            except (QuantaError, OSError) as exc:
                self.damaged.append((self._set_aside(p), str(exc)))
                continue
            found.append(RecoveryFile(p, pid, saved_at, original))
        found.sort(key=lambda r: r.saved_at, reverse=True)
        return found

    @staticmethod
    def _set_aside(path: Path) -> Path:
        """Rename a damaged recovery file out of the offer; returns where it now is."""
        aside = path.with_name(path.name + DAMAGED_SUFFIX)
        try:
            os.replace(path, aside)
        except OSError:
            return path
        return aside

    @staticmethod
    def discard(rec: RecoveryFile) -> None:
        rec.path.unlink(missing_ok=True)


class Autosaver(QObject):
    """Writes the recovery file every ``interval_s`` seconds while there are unsaved changes.

    Only writes when something changed since the last autosave, so an idle session costs
    nothing. ``make_project`` builds the Project to write (the window knows the transport and
    view state that belong in it).
    """

    saved = Signal(str)  #: path of the recovery file just written
    failed = Signal(str)  #: one-line reason an autosave failed

    def __init__(
        self,
        document: SongDocument,
        store: RecoveryStore,
        make_project: Callable[[], Project],
        interval_s: float = DEFAULT_INTERVAL_S,
        parent: QObject | None = None,
    ):
        super().__init__(parent)
        self.document = document
        self.store = store
        self._make_project = make_project
        self._dirty = False
        self.timer = QTimer(self)
        self.timer.setInterval(max(1, int(interval_s * 1000)))
        self.timer.timeout.connect(self.autosave)
        for sig in (document.notesChanged, document.trackChanged, document.songReplaced):
            sig.connect(self._changed)
        document.undo_stack.indexChanged.connect(self._changed)
        document.modifiedChanged.connect(self._modified)
        self.timer.start()

    def _changed(self, *_):
        self._dirty = True

    def _modified(self, modified: bool) -> None:
        if not modified:  # saved (or undone back to the saved state): nothing to recover
            self._dirty = False
            self.store.clear()

    def autosave(self) -> bool:
        """Write the recovery file now if there is unsaved work; True if written."""
        if not (self._dirty and self.document.is_modified):
            return False
        try:
            path = self.store.write(self._make_project(), self.document.path)
        except (QuantaError, OSError) as exc:
            self.failed.emit(f"autosave failed: {exc}")
            return False
        self._dirty = False
        self.saved.emit(str(path))
        return True

    def force(self) -> bool:
        """Autosave now even if nothing changed since the last one (after a recovery)."""
        self._dirty = True
        return self.autosave()

    def shutdown(self) -> None:
        """Clean exit: stop and remove the recovery file."""
        self.timer.stop()
        self.store.clear()
