"""The groove store: user folder beside the presets (QUANTA_PRESET_DIR moves both), atomic
writes, factory shadowing, unsafe names, the preset NAME resolver, and `quanta groove` commands."""

from __future__ import annotations

import json
from fractions import Fraction as F

import pytest

from app import groove_store
from app.cli import main
from app.paths import groove_dir, preset_dir
from engine.errors import GrooveError
from engine.presets import preset_from_document
from engine.quantize import GroovePoint, GrooveTemplate, quantize_notes

T = GrooveTemplate("Late Two", "1/8", 2, (GroovePoint(0, 120), GroovePoint(F(5, 8), 50)))


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("QUANTA_PRESET_DIR", str(tmp_path / "p"))
    groove_store.install()
    yield tmp_path / "p" / "grooves"
    from engine.quantize import set_groove_resolver

    set_groove_resolver(None)


def test_folder_follows_the_preset_folder(store):
    assert groove_dir() == preset_dir() / "grooves" == store


def test_save_list_load_delete(store):
    saved = groove_store.save_user_groove(T)
    assert saved.path == store / "Late Two.json"
    assert json.loads(saved.path.read_text())["points"][1] == {
        "beat": 0.625, "velocity": 50, "length": None
    }  # fmt: skip
    assert [p.name for p in store.iterdir()] == ["Late Two.json"]  # no temp file left
    assert groove_store.load_groove("late two") == T  # names ignore case
    with pytest.raises(GrooveError, match="already exists.*--force"):
        groove_store.save_user_groove(T)
    groove_store.save_user_groove(T.with_points([GroovePoint(0, 1)]), force=True)
    assert groove_store.load_groove("Late Two").points == (GroovePoint(0, 1),)
    assert groove_store.delete_user_groove("LATE TWO") == store / "Late Two.json"
    with pytest.raises(GrooveError, match="no groove named 'Late Two'"):
        groove_store.load_groove("Late Two")


@pytest.mark.parametrize("name", ["../../escape", "CON", "a/b\\c:d", ".hidden", "..", "x" * 64])
def test_unsafe_names_never_leave_the_folder(store, name):
    saved = groove_store.save_user_groove(GrooveTemplate(name, "1/4", 1, ()))
    assert saved.path.parent == store
    assert groove_store.load_groove(name).name == name


def test_user_groove_shadows_factory_and_delete_restores(store):
    factory = groove_store.load_groove("MPC Swing 1/16 58%")
    mine = GrooveTemplate("mpc swing 1/16 58%", "1/16", 1, (GroovePoint(0, 99),))
    entry = groove_store.save_user_groove(mine)
    assert entry.shadows_factory
    cat = groove_store.load_catalog()
    flags = [(e.source, e.shadowed, e.shadows_factory) for e in cat.entries if e.name.lower() == mine.name]
    assert flags == [("factory", True, False), ("user", False, True)]
    assert groove_store.load_groove("MPC Swing 1/16 58%") == mine
    with pytest.raises(GrooveError, match="factory grooves cannot be deleted"):
        groove_store.delete_user_groove("Laid back 90")
    groove_store.delete_user_groove("MPC Swing 1/16 58%")
    assert groove_store.load_groove("MPC Swing 1/16 58%") == factory


def test_broken_user_file_is_reported_and_skipped(store, capsys):
    store.mkdir(parents=True)
    (store / "broken.json").write_bytes(b"{nope")
    groove_store.save_user_groove(T)
    cat = groove_store.load_catalog()
    assert cat.find("Late Two") is not None
    assert any("broken.json: is not valid JSON" in p for p in cat.problems)
    assert main(["groove", "list"]) == 0
    io = capsys.readouterr()
    assert "broken.json" in io.err and "Late Two" in io.out


def test_preset_naming_a_groove_resolves_through_the_store(store):
    groove_store.save_user_groove(T)
    doc = {
        "format": "quanta-preset", "version": 2, "name": "uses groove", "description": "",
        "settings": {"groove": "Late Two", "strength": 100},
    }  # fmt: skip
    preset = preset_from_document(doc, "p.json")
    from engine.model.notes import make_notes

    notes = make_notes([0, 96, 192], [40, 136, 232], [60, 60, 60])
    out = quantize_notes(notes, preset.settings, 96).notes
    # slot 1 of 1/8 at PPQ 96 is tick 48 + 12 (5/8 beat = 60); tick 96 is slot 2 (no point)
    assert out["start"].tolist() == [0, 96, 192]
    notes = make_notes([0, 50, 192], [40, 90, 232], [60, 60, 60])
    out = quantize_notes(notes, preset.settings, 96).notes
    assert out["start"].tolist() == [0, 60, 192]


def test_cli_import_export_round_trip_and_rename(store, tmp_path, capsys):
    src = tmp_path / "mine.rgt"
    groove_store.save_user_groove(T)
    assert main(["groove", "export", "Late Two", "-o", str(src), "--rgt-version", "1"]) == 0
    assert main(["groove", "import", str(src), "--as", "From REAPER", "--base", "1/8"]) == 0
    assert groove_store.load_groove("From REAPER").points == T.points
    agr = tmp_path / "x.agr"
    assert main(["groove", "export", "From REAPER", "-o", str(agr), "--gzip"]) == 0
    assert agr.read_bytes()[:2] == b"\x1f\x8b"
    assert main(["groove", "import", str(agr)]) == 0
    assert groove_store.load_groove("x").points[1].beat == F(5, 8)
    assert main(["groove", "import", str(agr)]) == 2  # exists: needs --force
    assert "use --force" in capsys.readouterr().err
    assert main(["groove", "import", str(agr), "--force"]) == 0
    assert main(["groove", "export", "x", "-o", str(tmp_path / "x.txt")]) == 2
    assert main(["groove", "delete", "x"]) == 0
    assert groove_store.load_catalog().find("x") is None


