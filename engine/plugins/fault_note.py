"""A note, shared with a parent process, of which plugin is running right now.

A plugin that aborts or segfaults kills its process at once: no Python handler runs, so the
process cannot say which plugin it was. When third-party plugins render in a child process
(``quanta render``, see :mod:`app.commands.render`), the parent hands the child an unlinked
file (an inherited descriptor named by ``$QUANTA_FAULT_NOTE_FD``); the child maps it and
writes a label ("LV2 plugin "X" on track "Bass"") into it before every call into a plugin,
and clears it after. If the child dies by a signal, the parent reads the last label and names
the plugin. Writing is a copy into shared memory (no system call); the file is unlinked from
the start, so nothing is left behind whatever happens.

Without the variable every function here does nothing, so plugin code can call
:func:`noting` unconditionally.
"""

from __future__ import annotations

import mmap
import os
import struct
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

ENV = "QUANTA_FAULT_NOTE_FD"
SIZE = 4096
_HEADER = struct.Struct("<H")

_map: mmap.mmap | None = None
_attached = False


def _note() -> mmap.mmap | None:
    global _map, _attached
    if not _attached:
        _attached = True
        fd = os.environ.get(ENV, "")
        if fd.isdigit():
            try:
                _map = mmap.mmap(int(fd), SIZE)
            except (OSError, ValueError):
                _map = None
    return _map


def _encode(label: str) -> bytes:
    data = label.encode("utf-8", "replace")[: SIZE - _HEADER.size]
    return _HEADER.pack(len(data)) + data


def say(label: str) -> None:
    """Record ``label`` as what is running now (no-op without a parent listening)."""
    m = _note()
    if m is not None:
        data = _encode(label)
        m[: len(data)] = data


def clear() -> None:
    m = _note()
    if m is not None:
        m[: _HEADER.size] = _HEADER.pack(0)


@contextmanager
def noting(label: str) -> Iterator[None]:
    """``label`` is the note while the block runs."""
    say(label)
    try:
        yield
    finally:
        clear()


def guard(plugin, label: str) -> None:
    """Make every call into ``plugin`` (process, reset, close) note ``label`` first.

    Only in a process with a listening parent: elsewhere the plugin is left untouched."""
    m = _note()
    if m is None:
        return
    data = _encode(label)
    empty = _HEADER.pack(0)
    end = len(data)
    for name in ("process", "reset", "close"):
        inner = getattr(plugin, name, None)
        if inner is None:
            continue

        def wrapped(*args, _inner=inner, **kwargs):
            m[:end] = data
            try:
                return _inner(*args, **kwargs)
            finally:
                m[:2] = empty

        setattr(plugin, name, wrapped)


class FaultNote:
    """The parent's side: an unlinked file to pass to the child, read after it died."""

    def __init__(self):
        self._file = tempfile.TemporaryFile(prefix="quanta-fault-")
        os.ftruncate(self._file.fileno(), SIZE)

    @property
    def fd(self) -> int:
        return self._file.fileno()

    def env(self) -> dict[str, str]:
        """What to add to the child's environment (pass ``fd`` in ``pass_fds`` too)."""
        return {ENV: str(self.fd)}

    def read(self) -> str:
        """The label the child wrote last and did not clear ("" if none)."""
        raw = os.pread(self.fd, SIZE, 0)
        (n,) = _HEADER.unpack_from(raw)
        return raw[_HEADER.size : _HEADER.size + n].decode("utf-8", "replace")

    def close(self) -> None:
        self._file.close()
