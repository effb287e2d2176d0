"""The end-of-track event after a quantize: it keeps its tick unless a note now ends after it.

As in Logic and Cubase, the track end follows the last event so that no note is cut off;
otherwise it stays exactly where the source put it (README, "Only notes move").
"""

from __future__ import annotations

from pathlib import Path

import mido
import pytest

from app.cli import main


@pytest.fixture(autouse=True)
def _own_preset_dir(tmp_path, monkeypatch):
    from app.paths import PRESET_DIR_ENV

    monkeypatch.setenv(PRESET_DIR_ENV, str(tmp_path / "user-presets"))


def _file(path: Path, notes: list[tuple[int, int]], eot: int) -> Path:
    """One track, 480 PPQ: ``(start, end)`` notes of pitch 60 and an end-of-track at ``eot``."""
    events = []
    for start, end in notes:
        events.append((start, 1, mido.Message("note_on", note=60, velocity=90)))
        events.append((end, 0, mido.Message("note_off", note=60, velocity=0)))
    events.sort(key=lambda e: (e[0], e[1]))
    track = mido.MidiTrack()
    last = 0
    for tick, _, msg in events:
        track.append(msg.copy(time=tick - last))
        last = tick
    track.append(mido.MetaMessage("end_of_track", time=eot - last))
    mid = mido.MidiFile(ticks_per_beat=480)
    mid.tracks.append(track)
    mid.save(path)
    return path


def _end_of_track(path: Path) -> int:
    tick = 0
    for msg in mido.MidiFile(path).tracks[0]:
        tick += msg.time
        if msg.type == "end_of_track":
            return tick
    raise AssertionError("no end-of-track")


def _quantize(tmp_path: Path, src: Path, *options: str) -> Path:
    out = tmp_path / "out.mid"
    assert main(["quantize", str(src), "-o", str(out), "--grid", "1/8", *options]) == 0
    return out


def test_end_of_track_keeps_its_tick_when_notes_move_earlier(tmp_path):
    src = _file(tmp_path / "a.mid", [(250, 470), (1000, 1210)], eot=1300)
    out = _quantize(tmp_path, src)
    assert _end_of_track(out) == 1300  # notes moved to 240 and 960; the end stays


def test_end_of_track_keeps_its_tick_when_the_last_note_end_moves_earlier(tmp_path):
    src = _file(tmp_path / "a.mid", [(0, 250)], eot=250)  # the end sits on the note end
    out = _quantize(tmp_path, src, "--ends", "quantize-ends")
    notes = [(m.type, m.time) for m in mido.MidiFile(out).tracks[0] if m.type.startswith("note")]
    assert notes == [("note_on", 0), ("note_off", 240)]  # the note now ends at 240 …
    assert _end_of_track(out) == 250  # … and the track end keeps its tick


def test_end_of_track_moves_later_so_no_note_is_cut_off(tmp_path):
    src = _file(tmp_path / "a.mid", [(0, 200), (1190, 1420)], eot=1425)
    out = _quantize(tmp_path, src)  # keep-length: 1190 → 1200, so the note ends at 1430
    ends = []
    tick = 0
    for msg in mido.MidiFile(out).tracks[0]:
        tick += msg.time
        if msg.type == "note_off":
            ends.append(tick)
    assert ends == [200, 1430]
    assert _end_of_track(out) == 1430  # moved from 1425: the last note is not cut off
