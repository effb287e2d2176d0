"""Lossless to the byte at the edges of the format, and what Quanta accepts it can save:
a header whose track count disagrees with its chunks, tracks with no end-of-track or with
data in it, gaps longer than one delta can hold (bridged on save)."""

from __future__ import annotations

import numpy as np
import pytest

from engine.errors import MidiFileError
from engine.model.notes import make_notes
from engine.model.song import Song, Track
from engine.smf import smf_write as wr
from engine.smf.midifile import load_song_bytes, song_to_bytes
from tests import midi_corpus as mc

NOTE = b"\x00\x90\x3c\x40\x60\x80\x3c\x00"  # delta 0 note-on, delta 96 note-off


def _chunk(body: bytes) -> bytes:
    return b"MTrk" + len(body).to_bytes(4, "big") + body


def _header(ntrks: int, fmt: int = 1, ppq: int = 96) -> bytes:
    return b"MThd\x00\x00\x00\x06" + bytes((0, fmt)) + ntrks.to_bytes(2, "big") + ppq.to_bytes(2, "big")


def test_header_count_as_read_is_kept_when_it_disagrees_with_the_chunks():
    tracks = [_chunk(NOTE + b"\x00\xff\x2f\x00") for _ in range(19)]
    data = _header(18) + b"".join(tracks)
    song = load_song_bytes(data)
    assert len(song.tracks) == 19
    assert song_to_bytes(song) == data
    # once a track is added or removed the header tells the truth
    del song.tracks[0]
    assert song_to_bytes(song)[10:12] == (18).to_bytes(2, "big")
    song.tracks.append(Track())
    song.tracks.append(Track())
    assert song_to_bytes(song)[10:12] == (20).to_bytes(2, "big")


def test_track_without_end_of_track_stays_without_one():
    body = b"\x00\xff\x03\x04Bass" + NOTE + b"\x10\xb0\x07\x64"
    data = _header(2) + _chunk(body) + _chunk(b"") + _chunk(NOTE + b"\x00\xff\x2f\x00")
    song = load_song_bytes(data)
    assert song.tracks[0].smf_end == b"" and song.tracks[1].smf_end == b""
    assert song.tracks[0].end_tick == 96 + 16
    assert song_to_bytes(song) == data


def test_track_without_end_of_track_gets_one_when_edited():
    data = _header(1, fmt=0) + _chunk(NOTE)
    song = load_song_bytes(data)
    assert song_to_bytes(song) == data
    tr = song.tracks[0]
    moved = tr.notes.copy()
    moved["end"] += 10
    moved["off_seq"] = -1
    song.tracks[0] = tr.with_notes(moved)
    assert song_to_bytes(song) == _header(1, fmt=0) + _chunk(
        b"\x00\x90\x3c\x40\x6a\x80\x3c\x00\x00\xff\x2f\x00"
    )
    song = load_song_bytes(data)
    song.tracks[0].end_tick = 500
    out = song_to_bytes(song)
    assert out.endswith(mc.vlq(500 - 96) + b"\xff\x2f\x00")


@pytest.mark.parametrize("end", [b"\xff\x2f\x01\x00", b"\xff\x2f\x03abc", b"\xff\x2f\x80\x00"])
def test_end_of_track_with_data_bytes_is_kept(end):
    data = _header(1, fmt=0) + _chunk(NOTE + b"\x05" + end + b"tail")
    song = load_song_bytes(data)
    assert song.tracks[0].smf_end == end and song.tracks[0].smf_tail == b"tail"
    assert song.tracks[0].end_tick == 101
    assert song_to_bytes(song) == data
    # a copied (edited) track keeps it too
    song.tracks[0] = song.tracks[0].with_notes(song.tracks[0].notes.copy())
    assert song_to_bytes(song) == data


def _reread_ticks(data: bytes) -> tuple[list[int], list[int], list[int]]:
    back = load_song_bytes(data)
    tr = back.tracks[0]
    return tr.notes["start"].tolist(), tr.notes["end"].tolist(), tr.events["tick"].tolist()


def test_gap_longer_than_one_delta_is_bridged_by_empty_text_events():
    far = 3 * wr.MAX_VLQ + 17
    track = Track(notes=make_notes([0, far], [10, far + 5], [60, 62]), end_tick=far + 5 + 2 * wr.MAX_VLQ)
    song = Song(ppq=1, format=0, tracks=[track])
    data = song_to_bytes(song)
    starts, ends, ticks = _reread_ticks(data)
    assert starts == [0, far] and ends == [10, far + 5]
    # three carriers for the note gap (far - 10 = 3 * MAX + 7), one for the end gap (2 * MAX)
    m = wr.MAX_VLQ
    assert ticks == [10 + m, 10 + 2 * m, 10 + 3 * m, far + 5 + m]
    back = load_song_bytes(data)
    assert back.tracks[0].end_tick == far + 5 + 2 * wr.MAX_VLQ
    assert all(back.tracks[0].event_bytes(i) == b"" for i in range(back.tracks[0].events.size))
    assert set(back.tracks[0].events["data1"].tolist()) == {0x01}
    assert song_to_bytes(back) == data


