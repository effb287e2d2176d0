"""MIDI file reading and writing: lossless round trips, pairing rules, edits, agreement with mido."""

from __future__ import annotations

import io

import mido
import numpy as np
import pytest

from engine.build import add_channel_event, add_track, new_song
from engine.model.notes import (
    EVENT_RUNNING,
    NOTE_NO_OFF_EVENT,
    NOTE_OFF_IS_NOTE_ON_V0,
    NOTE_OFF_RUNNING,
    NOTE_ON_RUNNING,
    make_notes,
)
from engine.smf.midifile import (
    forget_moved,
    load_song,
    load_song_bytes,
    save_song,
    song_info,
    song_to_bytes,
)
from tests import midi_corpus as mc

CORPUS = {
    "every-kind-type1-480": lambda: mc.every_kind_mido(480, 1),
    "every-kind-type0-96": lambda: mc.every_kind_mido(96, 0),
    "every-kind-type1-960": lambda: mc.every_kind_mido(960, 1),
    "every-kind-type1-24": lambda: mc.every_kind_mido(24, 1),
    "fifo-overlap": mc.fifo_overlap_mido,
    "no-running-status-960": lambda: mc.no_running_status_raw(960),
    "no-running-status-24": lambda: mc.no_running_status_raw(24),
}


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_round_trip_is_byte_identical(name):
    data = CORPUS[name]()
    song = load_song_bytes(data, name=f"{name}.mid")
    assert song_to_bytes(song) == data


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_model_matches_mido_reading(name):
    data = CORPUS[name]()
    song = load_song_bytes(data, name=f"{name}.mid")
    assert mc.song_view(song) == mc.mido_view(data)


def test_header_fields_are_kept():
    song = load_song_bytes(mc.every_kind_mido(96, 0))
    assert (song.format, song.ppq, len(song.tracks)) == (0, 96, 1)
    song = load_song_bytes(mc.every_kind_mido(960, 1))
    assert (song.format, song.ppq, len(song.tracks)) == (1, 960, 2)


def test_type2_is_kept_as_is():
    tracks = [mc.raw_track([(0, bytes((0x90, 60, 1))), (5, bytes((0x80, 60, 0)))], True)] * 3
    data = mc.raw_smf(2, 120, tracks)
    song = load_song_bytes(data)
    assert song.format == 2 and len(song.tracks) == 3
    assert song_to_bytes(song) == data


def test_running_status_and_v0_flags_are_recorded():
    song = load_song_bytes(mc.every_kind_mido(480, 1))
    notes = song.tracks[1].notes
    # note 64 at tick 10 followed note 60 with the same status byte: running status.
    assert [int(f) for f in notes["flags"]] == [
        0,
        NOTE_ON_RUNNING | NOTE_OFF_IS_NOTE_ON_V0,
        0,
    ]
    assert mc.note_table(song, 1) == [
        (10, 505, 60, 90, 64, 2),
        (10, 505, 64, 80, 0, 2),
        (506, 506 + 1440, 36, 127, 0, 3),
    ]
    raw = load_song_bytes(mc.no_running_status_raw(960))
    assert not np.any(raw.tracks[1].events["flags"] & EVENT_RUNNING)
    assert not np.any(raw.tracks[1].notes["flags"] & (NOTE_ON_RUNNING | NOTE_OFF_RUNNING))


def test_running_pitch_bends_in_a_row_are_flagged():
    song = load_song_bytes(mc.every_kind_mido(480, 1))
    ev = song.tracks[1].events
    bends = ev[(ev["status"] & 0xF0) == 0xE0]
    assert [int(b["flags"]) for b in bends] == [0, EVENT_RUNNING]
    assert [(int(b["data1"]), int(b["data2"])) for b in bends] == [(0, 0), (127, 127)]


