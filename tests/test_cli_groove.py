"""`quanta quantize --groove FILE.json` and the humanize/flam/controllers options, on real
MIDI files; the same options parse for render, play and live (shared quantize options)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from app.cli import main
from app.quantize_options import add_quantize_options, settings_from_args
from engine.build import add_channel_event, add_track, new_song
from engine.errors import GrooveError
from engine.model.notes import make_notes
from engine.quantize.groove_template import GrooveTemplate
from engine.smf.midifile import load_song, save_song

G = GrooveTemplate(
    "Late snare",
    "1/16",
    1,
    ({"beat": 0, "velocity": 120}, {"beat": 0.29, "velocity": 60}),
)


@pytest.fixture(autouse=True)
def _own_preset_dir(tmp_path, monkeypatch):
    from app.paths import PRESET_DIR_ENV

    monkeypatch.setenv(PRESET_DIR_ENV, str(tmp_path / "user-presets"))


def write_groove(path: Path, doc=None) -> Path:
    path.write_text(json.dumps(G.to_document() if doc is None else doc))
    return path


def write_take(path: Path) -> Path:
    song = new_song(ppq=96)
    tr = add_track(song, make_notes([2, 30, 50, 98], [20, 40, 70, 110], [60, 62, 64, 65]))
    add_channel_event(tr, 31, 0xE0, 0, 70)
    save_song(song, path)
    return path


def parse(argv):
    p = argparse.ArgumentParser()
    add_quantize_options(p)
    return p.parse_args(argv)


def test_options_parse_into_settings(tmp_path):
    g = write_groove(tmp_path / "g.json")
    s = settings_from_args(
        parse(
            [
                "--groove", str(g), "--pre-quantize", "20", "--groove-velocity", "-50",
                "--groove-length", "30", "--humanize-ms", "4.5", "--humanize-velocity", "3",
                "--humanize-noise", "white", "--humanize-seed", "9", "--flam", "-6",
                "--controllers", "follow",
            ]
        )
    )  # fmt: skip
    assert s.groove == G
    assert (s.pre_quantize, s.groove_velocity, s.groove_length) == (20, -50, 30)
    assert (s.humanize_ms, s.humanize_velocity, s.humanize_noise, s.humanize_seed) == (
        4.5, 3, "white", 9,
    )  # fmt: skip
    assert (s.flam, s.controllers) == (-6, "follow")
    assert settings_from_args(parse(["--groove", "MPC 58"])).groove == "MPC 58"


def test_quantize_with_groove_file_exact_ticks(tmp_path, capsys):
    src, out = write_take(tmp_path / "take.mid"), tmp_path / "out.mid"
    g = write_groove(tmp_path / "g.json")
    code = main(
        ["quantize", str(src), "-o", str(out), "--groove", str(g), "--groove-velocity", "100",
         "--controllers", "follow"]
    )  # fmt: skip
    assert code == 0
    notes = load_song(out).tracks[1].notes
    # 2 → 0, 30 → 27.84 → 28, 50 → slot 2 (empty) stays, 98 → 96
    assert notes["start"].tolist() == [0, 28, 50, 96]
    assert notes["velocity"].tolist() == [120, 60, 100, 120]
    ev = load_song(out).tracks[1].events
    assert [int(t) for t, s in ev[["tick", "status"]] if s == 0xE0] == [29]
    assert "groove 'Late snare'" in capsys.readouterr().out


def test_humanize_flam_without_groove_and_seed_repeats(tmp_path):
    src = write_take(tmp_path / "take.mid")
    outs = []
    for i in range(2):
        out = tmp_path / f"o{i}.mid"
        assert main(
            ["quantize", str(src), "-o", str(out), "--strength", "0", "--humanize-ms", "20",
             "--humanize-seed", "4"]
        ) == 0  # fmt: skip
        outs.append(out.read_bytes())
    assert outs[0] == outs[1] != src.read_bytes()


def test_all_amounts_zero_writes_the_file_back(tmp_path):
    src = write_take(tmp_path / "take.mid")
    out = tmp_path / "same.mid"
    g = write_groove(tmp_path / "g.json")
    assert main(
        ["quantize", str(src), "-o", str(out), "--groove", str(g), "--strength", "0",
         "--controllers", "follow"]
    ) == 0  # fmt: skip
    assert out.read_bytes() == src.read_bytes()


@pytest.mark.parametrize(
    "content, words",
    [
        (b"{", "is not valid JSON"),
        (b'{"format": "quanta-groove", "version": 1, "name": "x", "base": "1/16", "length": 1,'
         b' "points": [{"beat": NaN}]}', "NaN"),
        (json.dumps({**G.to_document(), "points": [{"beat": 0.2}, {"beat": 0.3}]}).encode(),
         "beats 0.2 and 0.3"),
        (b"\xff\xfe", "not UTF-8"),
        (b"[" * 100000 + b"]" * 100000, "nested too deeply"),
        (b" " * (1024 * 1024 + 1), "at most"),
    ],
)  # fmt: skip
def test_bad_groove_file_is_one_line_exit_2_nothing_written(tmp_path, capsys, content, words):
    src = write_take(tmp_path / "take.mid")
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)
    out = tmp_path / "out.mid"
    code = main(["quantize", str(src), "-o", str(out), "--groove", str(bad)])
    err = capsys.readouterr().err
    assert code == 2
    assert words in err and "bad.json" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_bad_values_name_the_field(tmp_path, capsys):
    src = write_take(tmp_path / "take.mid")
    for argv, words in [
        (["--humanize-ms", "-1"], "humanize_ms"),
        (["--flam", "200"], "flam"),  # PPQ 96
        (["--groove-velocity", "101"], "groove_velocity"),
        (["--groove", "No Such Groove"], "groove"),
    ]:
        code = main(["quantize", str(src), "-o", str(tmp_path / "x.mid"), *argv])
        err = capsys.readouterr().err
        assert code == 2 and words in err and "Traceback" not in err, (argv, err)


def test_damaged_agr_is_one_line_naming_the_file(tmp_path):
    f = tmp_path / "g.agr"
    f.write_bytes(b"\x1f\x8b")
    with pytest.raises(GrooveError, match="g.agr: is cut short"):
        settings_from_args(parse(["--groove", str(f)]))


@pytest.mark.parametrize("command", ["render", "play", "live"])
def test_render_play_live_accept_the_options(command, capsys):
    with pytest.raises(SystemExit) as e:
        main([command, "--help"])
    assert e.value.code == 0
    text = capsys.readouterr().out
    for opt in ("--groove", "--humanize-ms", "--humanize-seed", "--flam", "--controllers"):
        assert opt in text


@pytest.mark.parametrize("by", ["file", "name"])
def test_batch_workers_get_the_groove(tmp_path, capsys, by):
    """A folder is quantized by worker processes (which have no groove store): the groove is
    resolved once in the command and reaches them as a template."""
    from app import groove_store

    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(3):
        write_take(folder / f"t{i}.mid")
    g = str(write_groove(tmp_path / "g.json")) if by == "file" else "Late snare"
    groove_store.save_user_groove(G)  # in this test's private QUANTA_PRESET_DIR
    out = tmp_path / "out"
    code = main(["quantize", str(folder), "-o", str(out), "--groove", g, "--jobs", "2"])
    assert code == 0, capsys.readouterr().err
    for i in range(3):
        assert load_song(out / f"t{i}.mid").tracks[1].notes["start"].tolist() == [0, 28, 50, 96]
