"""What a MIDI file holds besides tracks: foreign chunks, stray bytes, RMID, SMPTE division.

Every file here is built by hand, byte by byte, so the tests do not depend on another writer.
"""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest
import soundfile as sf

from app.cli import main
from engine.errors import MidiFileError
from engine.model.notes import make_notes
from engine.model.smf_container import ChunkRun, SmpteDivision
from engine.quantize.apply import quantize_song
from engine.quantize.settings import QuantizeSettings
from engine.realtime.schedule import KIND_NOTE_ON, build_schedule
from engine.realtime.transport import Engine
from engine.smf.midifile import load_song, load_song_bytes, save_song, song_to_bytes
from tests import midi_corpus as mc
from tests.engine_fakes import FakeSink
from tests.jack_audio_tools import onsets


def chunk(cid: bytes, body: bytes) -> bytes:
    return cid + len(body).to_bytes(4, "big") + body


def riff_chunk(cid: bytes, body: bytes) -> bytes:
    return cid + len(body).to_bytes(4, "little") + body + (b"\x00" if len(body) % 2 else b"")


def rmid(smf: bytes, before: bytes = b"", after: bytes = b"") -> bytes:
    content = b"RMID" + before + riff_chunk(b"data", smf) + after
    return b"RIFF" + len(content).to_bytes(4, "little") + content


def track_at(events: list[tuple[int, bytes]]) -> bytes:
    """An MTrk chunk from ``(absolute tick, event bytes)``, in tick order."""
    events = sorted(events, key=lambda e: e[0])
    ticks = [t for t, _ in events]
    return mc.raw_track(
        [(t - p, ev) for (t, ev), p in zip(events, [0, *ticks], strict=False)], running=False
    )


def keys_track(ticks=(0, 1000), name: bytes = b"Keys", tempo_events: bool = False) -> bytes:
    """A track with a name, optional tempo events, and one note from ticks[0] to ticks[1]."""
    events = [(0, mc.meta(0x03, name))]
    if tempo_events:
        events += [(0, mc.meta(0x51, (500_000).to_bytes(3, "big")))]  # 120 BPM
        events += [(500, mc.meta(0x51, (250_000).to_bytes(3, "big")))]  # 240 BPM
    events += [(ticks[0], b"\x90\x3c\x64"), (ticks[1], b"\x80\x3c\x00")]
    return track_at(events)


XFIH = chunk(b"XFIH", b"XF02\x00\x00\x00\x01")
XFKM = chunk(b"XFKM", b"lyrics \x01\x02 odd")  # odd length: no padding in SMF
HEADER = mc.raw_smf(1, 480, [])[:14]


def with_two_tracks(ntracks: int = 2) -> tuple[bytes, list[bytes]]:
    return HEADER[:10] + ntracks.to_bytes(2, "big") + HEADER[12:], [
        keys_track(name=b"One"),
        keys_track((240, 480), name=b"Two"),
    ]


# -- foreign chunks -----------------------------------------------------------------------


def test_foreign_chunks_before_between_and_after_tracks_round_trip_byte_for_byte():
    head, (one, two) = with_two_tracks()
    plain = head + one + two
    alien = chunk(b"ABCD", b"")
    data = head + XFIH + one + XFKM + alien + two + chunk(b"Zzzz", bytes(range(256)))
    song = load_song_bytes(data)
    assert mc.song_view(song) == mc.song_view(load_song_bytes(plain))
    runs = song.file_extras.chunks
    assert [r.before_track for r in runs] == [0, 1, 2]
    assert runs[1].chunks() == [("XFKM", b"lyrics \x01\x02 odd"), ("ABCD", b"")]
    assert song.file_extras.chunk_ids() == ["XFIH", "XFKM", "ABCD", "Zzzz"]
    assert song_to_bytes(song) == data
    assert song_to_bytes(song.copy()) == data