def test_a_running_status_event_after_a_bridged_gap_gets_its_status_byte():
    body = b"\x00\x90\x3c\x40\x00\x3e\x40\x10\x3c\x00\x00\x3e\x00\x00\xff\x2f\x00"
    song = load_song_bytes(_header(1, fmt=0) + _chunk(body))
    notes = song.tracks[0].notes.copy()
    notes["end"][1] += wr.MAX_VLQ * 2
    song.tracks[0] = song.tracks[0].with_notes(notes)
    out = song_to_bytes(song)
    back = load_song_bytes(out).tracks[0]
    assert back.notes["end"].tolist() == [16, 16 + 2 * wr.MAX_VLQ]
    assert out == _header(1, fmt=0) + _chunk(
        b"\x00\x90\x3c\x40\x00\x3e\x40\x10\x3c\x00"  # as read, running status
        + mc.vlq(wr.MAX_VLQ) + b"\xff\x01\x00"  # the carrier
        + mc.vlq(wr.MAX_VLQ) + b"\x90\x3e\x00"  # status byte again after the carrier
        + b"\x00\xff\x2f\x00"
    )


def test_ticks_below_max_tick_always_save_and_beyond_is_one_line():
    ok = Track(notes=make_notes([0, wr.MAX_TICK - 2], [1, wr.MAX_TICK - 1], [60, 61]))
    data = song_to_bytes(Song(ppq=960, tracks=[ok]))
    assert len(data) < 8 * 1024 * 1024
    assert _reread_ticks(data)[1] == [1, wr.MAX_TICK - 1]
    far = Track(notes=make_notes([0, 3 * wr.MAX_TICK], [1, 3 * wr.MAX_TICK + 1], [60, 61]))
    with pytest.raises(MidiFileError) as err:
        song_to_bytes(Song(ppq=960, tracks=[far]))
    assert str(err.value) == (
        f"cannot save: track 1 reaches tick {3 * wr.MAX_TICK + 1}, too far for a MIDI file "
        f"(keep ticks below {wr.MAX_TICK})"
    )


def test_longest_deltas_a_file_can_hold_round_trip():
    """Gaps of exactly 2^28 - 1 between every event, and before end-of-track: no carrier."""
    events = [(wr.MAX_VLQ, b"\x90\x3c\x40"), (wr.MAX_VLQ, b"\x80\x3c\x00")] * 50
    data = mc.raw_smf(0, 1, [mc.raw_track(events, running=True, end_delta=wr.MAX_VLQ)])
    song = load_song_bytes(data)
    assert song.tracks[0].end_tick == 101 * wr.MAX_VLQ
    assert np.all(np.diff(song.tracks[0].notes["start"]) == 2 * wr.MAX_VLQ)
    assert song_to_bytes(song) == data


def test_a_quantized_file_with_the_longest_gaps_saves(tmp_path, capsys):
    """The 'gap longer than MIDI allows' of issue 14: a file whose gaps are as long as a
    delta can be, quantized (notes move earlier, gaps grow past 2^28 - 1), then saved."""
    from app.cli import main
    from engine.smf.midifile import load_song

    m = wr.MAX_VLQ
    events = [(5, b"\x90\x3c\x40"), (20, b"\x80\x3c\x00"), (m, b"\x90\x3e\x40"), (30, b"\x80\x3e\x00")]
    src = tmp_path / "far.mid"
    src.write_bytes(mc.raw_smf(0, 480, [mc.raw_track(events, running=False, end_delta=m)]))
    out = tmp_path / "tight.mid"
    assert main(["quantize", str(src), "-o", str(out), "--grid", "1/16"]) == 0
    capsys.readouterr()
    song = load_song(out)
    second = 25 + m
    grid = second - second % 120 if second % 120 < 60 else second + 120 - second % 120
    assert song.tracks[0].notes["start"].tolist() == [0, grid]
    assert song.tracks[0].end_tick == 25 + m + 30 + m


def test_warm_up_compiles_every_kernel_loading_and_saving_use():
    """After warm_up, neither a big track (numpy-sorted path) nor a small one compiles
    anything: the first file a user opens and saves is not seconds late."""
    from engine.smf import smf_read as rd
    from engine.smf.midifile import warm_up

    warm_up()
    kernels = [rd.walk_chunks, rd.read_track, wr.track_rows, wr.encode_track,
               wr.encode_small_track, wr.merge_order]  # fmt: skip
    before = [set(k.signatures) for k in kernels]
    events = [(1, b"\x90\x3c\x40"), (1, b"\x80\x3c\x00")] * 5000
    data = mc.raw_smf(1, 96, [mc.raw_track(events, running=True), _chunk(NOTE)])
    song = load_song_bytes(data)
    assert song_to_bytes(song) == data
    for kernel, old in zip(kernels, before, strict=True):
        assert set(kernel.signatures) == old, kernel.__name__
