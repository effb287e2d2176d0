"""The engine thread with in-memory sinks: exact times, quantize, transport, no stuck notes.

Outputs with lookahead receive each event early together with its exact engine-clock time, so
the times these tests check are exact (not subject to thread scheduling); outputs without
lookahead are checked for order and completeness. Real port traffic: test_engine_jack.py.
"""

import time

import numpy as np
import pytest

from engine.build import add_track, new_song
from engine.errors import QuantaError
from engine.model.notes import make_notes
from engine.quantize.settings import QuantizeSettings
from engine.realtime import clock
from engine.realtime.live_quantize import LiveSettings
from engine.realtime.metronome import ClickSettings
from engine.realtime.transport import Engine
from tests.engine_fakes import FakeSink, FakeSource, assert_every_note_closed

PPQ = 480
SEC_PER_TICK = 60 / 240 / PPQ  # 240 BPM: a quarter is 0.25 s


def song_of(starts, ends, pitches, bpm=240):
    song = new_song(ppq=PPQ, bpm=bpm)
    add_track(song, make_notes(starts, ends, pitches))
    return song


@pytest.fixture
def engine():
    eng = Engine().start()
    yield eng
    eng.shutdown()


def run(engine, song, sink, timeout=10.0):
    engine.set_outputs([sink])
    engine.set_song(song)
    engine.play()
    assert engine.wait_until_stopped(timeout)


def test_plays_every_note_at_its_exact_time(engine):
    sink = FakeSink(lookahead=0.05)
    starts = [0, 240, 480, 720, 960, 1200]
    run(engine, song_of(starts, [s + 200 for s in starts], [60, 62, 64, 65, 67, 69]), sink)
    ons = sink.note_ons()
    assert [p for _, p in ons] == [60, 62, 64, 65, 67, 69]
    t0 = ons[0][0]
    assert [w - t0 for w, _ in ons] == pytest.approx([s * SEC_PER_TICK for s in starts], abs=1e-9)
    offs = [w for w, k, _, _ in sink.notes() if k == 0x80]
    assert [w - t0 for w in offs] == pytest.approx(
        [(s + 200) * SEC_PER_TICK for s in starts], abs=1e-9
    )
    assert_every_note_closed(sink.notes())
    # handed over ahead of time, never after it was due
    assert all(sent <= when + 0.005 for when, _, sent in sink.log)


def test_a_sink_without_lookahead_gets_each_event_when_due(engine):
    sink = FakeSink(lookahead=0.0)
    starts = [0, 120, 240, 360, 480]
    run(engine, song_of(starts, [s + 60 for s in starts], [60, 61, 62, 63, 64]), sink)
    assert [p for _, p in sink.note_ons()] == [60, 61, 62, 63, 64]
    lateness = [sent - when for when, _, sent in sink.log]
    assert min(lateness) >= 0  # never early
    assert engine.lateness_ms()[3] == len(sink.log)
    assert_every_note_closed(sink.notes())


def test_playback_quantize_plays_the_quantized_positions(engine):
    song = song_of([0, 130, 245, 470], [100, 200, 300, 600], [60, 61, 62, 63])
    song.tracks[1].quantize = QuantizeSettings(division=16)
    sink = FakeSink(lookahead=0.05)
    run(engine, song, sink)
    ons = sink.note_ons()
    t0 = ons[0][0]
    assert [round((w - t0) / SEC_PER_TICK, 6) for w, _ in ons] == [0, 120, 240, 480]
    assert song.tracks[1].notes["start"].tolist() == [0, 130, 245, 470]


def test_tempo_changes_in_the_song_are_honoured(engine):
    from engine.build import add_meta, tempo_bytes
    from engine.model.song import META_TEMPO

    song = song_of([0, 480, 960, 1440], [100, 580, 1060, 1540], [60, 61, 62, 63])
    add_meta(song.tracks[0], 960, META_TEMPO, tempo_bytes(120))  # half speed from beat 3
    sink = FakeSink(lookahead=0.05)
    run(engine, song, sink)
    ons = sink.note_ons()
    assert [w - ons[0][0] for w, _ in ons] == pytest.approx([0, 0.25, 0.5, 1.0], abs=1e-9)