def test_foreign_chunks_keep_their_place_after_edits_and_quantize():
    head, (one, two) = with_two_tracks()
    data = head + one + XFKM + two + XFIH
    song = load_song_bytes(data)
    tight, _ = quantize_song(song, QuantizeSettings(division=4))
    assert tight.tracks[1].notes["start"][0] == 0  # 240 -> 0 at 1/4 (480 ticks)
    out = song_to_bytes(tight)
    assert out[: len(head) + len(one) + len(XFKM)] == head + one + XFKM
    assert out.endswith(XFIH)
    same, _ = quantize_song(song, QuantizeSettings(division=4, strength=0))
    assert song_to_bytes(same) == data


def test_a_run_placed_after_a_deleted_track_goes_to_the_end():
    head, (one, two) = with_two_tracks()
    song = load_song_bytes(head + one + two + XFIH)
    del song.tracks[1]
    out = song_to_bytes(song)
    assert out == HEADER[:10] + (1).to_bytes(2, "big") + HEADER[12:] + one + XFIH


def test_200k_foreign_chunks_are_one_run_and_round_trip():
    head, (one, two) = with_two_tracks()
    junk = chunk(b"XJNK", b"") * 200_000
    data = head + one + junk + two
    song = load_song_bytes(data)
    assert len(song.file_extras.chunks) == 1 and song.file_extras.chunks[0].raw == junk
    assert song_to_bytes(song) == data


def test_header_bytes_beyond_six_and_trailing_bytes_round_trip():
    _, (one, two) = with_two_tracks()
    long_header = b"MThd" + (8).to_bytes(4, "big") + b"\x00\x01\x00\x02\x01\xe0\xab\xcd"
    for tail in (b"", bytes(5), b"\x1a" * 9, b"JUNK\x00\x00\x10\x00abc"):
        data = long_header + one + two + tail
        song = load_song_bytes(data)
        assert song.file_extras.header_tail == b"\xab\xcd"
        assert song.file_extras.trailing == tail
        assert song_to_bytes(song) == data


def with_tail(track: bytes, tail: bytes) -> bytes:
    """The MTrk chunk with ``tail`` after its end-of-track event (inside the chunk)."""
    return chunk(b"MTrk", track[8:] + tail)


def test_bytes_after_end_of_track_inside_a_track_chunk_round_trip():
    head, (one, two) = with_two_tracks()
    data = head + with_tail(one, b"\x00\x00\x00") + with_tail(two, b"\x00\xff\x2f\x00junk")
    song = load_song_bytes(data)
    assert mc.song_view(song) == mc.song_view(load_song_bytes(head + one + two))
    assert [t.smf_tail for t in song.tracks] == [b"\x00\x00\x00", b"\x00\xff\x2f\x00junk"]
    assert song_to_bytes(song) == data
    assert song_to_bytes(song.copy()) == data


def test_a_cut_off_foreign_chunk_before_the_last_track_is_a_clear_error():
    head, (one, two) = with_two_tracks()
    data = head + one + XFKM[:12]
    with pytest.raises(MidiFileError) as info:
        load_song_bytes(data, name="xf.mid")
    assert str(info.value) == (
        f"xf.mid: chunk 'XFKM' is truncated at byte {len(data)} "
        f"(chunk says {len(XFKM) - 8} bytes, 4 present)"
    )


def test_a_cut_off_foreign_chunk_after_the_last_track_is_kept():
    head, (one, two) = with_two_tracks()
    data = head + one + two + XFKM[:12]
    song = load_song_bytes(data)
    assert song.file_extras.trailing == XFKM[:12]
    assert song_to_bytes(song) == data


def test_a_plain_file_carries_no_extras_and_a_second_mthd_is_a_foreign_chunk():
    head, (one, two) = with_two_tracks()
    assert load_song_bytes(head + one + two).file_extras.chunks == ()
    data = head + one + HEADER + two
    song = load_song_bytes(data)
    assert song.file_extras.chunk_ids() == ["MThd"]
    assert song_to_bytes(song) == data


