"""Shared fixtures. The JACK server fixture gives tests a real MIDI/audio device (dummy driver)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import uuid

import pytest

from tests import procs

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


class JackServer:
    """A private jackd (dummy driver) for the tests; clients must use ``self.name``."""

    def __init__(self, rate: int = 48000, period: int = 256, realtime: bool = False):
        # libjack clients abort (malloc assertion) on server names of 24+ characters: keep short.
        self.name = f"qt-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.rate = rate
        self.period = period
        # realtime: SCHED_FIFO JACK threads (needs root or rtprio limits), so busy test threads
        # cannot starve JACK on 2 shared cores. Load tests use it via jack_server_factory.
        self.realtime = realtime
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        env = dict(os.environ, JACK_NO_AUDIO_RESERVATION="1")
        # Its own process group, SIGTERM when the test process dies (even by SIGKILL), so a
        # killed test run cannot leave servers behind (JACK allows only 8 at once).
        self.proc = procs.spawn(
            [
                "jackd",
                "-n",
                self.name,
                "--realtime" if self.realtime else "--no-realtime",
                "--port-max",
                "128",
                "-d",
                "dummy",
                "-r",
                str(self.rate),
                "-p",
                str(self.period),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            keep=True,
            death_signal=signal.SIGTERM,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jackd exited with {self.proc.returncode}")
            try:
                r = procs.run(["jack_lsp", "-s", self.name], capture_output=True, timeout=10)
            except subprocess.TimeoutExpired:
                continue
            if r.returncode == 0:
                return
            time.sleep(0.02)
        self.stop()
        raise RuntimeError("jackd did not become ready in 10 s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                procs.kill_group(self.proc)
        if self.proc is not None:
            procs.kill_group(self.proc)  # anything jackd left in its group
        self.proc = None


def _start_jack(rate=48000, period=256, realtime=False):
    if shutil.which("jackd") is None:
        pytest.fail("jackd is not installed; run scripts/setup --dev (installs jackd2)")
    from tests.jack_tools import free_stale_jack_slots

    free_stale_jack_slots()  # killed jackds leak JACK's 8 server slots (see its docstring)
    server = JackServer(rate, period, realtime)
    server.start()
    old = os.environ.get("JACK_DEFAULT_SERVER")
    os.environ["JACK_DEFAULT_SERVER"] = server.name
    return server, old


def _stop_jack(server, old):
    # Close every JACK client still open on this server here, on this thread, before the
    # server goes (engine/ports/jack_client.py: never later, by the garbage collector).
    from engine.ports.jack_client import close_all

    close_all(server.name)
    server.stop()
    if old is None:
        os.environ.pop("JACK_DEFAULT_SERVER", None)
    else:
        os.environ["JACK_DEFAULT_SERVER"] = old


@pytest.fixture(scope="session")
def jack_server():
    """One JACK dummy server (48 kHz, 256 frames) for the session; JACK_DEFAULT_SERVER set.

    Real-time (SCHED_FIFO) where the machine allows it: a non-real-time server on 2 loaded
    cores misses its clients' deadlines, and JACK then drops a cycle's MIDI between clients
    (seen: a note-on or note-off of 32 lost between two clients that had done their part).
    Where real-time is refused (no root, no rtprio limit) it runs without."""
    try:
        server, old = _start_jack(realtime=True)
    except RuntimeError:
        server, old = _start_jack(realtime=False)
    yield server
    _stop_jack(server, old)


@pytest.fixture
def jack_server_factory():
    """Start extra servers with other periods (e.g. 128 frames); all stopped after the test."""
    started = []

    def start(rate=48000, period=256, realtime=False):
        s = _start_jack(rate, period, realtime)
        started.append(s)
        return s[0]

    yield start
    for s in reversed(started):
        _stop_jack(*s)


# Real JACK MIDI recorder/sender fixtures (tests/jack_tools.py), available to every test.
from tests.jack_tools import midi_recorder, midi_sender  # noqa: E402, F401


@pytest.fixture(autouse=True)
def _private_preset_folder(tmp_path_factory, monkeypatch):
    """No test reads or writes the developer's own presets: each test gets a fresh, not yet
    created user preset folder (QUANTA_PRESET_DIR); tests that need one set their own."""
    folder = tmp_path_factory.getbasetemp() / "user-presets" / uuid.uuid4().hex[:12]
    monkeypatch.setenv("QUANTA_PRESET_DIR", str(folder))


# -- no test leaves a process behind (tests/procs.py) ------------------------------------------
_LEFT_OVER: list[str] = []


@pytest.fixture(autouse=True)
def _no_child_outlives_its_test(request):
    """Kill the process group of every child a test started (tests/procs.py) that is still
    alive when the test ends, and remember it: the session then fails (see below)."""
    yield
    for child in procs.kill_leftovers():
        _LEFT_OVER.append(f"{request.node.nodeid}: pid {child.proc.pid} {' '.join(child.args)[:200]}")


def pytest_sessionfinish(session, exitstatus):
    """Fail the run if a child outlived its test, or any child (a JACK server too) is still
    alive at the end; kill them either way."""
    for child in procs.kill_leftovers(include_kept=True):
        _LEFT_OVER.append(f"end of session: pid {child.proc.pid} {' '.join(child.args)[:200]}")
    if _LEFT_OVER:
        import sys

        print("\nchild processes outlived their tests (killed):", file=sys.stderr)
        for line in _LEFT_OVER:
            print(f"  {line}", file=sys.stderr)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
