"""`quanta quantize`, `quanta info` and the shared quantize options, on real MIDI files."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import mido
import numpy as np
import pytest

from app.cli import main
from app.quantize_options import add_quantize_options, quantize_options_given, settings_from_args
from engine.build import add_channel_event, add_meta, add_track, new_song
from engine.errors import PresetError, SettingsError
from engine.model.notes import make_notes
from engine.quantize.settings import QuantizeSettings
from engine.smf.midifile import load_song, save_song
from tests import procs

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _own_preset_dir(tmp_path, monkeypatch):
    from app.paths import PRESET_DIR_ENV

    monkeypatch.setenv(PRESET_DIR_ENV, str(tmp_path / "user-presets"))


def write_take(path: Path, ppq: int = 96) -> Path:
    """Drums (ch 10) and keys (ch 1) a little off a 1/16 grid, with a CC and pitch bend."""
    song = new_song(ppq=ppq, bpm=100)
    add_meta(song.tracks[0], 300, 0x06, b"Chorus")  # a marker
    keys = add_track(song, make_notes([5, 26, 50, 70], [20, 40, 90, 95], [60, 62, 64, 65]), "Keys")
    add_channel_event(keys, 13, 0xB0, 64, 127)
    add_channel_event(keys, 29, 0xE0, 0, 70)
    drums = add_track(
        song, make_notes([2, 23, 49], [10, 30, 60], [36, 38, 42], channels=9), "Drums"
    )
    add_channel_event(drums, 3, 0xC9, 5)
    save_song(song, path)
    return path


def starts(song, track):
    return song.tracks[track].notes["start"].tolist()


def parse(argv):
    p = argparse.ArgumentParser()
    add_quantize_options(p)
    return p.parse_args(argv)


# -- options ----------------------------------------------------------------------------------
def test_defaults_without_options():
    args = parse([])
    assert settings_from_args(args) == QuantizeSettings()
    assert not quantize_options_given(args)


def test_every_option_maps_to_its_field():
    args = parse(
        "--grid 1/8 --offset 7 --strength 80 --swing 58 --exclude-within 10 "
        "--catch-within 40 --ends quantize-lengths --length-grid 1/4".split()
    )
    assert settings_from_args(args) == QuantizeSettings(
        division=8,
        offset=7,
        strength=80,
        swing=58,
        exclude_within=10,
        catch_within=40,
        ends="quantize-lengths",
        length_grid="1/4",
    )
    assert quantize_options_given(args)


def test_grid_text_forms_and_tuplets():
    assert settings_from_args(parse(["--grid", "1/8T"])).grid_type == "triplet"
    assert settings_from_args(parse(["--grid", "1/8."])).grid_type == "dotted"
    s = settings_from_args(parse(["--grid", "1/16", "--tuplet", "5:4"]))
    assert (s.grid_type, s.tuplet, s.grid_label) == ("tuplet", (5, 4), "1/16 5:4")
    with pytest.raises(SettingsError, match="tuplet"):
        settings_from_args(parse(["--tuplet", "5-4"]))
    with pytest.raises(SettingsError, match="grid"):
        settings_from_args(parse(["--grid", "1/8T", "--grid-type", "dotted"]))


def test_preset_is_the_base_and_options_override_it():
    s = settings_from_args(parse(["--preset", "Swing 1/16 58", "--strength", "60"]))
    assert (s.swing, s.strength, s.division) == (58, 60, 16)
    s = settings_from_args(parse(["--preset", "Swing 1/16 58", "--grid", "1/8"]))
    assert (s.swing, s.division) == (58, 8)
    off = settings_from_args(parse(["--catch-within", "30", "--catch-within", "off"]))
    assert off.catch_within is None


def test_bad_preset_and_bad_values_are_one_line_errors():
    with pytest.raises(PresetError, match="no preset named"):
        settings_from_args(parse(["--preset", "No Such Groove"]))
    with pytest.raises(SettingsError, match="swing: .*straight grid"):
        settings_from_args(parse(["--grid", "1/8T", "--swing", "60"]))
    with pytest.raises(SettingsError, match="strength: 120"):
        settings_from_args(parse(["--strength", "120"]))


def test_help_states_units_and_defaults(capsys):
    with pytest.raises(SystemExit):
        main(["quantize", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for needle in [
        "(default 1/16)",
        "0–100 % (default 100)",
        "50–75 %",
        "(default 50)",
        "0–50 % of a grid step (default 0)",
        "(default off",
        "TICKS",
        "(default 0)",
        "(default keep-length)",
        "(default: the grid itself)",
        "(default straight)",
    ]:
        assert needle in text, needle


# -- quanta quantize --------------------------------------------------------------------------
def test_quantize_one_file_exact_ticks_and_events_kept(tmp_path, capsys):
    src = write_take(tmp_path / "take.mid")
    out = tmp_path / "tight.mid"
    assert main(["quantize", str(src), "-o", str(out)]) == 0
    line = capsys.readouterr().out
    assert "7 of 7 notes moved" in line and "0 trimmed" in line and "0 merged" in line
    before, after = load_song(src), load_song(out)
    assert starts(after, 1) == [0, 24, 48, 72]
    assert after.tracks[1].notes["end"].tolist() == [15, 38, 88, 97]
    assert starts(after, 2) == [0, 24, 48]
    for a, b in zip(before.tracks, after.tracks, strict=True):
        assert a.events.tolist() == b.events.tolist()
        assert a.payload.tobytes() == b.payload.tobytes()


def test_quantize_filters_tracks_channels_pitches(tmp_path, capsys):
    src = write_take(tmp_path / "take.mid")
    out = tmp_path / "o.mid"
    assert main(["quantize", str(src), "-o", str(out), "--channels", "10"]) == 0
    song = load_song(out)
    assert (starts(song, 1), starts(song, 2)) == ([5, 26, 50, 70], [0, 24, 48])
    assert main(["quantize", str(src), "-o", str(out), "--tracks", "2", "--pitches", "60-62"]) == 0
    song = load_song(out)
    assert (starts(song, 1), starts(song, 2)) == ([0, 24, 50, 70], [2, 23, 49])
    assert "5 not selected" in capsys.readouterr().out


def test_quantize_with_swing_strength_and_exclude(tmp_path, capsys):
    src = write_take(tmp_path / "take.mid")
    out = tmp_path / "o.mid"
    argv = [
        "quantize",
        str(src),
        "-o",
        str(out),
        "--swing",
        "66.67",
        "--strength",
        "50",
        "--exclude-within",
        "10",
        "--tracks",
        "2",
    ]
    assert main(argv) == 0
    # off-beat at 32.0016; 5->2.5->3, 26->29.0008->29, 50: d=2 <= 2.4 excluded, 70->75.0008->75
    assert starts(load_song(out), 1) == [3, 29, 50, 75]
    first = capsys.readouterr().out.splitlines()[0]
    assert first == (
        "quantize: grid 1/16, strength 50 %, swing 66.67 %, exclude within 10 %, keep-length"
    )


def test_dry_run_writes_nothing(tmp_path, capsys):
    src = write_take(tmp_path / "take.mid")
    assert main(["quantize", str(src), "-o", str(tmp_path / "x.mid"), "--dry-run"]) == 0
    assert not (tmp_path / "x.mid").exists()
    assert "dry run" in capsys.readouterr().out


def test_batch_folder_with_a_broken_file(tmp_path, capsys):
    inp = tmp_path / "in"
    inp.mkdir()
    write_take(inp / "a.mid")
    write_take(inp / "b.mid")
    (inp / "c.mid").write_bytes(b"RIFF not midi")
    (inp / "notes.txt").write_text("ignored")
    assert main(["quantize", str(inp), "-o", str(tmp_path / "out"), "--grid", "1/8"]) == 2
    cap = capsys.readouterr()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.mid", "b.mid"]
    assert starts(load_song(tmp_path / "out" / "a.mid"), 2) == [0, 0, 48]
    assert "2 of 3 files quantized" in cap.out
    assert cap.out.count("notes moved") == 2
    assert "c.mid: not a MIDI file" in cap.err
    assert "3/3" not in cap.err  # the progress bar is for terminals only (tests/test_cli_quantize_batch.py)
    assert "Traceback" not in cap.err


def test_batch_glob(tmp_path, capsys):
    write_take(tmp_path / "one.mid")
    write_take(tmp_path / "two.mid")
    assert main(["quantize", str(tmp_path / "*.mid"), "-o", str(tmp_path / "q")]) == 0
    assert sorted(p.name for p in (tmp_path / "q").iterdir()) == ["one.mid", "two.mid"]


def test_output_ending_in_a_slash_is_a_new_folder(tmp_path, capsys):
    src = write_take(tmp_path / "take.mid")
    assert main(["quantize", str(src), "-o", str(tmp_path / "new") + "/"]) == 0
    assert starts(load_song(tmp_path / "new" / "take.mid"), 1) == [0, 24, 48, 72]


def test_glob_matching_one_file_still_writes_into_the_folder(tmp_path, capsys):
    write_take(tmp_path / "only.mid")
    assert main(["quantize", str(tmp_path / "o*.mid"), "-o", str(tmp_path / "q")]) == 0
    assert [p.name for p in (tmp_path / "q").iterdir()] == ["only.mid"]


def test_refuses_to_overwrite_the_input(tmp_path, capsys):
    src = write_take(tmp_path / "take.mid")
    data = src.read_bytes()
    assert main(["quantize", str(src), "-o", str(src)]) == 2
    assert "refusing to overwrite the input" in capsys.readouterr().err
    assert src.read_bytes() == data


@pytest.mark.parametrize(
    "argv,message",
    [
        (["quantize", "missing.mid", "-o", "o.mid"], "missing.mid: no such file or folder"),
        (["quantize", "{src}", "-o", "o.mid", "--swing", "90"], "swing: 90"),
        (["quantize", "{src}", "-o", "o.mid", "--preset", "nope"], "no preset named 'nope'"),
        (["quantize", "{src}", "-o", "o.mid", "--channels", "17"], "channels go from 1 to 16"),
        (["quantize", "{src}", "-o", "o.mid", "--pitches", "60-200"], "pitches go from 0 to 127"),
        (
            ["quantize", "{src}", "-o", "no/such/dir/o.mid"],
            "o.mid: cannot save: folder no/such/dir does not exist",
        ),
        (["quantize", "{src}", "-o", "o.mid", "--tracks", "9"], "there is no track 9"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys, argv, message):
    src = write_take(tmp_path / "take.mid")
    monkeypatch.chdir(tmp_path)
    argv = [a.replace("{src}", str(src)) for a in argv]
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own usage errors
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert "Traceback" not in err


def test_real_quanta_command_in_a_subprocess(tmp_path):
    src = write_take(tmp_path / "take.mid")
    out = tmp_path / "o.mid"
    proc = procs.run(
        [
            sys.executable,
            "-m",
            "app.cli",
            "quantize",
            str(src),
            "-o",
            str(out),
            "--preset",
            "Straight 1/8",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert starts(load_song(out), 1) == [0, 48, 48, 48]


# -- quanta info --------------------------------------------------------------------------------
def test_info_text(tmp_path, capsys):
    src = write_take(tmp_path / "take.mid")
    assert main(["info", str(src)]) == 0
    out = capsys.readouterr().out
    assert "96 PPQ, 3 tracks, 7 notes" in out
    assert "tempo: 100 BPM at 0" in out
    assert "time signature: 4/4 at 0" in out
    assert "length: 1 bar, 0:01.875 (300 ticks)" in out
    assert "Keys" in out and "Drums" in out
    # offsets from 1/16 (24 ticks): 5,2,2,2 and 2,1,1 -> mean 15/7 ticks, max 5
    assert "mean 2.1 ticks (8.9 % of a step), max 5.0 ticks (20.8 %)" in out
    assert "within 5 % of a step: 28.6 %, within 10 %: 85.7 %" in out


def test_info_json_and_grid(tmp_path, capsys):
    src = write_take(tmp_path / "take.mid")
    assert main(["info", str(src), "--json", "--grid", "1/8"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["ppq"] == 96 and info["notes"] == 7
    assert [t["channels"] for t in info["tracks"]] == [[], [1], [10]]
    assert info["tempos"] == [{"tick": 0, "bpm": 100.0}]
    assert info["timing"]["grid"] == "1/8"
    # vs 1/8 (48 ticks): keys 5, 22, 2, 22; drums 2, 23, 1
    offs = [5, 22, 2, 22, 2, 23, 1]
    assert info["timing"]["max_abs_ticks"] == max(offs)
    assert info["timing"]["mean_abs_ticks"] == pytest.approx(np.mean(offs))


def test_info_bad_file(tmp_path, capsys):
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"MThd\x00\x00")
    assert main(["info", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("quanta: error: bad.mid") and err.count("\n") == 1


def mido_take(path: Path) -> Path:
    """A file from an independent writer: running status, note-on v0 offs, sysex, CC, bend."""
    mid = mido.MidiFile(ticks_per_beat=480)
    tr = mido.MidiTrack()
    mid.tracks.append(tr)
    msgs = [
        (0, mido.MetaMessage("set_tempo", tempo=500000)),
        (0, mido.Message("sysex", data=[0x7E, 0x7F, 0x09, 0x01])),
        (7, mido.Message("note_on", note=60, velocity=90)),
        (50, mido.Message("control_change", control=64, value=127)),
        (100, mido.Message("note_on", note=60, velocity=0)),
        (131, mido.Message("note_on", note=62, velocity=80)),
        (200, mido.Message("pitchwheel", pitch=1000)),
        (250, mido.Message("note_off", note=62, velocity=40)),
        (355, mido.Message("note_on", note=64, velocity=70)),
        (470, mido.Message("note_on", note=64, velocity=0)),
    ]
    last = 0
    for tick, msg in msgs:
        tr.append(msg.copy(time=tick - last))
        last = tick
    mid.save(path)
    return path


def absolute(path: Path) -> list[tuple[int, str]]:
    t, out = 0, []
    for msg in mido.MidiFile(path).tracks[0]:
        t += msg.time
        out.append((t, str(msg.copy(time=0))))
    return out


def test_strength_zero_is_byte_identical_for_a_foreign_file(tmp_path, capsys):
    src = mido_take(tmp_path / "take.mid")
    out = tmp_path / "o.mid"
    assert (
        main(["quantize", str(src), "-o", str(out), "--strength", "0", "--ends", "quantize-ends"])
        == 0
    )
    assert out.read_bytes() == src.read_bytes()


def test_non_note_events_keep_their_ticks_in_a_foreign_file(tmp_path, capsys):
    src = mido_take(tmp_path / "take.mid")
    out = tmp_path / "o.mid"
    assert main(["quantize", str(src), "-o", str(out), "--ends", "quantize-ends"]) == 0

    # every non-note event keeps its tick; end-of-track follows the last note end (480)
    def others(path):
        return [e for e in absolute(path) if "note_" not in e[1] and "end_of_track" not in e[1]]

    assert others(out) == others(src)
    assert absolute(out)[-1] == (480, "MetaMessage('end_of_track', time=0)")
    song = load_song(out)
    assert song.tracks[0].notes["start"].tolist() == [0, 120, 360]
    assert song.tracks[0].notes["end"].tolist() == [120, 240, 480]