def test_well_formed_runs():
    assert ChunkRun(0, XFIH + XFKM).is_well_formed()
    assert not ChunkRun(0, XFIH[:-1]).is_well_formed()
    assert not ChunkRun(0, chunk(b"MTrk", b"")).is_well_formed()
    assert not ChunkRun(0, b"").is_well_formed()


# -- RMID ----------------------------------------------------------------------------------


def rmid_song() -> tuple[bytes, bytes]:
    head, (one, two) = with_two_tracks()
    smf = head + one + XFKM + two
    info = riff_chunk(b"LIST", b"INFOINAM" + (5).to_bytes(4, "little") + b"Song\x00\x00")
    disp = riff_chunk(b"DISP", b"\x01\x00\x00\x00Song")
    return smf, rmid(smf, before=disp, after=info)


def test_rmid_is_read_and_saved_back_as_rmid(tmp_path):
    smf, data = rmid_song()
    path = tmp_path / "song.rmi"
    path.write_bytes(data)
    song = load_song(path)
    assert [t.name for t in song.tracks] == ["One", "Two"]
    assert song.file_extras.riff is not None
    assert song_to_bytes(song) == data
    assert song_to_bytes(song, rmid=False) == smf
    out = tmp_path / "copy.rmi"
    save_song(song, out)
    assert out.read_bytes() == data


def test_the_file_name_chooses_the_container_on_save(tmp_path):
    smf, data = rmid_song()
    song = load_song_bytes(data)
    for name, want in [("a.RMI", data), ("a.mid", smf), ("a.midi", smf), ("a.kar", smf)]:
        save_song(song, tmp_path / name)
        assert (tmp_path / name).read_bytes() == want, name
    save_song(song, tmp_path / "no-suffix")  # no say in the name: the source's container
    assert (tmp_path / "no-suffix").read_bytes() == data
    plain = load_song_bytes(smf)
    save_song(plain, tmp_path / "new.rmi")  # a plain song saved as .rmi gets an envelope
    assert (tmp_path / "new.rmi").read_bytes() == rmid(smf)
    assert song_to_bytes(load_song(tmp_path / "new.rmi"), rmid=False) == smf


def test_rmid_with_odd_sized_midi_data_is_padded_and_round_trips():
    head, (one, _) = with_two_tracks(1)
    smf = head + one + chunk(b"ODD!", b"x")
    assert len(smf) % 2 == 1
    data = rmid(smf, after=riff_chunk(b"LIST", b"INFO"))
    song = load_song_bytes(data)
    assert song_to_bytes(song) == data
    song.file_extras = song.file_extras.__class__(riff=song.file_extras.riff)  # drop ODD!
    even = song_to_bytes(song)
    assert int.from_bytes(even[16:20], "little") == len(smf) - 9
    assert even[20 + len(smf) - 9 : 24 + len(smf) - 9] == b"LIST"  # no pad byte now
    assert int.from_bytes(even[4:8], "little") == len(even) - 8