def test_tempo_override_replaces_the_tempo_map(engine):
    sink = FakeSink(lookahead=0.05)
    engine.set_tempo_override(480)
    run(engine, song_of([0, 480, 960], [100, 580, 1060], [60, 61, 62]), sink)
    ons = sink.note_ons()
    assert [w - ons[0][0] for w, _ in ons] == pytest.approx([0, 0.125, 0.25], abs=1e-9)
    with pytest.raises(QuantaError, match="tempo"):
        engine.set_tempo_override(0)


def test_stop_closes_every_sounding_note_and_keeps_the_position(engine):
    sink = FakeSink(lookahead=0.02)
    engine.set_outputs([sink])
    engine.set_song(song_of([0, 0, 0], [4800, 4800, 4800], [60, 64, 67]))
    engine.play()
    time.sleep(0.3)
    engine.stop()
    time.sleep(0.1)
    st = engine.state()
    assert not st.playing
    assert 0.2 / SEC_PER_TICK < st.tick < 0.5 / SEC_PER_TICK
    notes = sink.notes()
    assert sorted(p for _, k, p, _ in notes if k == 0x80) == [60, 64, 67]
    assert_every_note_closed(notes)
    engine.stop()  # stop while stopped: back to the start
    time.sleep(0.05)
    assert engine.state().tick == 0


def test_changing_quantize_while_playing_never_doubles_or_sticks_notes(engine):
    rng = np.random.default_rng(7)
    n = 64
    starts = np.sort(rng.integers(0, 7680, n))
    starts = starts + np.arange(n)  # distinct
    pitches = 40 + np.arange(n) % 40
    song = song_of(starts, starts + 90, pitches)
    sink = FakeSink(lookahead=0.01)
    engine.set_outputs([sink])
    engine.set_song(song)
    engine.play()
    for k in range(12):
        time.sleep(0.08)
        engine.set_track_quantize(1, QuantizeSettings(division=(4, 8, 16)[k % 3], strength=100))
    assert engine.wait_until_stopped(10)
    ons = sink.note_ons()
    assert len(ons) <= n  # a note already played is never played again
    assert len(ons) >= n - 12  # only notes moved into the past while playing may be skipped
    assert_every_note_closed(sink.notes(), allow_retrigger=True)
    assert not sink.fail


def test_loop_wraps_with_exact_timing_and_cuts_notes_at_the_loop_end(engine):
    sink = FakeSink(lookahead=0.05)
    engine.set_outputs([sink])
    engine.set_song(song_of([0, 480, 900, 2000], [100, 580, 1100, 2100], [60, 62, 64, 72]))
    engine.set_loop(0, 960)  # 0.5 s
    engine.play()
    time.sleep(1.3)
    st = engine.state()
    engine.stop()
    time.sleep(0.1)
    assert st.loop_pass >= 2 and st.loop == (0, 960)
    ons = sink.note_ons()
    assert [p for _, p in ons[:7]] == [60, 62, 64, 60, 62, 64, 60]
    t0 = ons[0][0]
    rel = [round((w - t0) / SEC_PER_TICK, 6) for w, _ in ons[:7]]
    assert rel == [0, 480, 900, 960, 1440, 1860, 1920]
    off64 = [w for w, k, p, _ in sink.notes() if k == 0x80 and p == 64][0]
    assert round((off64 - t0) / SEC_PER_TICK, 6) == 960  # cut at the loop end
    assert 72 not in [p for _, p in ons]
    assert_every_note_closed(sink.notes())


def test_loop_range_must_be_forward(engine):
    with pytest.raises(QuantaError, match="loop"):
        engine.set_loop(960, 0)


