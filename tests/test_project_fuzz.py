"""The project reader against damaged and hostile files: one line naming the file, in
bounded time and memory, and whatever it accepts saves and reads back (song.mid included).

The corpus builders live in tests/hostile_projects.py; bench/fuzz_project.py runs thousands.
"""

from __future__ import annotations

import io
import json
import random
import resource
import time
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import QuantaError
from engine.model.notes import NOTE_DTYPE
from engine.model.song import Song, Track
from engine.project.project import (
    Project,
    ProjectError,
    load_project,
    project_from_bytes,
    project_to_bytes,
    save_project,
)
from engine.smf.midifile import load_song_bytes, song_to_bytes
from tests import hostile_projects as hp

FUZZ = settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))
ONE_GB_KB = 1 << 20  # ru_maxrss is in KiB on Linux


def check(data: bytes, name: str = "case.quanta") -> Project | None:
    """The fuzz contract for one input."""
    t0 = time.perf_counter()
    try:
        project = project_from_bytes(data, name)
    except ProjectError as exc:
        msg = str(exc)
        assert "\n" not in msg and msg.startswith(f"{name}: "), msg
        assert len(msg) < 400, msg
        project = None
    if project is not None:  # accepted: it must save, and what it saves must read back
        saved = project_to_bytes(project)
        again = project_from_bytes(saved, "resaved")
        assert len(again.song.tracks) == len(project.song.tracks)
        for a, b in zip(project.song.tracks, again.song.tracks, strict=True):
            assert np.array_equal(a.notes, b.notes) and np.array_equal(a.events, b.events)
        with zipfile.ZipFile(io.BytesIO(saved)) as z:
            if "song.mid" in z.namelist():
                load_song_bytes(z.read("song.mid"), "song.mid")
        if project.song.file_extras.riff is not None:  # Export as .rmi works too
            load_song_bytes(song_to_bytes(project.song, rmid=True), "song.rmi")
    assert time.perf_counter() - t0 < 10
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss < ONE_GB_KB
    return project


@FUZZ
@given(st.integers(0, 2**32 - 1))
def test_hostile_projects_end_in_one_line_or_load_and_save(seed):
    kind, data = hp.any_case(random.Random(seed))
    check(data)


@FUZZ
@given(st.sampled_from(range(2)), st.binary(max_size=64), st.integers(0, 10**6))
def test_spliced_bytes_in_a_valid_project(which, junk, where):
    data = hp.seed_projects()[which]
    at = where % (len(data) + 1)
    check(data[:at] + junk + data[at + len(junk) :])


# -- each class of the campaign, named -------------------------------------------------------
def _items() -> dict[str, bytes]:
    return hp.members(hp.seed_projects()[0])


def _doc_with(change) -> bytes:
    m = _items()
    doc = json.loads(m["project.json"])
    change(doc)
    m["project.json"] = json.dumps(doc).encode()
    return hp.build_zip(m)


def reject(data: bytes, pattern: str) -> None:
    with pytest.raises(ProjectError, match=pattern):
        project_from_bytes(data, "x.quanta")


def test_damaged_deflate_stream_is_one_line():
    m = _items()
    good = hp.build_zip(m)
    info = zipfile.ZipFile(io.BytesIO(good)).getinfo("song.npz")
    start = info.header_offset + 30 + len("song.npz") + 40
    bad = good[:start] + bytes(b ^ 0x55 for b in good[start : start + 64]) + good[start + 64 :]
    reject(bad, r"^x\.quanta: damaged project \(song\.npz is damaged")


def test_encrypted_flag_and_unknown_compression_are_named():
    data = bytearray(hp.seed_projects()[0])
    central = data.index(b"PK\x01\x02")
    flagged = bytearray(data)
    flagged[central + 8] |= 1
    reject(bytes(flagged), r"project\.json is encrypted")
    method = bytearray(data)
    method[central + 10 : central + 12] = (99).to_bytes(2, "little")
    reject(bytes(method), r"project\.json uses compression method 99")


def test_array_header_claiming_a_trillion_notes_allocates_nothing():
    hdr = hp.npy_header(repr(np.lib.format.dtype_to_descr(NOTE_DTYPE)), f"({10**12},)")
    m = _items()
    m["song.npz"] = hp.npz(
        {**{k[:-4]: v for k, v in hp.members(m["song.npz"]).items()}, "t0_notes": hdr}
    )
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    reject(hp.build_zip(m), r"t0_notes\.npy claims 1000000000000 elements")
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100_000


def test_zip_bomb_is_refused_before_inflating():
    m = _items()
    z = __import__("zlib").compressobj(9, 8, -15)
    body = z.compress(b"\0" * (200 << 20)) + z.flush()  # 200 MB in ~200 KB
    data = hp._raw_member_zip(m, "song.npz", body, 200 << 20)
    assert len(data) < 1 << 20
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    reject(data, r"song\.npz would inflate \d+× .* refused as a zip bomb")
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100_000


def test_total_unpacked_size_is_bounded(monkeypatch):
    monkeypatch.setenv("QUANTA_MAX_PROJECT_MB", "0.01")  # 10 KB: the demo unpacks to more
    reject(hp.seed_projects()[0], r"(limit for a project|more than a project may hold)")


@pytest.mark.parametrize("depth", [65, 5000, 100000])
def test_deep_json_is_one_line(depth):
    m = _items()
    raw = (
        m["project.json"]
        .decode()
        .replace('"ui": {', f'"ui": {{"x": {"[" * depth}{"]" * depth}, ', 1)
    )
    m["project.json"] = raw.encode()
    reject(hp.build_zip(m), r"project\.json is nested (too deeply|deeper than 64 levels)")


