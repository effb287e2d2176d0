"""MIDI ports through python-rtmidi on every API the machine has, with loss and reconnection.

Which API: an explicit name wins (``choose_api("alsa")``, ``quanta ports --api``, or the
``QUANTA_MIDI_API`` environment variable); otherwise JACK when a JACK server is running (it is
the only API that gives sample-exact MIDI, through :mod:`engine.jack_midi`), else the
platform's own (ALSA, CoreMIDI, WinMM). Port names are rtmidi's: on JACK the full
``client:port`` name, on ALSA ``client:port`` followed by an address that may change between
sessions (matching ignores it).

Wording: an *input* is a port Quanta can read from (a keyboard), an *output* one it can send to
(a synth). ``open_output(virtual=True)`` instead creates a port other programs connect to.

Port loss: a sink or source notices a failed send, its peer vanishing from the port list, or
the JACK server going away. It then drops events (never raises into the engine, never blocks),
attempts a panic where the port still exists, reports once through its status callback, and
the background :class:`PortWatcher` (polling a few times a second, never the hot path)
reopens it by name when it returns. Reports are delivered on the watcher thread.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import rtmidi

from engine import clock
from engine.errors import DeviceError
from engine.midi_io import MidiCallback

log = logging.getLogger("quanta.ports")

#: rtmidi API constants by the names users type.
API_CONSTANTS = {
    "jack": rtmidi.API_UNIX_JACK,
    "alsa": rtmidi.API_LINUX_ALSA,
    "coremidi": rtmidi.API_MACOSX_CORE,
    "winmm": rtmidi.API_WINDOWS_MM,
}
API_LABELS = {"jack": "JACK", "alsa": "ALSA", "coremidi": "CoreMIDI", "winmm": "WinMM"}
API_ENV = "QUANTA_MIDI_API"

STATUS_OK = "ok"
STATUS_LOST = "lost"
STATUS_CLOSED = "closed"


# --------------------------------------------------------------------------------------------
# libjack's own messages: keep them off stderr (they come from JACK threads when a server dies)
# --------------------------------------------------------------------------------------------
_jack_quiet = False


_native_handlers: list = []  # ctypes callbacks must outlive the libraries' use of them


def _silent_printer() -> int:
    """The address of a compiled C function that ignores libjack's message.

    Why not a Python callback: libjack prints from its own threads, and a Python printer
    takes the GIL there. When a client closes (or the server dies) libjack cancels those
    threads, and one cancelled inside the printer never gives the GIL back: every Python
    thread in Quanta then hangs (seen in CI closing a port while the server stopped).
    """
    import numba
    from numba import types

    @numba.cfunc(types.void(types.voidptr), nopython=True, cache=True)
    def ignore(msg):
        return

    _native_handlers.append(ignore)
    return ignore.address


def _quiet_libjacks() -> None:
    # The system libjack (JACK-Client) and python-rtmidi's bundled copy each have their own
    # printer; both get the silent one. Quanta reports JACK trouble itself, in one line.
    import ctypes
    import glob

    paths = []
    try:
        import jack

        paths.append(jack._libname)
    except (ImportError, OSError):
        pass
    here = os.path.dirname(rtmidi.__file__)
    paths += glob.glob(os.path.join(here, "..", "python_rtmidi*", "libjack*.so*"))
    if not paths:
        return
    address = ctypes.c_void_p(_silent_printer())
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for setter in (lib.jack_set_error_function, lib.jack_set_info_function):
            setter.argtypes = [ctypes.c_void_p]
            setter.restype = None
            setter(address)


def _quiet_alsa_lib() -> None:
    # alsa-lib prints "ALSA lib seq_hw.c... failed" itself when /dev/snd/seq is missing; the
    # DeviceError already says it in one line.
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("asound")
    if not name:
        return
    try:
        lib = ctypes.CDLL(name)
    except OSError:
        return
    handler_type = ctypes.CFUNCTYPE(
        None, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p
    )
    handler = handler_type(lambda *args: None)
    _native_handlers.append(handler)
    lib.snd_lib_error_set_handler(handler)


def quiet_libjack() -> None:
    """Silence libjack's and alsa-lib's own printing (process-wide, rtmidi's bundled libjack
    included): a dying server or a missing ALSA device must not spray the terminal; Quanta
    reports it once, in one line. libjack's printer is compiled code (see
    :func:`_silent_printer`)."""
    global _jack_quiet
    if _jack_quiet:
        return
    _jack_quiet = True
    if sys.platform.startswith("linux"):
        _quiet_alsa_lib()
    _quiet_libjacks()


def current_jack_server() -> str | None:
    """The JACK server name clients will use (``JACK_DEFAULT_SERVER``), ``None`` = default."""
    return os.environ.get("JACK_DEFAULT_SERVER") or None


def jack_server_running(servername: str | None = None) -> bool:
    """Whether a JACK server answers; never starts one."""
    try:
        import jack
    except (ImportError, OSError):
        return False
    from engine.jack_client import Client

    quiet_libjack()
    try:
        client = Client("quanta-probe", servername=servername)
    except jack.JackError:
        return False
    client.close()
    return True


# --------------------------------------------------------------------------------------------
# APIs
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ApiChoice:
    """The API Quanta will use and a sentence saying why (shown by ``quanta ports``)."""

    name: str
    reason: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class PortInfo:
    index: int
    name: str


def api_label(api: str) -> str:
    return API_LABELS.get(api, api)


def compiled_apis() -> list[str]:
    """The APIs this python-rtmidi build supports, by name."""
    by_const = {v: k for k, v in API_CONSTANTS.items()}
    return [by_const[c] for c in rtmidi.get_compiled_api() if c in by_const]


def api_problem(api: str) -> str | None:
    """``None`` when ``api`` can be used now, else a one-line reason it cannot."""
    if api not in API_CONSTANTS:
        known = ", ".join(API_CONSTANTS)
        return f"unknown MIDI API '{api}' (known: {known})"
    if api not in compiled_apis():
        return f"{api_label(api)} MIDI is not available in this build of python-rtmidi"
    if api == "jack":
        if not jack_server_running():
            return "JACK: no JACK server is running"
        return None
    quiet_libjack()
    try:
        probe = rtmidi.MidiOut(API_CONSTANTS[api], name="quanta-probe")
    except rtmidi.SystemError:
        if api == "alsa":
            return (
                "ALSA: cannot open the ALSA sequencer (/dev/snd/seq missing; "
                "is the snd-seq kernel module loaded?)"
            )
        return f"{api_label(api)}: the MIDI system could not be opened"
    del probe
    return None


def available_apis() -> list[str]:
    """The compiled-in APIs that work right now, best first (JACK, then the platform's)."""
    return [api for api in _preference_order() if api_problem(api) is None]


def _platform_api() -> str:
    if sys.platform == "darwin":
        return "coremidi"
    if sys.platform.startswith("win"):
        return "winmm"
    return "alsa"


def _preference_order() -> list[str]:
    order = ["jack", _platform_api()]
    order += [a for a in compiled_apis() if a not in order]
    return [a for a in order if a in compiled_apis()]


def choose_api(preferred: str | ApiChoice | None = None) -> ApiChoice:
    """Pick the API: ``preferred`` (or ``$QUANTA_MIDI_API``) if given, else JACK when a JACK
    server runs, else the platform default. Raises :class:`DeviceError` when none works."""
    if isinstance(preferred, ApiChoice):
        return preferred
    source = "requested"
    if not preferred:
        preferred = os.environ.get(API_ENV) or None
        source = f"set by {API_ENV}"
    if preferred:
        api = preferred.strip().lower()
        problem = api_problem(api)
        if problem:
            raise DeviceError(f"MIDI API {problem}")
        return ApiChoice(api, f"{api_label(api)} ({source})")
    problems = []
    for api in _preference_order():
        problem = api_problem(api)
        if problem is None:
            why = (
                "a JACK server is running"
                if api == "jack"
                else "the platform default; no JACK server is running"
            )
            return ApiChoice(api, f"{api_label(api)} ({why})")
        problems.append(problem)
    raise DeviceError("no MIDI system works: " + "; ".join(problems))


def _api_name(api: str | ApiChoice | None) -> str:
    return choose_api(api).name if not isinstance(api, str) or api not in API_CONSTANTS else api


def list_ports(api: str | ApiChoice | None = None) -> tuple[list[PortInfo], list[PortInfo]]:
    """``(inputs, outputs)`` on ``api``: ports Quanta can read from, and send to."""
    name = _api_name(api)
    problem = api_problem(name)
    if problem:
        raise DeviceError(f"MIDI API {problem}")
    quiet_libjack()
    if name == "jack":
        return _list_jack_ports()
    const = API_CONSTANTS[name]
    try:
        mi = rtmidi.MidiIn(const, name="quanta-list")
        mo = rtmidi.MidiOut(const, name="quanta-list")
    except rtmidi.SystemError as exc:
        raise DeviceError(f"{api_label(name)}: cannot list MIDI ports ({exc})") from None
    try:
        inputs = [PortInfo(i, n) for i, n in enumerate(mi.get_ports())]
        outputs = [PortInfo(i, n) for i, n in enumerate(mo.get_ports())]
    finally:
        mi.delete()
        mo.delete()
    return inputs, outputs


def _list_jack_ports() -> tuple[list[PortInfo], list[PortInfo]]:
    """JACK MIDI ports through JACK-Client, in the order rtmidi lists them (jack_get_ports).

    Not through rtmidi: rtmidi holds the GIL while libjack waits for every client's cycle, so
    in a process that also runs a Python JACK/PortAudio callback (the audio output) listing
    ports deadlocked. JACK-Client's cffi calls release the GIL.
    """
    import jack

    from engine.jack_client import Client

    try:
        client = Client("quanta-list")
    except jack.JackError as exc:
        raise DeviceError(f"{api_label('jack')}: cannot list MIDI ports ({exc})") from None
    try:
        inputs = [p.name for p in client.get_ports(is_midi=True, is_output=True)]
        outputs = [p.name for p in client.get_ports(is_midi=True, is_input=True)]
    finally:
        client.close()
    return (
        [PortInfo(i, n) for i, n in enumerate(inputs)],
        [PortInfo(i, n) for i, n in enumerate(outputs)],
    )


_ALSA_ADDRESS = re.compile(r"\s+\d+:\d+$")


def port_key(name: str) -> str:
    """A port name without the session-specific ALSA ``client:port`` address suffix."""
    return _ALSA_ADDRESS.sub("", name)


def match_port(wanted: str | int, ports: list[PortInfo], kind: str, api: str) -> PortInfo:
    """Find ``wanted`` (index, exact name, or a unique case-insensitive part of a name)."""
    label = api_label(api)
    if isinstance(wanted, int) or (isinstance(wanted, str) and wanted.isdigit()):
        idx = int(wanted)
        if 0 <= idx < len(ports):
            return ports[idx]
        raise DeviceError(f"MIDI {kind} #{idx} does not exist on {label} ({len(ports)} ports)")
    for p in ports:
        if p.name == wanted or port_key(p.name) == port_key(wanted):
            return p
    low = wanted.lower()
    hits = [p for p in ports if low in p.name.lower()]
    if len(hits) == 1:
        return hits[0]
    if len(hits) > 1:
        names = ", ".join(f"'{p.name}'" for p in hits[:5])
        raise DeviceError(f"MIDI {kind} '{wanted}' is ambiguous on {label}: {names}")
    have = ", ".join(f"'{p.name}'" for p in ports[:8]) or "none"
    raise DeviceError(f"MIDI {kind} '{wanted}' not found on {label} (available: {have})")


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
    (a flag set by compiled code: see engine.jack_rt.watch_shutdown for why not Python)."""

    def __init__(self, servername: str | None):
        import numpy as np

        from engine import jack_rt

        quiet_libjack()
        self._ctl = np.zeros(jack_rt.HEADER, dtype=np.int64)
        from engine.jack_client import Client

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
        from engine import jack_rt

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
try:  # stop the watcher before JACK clients are closed at exit (engine.jack_client)
    from engine.jack_client import before_close_all as _before_close_all

    _before_close_all(lambda final: WATCHER.stop(final=final))
except ImportError:  # no JACK-Client: no JACK clients to close
    pass


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
    """A :class:`~engine.midi_io.MidiSink` on an rtmidi port. ``lookahead`` is 0: rtmidi has no
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
    """A :class:`~engine.midi_io.MidiSource` on an rtmidi port. rtmidi's thread only queues
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
        self._thread = threading.Thread(target=self._run, name="quanta-midi-in", daemon=True)
        self._thread.start()

    def _run(self) -> None:
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
    """Open an output (a :class:`~engine.midi_io.MidiSink`) by name or index, or create a
    virtual port named ``port`` (default ``"out"``) that other programs connect to.

    On JACK with ``frame_exact`` (the default) the sink is a
    :class:`engine.jack_midi.JackMidiOutput` (sample-exact, ``lookahead`` > 0); otherwise an
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
    """Open an input (a :class:`~engine.midi_io.MidiSource`) by name or index, or create a
    virtual input port. On JACK with ``frame_exact`` arrival times come from the event's frame
    (:class:`engine.jack_midi.JackMidiInput`); otherwise from the clock when rtmidi hands it
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
        from engine.jack_midi import JackMidiInput, JackMidiOutput

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