def test_panic_closes_notes_and_sends_all_notes_off(engine):
    sink = FakeSink(lookahead=0.0)
    engine.set_outputs([sink])
    engine.set_song(song_of([0], [48000], [60]))
    engine.play()
    time.sleep(0.1)
    engine.panic()
    time.sleep(0.1)
    assert not engine.state().playing
    msgs = [d for _, d, _ in sink.log]
    assert b"\x80\x3c\x00" in msgs
    assert all(bytes((0xB0 | ch, 123, 0)) in msgs for ch in range(16))


def test_a_failing_output_is_reported_once_and_the_others_keep_playing(engine):
    good, bad = FakeSink("good", 0.02), FakeSink("bad", 0.0, fail=True)
    engine.set_outputs([good, bad])
    engine.set_song(song_of([0, 240, 480], [100, 340, 580], [60, 61, 62]))
    engine.play()
    assert engine.wait_until_stopped(10)
    assert [p for _, p in good.note_ons()] == [60, 61, 62]
    errors = [e for e in engine.poll_events() if e[0] == "error"]
    assert len(errors) == 1 and "bad" in errors[0][1] and "port vanished" in errors[0][1]


def test_count_in_clicks_a_bar_before_the_first_note(engine):
    sink = FakeSink(lookahead=0.05)
    engine.set_metronome(False)
    engine.set_count_in(1)
    run(engine, song_of([0], [100], [60]), sink)
    ons = sink.note_ons()
    assert [p for _, p in ons] == [76, 77, 77, 77, 60]
    assert [w - ons[0][0] for w, _ in ons] == pytest.approx([0, 0.25, 0.5, 0.75, 1.0], abs=1e-9)
    assert_every_note_closed(sink.notes())


def test_metronome_clicks_every_beat_with_an_accent_on_the_bar(engine):
    sink, click = FakeSink(lookahead=0.05), FakeSink("click", lookahead=0.05)
    engine.set_metronome(True, click, ClickSettings(channel=9))
    run(engine, song_of([0, 1920], [100, 2000], [60, 62]), sink)
    ons = click.note_ons()
    assert [p for _, p in ons] == [76, 77, 77, 77, 76]
    assert all(d[0] in (0x99, 0x89) for _, d, _ in click.log)
    assert [p for _, p in sink.note_ons()] == [60, 62]


def test_recording_captures_the_raw_performance_into_a_take(engine):
    sink, src = FakeSink(lookahead=0.0), FakeSource()
    engine.set_outputs([sink])
    engine.set_input(src)
    engine.set_live(LiveSettings(QuantizeSettings(division=4), mode="next"))
    engine.set_song(song_of([0], [100], [40], bpm=120))
    engine.set_loop(0, 1920 * 4)
    engine.arm_record(True, quantize=QuantizeSettings(division=16))
    engine.play()
    time.sleep(0.1)
    t = clock.now()
    src.feed(b"\x90\x3c\x64", t)
    src.feed(b"\xb0\x40\x7f", t + 0.1)
    src.feed(b"\x80\x3c\x00", t + 0.25)
    src.feed(b"\x90\x3e\x50", t + 0.5)
    src.feed(b"\x80\x3e\x00", t + 0.75)
    time.sleep(0.2)
    engine.stop()
    time.sleep(0.1)
    takes = engine.takes()
    assert len(takes) == 1
    notes = takes[0].notes
    assert notes["pitch"].tolist() == [60, 62]
    # raw performance: 120 BPM at 480 PPQ = 960 ticks/s
    assert int(notes["start"][1] - notes["start"][0]) == 480
    assert (notes["end"] - notes["start"]).tolist() == [240, 240]
    assert notes["velocity"].tolist() == [100, 80]
    assert takes[0].events["status"].tolist() == [0xB0]
    assert takes[0].quantize == QuantizeSettings(division=16)
    assert ("takes", 1) in engine.poll_events()