def test_fifo_pairing_of_overlapping_same_pitch_notes():
    song = load_song_bytes(mc.fifo_overlap_mido())
    tr = song.tracks[0]
    # on@0 v100, on@100 v50, off@150 v10, off@400 v20: the oldest note ends first.
    assert mc.note_table(song, 0) == [
        (0, 150, 60, 100, 10, 0),
        (100, 400, 60, 50, 20, 0),
        (520, 600, 72, 70, 0, 0),  # never released: ends at end of track (600)
    ]
    assert int(tr.notes["flags"][2]) == NOTE_NO_OFF_EVENT
    assert int(tr.notes["off_seq"][2]) == -1
    # The off at 500 had nothing sounding: it stays a plain event with its velocity.
    assert [(int(e["tick"]), int(e["status"]), int(e["data2"])) for e in tr.events] == [
        (500, 0x80, 30)
    ]
    assert tr.end_tick == 600


def test_unreleased_note_at_end_of_track_gets_one_tick():
    track = mc.raw_track([(10, bytes((0x90, 50, 99)))], running=False)
    song = load_song_bytes(mc.raw_smf(0, 480, [track]))
    assert mc.note_table(song, 0) == [(10, 11, 50, 99, 0, 0)]
    assert song.tracks[0].end_tick == 10
    assert song_to_bytes(song) == mc.raw_smf(0, 480, [track])


def test_zero_length_notes_stay_plain_events():
    song = load_song_bytes(mc.no_running_status_raw(960))
    tr = song.tracks[1]
    assert np.all(tr.notes["end"] > tr.notes["start"])
    assert mc.note_table(song, 1) == [(0, 40, 60, 100, 0, 1)]
    plain_notes = tr.events[(tr.events["status"] & 0xE0) == 0x80]
    assert [(int(e["tick"]), int(e["status"]), int(e["data1"])) for e in plain_notes] == [
        (0, 0x91, 61),
        (0, 0x81, 61),
        (45, 0x81, 62),
    ]


def test_sysex_and_escape_payloads():
    song = load_song_bytes(mc.no_running_status_raw(960))
    tr = song.tracks[1]
    sx = [i for i, e in enumerate(tr.events) if e["status"] in (0xF0, 0xF7)]
    assert [(int(tr.events["status"][i]), tr.event_bytes(i)) for i in sx] == [
        (0xF0, b"\x43\x12\x00\xf7"),
        (0xF7, b"\x10\x20\xf7"),
    ]


def test_meta_events_are_all_kept():
    song = load_song_bytes(mc.every_kind_mido(480, 1))
    conductor = song.tracks[0]
    kinds = [int(e["data1"]) for e in conductor.events]
    assert kinds == [0x00, 0x03, 0x02, 0x01, 0x54, 0x58, 0x59, 0x51, 0x06, 0x07, 0x51, 0x7F, 0x60]
    assert conductor.meta_events(0x06) == [(480, b"Verse")]
    assert conductor.meta_events(0x07) == [(720, b"cue 1")]
    assert song.tracks[1].meta_events(0x05) == [(10, b"la")]
    assert song.tempo_map().bpm_at(0) == pytest.approx(100.0)
    assert song.tempo_map().bpm_at(800) == pytest.approx(120.0)


def test_unknown_chunks_are_kept_where_they_were():
    data = mc.every_kind_mido(480, 1)
    first_track = data.index(b"MTrk")
    alien = b"XFIH" + (5).to_bytes(4, "big") + b"hello"
    source = data[:first_track] + alien + data[first_track:]
    song = load_song_bytes(source)
    assert mc.song_view(song) == mc.mido_view(data)
    assert song.file_extras.chunk_ids() == ["XFIH"]
    assert song_to_bytes(song) == source


def test_end_of_track_tick_is_kept():
    body = b"\x00\x90\x3c\x40\x10\x80\x3c\x00\x20\xff\x2f\x00"
    data = mc.raw_smf(0, 96, [b"MTrk" + len(body).to_bytes(4, "big") + body])
    song = load_song_bytes(data)
    assert song.tracks[0].end_tick == 0x30
    assert song_to_bytes(song) == data


# -- saving after edits -------------------------------------------------------------------


