"""A song read from a MIDI file keeps its SMPTE timing, foreign chunks and RMID envelope
through a .quanta project, so exporting MIDI from the reopened project gives the same bytes."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from engine.demo import demo_song
from engine.model.smf_container import SmpteDivision
from engine.project.project import Project, ProjectError, project_from_bytes, project_to_bytes
from engine.smf.midifile import load_song_bytes, song_to_bytes
from tests.test_midifile_container import XFIH, XFKM, keys_track, rmid, with_tail
from tests.test_project_file import _rewrite


def _source() -> bytes:
    """RMID around an SMPTE (-25 x 40) file with a long header, chunks and trailing bytes."""
    header = b"MThd" + (8).to_bytes(4, "big") + b"\x00\x01\x00\x02\xe7\x28\x01\x02"
    two = with_tail(keys_track((250, 500), b"Two"), b"\x00\x00")
    smf = header + XFIH + keys_track() + XFKM + two + b"\x00\x00"
    return rmid(smf, before=b"DISP" + (4).to_bytes(4, "little") + b"\x01\x00\x00\x00")


def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {name: z.read(name) for name in z.namelist()}


def test_everything_the_file_held_survives_a_project_round_trip():
    source = _source()
    song = load_song_bytes(source)
    data = project_to_bytes(Project(song=song))
    again = project_from_bytes(data, "film.quanta").song
    assert again.smpte == SmpteDivision(25, 40) and again.ppq == 1000
    assert again.file_extras == song.file_extras
    assert [t.smf_tail for t in again.tracks] == [b"", b"\x00\x00"]
    assert song_to_bytes(again) == source
    assert project_to_bytes(Project(song=again)) == data
    doc = json.loads(_members(data)["project.json"])
    assert doc["midi_file"]["smpte"] == {"fps": 25, "ticks_per_frame": 40}
    assert [c["before_track"] for c in doc["midi_file"]["chunks"]] == [0, 1]
    # The MIDI copy inside the archive is a plain SMF (no RIFF) that keeps the rest.
    assert _members(data)["song.mid"] == song_to_bytes(song, rmid=False)


def test_a_plain_song_writes_no_midi_file_object():
    doc = json.loads(_members(project_to_bytes(Project(song=demo_song())))["project.json"])
    assert "midi_file" not in doc


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda m: m.update(smpte={"fps": 31, "ticks_per_frame": 40}), r"midi_file\.smpte: SMPTE"),
        (lambda m: m.update(smpte={"fps": 25, "ticks_per_frame": 8}), r"needs ppq 200, not 1000"),
        (lambda m: m["smpte"].pop("fps"), r"midi_file\.smpte\.fps is missing"),
        (lambda m: m["chunks"][1].update(before_track=-1), r"chunks\[1\]\.before_track: -1"),
        (lambda m: m["chunks"][0].update(raw={"$bytes": "TVRyawAAAAA="}), r"chunks\[0\]\.raw"),
        (lambda m: m["chunks"][0].update(raw="text"), r"chunks\[0\]\.raw: expected binary"),
        (lambda m: m.update(rmid=[1]), r"midi_file\.rmid: expected an object"),
        (lambda m: m.update(chunks={}), r"midi_file\.chunks: expected a list"),
    ],
)
def test_bad_midi_file_fields_are_named(change, field):
    data = _rewrite(
        project_to_bytes(Project(song=load_song_bytes(_source()))),
        lambda d: change(d["midi_file"]),
    )
    with pytest.raises(ProjectError, match=field) as info:
        project_from_bytes(data, "bad.quanta")
    assert "\n" not in str(info.value) and str(info.value).startswith("bad.quanta: ")


def test_a_bad_track_tail_is_named():
    data = _rewrite(
        project_to_bytes(Project(song=load_song_bytes(_source()))),
        lambda d: d["tracks"][1].update(smf_tail=[1, 2]),
    )
    with pytest.raises(ProjectError, match=r"bad\.quanta: tracks\[1\]\.smf_tail: expected binary"):
        project_from_bytes(data, "bad.quanta")


def _odd_track_ends() -> bytes:
    """A header counting 1 track over 2 chunks (real files do: 18 said, 19 found); one
    track's end-of-track carries a data byte, the other has no end-of-track at all."""
    header = b"MThd" + (6).to_bytes(4, "big") + b"\x00\x01\x00\x01\x00\x60"
    with_data = b"\x00\x90\x3c\x64\x60\x80\x3c\x00\x00\xff\x2f\x01\x07"
    no_end = b"\x00\x90\x40\x50\x60\x80\x40\x00"
    return header + b"".join(
        b"MTrk" + len(body).to_bytes(4, "big") + body for body in (with_data, no_end)
    )


def test_header_track_count_and_unusual_track_ends_survive_a_project_byte_for_byte():
    source = _odd_track_ends()
    song = load_song_bytes(source)
    assert song_to_bytes(song) == source  # the MIDI writer alone keeps them
    again = project_from_bytes(project_to_bytes(Project(song=song)), "odd.quanta").song
    assert again.file_extras.track_count == (1, 2)
    assert [t.smf_end for t in again.tracks] == [b"\xff\x2f\x01\x07", b""]
    assert song_to_bytes(again) == source


@pytest.mark.parametrize(
    "change, field",
    [
        (lambda d: d["tracks"][0].update(smf_end={"$bytes": "/y8BBwc="}), r"smf_end: not one"),
        (lambda d: d["tracks"][0].update(smf_end={"$bytes": "kDxk"}), r"smf_end: not one"),
        (lambda d: d["midi_file"].update(track_count=[3]), r"track_count: expected"),
        (lambda d: d["midi_file"].update(track_count=[70000, 2]), r"track_count: expected"),
    ],
)
def test_bad_kept_track_ends_and_counts_are_named(change, field):
    data = _rewrite(project_to_bytes(Project(song=load_song_bytes(_odd_track_ends()))), change)
    with pytest.raises(ProjectError, match=field) as info:
        project_from_bytes(data, "bad.quanta")
    assert "\n" not in str(info.value) and str(info.value).startswith("bad.quanta: ")
