"""Listing JACK MIDI ports while a Python JACK process callback runs in the same process.

rtmidi holds the GIL while libjack waits for every client's cycle; a Python process callback
(like PortAudio's audio callback into sounddevice) needs the GIL to finish that cycle. Listing
through rtmidi deadlocked here; engine.ports.api lists JACK ports through JACK-Client instead.
"""

import sys
import textwrap

from tests import procs

SCRIPT = textwrap.dedent(
    """
    import jack, time
    from engine.ports.api import list_ports
    from engine.ports.jack_client import Client as JackClient

    client = JackClient("busy-python-callback")
    client.midi_outports.register("out")
    client.midi_inports.register("in")
    calls = [0]

    @client.set_process_callback
    def process(frames):
        calls[0] += 1
        x = 0
        for i in range(200):  # a little pure-Python work, holding the GIL
            x += i

    client.activate()
    time.sleep(0.2)
    for _ in range(20):
        inputs, outputs = list_ports("jack")
    names_in = [p.name for p in inputs]
    names_out = [p.name for p in outputs]
    assert "busy-python-callback:out" in names_in, names_in
    assert "busy-python-callback:in" in names_out, names_out
    assert calls[0] > 0
    client.deactivate()
    client.close()
    print("listed", len(names_in), len(names_out))
    """
)


def test_listing_does_not_deadlock_with_a_python_jack_callback(jack_server):
    proc = procs.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("listed ")
