"""Which MIDI API, and the ports it lists: python-rtmidi on every API the machine has.

Which API: an explicit name wins (``choose_api("alsa")``, ``quanta ports --api``, or the
``QUANTA_MIDI_API`` environment variable); otherwise JACK when a JACK server is running (it is
the only API that gives sample-exact MIDI, through :mod:`engine.ports.jack_midi`), else the
platform's own (ALSA, CoreMIDI, WinMM). Port names are rtmidi's: on JACK the full
``client:port`` name, on ALSA ``client:port`` followed by an address that may change between
sessions (matching ignores it).

Wording: an *input* is a port Quanta can read from (a keyboard), an *output* one it can send to
(a synth). ``open_output(virtual=True)`` instead creates a port other programs connect to.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from dataclasses import dataclass

import rtmidi

from engine.errors import DeviceError

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
    from engine.ports.jack_client import Client

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

    from engine.ports.jack_client import Client

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