def _error(data: bytes, name: str = "song.rmi") -> str:
    with pytest.raises(MidiFileError) as info:
        load_song_bytes(data, name=name)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_broken_riff_files_give_one_line_errors():
    avi = b"RIFF" + (4).to_bytes(4, "little") + b"AVI LIST"
    assert _error(avi, "x.mid") == (
        "x.mid: not a MIDI file (it is a RIFF file of type 'AVI ', not RIFF MIDI 'RMID')"
    )
    smf, good = rmid_song()
    assert _error(good[:10]) == "song.rmi: RIFF header is truncated (10 bytes in the file)"
    wave = b"RIFF" + (4).to_bytes(4, "little") + b"WAVEfmt "
    assert _error(wave, "take.mid") == (
        "take.mid: not a MIDI file (it is WAV audio, not RIFF MIDI 'RMID')"
    )
    assert _error(rmid(b"", before=riff_chunk(b"LIST", b"INFO"))[:-8]) == (
        "song.rmi: RMID file has no 'data' chunk holding the MIDI music"
    )
    cut = good[: 12 + 16 + 8 + 30]
    assert _error(cut) == (
        f"song.rmi: RMID 'data' chunk is truncated at byte {len(cut)} "
        f"(chunk says {len(smf)} bytes, 30 present)"
    )
    damaged = b"RIFF" + (100).to_bytes(4, "little") + b"RMID" + b"\x00\x01\x02\x03" + bytes(8)
    assert _error(damaged) == "song.rmi: damaged RIFF chunk header at byte 12"
    cut_list = (
        b"RIFF" + (100).to_bytes(4, "little") + b"RMID" + b"LIST" + (50).to_bytes(4, "little")
    )
    assert _error(cut_list + b"INFO") == (
        "song.rmi: RIFF chunk 'LIST' is truncated at byte 24 before the MIDI data"
    )


def test_errors_inside_rmid_say_the_position_is_in_the_midi_data():
    smf, _ = rmid_song()
    broken = smf[:-3] + b"\x90\x90\x00"  # a status byte where a data byte belongs
    message = _error(rmid(broken))
    assert message.startswith("song.rmi: RMID data: track 2:"), message


# -- SMPTE division -----------------------------------------------------------------------


def smpte_file(word: int, ticks=(0, 1000), tempo_events: bool = True) -> bytes:
    return mc.raw_smf(1, word, [keys_track(ticks, tempo_events=tempo_events)])


@pytest.mark.parametrize(
    ("word", "fps", "tpf", "ppq", "tick", "seconds"),
    [
        (0xE728, 25, 40, 1000, 1000, Fraction(1)),  # -25 x 40: a tick is a millisecond
        (0xE350, 29, 80, 2400, 2400, Fraction(1001, 1000)),  # 29.97 drop-frame x 80
        (0xE350, 29, 80, 2400, 23976, Fraction(23976 * 1001, 30000 * 80)),
        (0xE804, 24, 4, 96, 96, Fraction(1)),  # -24 x 4: 96 ticks a second
        (0xE804, 24, 4, 96, 1, Fraction(1, 96)),
        (0xE264, 30, 100, 3000, 4500, Fraction(3, 2)),
    ],
)
def test_smpte_ticks_have_a_fixed_length_whatever_the_tempo_events(
    word, fps, tpf, ppq, tick, seconds
):
    data = smpte_file(word, (tick, tick + 10))
    song = load_song_bytes(data)
    assert song.smpte == SmpteDivision(fps, tpf) and song.ppq == ppq
    assert song.tracks[0].notes["start"][0] == tick
    # tempo events (120 and 240 BPM) are kept as events but do not change timing
    assert len(song.tracks[0].meta_events(0x51)) == 2
    tempo = song.tempo_map()
    assert tempo.tick_to_seconds(tick) == pytest.approx(float(seconds), rel=1e-12, abs=0)
    sched = build_schedule(song)
    on = sched.rows[sched.rows["kind"] == KIND_NOTE_ON]
    assert on.size == 1 and on["tick"][0] == tick
    assert on["sec"][0] == pytest.approx(float(seconds), rel=1e-12, abs=0)
    assert song_to_bytes(song) == data


def test_one_second_at_25_fps_times_40_is_exact():
    song = load_song_bytes(smpte_file(0xE728))
    assert song.tempo_map().tick_to_seconds(1000) == 1.0
    assert song.tempo_map().seconds_to_tick(1.0) == 1000.0