def test_live_thru_quantizes_and_never_sends_an_off_before_its_on(engine):
    sink, src = FakeSink(lookahead=0.0), FakeSource()
    engine.set_outputs([sink])
    engine.set_input(src)
    engine.set_live(LiveSettings(QuantizeSettings(division=16), mode="next"))
    t0 = clock.now() + 0.05
    engine.live.anchor(t0, 0)  # 120 BPM: 960 ticks/s, 1/16 = 0.125 s
    src.feed(b"\x90\x3c\x64", t0 + 130 / 960)  # held to tick 240
    src.feed(b"\x80\x3c\x00", t0 + 150 / 960)  # released before its note-on went out
    src.feed(b"\xb0\x01\x40", t0 + 151 / 960)  # controllers pass at once
    time.sleep(0.5)
    log = [(w, d) for w, d, _ in sink.log]
    assert [d for _, d in log] == [b"\xb0\x01\x40", b"\x90\x3c\x64", b"\x80\x3c\x00"]
    assert log[1][0] == pytest.approx(t0 + 240 / 960, abs=1e-9)
    assert log[2][0] == pytest.approx(t0 + 260 / 960, abs=1e-9)
    sent_at = [s for _, _, s in sink.log]
    assert sent_at[1] >= log[1][0] and sent_at[1] - log[1][0] < 0.05


def test_live_thru_with_quantize_off_sends_from_the_input_thread_at_once(engine):
    sink, src = FakeSink(lookahead=0.0), FakeSource()
    engine.set_outputs([sink])
    engine.set_input(src)
    src.feed(b"\x90\x3c\x64")
    src.feed(b"\x80\x3c\x00")
    assert [d for _, d, _ in sink.log] == [b"\x90\x3c\x64", b"\x80\x3c\x00"]  # synchronous


def test_shutdown_closes_sounding_notes_and_held_live_notes():
    sink, src = FakeSink(lookahead=0.0), FakeSource()
    eng = Engine().start()
    eng.set_outputs([sink])
    eng.set_input(src)
    eng.set_song(song_of([0], [48000], [60]))
    eng.play()
    time.sleep(0.1)
    src.feed(b"\x90\x40\x64")  # a live note the player still holds
    eng.shutdown()
    notes = sink.notes()
    assert sorted(p for _, k, p, _ in notes if k == 0x80) == [60, 64]
    assert_every_note_closed(notes)
    assert src.callback is None  # input detached


def test_locate_while_playing_jumps_and_closes_sounding_notes(engine):
    sink = FakeSink(lookahead=0.05)
    engine.set_outputs([sink])
    engine.set_song(song_of([0, 3840, 4320], [3000, 4000, 4400], [60, 72, 74]))
    engine.play()
    time.sleep(0.2)
    engine.locate(3840)  # bar 3 (4/4, 240 BPM: 2 s in)
    assert engine.wait_until_stopped(5)
    ons = sink.note_ons()
    assert [p for _, p in ons] == [60, 72, 74]
    off60 = [w for w, k, p, _ in sink.notes() if k == 0x80 and p == 60][0]
    assert off60 < ons[1][0]  # the long note was closed at the jump, not at tick 3000
    assert ons[2][0] - ons[1][0] == pytest.approx(480 * SEC_PER_TICK, abs=1e-9)
    assert_every_note_closed(sink.notes())


def test_pause_keeps_the_position_and_play_resumes_there(engine):
    sink = FakeSink(lookahead=0.02)
    engine.set_outputs([sink])
    engine.set_song(song_of([0, 960, 1920], [100, 1060, 2020], [60, 62, 64]))
    engine.play()
    time.sleep(0.7)  # past the second note (0.5 s)
    engine.pause()
    time.sleep(0.1)
    paused_at = engine.state().tick
    assert 960 < paused_at < 1920
    engine.play()
    assert engine.wait_until_stopped(5)
    assert [p for _, p in sink.note_ons()] == [60, 62, 64]  # nothing replayed, nothing lost


