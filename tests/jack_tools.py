"""Real JACK MIDI test tools: a recorder that keeps each event's absolute frame, a sender that
writes events at exact frames, and pytest fixtures for both.

Tests across Quanta (ports, engine, sound) assert on what really came out of a JACK port, so
the recorder stores ``(frame, bytes)`` where ``frame = last_frame_time + offset``: the same
absolute frame counter every client of the server shares. Frames, not wall-clock times, make
"landed exactly on frame F" and "within one period" assertions exact.

Use through the fixtures (``midi_recorder``, ``midi_sender``; both need the session
``jack_server`` fixture from tests/conftest.py, which re-exports them), or construct the
classes directly for a second server (pass ``servername``). Close them before the server
stops: libjack prints errors and may block on a dead server.
"""

from __future__ import annotations

import sys
import threading
import time

import pytest

from engine.ports.jack_client import Client as JackClient
from tests import procs

NOTE_ON = 0x90
NOTE_OFF = 0x80

JACK_REGISTRY = "/dev/shm/jack-shm-registry"


def free_stale_jack_slots(path: str = JACK_REGISTRY) -> int:
    """Free JACK server registry slots whose jackd is gone; returns how many.

    JACK2 registers at most 8 servers in one shared-memory registry and frees a slot only when
    its server exits cleanly. A jackd that was killed (a test run stopped by a timeout, CI
    ending a session) keeps its slot, and once 8 leak every new server fails with "Too many
    servers already active" (jackd exit 255). Layout (jack/shm.h): a 24-byte header, then
    ``(hdr_len - 24) / 264`` slots of ``pid_t pid; char name[256]`` padded to 264 bytes.
    """
    import os
    import struct

    try:
        f = open(path, "r+b")
    except OSError:
        return 0
    freed = 0
    with f:
        head = f.read(24)
        if len(head) < 24 or head[:4] != b"KCAJ":
            return 0
        hdr_len = struct.unpack_from("<I", head, 16)[0]
        slots = max(0, min(64, (hdr_len - 24) // 264))
        for i in range(slots):
            f.seek(24 + i * 264)
            (pid,) = struct.unpack("<i", f.read(4))
            if pid <= 0:
                continue
            try:
                os.kill(pid, 0)
                continue  # alive (or not ours to judge)
            except ProcessLookupError:
                pass
            except PermissionError:
                continue
            f.seek(24 + i * 264)
            f.write(bytes(264))
            freed += 1
    return freed


class JackMidiRecorder:
    """A JACK client with one MIDI input port recording ``(absolute frame, bytes)`` per event.

    Its process callback is Quanta's compiled, GIL-free one (:mod:`engine.ports.jack_rt`): a Python
    callback here would deadlock against python-rtmidi, whose JACK calls hold the GIL while
    libjack waits for every client's process cycle.
    """

    def __init__(
        self,
        name: str = "quanta-recorder",
        *,
        servername: str | None = None,
        capacity: int = 32768,
    ):
        from engine.ports.jack_rt import MidiRing

        self.client = JackClient(name, servername=servername)
        self.port = self.client.midi_inports.register("in")
        self._ring = MidiRing(capacity)
        self._ring.install(self.client, self.port, is_input=True)
        self._events: list[tuple[int, bytes]] = []
        self._recording = False
        self.shutdown_reason: str | None = None
        self.client.set_shutdown_callback(self._shutdown)
        self.client.activate()

    @property
    def xruns(self) -> int:
        """Xruns reported to the recorder's client (counted by a compiled callback: a Python
        xrun callback can hang the process when the client closes, see engine.ports.jack_rt)."""
        from engine.ports.jack_rt import XRUNS

        return self._ring.counter(XRUNS)

    def _shutdown(self, status, reason: str) -> None:
        self.shutdown_reason = reason

    def _drain(self) -> None:
        got = self._ring.pop_all()
        if not got or not self._recording or self.client is None:
            return
        ref = self.client.frame_time
        for frame32, data in got:
            delta = (frame32 - ref) % (1 << 32)
            if delta >= 1 << 31:
                delta -= 1 << 32
            self._events.append((ref + delta, data))

    @property
    def port_name(self) -> str:
        """Full JACK name of the input port (``client:in``), to connect senders to."""
        return self.port.name

    @property
    def rate(self) -> int:
        return self.client.samplerate

    @property
    def period(self) -> int:
        return self.client.blocksize

    def connect_from(self, source: str) -> None:
        """Connect a JACK MIDI output port (full name) to the recorder."""
        self.client.connect(source, self.port)

    def start(self) -> JackMidiRecorder:
        self._ring.pop_all()
        self._recording = True
        return self

    def stop(self) -> None:
        self._drain()
        self._recording = False

    def clear(self) -> None:
        self._drain()
        self._events = []

    @property
    def events(self) -> list[tuple[int, bytes]]:
        """A copy of everything recorded so far, in arrival order."""
        self._drain()
        return list(self._events)

    def notes(self) -> list[tuple[int, int, int, int]]:
        """Note messages as ``(frame, status & 0xF0, pitch, velocity)``; note-on with velocity
        0 is reported as a note-off (0x80), as a synth would treat it."""
        out = []
        for frame, data in self.events:
            kind = data[0] & 0xF0 if data else 0
            if kind not in (NOTE_ON, NOTE_OFF) or len(data) < 3:
                continue
            if kind == NOTE_ON and data[2] == 0:
                kind = NOTE_OFF
            out.append((frame, kind, data[1], data[2]))
        return out

    def wait_for(self, count: int, timeout: float = 5.0) -> list[tuple[int, bytes]]:
        """Wait until at least ``count`` events are recorded (or ``timeout`` passes); return
        the events. Callers assert on the result, so a timeout shows up as a short list."""
        deadline = time.monotonic() + timeout
        while True:
            self._drain()
            if len(self._events) >= count or time.monotonic() >= deadline:
                return self.events
            time.sleep(0.005)

    def settle(self, quiet: float = 0.05, timeout: float = 5.0) -> list[tuple[int, bytes]]:
        """Wait until no new event has arrived for ``quiet`` seconds; return the events."""
        deadline = time.monotonic() + timeout
        last = -1
        while time.monotonic() < deadline:
            n = len(self.events)
            if n == last:
                break
            last = n
            time.sleep(quiet)
        return self.events

    def close(self) -> None:
        if self.client is None:
            return
        self._drain()
        self._recording = False
        try:
            if self.shutdown_reason is None:
                self.client.deactivate()
            self.client.close()
        finally:
            self.client = None

    def __enter__(self) -> JackMidiRecorder:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()


class JackMidiSender:
    """A JACK client with one MIDI output port that writes events at exact absolute frames.

    ``send_at_frame`` queues an event; the (compiled, GIL-free) process callback writes every
    queued event whose frame falls in the current period at ``frame - last_frame_time``;
    events already past go out at offset 0 and are counted in ``late``. Queue in frame order.
    """

    def __init__(
        self, name: str = "quanta-sender", *, servername: str | None = None, capacity=32768
    ):
        from engine.ports.jack_rt import MidiRing

        self.client = JackClient(name, servername=servername)
        self.port = self.client.midi_outports.register("out")
        self._ring = MidiRing(capacity)
        self._ring.install(self.client, self.port, is_input=False)
        self._lock = threading.Lock()  # between test threads only; never in the callback
        self.client.activate()

    @property
    def late(self) -> int:
        from engine.ports.jack_rt import LATE

        return self._ring.counter(LATE)

    @property
    def port_name(self) -> str:
        return self.port.name

    @property
    def rate(self) -> int:
        return self.client.samplerate

    @property
    def period(self) -> int:
        return self.client.blocksize

    def now_frame(self) -> int:
        """The server's current frame estimate (``jack_frame_time``)."""
        return self.client.frame_time

    def connect_to(self, destination: str) -> None:
        self.client.connect(self.port, destination)

    def send_at_frame(self, frame: int, data: bytes) -> None:
        with self._lock:
            self._ring.push(int(frame), bytes(data))

    def send_now(self, data: bytes) -> None:
        """Send at the start of the next period."""
        self.send_at_frame(0, data)

    def pending(self) -> int:
        return self._ring.pending()

    def close(self) -> None:
        if self.client is None:
            return
        try:
            self.client.deactivate()
            self.client.close()
        finally:
            self.client = None

    def __enter__(self) -> JackMidiSender:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def unmatched_notes(notes: list[tuple[int, int, int, int]]) -> list[tuple[int, int]]:
    """``(frame, pitch)`` of note-ons never closed by a later note-off on the same pitch
    (FIFO pairing), from :meth:`JackMidiRecorder.notes`. Empty means every note was closed."""
    open_: dict[int, list[int]] = {}
    for frame, kind, pitch, _vel in notes:
        if kind == NOTE_ON:
            open_.setdefault(pitch, []).append(frame)
        elif open_.get(pitch):
            open_[pitch].pop(0)
    return sorted((f, p) for p, frames in open_.items() for f in frames)


@pytest.fixture
def midi_recorder(jack_server):
    """A started :class:`JackMidiRecorder` on the session JACK server; closed after the test."""
    rec = JackMidiRecorder(servername=jack_server.name).start()
    yield rec
    rec.close()


@pytest.fixture
def midi_sender(jack_server):
    """A :class:`JackMidiSender` on the session JACK server; closed after the test."""
    sender = JackMidiSender(servername=jack_server.name)
    yield sender
    sender.close()


def _start_child(mode: str, name: str, servername: str | None):
    """Start ``python -m tests.jack_tools MODE NAME`` and wait for its ``ready ...`` line."""
    import os
    import subprocess

    env = dict(os.environ)
    if servername:
        env["JACK_DEFAULT_SERVER"] = servername
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = procs.spawn(
        [sys.executable, "-m", "tests.jack_tools", mode, name],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=root,
        env=env,
    )
    line = proc.stdout.readline().split()
    if not line or line[0] != "ready":
        procs.kill_group(proc)
        raise RuntimeError(f"external {mode} helper failed to start")
    return proc, line[1:]


class ExternalMidiRecorder:
    """A :class:`JackMidiRecorder` in a child Python process.

    Load tests use it so that the recorder's own Python process callback does not compete for
    the GIL with the busy thread under test: a loss it sees is Quanta's, not the recorder's.
    """

    def __init__(self, name: str = "quanta-ext-recorder", *, servername: str | None = None):
        self.proc, fields = _start_child("record", name, servername)
        self.port_name, self.rate, self.period = fields[0], int(fields[1]), int(fields[2])

    def finish(self) -> list[tuple[int, bytes]]:
        """Stop recording and return every ``(frame, bytes)`` recorded."""
        import json

        out, _ = procs.communicate(self.proc, "stop\n", timeout=30)
        return [(f, bytes.fromhex(h)) for f, h in json.loads(out)]

    def close(self) -> None:
        if self.proc.poll() is None:
            procs.kill_group(self.proc)


class ExternalMidiSender:
    """A :class:`JackMidiSender` in a child Python process (see :class:`ExternalMidiRecorder`).

    ``send(plan)`` takes ``(frames from now, bytes)`` pairs, sends them at exact frames
    starting a few periods ahead, and returns once all are out.
    """

    def __init__(self, name: str = "quanta-ext-sender", *, servername: str | None = None):
        self.proc, fields = _start_child("send", name, servername)
        self.port_name = fields[0]

    def send(self, plan: list[tuple[int, bytes]], timeout: float = 30) -> None:
        import json

        self.proc.stdin.write(json.dumps([(f, d.hex()) for f, d in plan]) + "\n")
        self.proc.stdin.flush()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.stdout.readline().strip() == "done":
                return
        raise TimeoutError("external sender did not finish")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(5)
            except Exception:
                procs.kill_group(self.proc)


def _record_main(name: str) -> None:
    import json

    rec = JackMidiRecorder(name).start()
    print("ready", rec.port_name, rec.rate, rec.period, flush=True)
    sys.stdin.readline()
    rec.stop()
    events = rec.events
    rec.close()
    print(json.dumps([(f, d.hex()) for f, d in events]), flush=True)


def _send_main(name: str) -> None:
    import json

    sender = JackMidiSender(name)
    print("ready", sender.port_name, flush=True)
    for line in sys.stdin:
        base = sender.now_frame() + 8 * sender.period
        for f, h in json.loads(line):
            sender.send_at_frame(base + f, bytes.fromhex(h))
        while sender.pending():
            time.sleep(0.005)
        time.sleep(2 * sender.period / sender.rate)
        print("done", flush=True)
    sender.close()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "record":
        _record_main(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "send":
        _send_main(sys.argv[2])