def test_new_song_round_trips_through_mido():
    song = new_song(ppq=480, bpm=90)
    notes = make_notes([0, 0, 480, 960], [480, 240, 960, 1920], [60, 64, 60, 67], [100, 90, 80, 70])
    tr = add_track(song, notes, name="Lead")
    add_channel_event(tr, 0, 0xC0, 33)
    data = song_to_bytes(song)
    back = load_song_bytes(data)
    assert mc.note_table(back, 1) == [
        (0, 480, 60, 100, 0, 0),
        (0, 240, 64, 90, 0, 0),
        (480, 960, 60, 80, 0, 0),
        (960, 1920, 67, 70, 0, 0),
    ]
    view = mc.mido_view(data)[1]
    # program change before the notes on tick 0; re-struck C4 at 480: off first, then on.
    assert view[:3] == [
        (0, "meta", 0x03, b"Lead"),
        (0, "msg", bytes((0xC0, 33))),
        (0, "msg", bytes((0x90, 60, 100))),
    ]
    at_480 = [row for row in view if row[0] == 480]
    assert at_480 == [(480, "msg", bytes((0x80, 60, 0))), (480, "msg", bytes((0x90, 60, 80)))]
    assert view[-1] == (1920, "meta", 0x2F, b"")


def test_moved_note_end_is_written_before_a_restrike_on_the_same_tick():
    # Source: C4 0..90 (off at 90), C4 again at 120. Quantize moves the first end to 120.
    track = mc.raw_track(
        [(0, bytes((0x90, 60, 100))), (90, bytes((0x80, 60, 0))), (30, bytes((0x90, 60, 90)))],
        running=False,
        end_delta=120,
    )
    song = load_song_bytes(mc.raw_smf(0, 120, [track]))
    original = song.tracks[0].notes
    edited = original.copy()
    edited["end"][0] = 120
    song.tracks[0].notes = forget_moved(original, edited)
    assert list(song.tracks[0].notes["off_seq"]) == [-1, -1]  # second note had no off either
    data = song_to_bytes(song)
    view = mc.mido_view(data)[0]
    assert view == [
        (0, "msg", bytes((0x90, 60, 100))),
        (120, "msg", bytes((0x80, 60, 0))),
        (120, "msg", bytes((0x90, 60, 90))),
        (240, "meta", 0x2F, b""),
    ]
    assert mc.note_table(load_song_bytes(data), 0)[0] == (0, 120, 60, 100, 0, 0)


def test_moved_note_start_goes_after_events_on_its_tick():
    song = load_song_bytes(mc.every_kind_mido(480, 1))
    tr = song.tracks[1]
    edited = tr.notes.copy()
    edited["start"][2] = 0  # the ch4 kick moves to tick 0, after the program change and CC
    tr.notes = forget_moved(tr.notes, edited)
    view = mc.mido_view(song_to_bytes(song))[1]
    at_0 = [row for row in view if row[0] == 0]
    assert at_0[-1] == (0, "msg", bytes((0x93, 36, 127)))
    assert (0, "msg", bytes((0xB2, 7, 100))) in at_0[:-1]


def test_unmoved_notes_keep_the_source_bytes_after_other_edits():
    data = mc.every_kind_mido(480, 1)
    song = load_song_bytes(data)
    tr = song.tracks[1]
    tr.notes = forget_moved(tr.notes, tr.notes.copy())
    assert song_to_bytes(song) == data


def test_new_events_follow_the_tracks_running_status_style():
    data = mc.fifo_overlap_mido()  # mido writes running status
    song = load_song_bytes(data)
    tr = song.tracks[0]
    add_channel_event(tr, 700, 0x80, 72, 0)
    tr.events["seq"][-1] = -1  # a new event
    tr.notes = np.concatenate((tr.notes, make_notes([700, 705], [720, 720], [40, 41])))
    out = song_to_bytes(song)
    assert mc.note_table(load_song_bytes(out), 0)[-2:] == [
        (700, 720, 40, 100, 0, 0),
        (705, 720, 41, 100, 0, 0),
    ]
    # After a note-on (0x90) the new 0x80 and the first new 0x90 need their status bytes;
    # the second note-on and second note-off run on. The source used 0x80 offs: so do we.
    tail = "8134804800009028640529640f80280000290000ff2f00"
    assert out.endswith(bytes.fromhex(tail))
    assert mc.song_view(load_song_bytes(out)) == mc.mido_view(out)