@pytest.mark.parametrize(
    "number,pattern",
    [
        ("1" + "0" * 5000, r"not valid JSON \(Exceeds the limit"),
        ("1e999", r"too large for a number"),
        ("NaN", r"NaN is not a number"),
        ("-Infinity", r"-Infinity is not a number"),
    ],
)
def test_huge_and_non_finite_numbers_are_one_line(number, pattern):
    m = _items()
    raw = m["project.json"].decode().replace('"ui": {', f'"ui": {{"x": {number}, ', 1)
    m["project.json"] = raw.encode()
    reject(hp.build_zip(m), pattern)


def test_out_of_range_whole_numbers_are_refused_not_overflowing():
    def big_end(doc):
        doc["tracks"][0]["end_tick"] = 2**64

    reject(_doc_with(big_end), r"tracks\[0\]\.end_tick: 18446744073709551616 is out of range")

    def big_loop(doc):
        doc["transport"]["loop"] = [0, 10**30]

    reject(_doc_with(big_loop), r"transport\.loop: .* is not \[start, end\] ticks")


@pytest.mark.parametrize(
    "extra,pattern",
    [
        ({"volume": 1e308}, r"extra\.volume: 1e\+308 is not a number 0…1"),
        ({"volume": "loud"}, r"extra\.volume: 'loud' is not a number 0…1"),
        ({"pan": -2}, r"extra\.pan: -2 is not a number -1…1"),
        ({"mute": "yes"}, r"extra\.mute: 'yes' is not true or false"),
        ({"effects": 5}, r"extra\.effects: expected a list of objects"),
    ],
)
def test_mixer_values_that_could_not_play_or_save_are_refused(extra, pattern):
    def put(doc):
        doc["tracks"][1]["extra"] = extra

    reject(_doc_with(put), pattern)


def test_lone_surrogates_in_json_text_are_refused():
    m = _items()
    raw = m["project.json"].decode().replace('"ui": {', '"ui": {"n": "a\\ud800b", ', 1)
    m["project.json"] = raw.encode()
    reject(hp.build_zip(m), r"lone UTF-16 surrogate")


def _one_track(notes: np.ndarray, end_tick: int = 0) -> bytes:
    return project_to_bytes(Project(Song(480, 1, [Track(notes=notes, end_tick=end_tick)])))


def test_long_gaps_load_and_save_bridged_but_endless_silence_is_refused():
    from engine.model.notes import make_notes

    far = make_notes([0, 2**35], [10, 2**35 + 10], 60, ids=[0, 1])  # 128 maximal deltas
    project = check(_one_track(far, end_tick=2**36))
    song = load_song_bytes(song_to_bytes(project.song))
    assert song.tracks[0].notes["start"].tolist() == [0, 2**35]
    assert song.tracks[0].end_tick == 2**36
    # A tiny file whose silences would take gigabytes as a MIDI file: refused, not saved.
    m = hp.members(_one_track(far))
    arrays = {k[:-4]: v for k, v in hp.members(m["song.npz"]).items()}
    endless = make_notes([0, 2**52], [10, 2**52 + 10], 60, ids=[0, 1])
    arrays["t0_notes"] = hp.npy(endless)
    m["song.npz"] = hp.npz(arrays)
    reject(hp.build_zip(m), r"silences are too long to save as a MIDI file")
    doc = json.loads(m["project.json"])
    doc["tracks"][0]["end_tick"] = 2**60
    m["project.json"] = json.dumps(doc).encode()
    reject(hp.build_zip(m), r"end_tick: \d+ is out of range")


def test_everything_accepted_saves_and_autosaves(tmp_path):
    """A sample of accepted hostile cases really saves to disk and reopens."""
    rng = random.Random(7)
    saved = 0
    for _ in range(300):
        _, data = hp.any_case(rng)
        try:
            project = project_from_bytes(data, "x")
        except QuantaError:
            continue
        save_project(project, tmp_path / "again.quanta")
        load_project(tmp_path / "again.quanta")
        saved += 1
    assert saved > 20


def test_a_fifo_or_folder_is_refused_without_blocking(tmp_path):
    import os

    fifo = tmp_path / "pipe.quanta"
    os.mkfifo(fifo)
    with pytest.raises(ProjectError, match="not a regular file"):
        load_project(fifo)
    with pytest.raises(ProjectError, match="is a folder"):
        load_project(tmp_path)


def test_our_own_very_compressible_project_still_opens():
    """Megabytes of zeros in a plugin state pack past the bomb ratio: stored, not refused."""
    from engine.demo import demo_song

    song = demo_song()
    song.tracks[1].extra["instrument"] = {"name": "x", "format": "stock", "state": bytes(8 << 20)}
    data = project_to_bytes(Project(song))
    again = project_from_bytes(data, "big")
    assert again.song.tracks[1].extra["instrument"]["state"] == bytes(8 << 20)


def test_kept_midi_file_extras_that_would_break_song_mid_are_refused():
    import base64

    def trailing_chunk_header(doc):
        doc["midi_file"] = {"trailing": {"$bytes": base64.b64encode(b"MTrk\0\0\0\x10").decode()}}

    reject(_doc_with(trailing_chunk_header), r"midi_file: would not give a readable MIDI file")

    def harmless_trailing(doc):
        doc["midi_file"] = {"trailing": {"$bytes": base64.b64encode(b"padding").decode()}}

    assert check(_doc_with(harmless_trailing)).song.file_extras.trailing == b"padding"
