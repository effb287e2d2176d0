"""Sample-exact MIDI on JACK through JACK-Client: an output that writes each event at its exact
frame, an input that timestamps each event by its frame, and the clock mapping between them.

Clock: the engine clock is ``time.monotonic`` (CLOCK_MONOTONIC). libjack's ``jack_get_time``
is *not* the same clock here (measured: a constant ~250 ms apart, it follows
CLOCK_MONOTONIC_RAW), so :class:`JackClock` measures the offset between the two and refreshes
it from the port watcher, then uses libjack's own ``jack_time_to_frames`` /
``jack_frames_to_time`` (the server's filtered frame clock) for the rest.

Real-time rules: the process callbacks are compiled (:mod:`engine.ports.jack_rt`, numba cfuncs that
libjack calls without the GIL), so a busy Python thread cannot make them miss a period. They
only move events between a preallocated ring and the JACK port buffer. Anything slow (clock
refresh, reconnecting, reporting, the engine's input callback) runs on other threads.
:func:`tighten_gil_switching` still helps the *engine* thread hand events over on time.
"""

from __future__ import annotations

import ctypes
import errno
import sys
import threading
import time

import jack

from engine.errors import DeviceError
from engine.ports import jack_rt
from engine.ports.api import current_jack_server, quiet_libjack
from engine.ports.jack_client import Client
from engine.ports.jack_rt import MidiRing
from engine.ports.watch import (
    STATUS_CLOSED,
    STATUS_OK,
    WATCHER,
    SoundingNotes,
    StatusCallback,
    WatchedPort,
)
from engine.realtime.midi_io import MidiCallback
from engine.realtime.rt_priority import raise_thread_priority

#: Seconds between GIL hand-overs that keep a Python JACK callback on time under load.
RT_SWITCH_INTERVAL = 0.0005


def tighten_gil_switching(interval: float = RT_SWITCH_INTERVAL) -> float:
    """Make busy Python threads give up the GIL every ``interval`` s; returns the old value."""
    old = sys.getswitchinterval()
    if old > interval:
        sys.setswitchinterval(interval)
    return old


def _load_libjack():
    # PyDLL keeps the GIL across these short, non-blocking calls (no thread switch mid-cycle).
    lib = ctypes.PyDLL(jack._libname)
    lib.jack_get_time.restype = ctypes.c_uint64
    lib.jack_get_time.argtypes = []
    lib.jack_time_to_frames.restype = ctypes.c_uint32
    lib.jack_time_to_frames.argtypes = [ctypes.c_void_p, ctypes.c_uint64]
    lib.jack_frames_to_time.restype = ctypes.c_uint64
    lib.jack_frames_to_time.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
    return lib


_lib = _load_libjack()
_FRAME_WRAP = 1 << 32


def _port_exists(client: jack.Client, name: str) -> bool:
    """Whether the server's port table holds ``name`` (read directly, never a stale graph)."""
    try:
        client.get_port_by_name(name)
    except jack.JackError:
        return False
    return True


def _client_pointer(client: jack.Client) -> int:
    return int(jack._ffi.cast("uintptr_t", client._ptr))


class JackClock:
    """Maps engine-clock seconds to JACK frames and back for one client's server.

    Frames are the server's 32-bit frame counter unwrapped to Python ints near the current
    frame, so they compare directly with ``last_frame_time + offset`` as the recorder stores it.
    """

    def __init__(self, client: jack.Client):
        self._client = client
        self._ptr = _client_pointer(client)
        self.offset_us = 0.0  # jack_get_time() - monotonic() in microseconds
        self.refresh()

    def refresh(self) -> None:
        """Re-measure the monotonic↔JACK offset (the two clocks drift by a few ppm)."""
        best = None
        for _ in range(7):
            t0 = time.monotonic()
            j = _lib.jack_get_time()
            t1 = time.monotonic()
            if best is None or t1 - t0 < best[0]:
                best = (t1 - t0, j - (t0 + t1) * 0.5e6)
        self.offset_us = best[1]

    def _unwrap(self, frame32: int) -> int:
        ref = self._client.frame_time
        delta = (frame32 - ref) % _FRAME_WRAP
        if delta >= _FRAME_WRAP // 2:
            delta -= _FRAME_WRAP
        return ref + delta

    def engine_to_frame(self, when: float) -> int:
        """The frame at engine time ``when`` (may be in the past or the future)."""
        us = when * 1e6 + self.offset_us
        if us < 0:
            us = 0
        return self._unwrap(_lib.jack_time_to_frames(self._ptr, int(us)))

    def frame_to_engine(self, frame: int) -> float:
        """Engine-clock seconds of ``frame``."""
        return (_lib.jack_frames_to_time(self._ptr, frame % _FRAME_WRAP) - self.offset_us) / 1e6