def test_new_events_in_a_plain_track_never_use_running_status():
    song = new_song()
    add_track(song, make_notes([0, 10, 20], [5, 15, 25], [60, 61, 62]))
    body = song_to_bytes(song).split(b"MTrk")[2][4:]
    assert body == bytes.fromhex("00903c6405803c0005903d6405803d0005903e6405803e0000ff2f00")


def test_out_of_range_edits_still_give_valid_midi():
    song = new_song()
    notes = make_notes([0, 100], [50, 200], [60, 62])
    tr = add_track(song, notes)
    tr.notes["start"][0] = -30  # quantized before the song start
    tr.notes["velocity"][1] = 0  # a velocity-0 note-on would be a note-off
    tr.notes["end"][1] = 90  # end before start
    back = load_song_bytes(song_to_bytes(song))
    assert mc.note_table(back, 1) == [(0, 50, 60, 100, 0, 0), (100, 101, 62, 1, 0, 0)]


# -- files on disk ------------------------------------------------------------------------


def test_save_and_load_file(tmp_path):
    data = mc.every_kind_mido(480, 1)
    song = load_song_bytes(data)
    target = tmp_path / "song.mid"
    target.write_bytes(b"old contents")
    save_song(song, target)
    assert target.read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir()) == ["song.mid"]  # no temp file left
    again = load_song(target)
    assert song_to_bytes(again) == data


def test_save_into_missing_folder_is_a_clear_error(tmp_path):
    from engine.errors import MidiFileError

    folder = tmp_path / "nowhere"
    with pytest.raises(MidiFileError) as err:
        save_song(new_song(), folder / "song.mid")
    # the folder is the problem, so the folder is named (not "song.mid: No such file")
    assert str(err.value) == f"song.mid: cannot save: folder {folder} does not exist"


def test_song_info():
    song = load_song_bytes(mc.every_kind_mido(480, 1))
    info = song_info(song)
    assert info["format"] == 1 and info["ppq"] == 480 and info["tracks"] == 2
    assert info["notes"] == 3
    assert info["track_names"] == ["Conductor", "Keys"]
    assert info["channels"] == [2, 3]
    assert info["length_ticks"] == 506 + 1440


def test_mido_reads_what_we_write_for_generated_big_song():
    from bench.make_big_midi import make_song

    song = make_song(n_notes=3200, seed=5)
    data = song_to_bytes(song)
    mid = mido.MidiFile(file=io.BytesIO(data))
    assert len(mid.tracks) == 17
    back = load_song_bytes(data)
    assert back.note_count() == 3200
    assert mc.song_view(back) == mc.mido_view(data)
    assert song_to_bytes(back) == data


def test_new_note_offs_follow_a_velocity_zero_style_track():
    song = load_song_bytes(mc.no_running_status_raw(96))
    tr = song.tracks[1]
    tr.notes = np.concatenate((tr.notes, make_notes([60], [70], [50], channels=1)))
    view = mc.mido_view(song_to_bytes(song))[1]
    assert (70, "msg", bytes((0x91, 50, 0))) in view
    assert (60, "msg", bytes((0x91, 50, 100))) in view


def test_ticks_beyond_32_bits_round_trip():
    events = [(0x0FFFFFFF, bytes((0x90, 60, 100)))] * 20 + [(5, bytes((0x80, 60, 0)))] * 20
    data = mc.raw_smf(0, 480, [mc.raw_track(events, running=True)])
    song = load_song_bytes(data)
    assert int(song.tracks[0].notes["start"][-1]) == 20 * 0x0FFFFFFF
    assert song_to_bytes(song) == data


def test_warm_up_runs_every_kernel():
    from engine.smf.midifile import warm_up

    warm_up()  # raises if its built-in file were wrong
