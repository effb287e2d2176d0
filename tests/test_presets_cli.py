"""``quanta presets …`` end to end: output, exit codes, one-line errors, sharing between users."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app import paths
from app.cli import main
from engine.presets.preset_format import preset_from_text, preset_to_json, read_preset_file
from engine.quantize.settings import QuantizeSettings
from tests import procs

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def user_dir(tmp_path, monkeypatch):
    folder = tmp_path / "user"
    monkeypatch.setenv(paths.PRESET_DIR_ENV, str(folder))
    return folder


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_shows_factory_presets_with_source_and_description(user_dir, capsys):
    code, out, err = run(capsys, "presets", "list")
    assert code == 0 and err == ""
    line = next(x for x in out.splitlines() if x.startswith("Tighten, Keep Feel "))
    assert "factory" in line and "60 %" in line


def test_list_json_is_machine_readable_and_flags_shadowing(user_dir, capsys):
    assert run(capsys, "presets", "import", _text("Swing 1/8 66", swing=58))[0] == 0
    code, out, _ = run(capsys, "presets", "list", "--json")
    rows = json.loads(out)
    assert code == 0
    mine = [r for r in rows if r["name"] == "Swing 1/8 66"]
    assert [(r["source"], r["shadowed"], r["shadows_factory"]) for r in mine] == [
        ("factory", True, False),
        ("user", False, True),
    ]
    assert mine[1]["settings"]["swing"] == 58 and mine[0]["settings"]["swing"] == 66
    code, out, _ = run(capsys, "presets", "list")
    assert "factory (hidden by user)" in out and "user (shadows factory)" in out


def test_list_warns_about_a_bad_user_file_and_still_lists(user_dir, capsys):
    user_dir.mkdir()
    (user_dir / "broken.json").write_text("{")
    code, out, err = run(capsys, "presets", "list")
    assert code == 0 and "Straight 1/16" in out
    assert err.startswith("quanta: warning: skipped user preset broken.json: is not valid JSON")


def test_show_prints_words_json_and_text(user_dir, capsys):
    code, out, _ = run(capsys, "presets", "show", "swing 1/16 58")
    assert code == 0
    assert "Swing: 58 % (off-beats pushed later, like Logic's Swing C)" in out
    body = out.split("JSON:\n", 1)[1].split("\n\nText form:\n")
    doc = json.loads(body[0])
    assert doc["settings"]["swing"] == 58 and doc["settings"]["grid"] == "1/16"
    assert preset_from_text(body[1]).settings == QuantizeSettings(swing=58)


def test_unknown_preset_is_one_line_exit_2(user_dir, capsys):
    code, out, err = run(capsys, "presets", "show", "Nope")
    assert code == 2 and out == ""
    assert err == (
        "quanta: error: no preset named 'Nope' and no such file; "
        "`quanta presets list` shows the presets\n"
    )


def _text(name: str, **settings) -> str:
    from engine.presets.preset_format import Preset, preset_to_text

    return preset_to_text(Preset(name, QuantizeSettings(**settings), "shared"))


def test_validate_exit_codes_and_reasons(user_dir, tmp_path, capsys):
    good = tmp_path / "good.json"
    code, _, _ = run(capsys, "presets", "export", "Triplet 1/8", "-o", str(good))
    assert code == 0 and read_preset_file(good).settings.grid_type == "triplet"
    bad = tmp_path / "bad.json"
    bad.write_text(good.read_text().replace('"swing": 50', '"swing": 58'))
    code, out, err = run(capsys, "presets", "validate", str(good))
    assert (code, out, err) == (0, f"{good}: ok ('Triplet 1/8')\n", "")
    code, out, err = run(capsys, "presets", "validate", str(good), str(bad), "missing.json")
    assert code == 2
    assert f"{good}: ok" in out
    lines = err.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("quanta: invalid: bad.json: settings.swing: swing 58 % needs a")
    assert "missing.json: no such preset file" in lines[1]


def test_export_text_then_import_it(user_dir, capsys):
    code, out, _ = run(capsys, "presets", "export", "Tighten, Keep Feel", "--text")
    assert code == 0 and out.startswith("quanta-preset:v1 ")
    code, out, err = run(capsys, "presets", "import", out.strip(), "--as", "My Feel")
    assert code == 0, err
    assert "imported 'My Feel'" in out
    assert read_preset_file(user_dir / "My Feel.json").settings == QuantizeSettings(
        strength=60, exclude_within=10
    )


def test_import_refuses_overwrite_without_force(user_dir, capsys):
    assert run(capsys, "presets", "import", _text("Mine", swing=54))[0] == 0
    code, _, err = run(capsys, "presets", "import", _text("mine", swing=71))
    assert code == 2 and "already exists" in err and "--force" in err
    assert read_preset_file(user_dir / "Mine.json").settings.swing == 54
    assert run(capsys, "presets", "import", _text("mine", swing=71), "--force")[0] == 0
    assert read_preset_file(user_dir / "Mine.json").settings.swing == 71


def test_delete(user_dir, capsys):
    run(capsys, "presets", "import", _text("Gone Soon"))
    code, out, _ = run(capsys, "presets", "delete", "gone soon")
    assert code == 0 and "deleted user preset" in out
    assert list(user_dir.iterdir()) == []
    code, _, err = run(capsys, "presets", "delete", "Straight 1/8")
    assert code == 2 and "factory presets cannot be deleted" in err


def test_export_needs_a_target(user_dir, capsys):
    code, _, err = run(capsys, "presets", "export", "Straight 1/8")
    assert code == 2 and "needs -o FILE.json or --text" in err


def test_save_from_quantize_options(user_dir, capsys):
    pytest.importorskip("app.quantize_options")
    code, out, err = run(
        capsys, "presets", "save", "Saved", "--description", "from options", "--grid", "1/8"
    )
    assert code == 0, err
    saved = read_preset_file(user_dir / "Saved.json")
    assert (saved.description, saved.settings.division) == ("from options", 8)
    code, _, err = run(capsys, "presets", "save", "Saved", "--grid", "1/8")
    assert code == 2 and "--force" in err


def test_two_users_trade_a_file_through_the_real_command(tmp_path):
    """Two `quanta` processes with separate preset folders, like two machines."""

    def quanta(user: str, *argv) -> subprocess.CompletedProcess:
        env = dict(os.environ, QUANTA_PRESET_DIR=str(tmp_path / user), PYTHONPATH=str(ROOT))
        return procs.run(
            [sys.executable, "-m", "app.cli", *argv],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )

    alice_text = _text('Alice\'s "Bounce"', swing=61.5, strength=80)
    assert quanta("alice", "presets", "import", alice_text).returncode == 0
    sent = tmp_path / "bounce.json"
    r = quanta("alice", "presets", "export", 'alice\'s "bounce"', "-o", str(sent))
    assert r.returncode == 0, r.stderr
    r = quanta("bob", "presets", "import", str(sent))
    assert r.returncode == 0, r.stderr
    r = quanta("bob", "presets", "list", "--json")
    bob_user = [row for row in json.loads(r.stdout) if row["source"] == "user"]
    assert [row["name"] for row in bob_user] == ['Alice\'s "Bounce"']
    assert bob_user[0]["settings"]["swing"] == 61.5 and bob_user[0]["settings"]["strength"] == 80
    r = quanta("bob", "presets", "import", str(sent))
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "already exists" in r.stderr
    assert "Traceback" not in r.stderr
    alice_file = next((tmp_path / "alice").iterdir())
    bob_file = next((tmp_path / "bob").iterdir())
    assert alice_file.read_text() == bob_file.read_text() == sent.read_text()


def test_a_tampered_shared_file_is_refused(tmp_path, user_dir, capsys):
    from engine.presets.preset_format import Preset

    shared = tmp_path / "evil.json"
    doc = json.loads(preset_to_json(Preset("Evil", QuantizeSettings(), "")))
    doc["settings"]["run"] = "rm -rf /"
    shared.write_text(json.dumps(doc))
    code, _, err = run(capsys, "presets", "import", str(shared))
    assert code == 2 and err.startswith("quanta: error: evil.json: settings.run: unknown field")
    assert not user_dir.exists()


# -- quanta quantize --preset --------------------------------------------------------------------
def _write_take(path: Path, starts: list[int]) -> None:
    import mido

    mid = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    now = 0
    for start in starts:  # 60-tick notes, never overlapping
        track.append(mido.Message("note_on", note=60, velocity=100, time=start - now))
        track.append(mido.Message("note_off", note=60, velocity=0, time=60))
        now = start + 60
    mid.save(path)


def _note_on_ticks(path: Path) -> list[int]:
    import mido

    ticks, now = [], 0
    for msg in mido.MidiFile(path).tracks[-1]:
        now += msg.time
        if msg.type == "note_on" and msg.velocity:
            ticks.append(now)
    return ticks


@pytest.mark.parametrize(
    "preset_arg,extra,expected",
    [
        # 1/16 at 480 PPQ: G = 120; swing 58 puts the odd points at 2*120*0.58 = 139.2 → 139
        ("Swing 1/16 58", [], [0, 139, 240, 379]),
        # --strength overrides the preset: half way from the played tick, rounded half up
        ("Swing 1/16 58", ["--strength", "50"], [5, 135, 245, 375]),
        ("FILE", [], [0, 139, 240, 379]),
        ("TEXT", [], [0, 139, 240, 379]),
    ],
)
def test_quantize_with_a_preset(user_dir, tmp_path, capsys, preset_arg, extra, expected):
    pytest.importorskip("app.commands.quantize")
    take, out = tmp_path / "take.mid", tmp_path / "out.mid"
    _write_take(take, [10, 130, 250, 370])
    if preset_arg == "FILE":
        preset_arg = str(tmp_path / "swing.json")
        assert run(capsys, "presets", "export", "Swing 1/16 58", "-o", preset_arg)[0] == 0
    elif preset_arg == "TEXT":
        preset_arg = _text("Pasted 58", swing=58)
    code, _, err = run(
        capsys, "quantize", str(take), "-o", str(out), "--preset", preset_arg, *extra
    )
    assert code == 0, err
    assert _note_on_ticks(out) == expected


def test_quantize_with_a_bad_preset_is_one_line(user_dir, tmp_path, capsys):
    pytest.importorskip("app.commands.quantize")
    take = tmp_path / "take.mid"
    _write_take(take, [10])
    code, _, err = run(
        capsys, "quantize", str(take), "-o", str(tmp_path / "o.mid"), "--preset", "Nope"
    )
    assert code == 2 and err.count("\n") == 1 and "no preset named 'Nope'" in err
    assert not (tmp_path / "o.mid").exists()


def test_save_from_another_preset_with_an_override(user_dir, capsys):
    pytest.importorskip("app.quantize_options")
    code, _, err = run(
        capsys, "presets", "save", "Softer 58", "--preset", "Swing 1/16 58", "--strength", "75"
    )
    assert code == 0, err
    assert read_preset_file(user_dir / "Softer 58.json").settings == QuantizeSettings(
        swing=58, strength=75
    )


class _Stdin:
    def __init__(self, data: bytes):
        import io

        self.buffer = io.BytesIO(data)


@pytest.mark.parametrize("kind", ["text", "json"])
def test_import_from_standard_input(user_dir, capsys, monkeypatch, kind):
    """`presets import -` takes a paste without any shell quoting (names with ' and ")."""
    from engine.presets.preset_format import Preset

    preset = Preset('It\'s "ours"', QuantizeSettings(division=8, swing=66), "piped")
    data = _text(preset.name, division=8, swing=66) if kind == "text" else preset_to_json(preset)
    monkeypatch.setattr(sys, "stdin", _Stdin(data.encode() + b"\n"))
    code, out, err = run(capsys, "presets", "import", "-")
    assert code == 0, err
    assert load_user(user_dir, preset.name).settings == preset.settings
    monkeypatch.setattr(sys, "stdin", _Stdin(b"{"))
    code, _, err = run(capsys, "presets", "import", "-")
    assert code == 2 and err.startswith("quanta: error: stdin: is not valid JSON")


def load_user(folder: Path, name: str):
    from engine.presets.preset_format import same_name

    found = [read_preset_file(p) for p in folder.iterdir()]
    return next(p for p in found if same_name(p.name, name))