class _JackPort(WatchedPort):
    """What the JACK output and input share: the client, connections by name, loss handling."""

    _is_input = False

    def __init__(self, connect, client_name, port_name, servername, on_status):
        quiet_libjack()
        self.api = "jack"
        self.kind = "input" if self._is_input else "output"
        if isinstance(connect, str):
            connect = [connect]
        self._peers = list(connect or ())
        self._client_name = client_name
        self._port_name = port_name
        self._servername = servername or current_jack_server()
        self._init_watch(on_status)
        self._client = None
        self._open()
        self.name = self._port.name
        WATCHER.register(self)

    def _open(self) -> None:
        try:
            client = Client(self._client_name, servername=self._servername)
        except jack.JackError:
            raise DeviceError(
                f"JACK: cannot open MIDI {self.kind} '{self._client_name}:{self._port_name}' "
                "(no JACK server is running)"
            ) from None
        try:
            if self._is_input:
                port = client.midi_inports.register(self._port_name)
            else:
                port = client.midi_outports.register(self._port_name)
            self._port = port
            self._prepare(client)
            self._install(client, port)
            client.activate()
        except BaseException:
            client.close()  # never leave an open client to the garbage collector
            raise
        self._client = client
        for peer in self._peers:
            try:
                if self._is_input:
                    client.connect(peer, port)
                else:
                    client.connect(port, peer)
            except jack.JackError:
                self._close_client()
                raise DeviceError(
                    f"JACK: cannot connect MIDI {self.kind} '{port.name}' to '{peer}'"
                ) from None

    def _prepare(self, client: jack.Client) -> None:
        self.clock = JackClock(client)

    @property
    def client(self) -> jack.Client:
        return self._client

    @property
    def rate(self) -> int:
        return self._client.samplerate

    @property
    def period(self) -> int:
        return self._client.blocksize

    @property
    def xruns(self) -> int:
        """Xruns the server reported to this port's client (counted without Python)."""
        return self._ring.counter(jack_rt.XRUNS)

    def _check_alive(self) -> str | None:
        """Loss needs evidence: a peer gone from the server's port table (or the server gone,
        which the shutdown callback reports). "Not connected" is not evidence: a connection
        just made lives in JACK's *next* graph until every client has finished its cycle, so
        on a loaded machine ``jack_port_connected_to`` reads "no" for a while after
        ``jack_connect`` (tests/test_ports_watch_load.py). A peer that is there but reads as
        unconnected is connected again, quietly."""
        client = self._client
        if client is None or self._ring.counter(jack_rt.SHUTDOWN):
            self._server_gone = True  # (set by the compiled shutdown callback, see jack_rt)
            return "the JACK server stopped"
        self.clock.refresh()
        missing = [peer for peer in self._peers if not _port_exists(client, peer)]
        if missing:
            # Two looks in a row, a watcher pass apart: a lookup of a live peer has read as
            # missing once on a loaded machine (seen in CI); a peer really gone stays gone.
            self._missing_looks = getattr(self, "_missing_looks", 0) + 1
            if self._missing_looks >= 2:
                self._missing_looks = 0
                return f"the connection to '{missing[0]}' was lost (port gone)"
            return None
        self._missing_looks = 0
        self._restore_connections(client)
        return None

    def _restore_connections(self, client: jack.Client) -> bool:
        """Connect to every peer that reads as unconnected; ``True`` when all are connected."""
        ok = True
        for peer in self._peers:
            if self._port.is_connected_to(peer):
                continue
            try:
                if self._is_input:
                    client.connect(peer, self._port)
                else:
                    client.connect(self._port, peer)
            except jack.JackErrorCode as exc:
                ok = ok and exc.code == errno.EEXIST  # it was connected: the read was stale
            except jack.JackError:
                ok = False
        return ok

    def _drop_connection(self) -> None:
        if self._server_gone:
            self._close_client()

    def _close_client(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            if not self._server_gone:
                client.deactivate()
            client.close()
        except Exception:
            pass

    def _reconnect(self) -> bool:
        if self._client is None:
            try:
                self._open()
            except DeviceError:
                return False
            return True
        return self._restore_connections(self._client)

    def connect(self, peer: str) -> None:
        """Connect to another JACK MIDI port (full name); remembered for reconnection."""
        with self._op_lock:
            self._connect_locked(peer)

    def _connect_locked(self, peer: str) -> None:
        if peer not in self._peers:
            self._peers.append(peer)
        try:
            if self._is_input:
                self._client.connect(peer, self._port)
            else:
                self._client.connect(self._port, peer)
        except jack.JackError:
            raise DeviceError(f"JACK: cannot connect '{self.name}' to '{peer}'") from None

    def close(self) -> None:
        with self._op_lock:
            if self._status == STATUS_CLOSED:
                return
            self._status = STATUS_CLOSED
            WATCHER.unregister(self)
            self._close_client()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class JackMidiOutput(_JackPort):
    """A :class:`~engine.realtime.midi_io.MidiSink` that writes events at their exact frame.

    The engine may hand events over up to ``lookahead`` seconds early (``lookahead_periods``
    periods), in any order: the callback writes them by frame, so an event due now (a live
    note) goes out in the next period even behind song events handed over for later. An event
    whose frame has already passed goes out at the start of the next period and counts in
    ``late``; a full ring drops the event and counts ``overflows``. The process callback is
    compiled (:mod:`engine.ports.jack_rt`): it never waits for the GIL, so a busy Python thread
    cannot make it miss a period.
    """

    def __init__(
        self,
        connect: str | list[str] | None = None,
        *,
        client_name: str = "Quanta",
        port_name: str = "out",
        servername: str | None = None,
        lookahead_periods: int = 3,
        capacity: int = 8192,
        on_status: StatusCallback | None = None,
    ):
        self._ring = MidiRing(capacity)
        self._notes = SoundingNotes()
        self.overflows = 0
        self._lookahead_periods = lookahead_periods
        super().__init__(connect, client_name, port_name, servername, on_status)
        self.lookahead = lookahead_periods * self.period / self.rate

    def _install(self, client: jack.Client, port) -> None:
        # After a server restart, frames still queued belong to the old server's frame
        # counter: drop them, or they would block the queue until that frame comes round.
        self._ring.ctl[jack_rt.FLUSH] = self._ring.ctl[jack_rt.HEAD]
        self._ring.install(client, port, is_input=False)

    @property
    def late(self) -> int:
        """Events that arrived after their frame had passed (sent at the next period start)."""
        return self._ring.counter(jack_rt.LATE)

    @property
    def write_errors(self) -> int:
        return self._ring.counter(jack_rt.WRITE_ERRORS)

    # --- engine thread ----------------------------------------------------------------------
    def send_at(self, when: float, data: bytes) -> None:
        self.schedule(when, data)

    def schedule(self, when: float, data: bytes) -> int:
        """``send_at`` that also returns the frame the event was queued for (-1: dropped)."""
        if self._status != STATUS_OK:
            self.dropped += 1
            return -1
        frame = self.clock.engine_to_frame(when)
        self._notes.track(data)
        if not self._ring.push(frame, data):
            self.overflows += 1
        return frame

    def send_at_frame(self, frame: int, data: bytes) -> None:
        """Queue ``data`` for absolute ``frame`` (the server's frame counter)."""
        if self._status != STATUS_OK:
            self.dropped += 1
            return
        self._notes.track(data)
        if not self._ring.push(frame, data):
            self.overflows += 1

    def panic(self) -> None:
        """Drop everything queued, then note-offs for sounding notes and CC 123/120 on all
        channels at the start of the next period."""
        self._ring.ctl[jack_rt.FLUSH] = self._ring.ctl[jack_rt.HEAD]
        for msg in self._notes.panic_messages():
            self._ring.push(0, msg)

    def _attempt_panic(self) -> bool:
        self.panic_attempts += 1
        self.panic()
        return not self._server_gone

    def pending(self) -> int:
        """Events handed over and not yet written."""
        return self._ring.pending()


class JackMidiInput(_JackPort):
    """A :class:`~engine.realtime.midi_io.MidiSource` on a JACK MIDI port.

    The compiled process callback copies events into a ring and posts a semaphore; a
    dispatcher thread maps each event's frame to engine time (its true arrival time, to the
    frame) and calls the engine's callback there, never in JACK's thread.
    """

    _is_input = True

    def __init__(
        self,
        connect: str | list[str] | None = None,
        *,
        client_name: str = "Quanta",
        port_name: str = "in",
        servername: str | None = None,
        capacity: int = 8192,
        on_status: StatusCallback | None = None,
    ):
        self._ring = MidiRing(capacity)
        self._callback: MidiCallback | None = None
        self._running = True
        self._error_reported = False
        self.realtime = False  #: whether the dispatcher got SCHED_FIFO (set when it starts)
        super().__init__(connect, client_name, port_name, servername, on_status)
        self._thread = threading.Thread(target=self._dispatch, name="quanta-jack-in", daemon=True)
        self._thread.start()

    def _install(self, client: jack.Client, port) -> None:
        self._ring.install(client, port, is_input=True)

    @property
    def overflows(self) -> int:
        """Events dropped because the engine fell a whole ring behind."""
        return self._ring.counter(jack_rt.DROPPED)

    def _dispatch(self) -> None:
        # Real-time like the engine thread it feeds (see rtmidi_io.Dispatcher).
        self.realtime = raise_thread_priority()
        ring = self._ring
        while self._running:
            ring.wait()
            for frame, data in ring.pop_all():
                cb = self._callback
                if cb is None:
                    continue
                try:
                    cb(data, self.clock.frame_to_engine(frame))
                except Exception as exc:
                    if not self._error_reported:
                        self._error_reported = True
                        self._report("error", f"MIDI input callback failed: {exc!r}")

    def set_callback(self, callback: MidiCallback | None) -> None:
        self._callback = callback

    def close(self) -> None:
        # The dispatcher reads the client's clock: stop it before the client goes.
        self._running = False
        self._ring.wake()
        if self._thread is not threading.current_thread():
            self._thread.join(2.0)
        super().close()
