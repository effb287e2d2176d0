"""A live note is not held behind the song on a frame-exact JACK output.

The engine hands song events to a JACK output up to its lookahead early; a live note handed
over "now" used to queue behind them (the output ring was first-in-first-out), so the player
heard it up to a lookahead late. The output callback now writes by frame. Measured on a real
JACK server (dummy driver) with the frame recorder; bounds are whole periods, which a correct
output meets with margin even on a loaded 2-core machine, and a FIFO output misses by the
lookahead (8 periods here).
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from engine.build import add_track, new_song
from engine.model.notes import make_notes
from engine.ports.jack_midi import JackMidiInput, JackMidiOutput
from engine.realtime import clock
from engine.realtime.transport import Engine
from tests.jack_tools import JackMidiRecorder, JackMidiSender, unmatched_notes

pytestmark = pytest.mark.jack

LOOKAHEAD_PERIODS = 8
LIVE = 0x64  # the live notes' pitch; the song never uses it


@pytest.fixture
def recorder(jack_server):
    rec = JackMidiRecorder("quanta-order-rec", servername=jack_server.name).start()
    yield rec
    rec.close()


@pytest.fixture
def out(jack_server, recorder):
    port = JackMidiOutput(
        recorder.port_name,
        client_name="quanta-order-out",
        servername=jack_server.name,
        lookahead_periods=LOOKAHEAD_PERIODS,
    )
    yield port
    port.close()


def _frame_of(events, data: bytes) -> int:
    [frame] = [f for f, d in events if d == data]
    return frame


def test_an_event_due_now_overtakes_events_handed_over_for_later(out, recorder):
    p = out.period
    base = out.client.frame_time
    song = []
    # Two events a period, from 4 to 68 periods ahead: far more than a FIFO output would need
    # to hold the live note behind, and more than a loaded machine stalls this thread for.
    for k in range(128):
        frame = base + 4 * p + k * p // 2
        data = bytes((0x90 if k % 2 == 0 else 0x80, 40 + (k // 2) % 30, 90 if k % 2 == 0 else 0))
        out.send_at_frame(frame, data)
        song.append((frame, data))
    out.send_at(clock.now(), bytes((0x90, LIVE, 100)))  # the live path: due at once
    # In the ring by now: the frame JACK is at after the hand-over bounds the live note's
    # frame from above whatever delayed this thread before it.
    handed_over = out.client.frame_time
    events = recorder.wait_for(len(song) + 1)
    live = _frame_of(events, bytes((0x90, LIVE, 100)))
    assert handed_over < song[-1][0] - 4 * p, "the machine stalled: nothing was queued ahead"
    assert live <= handed_over + 2 * p  # the next period (one more of margin), not the song's
    assert [e for e in events if e[1][1] != LIVE] == song  # the song keeps its exact frames
    assert out.late <= 1  # only the live note can be late (due "now": a period start)


def test_the_order_of_events_on_one_frame_is_kept_and_a_panic_still_drops_the_queue(out, recorder):
    p = out.period
    base = out.client.frame_time + 6 * p
    plan = [(base + 10, b"\x90\x3c\x64"), (base + 10, b"\x90\x40\x64"), (base + 5, b"\xb0\x07\x50")]
    for frame, data in plan:  # the last is handed over last but due first
        out.send_at_frame(frame, data)
    assert recorder.wait_for(3) == [plan[2], plan[0], plan[1]]
    out.send_at_frame(out.client.frame_time + 200 * p, b"\x90\x50\x64")  # far ahead
    out.panic()
    time.sleep(0.2)
    events = recorder.events
    assert b"\x90\x50\x64" not in [d for _, d in events]
    assert unmatched_notes(recorder.notes()) == []
    assert out.pending() == 0


def dense_song(seconds: float):
    """A note every ~10 ms (PPQ 480 at 120 BPM: 10 ticks), pitches 40–79."""
    song = new_song(ppq=480, bpm=120)
    n = int(seconds * 96)
    starts = np.arange(n, dtype=np.int64) * 10 + 480  # from the second beat
    add_track(song, make_notes(starts, starts + 8, 40 + np.arange(n) % 40))
    return song


def test_a_live_note_through_the_engine_is_heard_within_periods_while_a_dense_song_plays(
    jack_server, out, recorder
):
    keys = JackMidiSender("quanta-order-keys", servername=jack_server.name)
    inp = JackMidiInput(keys.port_name, client_name="quanta-order-in", servername=jack_server.name)
    engine = Engine().start()
    p = out.period
    sent = []
    try:
        engine.set_outputs([out])
        engine.set_input(inp)  # live thru, quantize off: the note goes out at once
        engine.set_song(dense_song(3.0))
        engine.play()
        time.sleep(0.8)  # well into the song: the output always holds song events ahead
        for k in range(6):
            frame = keys.now_frame() + 2 * p
            keys.send_at_frame(frame, bytes((0x90, LIVE, 1 + k)))
            keys.send_at_frame(frame + p // 2, bytes((0x80, LIVE, 0)))
            sent.append(frame)
            time.sleep(0.15)
        assert engine.wait_until_stopped(10)
    finally:
        engine.shutdown()
        time.sleep(0.1)
        inp.close()
        keys.close()
    events = recorder.settle()
    live = [f for f, d in events if d[0] == 0x90 and d[1] == LIVE]
    song_ons = [f for f, d in events if d[0] == 0x90 and d[1] != LIVE]
    assert len(live) == len(sent)
    for played, heard in zip(sent, live, strict=True):
        # key → JACK input → engine → output: out at the start of the period after the key's
        # (measured here: 30–250 frames); one more period of margin for a loaded machine.
        # Behind the song it was ~7 periods (the lookahead).
        assert heard - played <= 2 * p, [h - s for s, h in zip(sent, live, strict=True)]
        # the song was playing around it, with notes queued after it
        assert any(played < f <= played + LOOKAHEAD_PERIODS * p for f in song_ons)
    assert unmatched_notes(recorder.notes()) == []


def test_the_input_dispatcher_runs_real_time_where_the_machine_allows_it(jack_server):
    """A live note waits on the thread that hands input to the engine: where SCHED_FIFO is
    allowed (root or an rtprio limit) it gets it, as the engine thread does, or a busy
    machine queues the note behind every other process."""
    import os
    import threading

    from engine.realtime.rt_priority import raise_thread_priority

    allowed = []
    probe = threading.Thread(target=lambda: allowed.append(raise_thread_priority()))
    probe.start()
    probe.join()
    keys = JackMidiSender("quanta-order-rtkeys", servername=jack_server.name)
    inp = JackMidiInput(keys.port_name, client_name="quanta-order-rt", servername=jack_server.name)
    try:
        deadline = time.monotonic() + 5
        while not inp.realtime and time.monotonic() < deadline and allowed[0]:
            time.sleep(0.01)
        assert inp.realtime == allowed[0]
        policy = os.sched_getscheduler(inp._thread.native_id)
        assert policy == (os.SCHED_FIFO if allowed[0] else os.SCHED_OTHER)
    finally:
        inp.close()
        keys.close()