def test_cli_list_json_and_show(store, capsys):
    assert main(["groove", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) >= 12 and all(r["source"] == "factory" for r in rows)
    assert main(["groove", "show", "Pushed 120"]) == 0
    out = capsys.readouterr().out
    assert "     2      0.9700    -0.0300" in out  # the pushed backbeat, 15 ms at 120 BPM


def test_quantize_with_groove_name_agr_and_rgt(store, tmp_path):
    from engine.build import add_track, new_song
    from engine.model.notes import make_notes
    from engine.smf import load_song, save_song

    song = new_song(ppq=96)
    add_track(song, make_notes([0, 50, 96, 140], [20, 70, 116, 160], [60, 61, 62, 63], 90))
    src = tmp_path / "take.mid"
    save_song(song, src)
    groove_store.save_user_groove(T)
    starts = {}
    for label, arg in [("name", "Late Two"), ("agr", "g.agr"), ("rgt", "g.rgt")]:
        if label != "name":
            groove_store.export_groove("Late Two", tmp_path / arg)
            arg = str(tmp_path / arg)
        out = tmp_path / f"{label}.mid"
        assert main(["quantize", str(src), "-o", str(out), "--groove", arg]) == 0
        notes = load_song(out).tracks[-1].notes
        starts[label] = (notes["start"].tolist(), notes["velocity"].tolist())
    # 1/8 at PPQ 96: 50 is in slot 1, whose point is 5/8 beat = tick 60; 96 and 140 fall in
    # slots 2 and 3, which T leaves empty, so they stay.
    assert starts["name"] == ([0, 60, 96, 140], [90, 90, 90, 90])
    assert starts["agr"] == starts["name"]  # .agr amounts default to timing 100 %
    # An .rgt has no base: 1/16 by default, where 5/8 beat is slot 3 (tick 72 - 12 = 60) and
    # the note at 50 (slot 2, empty) stays.
    assert starts["rgt"][0] == [0, 50, 96, 140]


def test_cli_extract_from_midi_with_tracks_channels_bars(store, tmp_path, capsys):
    from engine.build import add_track, new_song
    from engine.model.notes import make_notes
    from engine.smf import save_song

    ppq = 96
    song = new_song(ppq=ppq)
    # Track 1, channel 10: bars 1-2 with the off-beat 1/8 late by 6 and 10 ticks (median 8),
    # velocities 100/80 on the beat; bar 3 is something else entirely.
    starts = [0, 54, 96, 154, 384, 442, 480, 538, 768 + 20]
    vels = [100, 60, 100, 60, 80, 70, 80, 70, 127]
    add_track(song, make_notes(starts, [s + 20 for s in starts], 42, vels, channels=9))
    add_track(song, make_notes([30, 130], [40, 140], 60, 90, channels=0))  # another track
    src = tmp_path / "take.mid"
    save_song(song, src)
    out = tmp_path / "g.json"
    argv = ["groove", "extract", str(src), "-o", str(out), "--base", "1/8", "--length", "2",
            "--tracks", "2", "--channels", "10", "--bars", "1-2", "--name", "Take feel"]  # fmt: skip
    assert main(argv) == 0
    doc = json.loads(out.read_text())
    assert doc["name"] == "Take feel" and doc["base"] == "1/8" and doc["length"] == 2
    # Repetitions of 2 beats from tick 0: slot 1 has 54 (48+6) and 442 (432+10) → median 8
    # ticks; slot 3 has 154 and 538, both +10; slots 0/2 on the beat, velocity mean 90.
    got = GrooveTemplate("g", "1/8", 2, tuple(doc["points"]))
    assert [(p.beat * ppq, p.velocity, p.length * ppq) for p in got.points] == [
        (0, 90, 20), (56, 65, 20), (96, 90, 20), (154, 65, 20)
    ]  # fmt: skip
    assert main(argv) == 2 and "exists; use --force" in capsys.readouterr().err
    assert main([*argv[:-2], "--force", "--tracks", "3"]) == 2
    assert "no notes" in capsys.readouterr().err


@pytest.mark.parametrize("bad", ["a\nb", "   ", "x" * 65, "tab\there"])
def test_unusable_names_are_refused(store, tmp_path, capsys, bad):
    src = tmp_path / "g.json"
    groove_store.save_user_groove(T)
    assert main(["groove", "export", "Late Two", "-o", str(src)]) == 0
    capsys.readouterr()
    assert main(["groove", "import", str(src), "--as", bad]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "--as:" in err, err
    assert sorted(p.name for p in store.iterdir()) == ["Late Two.json"]


def test_agr_amounts_are_defaults_that_options_override(store, tmp_path):
    import argparse

    from app.quantize_options import add_quantize_options, settings_from_args
    from engine.presets import AgrAmounts, groove_file_bytes

    agr = tmp_path / "pool.agr"
    agr.write_bytes(groove_file_bytes(T, "agr", AgrAmounts(timing=50, quantization=20, random=25, velocity=-30)))
    parser = argparse.ArgumentParser()
    add_quantize_options(parser)
    s = settings_from_args(parser.parse_args(["--groove", str(agr)]))
    assert (s.strength, s.pre_quantize, s.groove_velocity, s.humanize_ms) == (50, 20, -30, 5)
    s = settings_from_args(parser.parse_args(["--groove", str(agr), "--strength", "100", "--humanize-ms", "0"]))
    assert (s.strength, s.pre_quantize, s.humanize_ms) == (100, 20, 0)
    assert [p.beat for p in s.groove.points] == [p.beat for p in T.points]
    assert s.groove.name == "pool"
