"""Issue 14 for the engine: a few-byte MIDI file whose silences last years (2^28-tick deltas,
thousands of them) or whose tempo is 0, 1 µs or 0xFFFFFF µs per quarter. Scheduling, the
metronome, playback and render cost what is played, never the empty ticks; render refuses a
song of years in one line before allocating anything."""

from __future__ import annotations

import time
import tracemalloc

import numpy as np
import pytest

from app.cli import main
from engine.audio.mixer import Mixer
from engine.audio.render import check_render_length, duration_text, render_song
from engine.errors import RenderLimitError
from engine.plugins.builtin_synth import BuiltinSynth
from engine.quantize.settings import QuantizeSettings
from engine.realtime import Engine
from engine.realtime.metronome import CLICK_BLOCK, ClickSettings, ClickStream
from engine.realtime.schedule import KIND_NOTE_ON, build_schedule, playback_notes
from engine.realtime.timeline import make_timeline
from tests.engine_fakes import FakeSink, assert_every_note_closed
from tests.hostile_songs import GAP, gapped_bytes, gapped_song, note_ticks

pytestmark = pytest.mark.timeout(120)  # real cost is milliseconds; the machine is shared

MB = 1 << 20


def _peak(fn):
    """``(result, peak bytes allocated while it ran)``."""
    tracemalloc.start()
    try:
        out = fn()
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _on_ticks(rows) -> list[int]:
    return rows[rows["kind"] == KIND_NOTE_ON]["tick"].tolist()


# -- schedule and timeline ------------------------------------------------------------------
@pytest.mark.parametrize("ppq", [1, 480])
def test_thousands_of_longest_silences_schedule_in_order(ppq):
    song = gapped_song(ppq, 4096)
    sched, peak = _peak(lambda: build_schedule(song))
    assert _on_ticks(sched.rows) == note_ticks(4096)  # ticks pass 2^40: keys must not wrap
    assert sched.rows["tick"][-1] == 4096 * GAP + 1
    assert peak < 8 * MB
    # a quantize change on one track re-sorts in order too
    track = song.tracks[0].copy()
    track.quantize = QuantizeSettings(division=4)
    changed = sched.with_track(0, track)
    quantized = playback_notes(track, ppq)["start"].tolist()
    assert len(quantized) == 4097 and quantized != note_ticks(4096) or ppq == 1
    assert _on_ticks(changed.rows) == quantized == sorted(quantized)


@pytest.mark.parametrize("ppq", [1, 480])
def test_timeline_with_metronome_costs_nothing_per_beat(ppq):
    sched = build_schedule(gapped_song(ppq, 1))
    tl, peak = _peak(lambda: make_timeline(sched, ClickSettings()))
    assert tl.rows.size == sched.rows.size == 4  # no click rows: clicks are streamed
    assert tl.end_tick == GAP + 1
    assert peak < 1 * MB


# -- the metronome's click stream --------------------------------------------------------------
def test_click_stream_in_the_middle_of_a_silence_of_2_28_beats():
    song = gapped_song(1, 1)
    tempo, tsig = song.tempo_map(), song.time_signatures()
    stream = ClickStream(tsig, tempo, GAP + 2)

    def clicks(n):
        return [stream.pop() for _ in range(n)]

    def run():
        stream.seek(tempo.tick_to_seconds((1 << 27) + 0.5))
        return clicks(8)

    got, peak = _peak(run)
    ticks = [(1 << 27) + 1 + k for k in range(8)]
    assert [c[0] for c in got] == [t * 0.5 for t in ticks]  # 120 BPM, a beat per tick
    assert [c[1] for c in got] == [bytes((0x99, 76 if t % 4 == 0 else 77, 120 if t % 4 == 0 else 90))
                                   for t in ticks]
    assert [c[2] for c in got] == [t * 0.5 + 0.5 for t in ticks]  # a 1-tick click (ppq // 8 → 1)
    assert peak < 256 * 1024
    # to the very end: the last beat is the end tick (GAP + 1 = 2^28, a downbeat), then none
    stream.seek(tempo.tick_to_seconds(GAP - 2))
    tail = clicks(4)
    assert [c[0] for c in tail] == [t * 0.5 for t in range(GAP - 2, GAP + 2)]
    assert tail[-1][1][1] == 76
    assert stream.next_sec() is None


