"""Every JACK client Quanta opens, closed on purpose: never by the garbage collector.

Why: JACK-Client's ``jack.Client`` closes itself in ``__del__``. A client dropped without
``close()`` was then closed whenever the collector got to it: on whatever thread that was,
possibly after its server had stopped, and, worst, after the numpy arrays its compiled process
callback writes into had already been freed in the same garbage cycle (the callback keeps
running until ``jack_client_close`` returns). That is how a test process segfaulted in its
teardown (GC → ``jack.Client.close``), and how an interpreter leaving with a port still open
could crash.

:class:`Client` fixes it at the root:

- it is registered while open, so it never becomes garbage before ``close()``;
- :meth:`Client.keep_alive` ties the buffers a compiled callback uses to the client, released
  only after the client is closed (the callback can no longer run);
- ``close()`` is idempotent and thread-safe (one lock per client), and ``__del__`` does not
  close: a client reaching it is already closed;
- :func:`close_all` (run at interpreter exit, and by tests before they stop a server) closes
  what is still open on the calling thread, after the hooks registered with
  :func:`before_close_all` have stopped the threads that use clients (the port watcher).
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Callable

import jack

_lock = threading.Lock()
_open: dict[int, Client] = {}
_hooks: list[Callable[[bool], None]] = []


class Client(jack.Client):
    """A ``jack.Client`` (never starting a server) that only an explicit close closes."""

    def __init__(self, name: str, *, servername: str | None = None):
        super().__init__(name, no_start_server=True, servername=servername)
        #: the server this client talks to (``None``: the default one)
        self.servername = servername or os.environ.get("JACK_DEFAULT_SERVER") or None
        self._keep: list[object] = []
        self._close_lock = threading.Lock()
        with _lock:
            _open[id(self)] = self

    def keep_alive(self, *objects: object) -> None:
        """Keep ``objects`` (a callback's buffers) alive until this client is closed."""
        self._keep.extend(objects)

    @property
    def closed(self) -> bool:
        return not self._ptr

    def close(self, ignore_errors: bool = True) -> None:
        """Close the client (deactivating it first); later calls do nothing."""
        with self._close_lock:
            if not self._ptr:
                return
            try:
                super().close(ignore_errors)
            finally:
                with _lock:
                    _open.pop(id(self), None)
                self._keep.clear()  # the callback has stopped: its buffers may go

    def __del__(self) -> None:
        # Never close here (see the module docstring): an open client is still registered,
        # so it cannot be collected; at interpreter exit close_all has closed it already.
        pass


def open_clients(servername: str | None = None) -> list[Client]:
    """Clients still open (on ``servername`` when given), oldest first."""
    with _lock:
        clients = list(_open.values())
    if servername is None:
        return clients
    return [c for c in clients if c.servername == servername]


def before_close_all(hook: Callable[[bool], None]) -> None:
    """Run ``hook(final)`` (stop a thread that uses clients; ``final`` at interpreter exit,
    else it may start again) before :func:`close_all` closes any."""
    _hooks.append(hook)


def close_all(servername: str | None = None) -> int:
    """Close every client still open (only those on ``servername`` when given), newest
    first; returns how many were open."""
    for hook in list(_hooks):
        try:
            hook(servername is None)
        except Exception:  # a hook that fails must not keep clients open
            pass
    clients = open_clients(servername)
    for client in reversed(clients):
        client.close()
    return len(clients)


atexit.register(close_all)
