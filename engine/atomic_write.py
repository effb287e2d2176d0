"""Atomic file output shared by every writer (MIDI, projects, presets, rendered audio).

A save writes a temporary file in the target's folder (same filesystem, so the rename is
atomic), fsyncs it, renames it over the target and fsyncs the folder: readers and a crash
see the old file or the new one, never half.

Three details a plain ``tempfile.mkstemp`` gets wrong, and why they are handled here:

- **Mode.** ``mkstemp`` creates 0600 files, so every saved song ended up private whatever
  the umask. A new file gets what a plain ``open()`` gives (``0666 & ~umask``); a replaced
  file keeps its own mode, as editors do.
- **Leftovers.** A kill -9 (or power loss) between creating the temporary file and the
  rename leaves it behind, possibly as large as the target. Temporary names carry a fixed
  prefix and the writer's pid (``.quanta-tmp-<pid>-<random><suffix>``), so the next save into
  the same folder removes the ones whose process is gone (:func:`clean_stale_temps`). Files
  of any other pattern, other users' files and live processes' files are never touched.
- **Disk full.** ``ENOSPC``/``EDQUOT`` become :class:`DiskFullError`, whose message names the
  target (not the temporary file) so the user knows what was not written.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import stat
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from engine.errors import display_path, write_failure_message

TEMP_PREFIX = ".quanta-tmp-"
#: ``.quanta-tmp-<pid>-<token><suffix>``; the suffix (``.wav``) lets audio libraries pick a
#: format by name.
_TEMP_RE = re.compile(r"\.quanta-tmp-(\d{1,10})-[0-9a-f]{8,32}(\.[A-Za-z0-9]{1,8})?\Z")
#: What Quanta before the pid-named temp files left behind from a crashed render (mkstemp
#: names). No pid to ask, so only files untouched for LEGACY_AGE_S are taken as dead: a
#: render in progress writes every few milliseconds.
_LEGACY_RE = re.compile(r"\.quanta-render-[a-z0-9_]{8}\.(wav|flac)\Z")
LEGACY_AGE_S = 3600
_FULL_ERRNOS = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), errno.EFBIG}
_umask_lock = threading.Lock()


class DiskFullError(OSError):
    """The disk (or the user's quota) filled up while writing; ``str()`` names the target."""

    def __init__(self, target: str | os.PathLike):
        super().__init__(errno.ENOSPC, f"disk full: could not write {display_path(target)}")
        self.target = os.fspath(target)

    def __str__(self) -> str:
        return self.strerror


def is_disk_full(exc: BaseException) -> bool:
    """True for an OSError that means no space (disk full, quota, file too large)."""
    return isinstance(exc, OSError) and exc.errno in _FULL_ERRNOS


def current_umask() -> int:
    """The process umask, read without changing it where the OS allows (Linux ≥ 4.7).

    ``os.umask`` can only be read by setting it, which races with other threads creating
    files; ``/proc/self/status`` has it read-only. The fallback sets and restores it under a
    lock (other Quanta writers take the same lock).
    """
    with suppress(OSError, ValueError):
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    with _umask_lock:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def new_file_mode() -> int:
    """The mode ``open(path, "w")`` gives a new file: ``0666 & ~umask``."""
    return 0o666 & ~current_umask()


def _target_mode(path: Path) -> int:
    """Keep the replaced file's permission bits; a new file gets the umask's."""
    try:
        st = os.stat(path)
    except OSError:
        return new_file_mode()
    return stat.S_IMODE(st.st_mode) if stat.S_ISREG(st.st_mode) else new_file_mode()


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return True  # not a pid we can reason about: leave the file alone
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # another user's live process (or an unknowable one): not ours to judge
    return True


def is_quanta_temp(name: str) -> bool:
    """True for a name of Quanta's temporary-file pattern."""
    return _TEMP_RE.match(name) is not None


def clean_stale_temps(folder: str | os.PathLike) -> list[Path]:
    """Remove Quanta temporary files in ``folder`` whose writing process is gone.

    Only regular files (not symlinks) of the exact :data:`TEMP_PREFIX` pattern, owned by this
    user, whose pid is not a running process, and never this process's own; and renders
    older versions left (``.quanta-render-XXXXXXXX.wav``, untouched for an hour). Returns what was
    removed; errors (a read-only folder, a file vanishing meanwhile) are ignored: cleaning is
    a courtesy and must never make a save fail.
    """
    removed: list[Path] = []
    me, uid = os.getpid(), os.getuid() if hasattr(os, "getuid") else None
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        legacy = False
        if entry.name.startswith(TEMP_PREFIX):
            m = _TEMP_RE.match(entry.name)
            if m is None:
                continue
            pid = int(m.group(1))
            if pid == me or _pid_alive(pid):
                continue
        elif _LEGACY_RE.match(entry.name):
            legacy = True
        else:
            continue
        try:
            st = entry.stat(follow_symlinks=False)
            if not stat.S_ISREG(st.st_mode) or (uid is not None and st.st_uid != uid):
                continue
            if legacy and now - st.st_mtime < LEGACY_AGE_S:
                continue
            os.unlink(entry.path)
        except OSError:
            continue
        removed.append(Path(entry.path))
    return removed


def _create_temp(folder: Path, suffix: str) -> tuple[int, Path]:
    """Create (O_EXCL, private until finished) a new temporary file of Quanta's pattern."""
    pid = os.getpid()
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = folder / f"{TEMP_PREFIX}{pid}-{secrets.token_hex(6)}{suffix}"
        try:
            return os.open(tmp, flags, 0o600), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary file name", str(folder))


def _fsync_dir(folder: Path) -> None:
    """Make the rename durable (POSIX); a no-op where folders cannot be opened."""
    with suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _folder_of(path: Path) -> Path:
    return path.parent if str(path.parent) else Path(".")


def _finish(tmp: Path, path: Path) -> None:
    os.chmod(tmp, _target_mode(path))
    os.replace(tmp, path)
    _fsync_dir(_folder_of(path))


def new_temp_file(path: str | os.PathLike, suffix: str = ".tmp") -> Path:
    """Create an empty temporary file of Quanta's pattern beside ``path`` (cleaning stale ones
    first), for a writer that fills it later or in a child process (``atomic_output(temp=)``).
    The name carries this process's pid: it stays while this process lives."""
    folder = _folder_of(Path(path))
    clean_stale_temps(folder)
    fd, tmp = _create_temp(folder, suffix)
    os.close(fd)
    return tmp


@contextmanager
def atomic_output(
    path: str | os.PathLike, suffix: str = ".tmp", temp: str | os.PathLike | None = None
) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; when the block ends without an exception the
    file is fsynced, given its final mode and renamed over ``path``; otherwise removed.

    For writers that need a file name (audio libraries). ``suffix`` should end in the
    target's extension when the writer picks a format by name; ``temp`` is a file made by
    :func:`new_temp_file` (a parent process made it for this one). Raises OSError (a
    :class:`DiskFullError` when the disk is full).
    """
    path = Path(path)
    tmp = new_temp_file(path, suffix) if temp is None else Path(temp)
    try:
        yield tmp
        fd = os.open(tmp, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        _finish(tmp, path)
    except OSError as exc:
        with suppress(OSError):
            os.unlink(tmp)
        if is_disk_full(exc):
            raise DiskFullError(path) from None
        raise
    except BaseException:
        with suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes | bytearray | memoryview) -> Path:
    """Replace ``path`` with ``data`` atomically (see the module doc). Raises OSError, a
    :class:`DiskFullError` when the disk is full."""
    path = Path(path)
    folder = _folder_of(path)
    clean_stale_temps(folder)
    fd, tmp = _create_temp(folder, ".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        _finish(tmp, path)
    except OSError as exc:
        with suppress(OSError):
            os.unlink(tmp)
        if is_disk_full(exc):
            raise DiskFullError(path) from None
        raise
    except BaseException:
        with suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """:func:`atomic_write_bytes` of UTF-8 text with ``\\n`` line ends."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def save_error_text(path: str | os.PathLike, exc: OSError) -> str:
    """One line for a failed save: ``disk full: could not write PATH`` or ``PATH: cannot save
    (reason)``; callers wrap it in their own QuantaError subclass."""
    shown = display_path(path)
    if isinstance(exc, DiskFullError) or is_disk_full(exc):
        return f"disk full: could not write {shown}"
    return write_failure_message(path, exc, shown=shown)