def test_click_stream_runs_block_after_block_and_seeks_within_a_block_for_free():
    song = gapped_song(480, 1)
    tempo, tsig = song.tempo_map(), song.time_signatures()
    stream = ClickStream(tsig, tempo, 10 * CLICK_BLOCK * 480)
    stream.seek(0.0)
    secs = [stream.pop()[0] for _ in range(3 * CLICK_BLOCK + 5)]
    assert secs == [k * 0.5 for k in range(3 * CLICK_BLOCK + 5)]
    # a loop wrap inside the current block reuses it: no new arrays
    block = stream._secs
    stream.seek(tempo.tick_to_seconds((3 * CLICK_BLOCK + 2) * 480))
    assert stream._secs is block and stream.pop()[0] == (3 * CLICK_BLOCK + 2) * 0.5


# -- playback ----------------------------------------------------------------------------------
@pytest.fixture
def engine():
    eng = Engine().start()
    yield eng
    eng.shutdown()


def test_engine_plays_the_note_after_the_4096th_silence_and_ends(engine):
    song = gapped_song(480, 4096)
    sink = FakeSink(lookahead=0.02)
    engine.set_outputs([sink])
    (_, peak) = _peak(lambda: (engine.set_song(song), engine.set_metronome(True),
                               engine.wait_until_stopped(5)))
    assert peak < 8 * MB
    last = 4096 * GAP
    engine.locate(last - 96)  # 0.1 s before the last note (120 BPM, 480 PPQ)
    engine.play()
    assert engine.wait_until_stopped(20)
    assert [p for _, p in sink.note_ons() if p != 76 and p != 77] == [60 + 4096 % 12]
    clicks = [(w, p) for w, p in sink.note_ons() if p in (76, 77)]
    note = [w for w, p in sink.note_ons() if p == 64][0]
    # clicks start at the first beat (every 480 ticks) at or after the locate point
    first_beat = -(-(last - 96) // 480) * 480
    assert clicks and clicks[0][0] - note == pytest.approx((first_beat - last) / 960, abs=1e-9)
    assert_every_note_closed(sink.notes())


def test_engine_loops_inside_a_silence_of_2_28_beats_with_clicks(engine):
    song = gapped_song(1, 1, usec=62_500)  # 960 BPM: a tick (= a beat) is 62.5 ms
    sink = FakeSink(lookahead=0.02)
    engine.set_outputs([sink])
    engine.set_song(song)
    engine.set_metronome(True)
    engine.set_loop(GAP - 2, GAP + 2)
    engine.locate(GAP - 2)
    engine.play()
    deadline = time.monotonic() + 30
    while engine.state().loop_pass < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    engine.stop()
    assert engine.wait_until_stopped(10)
    ons = sink.note_ons()
    first_pass = [p for _, p in ons[:5]]
    # clicks at GAP-2, GAP-1, GAP (with the note, pitch 61), GAP+1 = 2^28 (a downbeat)
    assert sorted(first_pass[:2]) == [77, 77] and sorted(first_pass[2:4]) == [61, 77]
    assert first_pass[4] == 76
    t0 = ons[0][0]
    assert [round((w - t0) / 0.0625, 6) for w, _ in ons[:5]] == [0, 1, 2, 2, 3]
    assert [round((w - t0) / 0.0625, 6) for w, _ in ons[5:10]] == [4, 5, 6, 6, 7]
    assert len(engine._rt.played) == 0  # pass memory stays empty


@pytest.mark.parametrize(
    ("usec", "sec_per_quarter"), [(0, 0.5), (1, 1e-6), (0xFFFFFF, 16.777215)]
)
def test_unusable_and_absurd_tempos_time_the_schedule(usec, sec_per_quarter):
    song = gapped_song(480, 3, gap=480, usec=usec)
    sched = build_schedule(song)
    on = sched.rows[sched.rows["kind"] == KIND_NOTE_ON]
    assert on["sec"].tolist() == pytest.approx([k * sec_per_quarter for k in range(4)], rel=1e-12)
    assert np.isfinite(sched.rows["sec"]).all() and np.isfinite(sched.rows["off_sec"]).all()
    tl = make_timeline(sched, ClickSettings())
    stream = tl.click_stream()
    stream.seek(0.0)
    assert [stream.pop()[0] for _ in range(4)] == pytest.approx(
        [k * sec_per_quarter for k in range(4)], rel=1e-12
    )


def test_engine_plays_a_thousand_notes_at_1_usec_per_quarter(engine):
    # 1 µs per quarter: 1000 quarters (480,000 ticks) between notes is 1 ms
    song = gapped_song(480, 999, gap=480_000, length=240, usec=1)
    sink = FakeSink(lookahead=0.02)
    engine.set_outputs([sink])
    engine.set_song(song)
    engine.set_metronome(True)  # a click every µs would be 10^6 clicks a second
    engine.play()
    assert engine.wait_until_stopped(30)
    notes = [(w, p) for w, p in sink.note_ons() if p not in (76, 77)]
    assert len(notes) == 1000
    t0 = notes[0][0]
    assert [w - t0 for w, _ in notes] == pytest.approx([k * 0.001 for k in range(1000)], abs=1e-9)


# -- render ------------------------------------------------------------------------------------
def _builtin_mixer(tracks, rate=48000):
    m = Mixer(rate, 1024)
    for t in tracks:
        m.add_track(f"t{t}", BuiltinSynth(rate, 1024))
    return m


def test_duration_text():
    assert duration_text(42.04) == "42.0 s"
    assert duration_text(600) == "10.0 min"
    assert duration_text(7.5 * 3600) == "7.5 hours"
    assert duration_text(3 * 86400) == "3.0 days"
    assert duration_text(GAP * 0.5) == "4.3 years"


@pytest.mark.parametrize(
    ("ppq", "gaps", "usec", "text"),
    [(1, 1, None, "4.3 years"), (480, 1, None, "3.2 days"), (480, 4096, None, "36.3 years"),
     (1, 1, 0xFFFFFF, "142.7 years"), (1, 1, 0, "4.3 years")],
)
def test_render_refuses_a_song_of_years_before_allocating(ppq, gaps, usec, text):
    song = gapped_song(ppq, gaps, usec=usec)
    made = []

    def make_mixer(tracks):
        made.append(tracks)
        return _builtin_mixer(tracks)

    def run():
        with pytest.raises(RenderLimitError) as err:
            render_song(song, make_mixer, name="song.mid")
        return str(err.value)

    message, peak = _peak(run)
    assert message == f"song.mid lasts {text}; render is limited to 12 hours (--max-hours)"
    assert made == []  # refused before the mixer (and its plugins) was made
    assert peak < 8 * MB


def test_render_limit_is_the_option_and_a_short_song_renders():
    sched = build_schedule(gapped_song(480, 1, gap=480 * 7200))  # 1 hour of silence
    assert check_render_length(sched) == pytest.approx(3600 + 1 / 960)
    with pytest.raises(RenderLimitError, match="lasts 1.0 hours; render is limited to 0.5 hours"):
        check_render_length(sched, max_hours=0.5)
    # tempo 1 µs per quarter: 3 notes of 40 ms 50 ms apart (a quarter is 1 µs, 480 ticks)
    gap, length = 480 * 50_000, 480 * 40_000
    song = gapped_song(480, 2, gap=gap, length=length, usec=1)
    audio, stats = render_song(song, _builtin_mixer, tail=0.25)
    end_sec = (2 * gap + length) / 480 * 1e-6
    assert end_sec == pytest.approx(0.14)
    assert stats.frames == audio.shape[1] == int(np.ceil((end_sec + 0.25) * 48000))
    loud = np.flatnonzero(np.abs(audio[0]) > 1e-3)
    assert loud[0] < 48 and abs(int(loud[-1]) - int(0.14 * 48000)) < 0.25 * 48000


def test_cli_render_of_a_song_of_years_is_one_line_and_no_file(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    mid = tmp_path / "song.mid"
    mid.write_bytes(gapped_bytes(1, 1))
    out = tmp_path / "out.wav"
    rc = main(["render", str(mid), "-o", str(out)])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.strip() == (
        "quanta: error: song.mid lasts 4.3 years; render is limited to 12 hours (--max-hours)"
    )
    assert {p.name for p in tmp_path.iterdir()} <= {"cache", "song.mid"}  # no file, no temp
    rc = main(["render", str(mid), "-o", str(out), "--max-hours", "0"])
    assert rc == 2 and "--max-hours 0" in capsys.readouterr().err


# -- reading tempos and signatures over many tracks ----------------------------------------------
def test_meta_events_over_20000_tracks_match_the_per_track_search():
    from engine.smf.midifile import load_song_bytes
    from tests import midi_corpus as mc
    from tests.hostile_songs import tempo_event

    plain = mc.raw_track([(0, mc.meta(0x03, b"t")), (0, b"\x90\x3c\x40"), (10, b"\x80\x3c\x00")], False)
    tracks = [plain] * 20_000
    tracks[0] = mc.raw_track([(0, tempo_event(600_000)), (0, mc.meta(0x58, b"\x03\x02\x18\x08"))], False)
    tracks[7] = mc.raw_track([(960, tempo_event(0)), (480, mc.meta(0x58, b"\x06\x03\x18\x08"))], False)
    tracks[19_999] = mc.raw_track([(0, tempo_event(250_000)), (GAP, tempo_event(1))], False)
    tracks[500] = mc.raw_track([], False)  # an empty track
    song = load_song_bytes(mc.raw_smf(1, 480, tracks))
    for meta in (0x51, 0x58, 0x03):
        per_track = [e for t in song.tracks for e in t.meta_events(meta)]
        assert song.meta_events(meta) == per_track
    assert song.meta_events(0x51) == [
        (0, b"\x09\x27\xc0"), (960, b"\x00\x00\x00"), (0, b"\x03\xd0\x90"), (GAP, b"\x00\x00\x01")
    ]
    tempo = song.tempo_map()
    # tick 0: 600,000 then 250,000 (the later track wins on one tick); tempo 0 ignored
    assert tempo.ticks.tolist() == [0, GAP] and tempo.usec.tolist() == [250_000, 1]
    assert tempo.ignored.tolist() == [960]
    sigs = song.time_signatures()
    assert [(s.tick, s.numerator, s.denominator) for s in sigs.signatures] == [(0, 3, 4), (1440, 6, 8)]
    _, peak = _peak(song.tempo_map)
    # two bytes per event and a view per track (~160 B), not a copy of every track's events
    assert peak < 200 * 20_000


def test_gui_export_audio_of_a_song_of_years_is_refused_and_leaves_nothing(tmp_path):
    from ui.window_files import render_song_to_file

    with pytest.raises(RenderLimitError) as err:
        render_song_to_file(gapped_song(480, 4096), tmp_path / "out.wav", song_name="song.mid")
    assert str(err.value) == (
        "song.mid lasts 36.3 years; render is limited to 12 hours (--max-hours)"
    )
    assert list(tmp_path.iterdir()) == []  # neither the file nor its hidden temporary


def test_beat_ticks_of_a_song_of_years_stop_at_the_limit():
    from engine.realtime.metronome import MAX_CLICKS, beat_ticks

    tsig = gapped_song(1, 1).time_signatures()
    beats, peak = _peak(lambda: beat_ticks(tsig, 5, GAP + 2, limit=6))
    assert beats == [(5, False), (6, False), (7, False), (8, True), (9, False), (10, False)]
    assert len(beat_ticks(tsig, 0, 1 << 40)) == MAX_CLICKS
    assert peak < 64 * 1024
