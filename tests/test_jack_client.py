"""JACK clients are closed on purpose, never by the garbage collector (engine/ports/jack_client.py).

The bug these guard against: a test process segfaulted in its teardown in GC →
``jack.Client.close``. A client dropped without ``close()`` was closed by ``__del__`` whenever
the collector ran, on any thread, possibly after its server stopped, and after the numpy
buffers its compiled process callback writes into had been freed in the same cycle.
"""

from __future__ import annotations

import gc
import os
import sys
import threading
import weakref

import pytest

from engine.ports import jack_client
from engine.ports.jack_client import Client
from engine.ports.jack_rt import MidiRing
from tests import procs

pytestmark = pytest.mark.jack
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _client_with_callback(server) -> tuple[Client, weakref.ref]:
    client = Client("quanta-dropped", servername=server.name)
    port = client.midi_inports.register("in")
    ring = MidiRing(64)
    ring.install(client, port, is_input=True)
    client.activate()
    return client, weakref.ref(ring)


def test_a_dropped_client_stays_open_with_its_callback_buffers_until_closed(jack_server):
    client, ring = _client_with_callback(jack_server)
    ident = id(client)
    del client
    gc.collect()
    # Not collected: still registered and open, and the buffers its callback writes into
    # are alive (the callback is still being called by libjack).
    (still,) = [c for c in jack_client.open_clients(jack_server.name) if id(c) == ident]
    assert not still.closed and ring() is not None
    assert jack_client.close_all(jack_server.name) >= 1
    assert still.closed
    del still
    gc.collect()
    assert ring() is None  # released once the client was closed


def test_the_finalizer_never_closes(jack_server):
    client = Client("quanta-finalized", servername=jack_server.name)
    client.__del__()  # what the garbage collector would call
    assert not client.closed
    client.close()
    assert client.closed
    client.close()  # idempotent


def test_closing_from_two_threads_at_once_closes_once(jack_server):
    for _ in range(5):
        client, _ring = _client_with_callback(jack_server)
        barrier = threading.Barrier(3)

        def close(c=client, b=barrier):
            b.wait()
            c.close()

        threads = [threading.Thread(target=close) for _ in range(2)]
        for t in threads:
            t.start()
        barrier.wait()
        for t in threads:
            t.join(10)
        assert client.closed and client not in jack_client.open_clients()


CHILD = """
import sys
sys.path.insert(0, sys.argv[1])
from engine.ports.jack_midi import JackMidiInput, JackMidiOutput
out = JackMidiOutput(client_name="quanta-exit-out")
inp = JackMidiInput(client_name="quanta-exit-in")
out.send_at_frame(0, bytes((0x90, 60, 100)))
print("open", flush=True)
# Leaves without closing either port: clients, watcher and dispatcher threads still run.
"""


def test_an_interpreter_leaving_with_open_ports_exits_cleanly(jack_server):
    """At exit the port watcher stops, then every client closes on the main thread, before
    the interpreter frees anything: exit 0, never a signal (a segfault would be -11)."""
    for _ in range(3):
        done = procs.run(
            [sys.executable, "-c", CHILD, ROOT],
            env=dict(os.environ, JACK_DEFAULT_SERVER=jack_server.name),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
        assert done.stdout.strip() == "open"


def test_compiled_callbacks_need_a_registered_client(jack_server):
    """A plain jack.Client would close from its finalizer: refuse to install into one."""
    import jack

    plain = jack.Client("quanta-plain", no_start_server=True, servername=jack_server.name)
    try:
        with pytest.raises(TypeError, match="engine.ports.jack_client.Client"):
            MidiRing(16).install(plain, plain.midi_inports.register("in"), is_input=True)
    finally:
        plain.close()


