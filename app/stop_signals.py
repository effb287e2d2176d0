"""Stop requests for the long-running commands (``quanta play``, ``quanta live``).

Ctrl-C (SIGINT), SIGTERM (a service manager, ``kill``) and SIGHUP (the terminal closed, an SSH
session dropped) all mean "stop cleanly": close every sounding note, save the take, close the
ports. The handlers only note the request; the command's main loop sees it (within a tenth of
a second) and shuts down in order, on its own terms.

Why not raise KeyboardInterrupt from the handler, as Python does for SIGINT: the exception
lands wherever the main thread happens to be, and a second Ctrl-C during shutdown then tore
through ``finally`` blocks half-way (an engine still running, JACK clients half-closed,
callbacks reading freed buffers: ``play`` segfaulted in 6 of 20 runs). Here every signal
during shutdown is only counted: shutdown finishes. Only a third request ends the process at
once (``os._exit``, which runs no finalizer and touches no half-closed client), for a user who
really wants out of a shutdown that hangs.

A signal the process inherited as ignored stays ignored (``nohup`` ignores SIGHUP; a shell
starts ``cmd &`` with SIGINT ignored): that is how the user asked it to run.
"""

from __future__ import annotations

import os
import signal
import sys

#: What stops a command: Ctrl-C, a polite kill, a lost terminal.
STOP_SIGNALS = tuple(
    s for s in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)) if s is not None
)
#: Requests after which the process ends at once, mid-shutdown (see module docstring).
FORCE_AFTER = 3


class StopSignals:
    """Install flag-only handlers for :data:`STOP_SIGNALS` (main thread only) for a ``with``
    block; :attr:`requested` turns true on the first signal."""

    def __init__(self, *, restore: bool = True):
        self.count = 0
        self.last: int | None = None
        self._restore = restore
        self._old: dict[int, object] = {}

    @property
    def requested(self) -> bool:
        return self.count > 0

    @property
    def name(self) -> str:
        """The first signal's name (``SIGHUP``), for the stop message."""
        return signal.Signals(self.last).name if self.last is not None else ""

    def _handle(self, signum: int, _frame) -> None:
        # Runs in the main thread between bytecodes: no locks, no I/O, no exceptions.
        self.count += 1
        if self.last is None:
            self.last = signum
        if self.count >= FORCE_AFTER:
            os._exit(128 + signum)

    def __enter__(self) -> StopSignals:
        for sig in STOP_SIGNALS:
            old = signal.getsignal(sig)
            if old == signal.SIG_IGN and sig != signal.SIGTERM:
                continue  # nohup / background job: ignored on purpose
            self._old[sig] = old
            signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        if not self._restore:
            return
        for sig, old in self._old.items():
            signal.signal(sig, old if old is not None else signal.SIG_DFL)
        self._old.clear()

    def say_stopping(self, what: str = "all notes off") -> None:
        """The one line a user sees when a stop request is honoured."""
        how = f"{self.name}: " if self.name and self.name != "SIGINT" else ""
        print(f"quanta: {how}stopping ({what})", file=sys.stderr, flush=True)