def test_smpte_timing_survives_quantize_copy_and_track_edits():
    data = smpte_file(0xE728, (260, 1000))
    song = load_song_bytes(data)
    tight, _ = quantize_song(song, QuantizeSettings(division=16))  # 250 ticks at ppq 1000
    assert tight.smpte == song.smpte
    assert tight.tracks[0].notes["start"][0] == 250
    assert song_to_bytes(tight)[12:14] == b"\xe7\x28"
    sched = build_schedule(tight).with_track(0, tight.tracks[0])
    assert sched.song.smpte == song.smpte
    assert song.copy().smpte == song.smpte


def test_smpte_song_with_a_changed_ppq_cannot_be_saved_silently():
    song = load_song_bytes(smpte_file(0xE728))
    song.ppq = 480
    with pytest.raises(MidiFileError) as info:
        song_to_bytes(song)
    assert str(info.value) == (
        "cannot save: SMPTE 25 fps × 40 ticks per frame (1000 ticks a second) needs 1000 "
        "ticks per quarter, the song has 480"
    )


def test_smpte_division_descriptions():
    assert SmpteDivision(29, 80).describe() == (
        "SMPTE 29.97 drop-frame fps × 80 ticks per frame (2397.6 ticks a second)"
    )
    assert SmpteDivision.from_word(0xE804).word == 0xE804


