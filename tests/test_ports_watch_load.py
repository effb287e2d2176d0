"""The port watcher under load: a working JACK port is never reported lost without evidence.

Seen once in tests/test_ui_audition_jack.py: a JACK output that worked was marked "lost" on a
loaded machine. The cause (reproduced here): right after ``jack_connect`` the new connection
lives in JACK's *next* graph, and the server switches graphs only once every client has
finished its cycle (or a timeout passes). With a client that is late — a Python JACK callback
waiting for a busy GIL, a starved process — ``jack_port_connected_to`` keeps reading the old
graph, so a watcher pass that asked "still connected?" just after opening read "no" and called
it a loss. Loss now needs evidence: the peer gone from the server's port list, or the server
gone (shutdown callback, or no server to connect to).

The load: a JACK client with a slow *Python* process callback (the graph finishes late, as on
an overloaded machine), busy threads holding the GIL, and the watcher polling every 5 ms, while
outputs are opened and connected again and again. Real loss is tested in test_ports_loss.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import jack
import pytest

from engine.ports import watch as ports
from engine.ports.rtmidi_io import open_output
from engine.ports.watch import STATUS_OK
from tests import procs
from tests.jack_tools import JackMidiRecorder

pytestmark = pytest.mark.jack

RECONNECTS = 40


def _hog(stop: threading.Event) -> None:
    """Pure-Python work that holds the GIL between switch intervals."""
    while not stop.is_set():
        sum(i * i for i in range(30_000))


SLOW_CLIENT = """
import sys, time
from engine.ports.jack_client import Client as JackClient
c = JackClient("quanta-slow")
n = [0]
def process(frames):  # overruns every other period: the graph finishes late
    n[0] += 1
    if n[0] % 2:
        time.sleep(0.008)
c.set_process_callback(process)
c.activate()
print("ready", flush=True)
sys.stdin.readline()
c.deactivate()
c.close()
"""


@pytest.fixture
def loaded(jack_server):
    """A late JACK client (its own process) plus two GIL-hogging threads here."""
    env = dict(os.environ, JACK_DEFAULT_SERVER=jack_server.name)
    slow = procs.spawn(
        [sys.executable, "-c", SLOW_CLIENT],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert slow.stdout.readline().strip() == "ready"
    stop = threading.Event()
    hogs = [threading.Thread(target=_hog, args=(stop,), daemon=True) for _ in range(2)]
    for t in hogs:
        t.start()

    def stop_hogs():
        stop.set()
        for t in hogs:
            t.join(5)

    slow.stop_hogs = stop_hogs
    yield slow
    stop_hogs()
    slow.communicate("stop\n", timeout=10)


@pytest.fixture
def fast_watcher(monkeypatch):
    monkeypatch.setattr(ports.WATCHER, "interval", 0.005)
    ports.WATCHER.wake()


def test_a_working_output_is_never_reported_lost_under_load(jack_server, loaded, fast_watcher):
    rec = JackMidiRecorder("quanta-busy-peer", servername=jack_server.name).start()
    reports = []
    out = open_output(rec.port_name, api="jack", on_status=reports.append)
    try:
        for k in range(RECONNECTS):
            # The connection is made again (as at open, or when a synth comes back); the
            # watcher looks at once (and its own thread every 5 ms) while JACK's graph is late.
            with out._op_lock:  # one thread at a time makes requests on the port's client
                for request in (out.client.disconnect, out.client.connect):
                    try:
                        request(out._port, rec.port_name)
                    except jack.JackError:
                        # Under load JACK may still be applying the watcher's own quiet
                        # reconnect: the connection reads as absent or present a little late.
                        pass
            out._service()
            out._service()
            assert out.status == STATUS_OK, (k, [r.message for r in reports])
            out.send_at(time.monotonic() + out.lookahead, bytes((0x90, 40 + k % 40, 1)))
            time.sleep(0.02)
            assert out.status == STATUS_OK, (k, [r.message for r in reports])
        assert [r.message for r in reports] == []
        # the port dropped nothing as "lost" (a note sent before JACK's graph switch took the
        # new connection in can miss the peer: that is JACK's, not the port's)
        assert out.dropped == 0
        assert rec.wait_for(RECONNECTS, timeout=2)
    finally:
        out.close()  # with the hogs still running (see the close test below)
        rec.close()


def _failing_probe(code: int):
    """A stand-in for the watcher's JACK client that fails to open with status ``code``
    (simulated: a real server cannot be made to time out on demand)."""

    def open_probe(servername):
        raise jack.JackOpenError("quanta-watch", jack.Status(code))

    return open_probe


@pytest.mark.parametrize(
    ("code", "lost"), [(0x01, False), (0x11, True)], ids=["busy-server", "no-server"]
)
def test_a_watcher_probe_that_cannot_open_is_loss_only_when_no_server_answers(
    jack_server, monkeypatch, code, lost
):
    rec = JackMidiRecorder("quanta-probe-peer", servername=jack_server.name).start()
    out = open_output(rec.port_name, api="jack", frame_exact=False)  # rtmidi: uses the probe
    try:
        assert out.status == STATUS_OK
        monkeypatch.setattr(ports.WATCHER, "_probes", {})  # the next check opens a new probe
        monkeypatch.setattr(ports, "_JackProbe", _failing_probe(code))
        # JackFailure alone (a join that failed on a busy server) is no evidence; with
        # JackServerFailed nothing listens at the server's socket: it is gone.
        assert (out._check_alive() == "the JACK server stopped") is lost
        monkeypatch.setattr(ports.WATCHER, "_no_server", set())
    finally:
        out._server_gone = False
        out.close()
        rec.close()


CLOSE_UNDER_LOAD = """
import sys, threading, time
from engine.ports.rtmidi_io import open_output
from tests.jack_tools import JackMidiRecorder
from tests.test_ports_watch_load import _hog

stop = threading.Event()
for _ in range(2):
    threading.Thread(target=_hog, args=(stop,), daemon=True).start()
rec = JackMidiRecorder("quanta-close-peer").start()
for k in range(12):
    out = open_output(rec.port_name, api="jack")
    out.send_at(time.monotonic() + out.lookahead, bytes((0x90, 60, 1)))
    time.sleep(0.05)
    out.close()
    print("closed", k, flush=True)
stop.set()
rec.close()
"""


def test_closing_ports_while_xruns_and_busy_threads_never_hangs(jack_server, loaded):
    """Closing a JACK client cancels libjack's notification thread. With a Python xrun
    callback that thread was often waiting for the GIL when cancelled, leaving the GIL's mutex
    locked: the whole process hung (3 runs in 4 here). Xruns are now counted by a compiled
    callback. Run in a child process so that a hang is a failed test, not a stuck run."""
    env = dict(os.environ, JACK_DEFAULT_SERVER=jack_server.name)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        done = procs.run(
            [sys.executable, "-c", CLOSE_UNDER_LOAD],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=90,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"closing ports hung: {exc.stdout!r}")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("closed") == 12
