"""JACK-Client MIDI: sample-exact output, frame-stamped input, and the clock mapping, measured
through a real JACK server (dummy driver) with the frame recorder from tests/jack_tools.py."""

from __future__ import annotations

import statistics
import time

import pytest

from engine.ports.jack_client import Client as JackClient
from engine.ports.jack_midi import JackClock, JackMidiInput, JackMidiOutput
from engine.realtime import clock
from tests.jack_tools import JackMidiRecorder, unmatched_notes

pytestmark = pytest.mark.jack


@pytest.fixture
def rt_jack(jack_server_factory):
    """A realtime JACK server: exactness is judged without the 2 shared cores' load stalling
    whole periods (a stalled non-realtime dummy driver skips frames)."""
    return jack_server_factory(realtime=True)


@pytest.fixture
def midi_recorder(rt_jack):  # noqa: F811 - this module's recorder lives on the realtime server
    rec = JackMidiRecorder(servername=rt_jack.name).start()
    yield rec
    rec.close()


@pytest.fixture
def jack_out(rt_jack, midi_recorder):
    out = JackMidiOutput(
        midi_recorder.port_name, client_name="quanta-test-out", servername=rt_jack.name
    )
    yield out
    out.close()


def _note_pairs(count: int, start: float, step: float):
    """(when, bytes) for ``count`` notes: on at start + k*step, off half a step later."""
    events = []
    for k in range(count):
        pitch = 36 + (k * 7) % 60
        events.append((start + k * step, bytes((0x90 | (k % 16), pitch, 1 + k % 127))))
        events.append((start + k * step + step / 2, bytes((0x80 | (k % 16), pitch, 0))))
    return events


def test_output_lands_every_event_on_its_exact_frame(jack_out, midi_recorder):
    start = clock.now() + 4 * jack_out.lookahead
    frames, sent = [], []
    for when, data in _note_pairs(50, start, 0.00731):
        frames.append(jack_out.schedule(when, data))
        sent.append(data)
    events = midi_recorder.wait_for(len(sent))
    assert [d for _, d in events] == sent
    assert [f for f, _ in events] == frames  # ± 0 frames
    assert jack_out.late == 0
    assert unmatched_notes(midi_recorder.notes()) == []


def test_output_send_at_frame_is_exact_and_orders_same_frame_events(jack_out, midi_recorder):
    base = jack_out.client.frame_time + 8 * jack_out.period
    plan = [(base, b"\x90\x3c\x64"), (base, b"\x90\x40\x64"), (base + 1, b"\x80\x3c\x00")]
    plan += [(base + 255, b"\x80\x40\x00"), (base + 256, b"\xb0\x07\x50")]
    for frame, data in plan:
        jack_out.send_at_frame(frame, data)
    assert midi_recorder.wait_for(len(plan)) == plan


def test_late_event_goes_out_at_next_period_start_and_is_counted(jack_out, midi_recorder):
    now_frame = jack_out.client.frame_time
    jack_out.send_at_frame(now_frame - 10 * jack_out.period, b"\x90\x3c\x64")
    [(frame, data)] = midi_recorder.wait_for(1)
    assert data == b"\x90\x3c\x64"
    assert frame % jack_out.period == 0  # dummy driver periods start on multiples of 256
    assert frame >= now_frame - jack_out.period
    assert jack_out.late == 1


def test_clock_maps_engine_time_to_the_frames_jack_is_processing(jack_server):
    """Independent check of the mapping: a process callback notes (cycle start frame,
    monotonic time when it ran). The cycle started before the callback ran, and not long
    before (the dummy driver wakes the callback within a period)."""
    client = JackClient("quanta-clock-check")
    seen = []
    client.set_process_callback(lambda n: seen.append((client.last_frame_time, time.monotonic())))
    client.activate()
    try:
        jclock = JackClock(client)
        time.sleep(0.5)
        samples = seen[5:]
        period_s = client.blocksize / client.samplerate
        lag = [mono - jclock.frame_to_engine(frame) for frame, mono in samples]
        assert len(lag) > 50
        assert -0.0003 < statistics.median(lag) < period_s
        # a Python callback on 2 shared cores is sometimes woken late: judge the bulk
        assert sorted(abs(x) for x in lag)[int(0.9 * len(lag))] < 2 * period_s
        # round trip: engine time -> frame -> engine time within one frame
        for frame, _mono in samples[:20]:
            t = jclock.frame_to_engine(frame)
            assert abs(jclock.engine_to_frame(t) - frame) <= 1
        # one second of engine time is one second of frames: JACK extrapolates with its
        # clock filter's period estimate, which wanders on a loaded non-realtime server
        # (0.5 % seen here); a unit or scale mistake would be off by orders of magnitude
        t0 = clock.now() + 1.0
        assert abs(jclock.engine_to_frame(t0 + 1.0) - jclock.engine_to_frame(t0) - 48000) <= 960
    finally:
        client.deactivate()
        client.close()


def test_input_stamps_each_event_with_its_frame_time(jack_server, midi_sender):
    got = []
    inp = JackMidiInput(midi_sender.port_name, client_name="quanta-test-in")
    inp.set_callback(lambda data, when: got.append((data, when)))
    try:
        base = midi_sender.now_frame() + 6 * midi_sender.period
        plan = [(base + k * 301, bytes((0x90, 40 + k, 90))) for k in range(30)]
        for frame, data in plan:
            midi_sender.send_at_frame(frame, data)
        deadline = time.monotonic() + 5
        while len(got) < len(plan) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert [d for d, _ in got] == [d for _, d in plan]
        frames = [inp.clock.engine_to_frame(when) for _, when in got]
        # frame -> engine time -> frame again, through JACK's clock filter (which moves a
        # little between the two conversions on a loaded machine): within 8 frames (170 us)
        assert all(abs(f - p) <= 8 for f, (p, _) in zip(frames, plan, strict=True))
        spacing = [(got[k][1] - got[0][1]) * 48000 for k in range(len(got))]
        # the spacing in engine seconds is the spacing in frames (to 0.1 %: see the clock test)
        assert all(abs(s - k * 301) < 8 + 0.001 * k * 301 for k, s in enumerate(spacing))
    finally:
        inp.close()


def test_panic_drops_queued_events_and_closes_sounding_notes(jack_out, midi_recorder):
    start = clock.now() + 3 * jack_out.lookahead
    for k in range(4):
        jack_out.send_at(start, bytes((0x90 | k, 60 + k, 100)))
    midi_recorder.wait_for(4)
    jack_out.send_at(clock.now() + 2.0, b"\x90\x50\x64")  # far ahead: must never sound
    jack_out.panic()
    # note-offs for every note-on handed over (the dropped one too: harmless), then CCs
    expected_offs = sorted([bytes((0x80 | k, 60 + k, 0)) for k in range(4)] + [b"\x80\x50\x00"])
    total = 4 + len(expected_offs) + 32
    midi_recorder.wait_for(total)
    time.sleep(0.1)
    events = midi_recorder.events
    assert len(events) == total
    assert b"\x90\x50\x64" not in [d for _, d in events]
    offs = [d for _, d in events[4 : 4 + len(expected_offs)]]
    assert sorted(offs) == expected_offs
    ccs = [d for _, d in events[4 + len(expected_offs) :]]
    assert ccs == [bytes((0xB0 | ch, cc, 0)) for ch in range(16) for cc in (123, 120)]
    assert unmatched_notes(midi_recorder.notes()) == []
    assert jack_out.pending() == 0
