"""What every Quanta MIDI port shares: status reports, loss and reconnection, the watcher.

Port loss: a sink or source notices a failed send, its peer vanishing from the port list, or
the JACK server going away. It then drops events (never raises into the engine, never blocks),
attempts a panic where the port still exists, reports once through its status callback, and
the background :class:`PortWatcher` (polling a few times a second, never the hot path)
reopens it by name when it returns. Reports are delivered on the watcher thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from engine.ports.api import (
    api_label,
    log,
    quiet_libjack,
)

STATUS_OK = "ok"
STATUS_LOST = "lost"
STATUS_CLOSED = "closed"


# --------------------------------------------------------------------------------------------
# Sounding notes (for panic)
# --------------------------------------------------------------------------------------------
class SoundingNotes:
    """Counts note-ons not yet closed, per channel and pitch, so ``panic`` can close exactly
    those. A preallocated bytearray: tracking a message allocates nothing."""

    __slots__ = ("_count",)

    def __init__(self) -> None:
        self._count = bytearray(16 * 128)

    def track(self, data: bytes) -> None:
        if len(data) < 3:
            return
        status = data[0]
        kind = status & 0xF0
        if kind == 0x90 and data[2]:
            i = ((status & 0x0F) << 7) | (data[1] & 0x7F)
            if self._count[i] < 255:
                self._count[i] += 1
        elif kind == 0x80 or kind == 0x90:
            i = ((status & 0x0F) << 7) | (data[1] & 0x7F)
            if self._count[i]:
                self._count[i] -= 1

    def sounding(self) -> list[tuple[int, int]]:
        """``(channel, pitch)`` of every sounding note (one entry per open note-on)."""
        out = []
        for i, n in enumerate(self._count):
            out.extend([(i >> 7, i & 0x7F)] * n)
        return out

    def panic_messages(self) -> list[bytes]:
        """Note-off for every sounding note, then CC 123 (all notes off) and CC 120 (all
        sound off) on all 16 channels. Clears the table."""
        msgs = [bytes((0x80 | ch, pitch, 0)) for ch, pitch in self.sounding()]
        self._count[:] = bytes(len(self._count))
        for ch in range(16):
            msgs.append(bytes((0xB0 | ch, 123, 0)))
            msgs.append(bytes((0xB0 | ch, 120, 0)))
        return msgs


# --------------------------------------------------------------------------------------------
# Status reports and the watcher
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PortEvent:
    """A status change of a port: ``kind`` is ``"lost"``, ``"reconnected"`` or ``"error"``."""

    kind: str
    port: str
    api: str
    message: str


StatusCallback = Callable[[PortEvent], None]


class WatchedPort:
    """Loss detection, one-time reporting and reconnection shared by every Quanta port.

    Subclasses implement ``_check_alive`` (``None`` or a reason), ``_drop_connection`` (after
    loss, in the watcher thread) and ``_reconnect`` (``True`` once back). The hot path only
    reads ``_status`` and calls ``_mark_lost``, which sets two attributes and wakes the watcher.
    """

    name: str = ""
    api: str = ""
    kind: str = "output"

    def _init_watch(self, on_status: StatusCallback | None) -> None:
        self._status = STATUS_OK
        self._loss_reason = ""
        self._loss_reported = False
        self._server_gone = False
        self._status_callback = on_status
        self.events: list[PortEvent] = []
        self.dropped = 0
        self.panic_attempts = 0
        self.check_failures = 0  #: watcher checks that could not decide (not counted as loss)
        #: one thread at a time asks the server about this port (watcher pass, close, connect):
        #: libjack requests on one client from two threads at once got the client killed
        self._op_lock = threading.RLock()

    @property
    def status(self) -> str:
        return self._status

    def set_status_callback(self, callback: StatusCallback | None) -> None:
        """``callback(PortEvent)`` on loss, reconnection or error; runs on the watcher thread."""
        self._status_callback = callback

    def _mark_lost(self, reason: str, server_gone: bool = False) -> None:
        if self._status == STATUS_OK:
            self._loss_reason = reason
            self._server_gone = server_gone
            self._status = STATUS_LOST
            WATCHER.wake()

    def _report(self, kind: str, message: str) -> None:
        event = PortEvent(kind, self.name, self.api, message)
        self.events.append(event)
        log.info("%s", message)
        cb = self._status_callback
        if cb is not None:
            try:
                cb(event)
            except Exception:  # a broken listener must not stop the watcher
                log.exception("status callback failed")

    def _describe(self) -> str:
        return f"MIDI {self.kind} '{self.name}' ({api_label(self.api)})"

    def _service(self) -> None:
        """One watcher pass: detect, report once, try to reconnect."""
        with self._op_lock:
            self._service_locked()

    def _service_locked(self) -> None:
        if self._status == STATUS_CLOSED:
            return
        if self._status == STATUS_OK:
            try:
                reason = self._check_alive()
            except Exception as exc:
                # A probe that fails (a listing that timed out on a loaded machine) is not
                # evidence that the port is gone: ask again next pass. Real loss shows as the
                # port missing from a listing, the server's shutdown, or a failed send.
                log.debug("checking %s failed: %s", self.name, exc)
                self.check_failures += 1
                reason = None
            if reason:
                self._mark_lost(reason, server_gone=self._server_gone)
        if self._status == STATUS_LOST and not self._loss_reported:
            self._loss_reported = True
            panicked = self._attempt_panic()
            self._drop_connection()
            tail = "; notes were silenced" if panicked else ""
            self._report(
                "lost",
                f"{self._describe()}: {self._loss_reason}{tail}; "
                f"Quanta keeps running and {self._comeback_text()}",
            )
        if self._status == STATUS_LOST:
            try:
                back = self._reconnect()
            except Exception as exc:
                log.debug("reconnect of %s failed: %s", self.name, exc)
                back = False
            if back and self._status == STATUS_LOST:
                self._loss_reported = False
                self._server_gone = False
                self._status = STATUS_OK
                self._report("reconnected", f"{self._describe()} is back")

    def _attempt_panic(self) -> bool:
        """Try to close sounding notes on a port that may be half gone; never raises."""
        return False

    def _comeback_text(self) -> str:
        return "reconnects when it comes back"

    def _check_alive(self) -> str | None:
        return None

    def _drop_connection(self) -> None:
        pass

    def _reconnect(self) -> bool:
        return False


class _JackProbe:
    """A JACK client the watcher uses to list ports and to hear that a server went away
    (a flag set by compiled code: see engine.ports.jack_rt.watch_shutdown for why not Python)."""

    def __init__(self, servername: str | None):
        import numpy as np

        from engine.ports import jack_rt
        from engine.ports.jack_client import Client

        quiet_libjack()
        self._ctl = np.zeros(jack_rt.HEADER, dtype=np.int64)
        self.client = Client("quanta-watch", servername=servername)
        try:
            jack_rt.watch_shutdown(self.client, self._ctl)
            self.client.activate()
        except BaseException:
            self.client.close()
            raise
        self.listeners: list[WatchedPort] = []

    @property
    def dead(self) -> bool:
        from engine.ports import jack_rt
        return bool(self._ctl[jack_rt.SHUTDOWN])

    def names(self, *, is_input: bool) -> set[str]:
        ports = self.client.get_ports(is_midi=True, is_input=is_input, is_output=not is_input)
        return {p.name for p in ports}

    def close(self) -> None:
        try:
            self.client.close()
        except Exception:
            pass


class PortWatcher:
    """One low-rate background thread that services every open port (see module docstring).

    It starts with the first port and ends when the last one closes.
    """

    def __init__(self, interval: float = 0.2):
        self.interval = interval
        self._ports: list[WatchedPort] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._probes: dict[str | None, _JackProbe] = {}
        #: servers a probe could not join because nothing listens there (JackServerFailed)
        self._no_server: set[str | None] = set()
        self._stopping = False

    def stop(self, timeout: float = 2.0, *, final: bool = True) -> None:
        """End the thread and close its JACK probes here, after it has ended: never while it
        may be using one. Not ``final`` (a test about to stop a server): the thread starts
        again at once if ports remain."""
        with self._lock:
            thread = self._thread
            self._stopping = True
        self._wake.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            if thread.is_alive():
                return  # stuck in a JACK call: leave its probes to it
        with self._lock:
            self._stopping = False
            self._thread = None
            probes = list(self._probes.values())
            self._probes.clear()
        for probe in probes:
            probe.close()
        if not final:
            with self._lock:
                if self._ports and self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name="quanta-ports", daemon=True
                    )
                    self._thread.start()

    def register(self, port: WatchedPort) -> None:
        with self._lock:
            self._ports.append(port)
            if self._stopping:
                return  # stopping for good (interpreter exit)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="quanta-ports", daemon=True)
                self._thread.start()

    def unregister(self, port: WatchedPort) -> None:
        with self._lock:
            if port in self._ports:
                self._ports.remove(port)
            for probe in self._probes.values():
                if port in probe.listeners:
                    probe.listeners.remove(port)
        self._wake.set()

    def wake(self) -> None:
        self._wake.set()

    def jack_probe(self, servername: str | None, port: WatchedPort | None = None):
        """The live probe for ``servername`` (reopened after a server restart), or ``None``."""
        probe = self._probes.get(servername)
        if probe is not None and probe.dead:
            probe.close()  # idempotent and locked: the watcher may close it at the same time
            probe = None
            self._probes.pop(servername, None)
        if probe is None:
            import jack

            try:
                probe = _JackProbe(servername)
            except jack.JackOpenError as exc:
                if exc.status.server_failed:  # no server socket to connect to: it is gone
                    self._no_server.add(servername)
                return None
            except jack.JackError:
                return None
            self._no_server.discard(servername)
            self._probes[servername] = probe
        if port is not None and port not in probe.listeners:
            probe.listeners.append(port)
        return probe

    def server_missing(self, servername: str | None) -> bool:
        """Whether the last attempt to join ``servername`` found no server at all (evidence
        of a stopped server; a join that failed for another reason, e.g. a timeout under
        load, is not)."""
        return servername in self._no_server

    def _close_dead_probes(self) -> None:
        # Close a dead server's probe at once, on this thread: closing it later, at the same
        # time as another thread closes a client, has crashed libjack.
        for servername, probe in list(self._probes.items()):
            if probe.dead:
                for port in list(probe.listeners):
                    port._mark_lost("the JACK server stopped", server_gone=True)
                probe.close()
                self._probes.pop(servername, None)

    def _run(self) -> None:
        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            with self._lock:
                ports = list(self._ports)
                if self._stopping:
                    return
                if not ports:
                    for probe in self._probes.values():
                        probe.close()
                    self._probes.clear()
                    self._thread = None
                    return
            self._close_dead_probes()
            for port in ports:
                try:
                    port._service()
                except Exception:
                    log.exception("port watcher failed on %s", port.name)


WATCHER = PortWatcher()
try:  # stop the watcher before JACK clients are closed at exit (engine.ports.jack_client)
    from engine.ports.jack_client import before_close_all as _before_close_all

    _before_close_all(lambda final: WATCHER.stop(final=final))
except ImportError:  # no JACK-Client: no JACK clients to close
    pass