def test_tempo_override_while_playing_keeps_the_musical_position(engine):
    sink = FakeSink(lookahead=0.02)
    engine.set_outputs([sink])
    engine.set_song(song_of([0, 960, 1920, 2880], [100, 1060, 2020, 2980], [60, 62, 64, 65]))
    engine.play()
    time.sleep(0.6)  # between the 2nd (0.5 s) and 3rd note (1.0 s)
    engine.set_tempo_override(480)  # twice as fast from here
    assert engine.wait_until_stopped(5)
    ons = sink.note_ons()
    assert [p for _, p in ons] == [60, 62, 64, 65]
    # after the change a half note (960 ticks) lasts 0.25 s instead of 0.5 s
    assert ons[3][0] - ons[2][0] == pytest.approx(0.25, abs=1e-9)
    assert ons[1][0] - ons[0][0] == pytest.approx(0.5, abs=1e-9)


def test_recording_in_a_loop_gives_one_take_per_pass(engine):
    sink, src = FakeSink(lookahead=0.0), FakeSource()
    engine.set_outputs([sink])
    engine.set_input(src)
    engine.set_song(song_of([0], [100], [40]))  # 240 BPM
    engine.set_loop(0, 960)  # 0.5 s per pass
    engine.arm_record(True)
    engine.play()
    time.sleep(0.15)
    src.feed(b"\x90\x3c\x64")
    src.feed(b"\x80\x3c\x00", clock.now() + 0.05)
    time.sleep(0.5)  # next pass
    src.feed(b"\x90\x3e\x64")
    src.feed(b"\x80\x3e\x00", clock.now() + 0.05)
    time.sleep(0.1)
    engine.stop()
    time.sleep(0.1)
    takes = engine.takes()
    assert [t.notes["pitch"].tolist() for t in takes] == [[60], [62]]
    for t in takes:  # both inside the loop, at the same place in their pass (±20 ms)
        assert 0 <= int(t.notes["start"][0]) < 960
        # 50 ms at 1920 ticks/s; start and end are each rounded to a tick
        assert abs(int(t.notes["end"][0] - t.notes["start"][0]) - 96) <= 1
    assert abs(int(takes[1].notes["start"][0]) - int(takes[0].notes["start"][0])) < 40


def test_live_quantize_follows_the_song_tempo_and_ppq_while_playing(engine):
    song = new_song(ppq=96, bpm=60)  # a quarter is 1 s
    add_track(song, make_notes([0, 960], [10, 970], [30, 31]))
    sink, src = FakeSink(lookahead=0.05), FakeSource()
    engine.set_outputs([sink])
    engine.set_input(src)
    engine.set_live(LiveSettings(QuantizeSettings(division=4), mode="next"))
    engine.set_song(song)
    engine.play()
    deadline = time.monotonic() + 2
    while not sink.note_ons() and time.monotonic() < deadline:
        time.sleep(0.005)
    w0 = sink.note_ons()[0][0]  # engine time of tick 0
    src.feed(b"\x90\x48\x64", w0 + 0.3)  # 0.3 beats in: held to beat 2
    src.feed(b"\x80\x48\x00", w0 + 0.5)
    time.sleep(1.2)
    engine.stop()
    live = [(w, d) for w, d, _ in sink.log if d[1] == 0x48]
    assert live[0][1] == b"\x90\x48\x64"
    assert live[0][0] == pytest.approx(w0 + 1.0, abs=1e-6)
    assert live[1][0] == pytest.approx(w0 + 1.2, abs=1e-6)


def test_set_track_quantize_rebuilds_off_the_callers_thread(engine):
    sink = FakeSink(lookahead=0.05)
    song = song_of([0, 130, 245], [100, 200, 300], [60, 61, 62])
    engine.set_outputs([sink])
    engine.set_song(song)
    for division in (4, 8, 16):  # a burst: only the last one matters
        engine.set_track_quantize(1, QuantizeSettings(division=division))
    assert engine.wait_rebuilt(5)
    engine.play()
    assert engine.wait_until_stopped(5)
    ons = sink.note_ons()
    assert [round((w - ons[0][0]) / SEC_PER_TICK, 6) for w, _ in ons] == [0, 120, 240]
    assert song.tracks[1].quantize is None  # the caller's song object is not modified
    with pytest.raises(QuantaError, match="track 7"):
        engine.set_track_quantize(7, None)