def test_quanta_info_shows_smpte_and_the_file_extras(tmp_path, capsys):
    head, (one, _) = with_two_tracks(1)
    path = tmp_path / "film.rmi"
    path.write_bytes(rmid(smpte_file(0xE728)[:14] + XFIH + keys_track(tempo_events=True)))
    assert main(["info", str(path)]) == 0
    text = capsys.readouterr().out
    first = text.splitlines()[0]
    assert first == (
        f"{path}: MIDI format 1, SMPTE 25 fps × 40 ticks per frame (1000 ticks a second), "
        "1 tracks, 1 notes"
    )
    assert (
        "timing: SMPTE, fixed: 1000 ticks make a quarter note at 60 BPM; tempo events are "
        "kept but do not change timing" in text
    )
    assert "(bars and grid steps count those quarters: harmless, but not musical)" in text
    assert "container: RIFF RMID (kept on save)" in text
    assert "other chunks: XFIH (kept on save)" in text
    assert "tempo: 60 BPM at 0" in text
    assert main(["info", str(path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["division"] == {
        "kind": "smpte",
        "fps": 25,
        "ticks_per_frame": 40,
        "ticks_per_second": 1000.0,
        "text": "SMPTE 25 fps × 40 ticks per frame (1000 ticks a second)",
    }
    assert info["length_seconds"] == 1.0
    assert info["container"] == "RMID" and info["other_chunks"] == ["XFIH"]


def test_quanta_info_on_a_ppq_file_is_unchanged(tmp_path, capsys):
    head, (one, two) = with_two_tracks()
    path = tmp_path / "plain.mid"
    path.write_bytes(head + one + two)
    assert main(["info", str(path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["division"] == {"kind": "ppq", "ppq": 480}
    assert info["container"] == "SMF" and info["other_chunks"] == []


def test_quanta_quantize_keeps_smpte_chunks_and_rmid(tmp_path, capsys):
    smf = mc.raw_smf(1, 0xE728, [keys_track((260, 1000))])
    src = tmp_path / "take.rmi"
    src.write_bytes(rmid(smf[:14] + XFIH + smf[14:]))
    out = tmp_path / "tight.rmi"
    assert main(["quantize", str(src), "-o", str(out), "--grid", "1/16"]) == 0
    capsys.readouterr()
    song = load_song(out)
    assert song.smpte == SmpteDivision(25, 40) and song.file_extras.chunk_ids() == ["XFIH"]
    assert song.tracks[0].notes["start"][0] == 250
    assert out.read_bytes()[:4] == b"RIFF"
    assert main(["quantize", str(src), "-o", str(out), "--grid", "1/16", "--strength", "0"]) == 0
    assert out.read_bytes() == src.read_bytes()


def test_quanta_quantize_of_a_folder_includes_rmi_files(tmp_path, capsys):
    src, dst = tmp_path / "takes", tmp_path / "tight"
    src.mkdir()
    _, data = rmid_song()
    (src / "a.rmi").write_bytes(data)
    (src / "b.mid").write_bytes(rmid_song()[0])
    assert main(["quantize", str(src), "-o", str(dst), "--grid", "1/4", "--strength", "0"]) == 0
    capsys.readouterr()
    assert (dst / "a.rmi").read_bytes() == data
    assert (dst / "b.mid").read_bytes() == rmid_song()[0]


def test_render_of_an_smpte_file_sounds_at_the_fixed_tempo(tmp_path):
    # Hits at 1.0, 1.5 and 2.25 s at -25 x 40 (a tick = 1 ms); the file's 120/240 BPM tempo
    # events would put them elsewhere if they were used.
    ticks = [1000, 1500, 2250]
    events = [
        (0, mc.meta(0x51, (500_000).to_bytes(3, "big"))),
        (500, mc.meta(0x51, b"\x03\xd0\x90")),
    ]
    for t in ticks:
        events += [(t, b"\x99\x25\x6e"), (t + 60, b"\x89\x25\x00")]
    hits = track_at(events)
    path = tmp_path / "hits.mid"
    path.write_bytes(mc.raw_smf(0, 0xE728, [hits]))
    out = tmp_path / "hits.wav"
    assert main(["render", str(path), "-o", str(out), "--bit-depth", "32f", "--tail", "0.3"]) == 0
    audio, rate = sf.read(out, dtype="float32", always_2d=True)
    found = onsets(audio[:, 0] + audio[:, 1], 1e-3, 2400)
    expected = np.array(ticks) * rate // 1000
    assert found.size == 3 and np.all(np.abs(found - expected) <= rate // 1000), found


def test_the_engine_plays_an_smpte_song_at_its_fixed_tempo_after_a_quantize_change():
    # -24 x 4: 96 ticks a second. Notes at 0, 26, 47 with 1/16 (24 ticks) playback quantize
    # land on 0, 0.25, 0.5 s; the file's 120/240 BPM tempo events must not be used, also
    # after the engine rebuilt the track's schedule for the new quantize.
    events = [(0, mc.meta(0x51, (500_000).to_bytes(3, "big")))]
    for t, p in [(0, 60), (26, 62), (47, 64)]:
        events += [(t, bytes((0x90, p, 100))), (t + 10, bytes((0x80, p, 0)))]
    song = load_song_bytes(mc.raw_smf(0, 0xE804, [track_at(events)]))
    engine = Engine().start()
    try:
        sink = FakeSink(lookahead=0.05)
        engine.set_outputs([sink])
        engine.set_song(song)
        engine.set_track_quantize(0, QuantizeSettings(division=16))
        assert engine.wait_rebuilt(10)
        engine.set_tempo_override(None)  # a full rebuild from the engine's copy of the song
        engine.play()
        assert engine.wait_until_stopped(10)
    finally:
        engine.shutdown()
    ons = sink.note_ons()
    assert [p for _, p in ons] == [60, 62, 64]
    assert [w - ons[0][0] for w, _ in ons] == pytest.approx([0, 0.25, 0.5], abs=1e-9)


def test_make_notes_in_an_smpte_song_save_with_the_smpte_division():
    song = load_song_bytes(smpte_file(0xE804, (0, 96), tempo_events=False))
    song.tracks[0].notes = np.concatenate(
        (song.tracks[0].notes, make_notes([192], [288], [64], 90, 0, ids=[1]))
    )
    again = load_song_bytes(song_to_bytes(song))
    assert again.smpte == SmpteDivision(24, 4)
    assert list(again.tracks[0].notes["start"]) == [0, 192]
    assert again.tempo_map().tick_to_seconds(192) == 2.0
