"""The .quanta project file: lossless round trip, atomic saves, strict and clear loading."""

from __future__ import annotations

import io
import json
import os
import zipfile

import numpy as np
import pytest

from engine.build import add_channel_event
from engine.demo import demo_song
from engine.model.notes import make_notes
from engine.project.project import (
    FORMAT_VERSION,
    Project,
    ProjectError,
    atomic_write_bytes,
    is_project_file,
    load_project,
    project_from_bytes,
    project_to_bytes,
    save_project,
)
from engine.quantize.settings import QuantizeSettings


def _edited_demo():
    """A demo song as the editor leaves it: new notes (seq -1), gaps in ids, settings, state."""
    song = demo_song()
    keys = song.tracks[3]
    extra = make_notes([5, 77], [100, 300], [72, 74], [11, 127], 0, ids=[1000, 2001])
    keys.notes = np.concatenate((keys.notes[3:], extra))
    keys.quantize = QuantizeSettings(division=8, swing=62.0, strength=80.0)
    keys.extra = {
        "instrument": {"uri": "http://drobilla.net/plugins/mda/EPiano", "state": b"\x00\xffab"},
        "effects": [{"name": "ZamComp", "params": {"ratio": 4.5}}],
        "volume": 0.8,
        "pan": -0.25,
        "mute": False,
        "solo": True,
    }
    add_channel_event(song.tracks[2], 240, 0xB1, 7, 99)  # a CC in the bass track
    return Project(
        song=song,
        loop=(0, 4 * 1920),
        loop_enabled=True,
        metronome=True,
        edit_settings=QuantizeSettings(division=16, grid_type="triplet", strength=55.0),
        current_track=3,
        ui={"zoom": 1.5},
    )


def _assert_same_song(a, b):
    assert (a.ppq, a.format, len(a.tracks)) == (b.ppq, b.format, len(b.tracks))
    for ta, tb in zip(a.tracks, b.tracks, strict=True):
        assert ta.notes.dtype == tb.notes.dtype
        assert np.array_equal(ta.notes, tb.notes)
        assert np.array_equal(ta.events, tb.events)
        assert np.array_equal(ta.payload, tb.payload)
        assert ta.end_tick == tb.end_tick
        assert ta.quantize == tb.quantize
        assert ta.extra == tb.extra


def test_save_and_load_is_identical_array_for_array(tmp_path):
    p = _edited_demo()
    path = tmp_path / "song.quanta"
    save_project(p, path)
    q = load_project(path)
    _assert_same_song(p.song, q.song)
    assert q.song.tracks[3].extra["instrument"]["state"] == b"\x00\xffab"
    assert (q.loop, q.loop_enabled, q.metronome) == ((0, 7680), True, True)
    assert q.edit_settings == p.edit_settings
    assert q.current_track == 3 and q.ui == {"zoom": 1.5}
    # Saving what was loaded gives the same bytes: nothing drifts between saves.
    assert project_to_bytes(q) == project_to_bytes(p)


def test_project_json_is_readable_and_versioned(tmp_path):
    path = tmp_path / "song.quanta"
    save_project(_edited_demo(), path)
    with zipfile.ZipFile(path) as z:
        doc = json.loads(z.read("project.json"))
        names = z.namelist()
    assert names[0] == "project.json" and "song.npz" in names
    assert doc["format"] == "quanta-project" and doc["version"] == FORMAT_VERSION == 1
    assert doc["tracks"][3]["quantize"]["grid"] == "1/8"
    assert doc["tracks"][3]["quantize"]["swing"] == 62.0
    assert doc["tracks"][3]["extra"]["instrument"]["state"] == {"$bytes": "AP9hYg=="}
    assert [t["name"] for t in doc["tracks"]] == ["Conductor", "Drums", "Bass", "Keys"]
    assert is_project_file(path)


def _rewrite(data: bytes, change) -> bytes:
    """A copy of a project archive with project.json changed by ``change(doc)``."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name in src.namelist():
            blob = src.read(name)
            if name == "project.json":
                doc = json.loads(blob)
                change(doc)
                blob = json.dumps(doc).encode()
            z.writestr(name, blob)
    return out.getvalue()


def test_a_newer_version_is_refused_clearly():
    data = _rewrite(project_to_bytes(_edited_demo()), lambda d: d.update(version=7))
    with pytest.raises(ProjectError, match=r"x\.quanta: version 7 .*newer Quanta.*up to version 1"):
        project_from_bytes(data, "x.quanta")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d.pop("ppq"), r"project\.ppq is missing"),
        (lambda d: d.update(ppq="480"), r"project\.ppq: '480' is not a whole number"),
        (lambda d: d["tracks"][3]["quantize"].update(swing=99), r"tracks\[3\]\.quantize: swing"),
        (lambda d: d["transport"].update(loop=[10, 5]), r"transport\.loop"),
        (lambda d: d["tracks"][1].update(extra=[1]), r"tracks\[1\]\.extra: expected an object"),
        (lambda d: d["tracks"].pop(), r"more tracks than project\.json lists"),
        (lambda d: d.update(format="other"), r"format: not a Quanta project"),
    ],
)
def test_bad_fields_are_named(change, field):
    data = _rewrite(project_to_bytes(_edited_demo()), change)
    with pytest.raises(ProjectError, match=field):
        project_from_bytes(data, "bad.quanta")


def test_broken_files_give_one_line_errors(tmp_path):
    with pytest.raises(ProjectError, match="not a zip archive"):
        project_from_bytes(b"MThd\x00\x00\x00\x06", "a.quanta")
    with pytest.raises(ProjectError, match="no such file"):
        load_project(tmp_path / "missing.quanta")
    # A truncated archive (e.g. copied while being written elsewhere).
    data = project_to_bytes(_edited_demo())
    with pytest.raises(ProjectError) as e:
        project_from_bytes(data[: len(data) // 2], "cut.quanta")
    assert "\n" not in str(e.value) and str(e.value).startswith("cut.quanta")


def test_corrupt_note_arrays_are_rejected():
    p = _edited_demo()
    p.song.tracks[1].notes["end"][0] = p.song.tracks[1].notes["start"][0]
    with pytest.raises(ProjectError, match=r"tracks\[1\]: a note ends before it starts"):
        project_from_bytes(project_to_bytes(p), "p")


def test_atomic_save_keeps_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    path = tmp_path / "keep.quanta"
    save_project(_edited_demo(), path)
    before = path.read_bytes()

    def boom(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(ProjectError, match="^disk full: could not write .*keep.quanta$"):
        save_project(Project(song=demo_song()), path)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["keep.quanta"]  # no temp file left behind


def test_atomic_write_replaces_whole_file(tmp_path):
    path = tmp_path / "f.bin"
    atomic_write_bytes(path, b"old contents that are long")
    atomic_write_bytes(path, b"new")
    assert path.read_bytes() == b"new"


def test_unsavable_extra_is_named():
    p = _edited_demo()
    p.song.tracks[2].extra["widget"] = object()
    with pytest.raises(ProjectError, match=r"tracks\[2\]\.extra\.widget: a object cannot be saved"):
        project_to_bytes(p)
