"""rtmidi outputs and inputs (watched, reopened by name), and opening a port on any API.

On JACK with ``frame_exact`` the ports are :mod:`engine.ports.jack_midi`'s (sample-exact);
otherwise these rtmidi ports. Loss and reconnection: :mod:`engine.ports.watch`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import rtmidi

from engine.errors import DeviceError
from engine.ports.api import (
    API_CONSTANTS,
    ApiChoice,
    PortInfo,
    api_label,
    choose_api,
    current_jack_server,
    list_ports,
    log,
    match_port,
    port_key,
    quiet_libjack,
)
from engine.ports.watch import (
    STATUS_CLOSED,
    STATUS_OK,
    WATCHER,
    SoundingNotes,
    StatusCallback,
    WatchedPort,
)
from engine.realtime import clock
from engine.realtime.midi_io import MidiCallback
from engine.realtime.rt_priority import raise_thread_priority


# --------------------------------------------------------------------------------------------
# rtmidi sinks and sources
# --------------------------------------------------------------------------------------------
class _RtMidiPort(WatchedPort):
    """What rtmidi outputs and inputs share: opening by name, loss checks, reopening."""

    _is_input = False

    def __init__(self, api, target, virtual, client_name, on_status):
        self.api = api
        self.kind = "input" if self._is_input else "output"
        self._const = API_CONSTANTS[api]
        self._target = target  # peer port name (connect mode) or our port name (virtual)
        self._virtual = virtual
        self._client_name = client_name
        self._servername = current_jack_server() if api == "jack" else None
        self._server_died = False
        self._init_watch(on_status)
        self._midi = None
        if api == "jack":
            quiet_libjack()
        self._open()
        self.name = target
        WATCHER.register(self)
        if api == "jack":
            WATCHER.jack_probe(self._servername, self)

    def _new_rtmidi(self):
        cls = rtmidi.MidiIn if self._is_input else rtmidi.MidiOut
        try:
            midi = cls(self._const, name=self._client_name)
        except rtmidi.SystemError as exc:
            raise DeviceError(f"{api_label(self.api)}: cannot open MIDI ({exc})") from None
        midi.set_error_callback(self._rtmidi_error)
        return midi

    def _open(self) -> None:
        midi = self._new_rtmidi()
        try:
            if self._virtual:
                midi.open_virtual_port(self._target)
            else:
                ports = [PortInfo(i, n) for i, n in enumerate(midi.get_ports())]
                info = match_port(self._target, ports, self.kind, self.api)
                self._target = info.name
                midi.open_port(info.index, name="in" if self._is_input else "out")
        except rtmidi.RtMidiError as exc:
            midi.delete()
            raise DeviceError(f"MIDI {self.kind} '{self._target}': cannot open ({exc})") from None
        except DeviceError:
            midi.delete()
            raise
        self._prepare(midi)
        self._midi = midi

    def _prepare(self, midi) -> None:
        pass

    def _rtmidi_error(self, etype, message, data=None) -> None:
        # rtmidi calls this from its own (possibly real-time) thread: only flag, never print.
        if "overflow" in message or etype in (
            rtmidi.ERRORTYPE_DRIVER_ERROR,
            rtmidi.ERRORTYPE_SYSTEM_ERROR,
        ):
            self._mark_lost(f"driver error ({message.strip()})")

    def _peer_names(self) -> set[str] | None:
        if self.api == "jack":
            probe = WATCHER.jack_probe(self._servername, self)
            if probe is None:
                return None
            return probe.names(is_input=not self._is_input)
        cls = rtmidi.MidiIn if self._is_input else rtmidi.MidiOut
        probe = cls(self._const, name="quanta-watch")
        try:
            return {port_key(n) for n in probe.get_ports()}
        finally:
            probe.delete()

    def _check_alive(self) -> str | None:
        if self.api == "jack":
            probe = WATCHER.jack_probe(self._servername, self)
            if (probe is not None and probe.dead) or (
                probe is None and WATCHER.server_missing(self._servername)
            ):
                self._server_gone = True
                return "the JACK server stopped"
            if probe is None:
                return None  # could not look (busy server?): no evidence either way
        if self._virtual:
            return None
        names = self._peer_names()
        if names is not None and port_key(self._target) not in names:
            return "the port disappeared"
        return None

    def _drop_connection(self) -> None:
        if self._server_gone:
            self._server_died = True
        midi, self._midi = self._midi, None
        if midi is None:
            return
        time.sleep(0.02)  # let an engine-thread call already inside ``midi`` finish
        try:
            if not self._server_gone:
                midi.close_port()
            midi.delete()
        except Exception:
            pass

    def _comeback_text(self) -> str:
        if self.api == "jack" and self._server_gone:
            return (
                "rtmidi cannot rejoin a restarted JACK server: open the port again "
                "(Quanta's default JACK ports reconnect by themselves)"
            )
        return "reconnects when it comes back"

    def _reconnect(self) -> bool:
        if self.api == "jack":
            if self._server_died:
                # python-rtmidi's bundled libjack keeps the dead server's state: a new client
                # looks connected but its process callback never runs, so output piles up in
                # rtmidi's ring buffer until send_message spins forever. Never rejoin.
                return False
            probe = WATCHER.jack_probe(self._servername, self)
            if probe is None:
                return False
        if not self._virtual:
            names = self._peer_names()
            if names is None or port_key(self._target) not in names:
                return False
        try:
            self._open()
        except DeviceError as exc:
            log.debug("reopening %s failed: %s", self._target, exc)
            return False
        return True

    def close(self) -> None:
        with self._op_lock:
            self._close_locked()

    def _close_locked(self) -> None:
        if self._status == STATUS_CLOSED:
            return
        self._status = STATUS_CLOSED
        WATCHER.unregister(self)
        midi, self._midi = self._midi, None
        if midi is not None:
            try:
                if not self._server_gone:
                    midi.close_port()
                midi.delete()
            except Exception:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class RtMidiOutput(_RtMidiPort):
    """A :class:`~engine.realtime.midi_io.MidiSink` on an rtmidi port. ``lookahead`` is 0: rtmidi has no
    timestamps, so the engine calls ``send_at`` when an event is due and it goes out at once
    (on JACK at the start of the next period; elsewhere as soon as the OS delivers)."""

    lookahead = 0.0

    def __init__(
        self,
        api: str,
        target: str | int,
        *,
        virtual: bool = False,
        client_name: str = "Quanta",
        on_status: StatusCallback | None = None,
    ):
        self._notes = SoundingNotes()
        super().__init__(api, target, virtual, client_name, on_status)

    def send_at(self, when: float, data: bytes) -> None:
        midi = self._midi
        if self._status != STATUS_OK or midi is None:
            self.dropped += 1
            return
        self._notes.track(data)
        try:
            midi.send_message(data)
        except Exception as exc:
            self.dropped += 1
            self._mark_lost(f"send failed ({exc})")

    def panic(self) -> None:
        """Close sounding notes and send all-notes-off; on a lost port, only forget them."""
        msgs = self._notes.panic_messages()
        midi = self._midi
        if self._status != STATUS_OK or midi is None:
            return
        for msg in msgs:
            try:
                midi.send_message(msg)
            except Exception:
                return

    def _attempt_panic(self) -> bool:
        self.panic_attempts += 1
        msgs = self._notes.panic_messages()
        midi = self._midi
        if midi is None or self._server_gone:
            return False  # a JACK client whose server died must not be written to
        try:
            for msg in msgs:
                midi.send_message(msg)
        except Exception:
            return False
        return True


class RtMidiInput(_RtMidiPort):
    """A :class:`~engine.realtime.midi_io.MidiSource` on an rtmidi port. rtmidi's thread only queues
    ``(arrival time, bytes)``; a dispatcher thread calls the engine's callback, so a slow
    callback never holds rtmidi's (on JACK: real-time) thread."""

    _is_input = True

    def __init__(
        self,
        api: str,
        target: str | int,
        *,
        virtual: bool = False,
        client_name: str = "Quanta",
        on_status: StatusCallback | None = None,
    ):
        self._dispatch = Dispatcher(self)
        super().__init__(api, target, virtual, client_name, on_status)

    def _prepare(self, midi) -> None:
        midi.ignore_types(sysex=False, timing=False, active_sense=True)
        midi.set_callback(self._on_rtmidi)

    def _on_rtmidi(self, event, data=None) -> None:
        self._dispatch.put((clock.now(), bytes(event[0])))

    def set_callback(self, callback: MidiCallback | None) -> None:
        self._dispatch.callback = callback

    def close(self) -> None:
        super().close()
        self._dispatch.stop()


