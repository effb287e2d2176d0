"""Broken or unreadable MIDI files: one clear line naming the file and the problem."""

from __future__ import annotations

import os
import re
import tracemalloc
from pathlib import Path

import pytest

from engine.errors import MidiFileError
from engine.smf.midifile import MAX_MIDI_MB_ENV, load_song, load_song_bytes, song_to_bytes
from tests import midi_corpus as mc

GOOD = mc.every_kind_mido(480, 1)


def _error(data: bytes, name: str = "song.mid") -> str:
    with pytest.raises(MidiFileError) as info:
        load_song_bytes(data, name=name)
    message = str(info.value)
    assert "\n" not in message
    return message


def _track_start(data: bytes, number: int) -> int:
    pos = -1
    for _ in range(number):
        pos = data.index(b"MTrk", pos + 1)
    return pos


def test_empty_file():
    assert _error(b"") == "song.mid: file is empty (0 bytes)"


def test_text_file_renamed_mid():
    text = b"Hello world, these are my notes\n"
    assert (
        _error(text, "notes.mid") == "notes.mid: not a MIDI file (it starts with text 'Hello wo')"
    )


def test_binary_garbage():
    assert (
        _error(bytes(range(200, 256)))
        == "song.mid: not a MIDI file (it does not start with 'MThd')"
    )


def test_riff_wrapped_midi_with_a_broken_data_chunk_is_named():
    assert _error(b"RIFF\x10\x00\x00\x00RMIDdata" + GOOD).startswith(
        "song.mid: RMID 'data' chunk is truncated at byte"
    )


def test_truncated_in_the_middle_of_a_track():
    second = _track_start(GOOD, 2)
    declared = int.from_bytes(GOOD[second + 4 : second + 8], "big")
    cut = GOOD[: second + 8 + 20]
    assert _error(cut) == (
        f"song.mid: track 2 is truncated at byte {len(cut)} "
        f"(chunk says {declared} bytes, 20 present)"
    )


def test_truncated_at_a_track_boundary():
    cut = GOOD[: _track_start(GOOD, 2)]
    assert _error(cut) == "song.mid: file is truncated: header promises 2 tracks, found 1"


def test_truncated_header():
    assert _error(GOOD[:10]) == "song.mid: header chunk is truncated (10 bytes in the file)"


def test_chunk_length_too_short_cuts_an_event():
    # Track 1 says it is 5 bytes: "00 90 3c 40" then a delta with no event after it.
    body = bytes.fromhex("00903c4010803c0000ff2f00")
    bad = b"MTrk" + (5).to_bytes(4, "big") + body
    assert _error(mc.raw_smf(0, 96, [bad])) == (
        "song.mid: track 1: an event runs past the end of the track at byte 27"
    )


def test_chunk_length_too_short_event_runs_past_the_end():
    body = bytes.fromhex("00903c4010803c0000ff2f00")
    bad = b"MTrk" + (6).to_bytes(4, "big") + body[:6]
    assert _error(mc.raw_smf(0, 96, [bad])) == (
        "song.mid: track 1: an event runs past the end of the track at byte 27"
    )


def test_chunk_length_too_long():
    body = bytes.fromhex("00903c4010803c0000ff2f00")
    bad = b"MTrk" + (400).to_bytes(4, "big") + body
    assert _error(mc.raw_smf(0, 96, [bad])) == (
        "song.mid: track 1 is truncated at byte 34 (chunk says 400 bytes, 12 present)"
    )


def test_data_byte_without_running_status():
    track = b"MTrk" + (7).to_bytes(4, "big") + bytes.fromhex("003c4000ff2f00")
    assert _error(mc.raw_smf(0, 96, [track])) == (
        "song.mid: track 1: a data byte comes with no running status at byte 23"
    )


def test_status_byte_where_a_data_byte_belongs():
    track = b"MTrk" + (8).to_bytes(4, "big") + bytes.fromhex("00903c9000ff2f00")
    assert _error(mc.raw_smf(0, 96, [track])) == (
        "song.mid: track 1: a status byte interrupts a channel message at byte 25"
    )


def test_system_realtime_byte_in_a_track():
    track = b"MTrk" + (6).to_bytes(4, "big") + bytes.fromhex("00f800ff2f00")
    assert _error(mc.raw_smf(0, 96, [track])) == (
        "song.mid: track 1: status byte 0xF8 cannot appear in a MIDI file at byte 23"
    )


def test_variable_length_number_too_long():
    track = b"MTrk" + (9).to_bytes(4, "big") + bytes.fromhex("8080808000") + b"\xff\x2f\x00\x00"
    assert _error(mc.raw_smf(0, 96, [track])) == (
        "song.mid: track 1: a variable-length number is longer than 4 bytes at byte 26"
    )


def test_damaged_chunk_header():
    data = mc.raw_smf(0, 96, [b"\x00\x01\x02\x03" + (4).to_bytes(4, "big") + b"\x00\xff\x2f\x00"])
    assert _error(data) == "song.mid: damaged chunk header at byte 14 (after 0 of 1 tracks)"


def test_smpte_division_with_an_impossible_frame_rate():
    data = mc.raw_smf(0, 0xE028, [mc.raw_track([], running=False)])  # -32 fps
    assert _error(data) == (
        "song.mid: SMPTE time division names 32 frames a second (only 24, 25, 29, 30 exist)"
    )
    data = mc.raw_smf(0, 0xE700, [mc.raw_track([], running=False)])  # -25 fps x 0
    assert _error(data) == "song.mid: SMPTE time division has 0 ticks per frame (1..255)"


def test_unknown_format_and_zero_ppq():
    assert "unknown MIDI file format 3" in _error(mc.raw_smf(3, 96, []))
    assert "0 ticks per quarter" in _error(mc.raw_smf(1, 0, []))


def test_missing_file(tmp_path):
    gone = tmp_path / "gone.mid"
    with pytest.raises(MidiFileError, match=rf"^{re.escape(str(gone))}: no such file or folder$"):
        load_song(gone)


def test_folder_instead_of_file(tmp_path):
    folder = tmp_path / "album.mid"
    folder.mkdir()
    with pytest.raises(MidiFileError, match=r"^album\.mid: is a folder, not a MIDI file$"):
        load_song(folder)


def test_device_instead_of_file():
    with pytest.raises(MidiFileError, match=r"^zero: is not a regular file$"):
        load_song("/dev/zero")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file: chmod can't deny it")
def test_permission_denied_real(tmp_path):
    path = tmp_path / "locked.mid"
    path.write_bytes(GOOD)
    path.chmod(0)
    with pytest.raises(MidiFileError, match=r"^locked\.mid: permission denied$"):
        load_song(path)


def test_permission_denied(tmp_path, monkeypatch):
    path = tmp_path / "locked.mid"
    path.write_bytes(GOOD)

    def deny(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "open", deny)
    with pytest.raises(MidiFileError, match=r"^locked\.mid: permission denied$"):
        load_song(path)


def test_huge_file_is_refused_before_reading(tmp_path):
    path = tmp_path / "huge.mid"
    with open(path, "wb") as fh:  # sparse: 500 MB on paper, nothing on disk
        fh.write(GOOD[:14])
        fh.truncate(500 * 1024 * 1024)
    tracemalloc.start()
    try:
        with pytest.raises(MidiFileError) as info:
            load_song(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024 * 1024  # it did not read 500 MB (a machine-independent check)
    assert str(info.value) == (
        "huge.mid: file is 500.0 MB, larger than the 64 MB limit for MIDI files "
        f"(set {MAX_MIDI_MB_ENV} to raise it)"
    )


def test_size_limit_is_overridable(tmp_path, monkeypatch):
    path = tmp_path / "song.mid"
    path.write_bytes(GOOD + b"XPAD" + (2048).to_bytes(4, "big") + bytes(2048))
    monkeypatch.setenv(MAX_MIDI_MB_ENV, "0.001")
    with pytest.raises(
        MidiFileError, match=r"^song\.mid: file is \d+ bytes, larger than the 0\.001 MB limit"
    ):
        load_song(path)
    monkeypatch.setenv(MAX_MIDI_MB_ENV, "1")
    assert load_song(path).note_count() == 3


def test_trailing_padding_and_junk_after_the_last_track_do_not_stop_loading():
    for tail in (bytes(7), bytes(300), b"\x1a" * 9, b"JUNK\x00\x00\x10\x00abc"):
        song = load_song_bytes(GOOD + tail)
        assert mc.song_view(song) == mc.mido_view(GOOD)


def test_failed_save_leaves_the_old_file_alone(tmp_path):
    from engine.build import new_song
    from engine.smf.midifile import save_song

    target = tmp_path / "song.mid"
    target.write_bytes(GOOD)
    song = new_song()
    song.ppq = 0  # cannot be written
    with pytest.raises(MidiFileError, match=r"^song\.mid: cannot save: 0 ticks per quarter"):
        save_song(song, target)
    assert target.read_bytes() == GOOD
    assert [p.name for p in tmp_path.iterdir()] == ["song.mid"]


def test_many_unknown_chunks_are_kept_as_one_run():
    junk = (b"XJNK" + (0).to_bytes(4, "big")) * 200_000
    first_track = GOOD.index(b"MTrk")
    song = load_song_bytes(GOOD[:first_track] + junk + GOOD[first_track:])
    assert mc.song_view(song) == mc.mido_view(GOOD)
    assert [len(r.raw) for r in song.file_extras.chunks] == [len(junk)]


def test_too_many_track_chunks():
    empty = b"MTrk" + (0).to_bytes(4, "big")
    data = mc.raw_smf(1, 96, [empty * 70_000], ntrks=0xFFFF)
    assert _error(data) == (
        "song.mid: more than 65535 track chunks (a MIDI header counts at most 65535; "
        "damaged file?)"
    )


def test_track_limit_is_the_same_on_reading_and_saving():
    """65,535 track chunks open and save back byte for byte; 65,536 are refused on reading
    (no header could count them), as saving would."""
    empty = b"MTrk" + (0).to_bytes(4, "big")
    most = mc.raw_smf(1, 96, [empty * 0xFFFF], ntrks=0xFFFF)
    song = load_song_bytes(most)
    assert len(song.tracks) == 0xFFFF
    assert song_to_bytes(song) == most
    one_more = mc.raw_smf(1, 96, [empty * 0x10000], ntrks=0xFFFF)
    assert _error(one_more).startswith("song.mid: more than 65535 track chunks")
    song.tracks.append(song.tracks[-1].copy())
    with pytest.raises(MidiFileError, match="cannot save: 65536 tracks"):
        song_to_bytes(song)