class Dispatcher:
    """Moves ``(when, bytes)`` from a driver thread to the engine's callback on its own thread.

    ``put`` is a ``SimpleQueue.put``: non-blocking and safe from a real-time thread.
    """

    def __init__(self, port: WatchedPort):
        import queue

        self._port = port
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self.put = self._queue.put
        self.callback: MidiCallback | None = None
        self.to_engine_time: Callable[[object], float] | None = None
        self._error_reported = False
        self.realtime = False  #: whether the thread got SCHED_FIFO (set when it starts)
        self._thread = threading.Thread(target=self._run, name="quanta-midi-in", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        # A player's note waits on this thread: real-time like the engine thread it feeds, or
        # on a busy machine it queues behind every other process for milliseconds.
        self.realtime = raise_thread_priority()
        get = self._queue.get
        while True:
            item = get()
            if item is None:
                return
            when, data = item
            if self.to_engine_time is not None:
                when = self.to_engine_time(when)
            cb = self.callback
            if cb is None:
                continue
            try:
                cb(data, when)
            except Exception as exc:
                if not self._error_reported:
                    self._error_reported = True
                    self._port._report("error", f"MIDI input callback failed: {exc!r}")

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(1.0)


# --------------------------------------------------------------------------------------------
# Opening
# --------------------------------------------------------------------------------------------
def open_output(
    port: str | int | None = None,
    *,
    api: str | ApiChoice | None = None,
    virtual: bool = False,
    client_name: str = "Quanta",
    frame_exact: bool = True,
    on_status: StatusCallback | None = None,
):
    """Open an output (a :class:`~engine.realtime.midi_io.MidiSink`) by name or index, or create a
    virtual port named ``port`` (default ``"out"``) that other programs connect to.

    On JACK with ``frame_exact`` (the default) the sink is a
    :class:`engine.ports.jack_midi.JackMidiOutput` (sample-exact, ``lookahead`` > 0); otherwise an
    :class:`RtMidiOutput` (``lookahead`` 0).
    """
    return _open("output", port, api, virtual, client_name, frame_exact, on_status)


def open_input(
    port: str | int | None = None,
    *,
    api: str | ApiChoice | None = None,
    virtual: bool = False,
    client_name: str = "Quanta",
    frame_exact: bool = True,
    on_status: StatusCallback | None = None,
):
    """Open an input (a :class:`~engine.realtime.midi_io.MidiSource`) by name or index, or create a
    virtual input port. On JACK with ``frame_exact`` arrival times come from the event's frame
    (:class:`engine.ports.jack_midi.JackMidiInput`); otherwise from the clock when rtmidi hands it
    over."""
    return _open("input", port, api, virtual, client_name, frame_exact, on_status)


def _open(kind, port, api, virtual, client_name, frame_exact, on_status):
    """Shared by :func:`open_output` and :func:`open_input` (``kind`` says which)."""
    name = choose_api(api).name
    if port is None and not virtual:
        raise DeviceError(f"no MIDI {kind} given (name or index; see `quanta ports`)")
    is_input = kind == "input"
    default_port = "in" if is_input else "out"
    if name == "jack" and frame_exact:
        from engine.ports.jack_midi import JackMidiInput, JackMidiOutput

        cls = JackMidiInput if is_input else JackMidiOutput
        if virtual:
            return cls(
                client_name=client_name, port_name=str(port or default_port), on_status=on_status
            )
        info = match_port(port, list_ports("jack")[0 if is_input else 1], kind, "jack")
        return cls(info.name, client_name=client_name, on_status=on_status)
    target = str(port or default_port) if virtual else port
    cls = RtMidiInput if is_input else RtMidiOutput
    return cls(name, target, virtual=virtual, client_name=client_name, on_status=on_status)
