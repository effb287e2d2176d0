"""The preset file format: shipped schema, factory presets, strict field-named rejections, text form."""

from __future__ import annotations

import json
import os
from importlib import resources

import jsonschema
import pytest

from app.preset_store import factory_presets
from engine.errors import PresetError
from engine.presets import preset_format as pf
from engine.presets.preset_format import (
    MAX_PRESET_BYTES,
    Preset,
    PresetFieldError,
    preset_filename,
    preset_from_document,
    preset_from_json,
    preset_from_text,
    preset_to_json,
    preset_to_text,
    read_preset_file,
)
from engine.quantize.settings import QuantizeSettings


def factory_files():
    folder = resources.files("presets")
    return sorted(
        p for p in folder.iterdir() if p.name.endswith(".json") and "schema" not in p.name
    )


def good_doc(**settings) -> dict:
    return {
        "format": "quanta-preset",
        "version": 1,
        "name": "Test",
        "description": "A test preset",
        "settings": dict(settings),
    }


# -- schema and factory presets ----------------------------------------------------------------
def test_shipped_schema_is_a_valid_json_schema():
    jsonschema.Draft202012Validator.check_schema(pf.schema())


def test_v1_defaults_match_the_settings_defaults():
    """If QuantizeSettings' defaults change, version-1 files must keep their meaning: this fails
    and says a format version bump with an upgrade step is needed."""
    assert QuantizeSettings.from_dict(pf.V1_DEFAULTS) == QuantizeSettings()
    assert QuantizeSettings.from_dict(pf.V1_DEFAULTS | pf.V2_DEFAULTS) == QuantizeSettings()
    assert set(pf.V1_DEFAULTS) | set(pf.V2_DEFAULTS) == set(QuantizeSettings().to_dict())


@pytest.mark.parametrize("path", factory_files(), ids=lambda p: p.name)
def test_factory_file_validates_against_the_schema_and_round_trips(path, tmp_path):
    raw = json.loads(path.read_text("utf-8"))
    jsonschema.validate(raw, pf.schema())  # the schema alone accepts it
    first = preset_from_json(path.read_bytes(), path.name)
    again_file = tmp_path / "again.json"
    again_file.write_text(preset_to_json(first), "utf-8")
    second = read_preset_file(again_file)
    assert second.settings == first.settings
    assert (second.name, second.description, second.author, second.tags) == (
        first.name,
        first.description,
        first.author,
        first.tags,
    )
    assert preset_from_text(preset_to_text(first)).settings == first.settings
    assert json.loads(preset_to_json(first)) == raw  # the shipped file is in canonical form


def test_factory_presets_cover_the_musical_basics():
    presets = {p.name: p.settings for p in factory_presets()}
    assert len(presets) >= 12
    assert len(presets) == len(factory_files())  # none skipped, names unique
    for div in (8, 16, 32):
        full, soft = presets[f"Straight 1/{div}"], presets[f"Straight 1/{div} Soft"]
        assert (full.division, full.strength, soft.division) == (div, 100, div)
        assert 0 < soft.strength < 100
    for div in (8, 16):
        t = presets[f"Triplet 1/{div}"]
        assert (t.division, t.grid_type, t.swing) == (div, "triplet", 50)
        for swing in (54, 58, 62, 66, 71):
            s = presets[f"Swing 1/{div} {swing}"]
            assert (s.division, s.grid_type, s.swing) == (div, "straight", swing)
    feel = presets["Tighten, Keep Feel"]
    assert (feel.strength, feel.exclude_within) == (60, 10)
    assert {presets[n].ends for n in ("Clean Ends 1/16", "Tidy Lengths 1/16", "Legato 1/16")} == {
        "quantize-ends",
        "quantize-lengths",
        "keep-ends",
    }


def test_factory_descriptions_are_one_line():
    for p in factory_presets():
        assert p.description and "\n" not in p.description and len(p.description) <= 100, p.name


# -- missing keys take the version-1 defaults ----------------------------------------------------
def test_a_short_preset_means_grid_plus_defaults():
    """A shared "swing 58 on 1/16" preset need not spell out every other setting."""
    preset = preset_from_document(good_doc(grid="1/16", swing=58))
    assert preset.settings == QuantizeSettings(division=16, swing=58)
    assert preset_from_document(good_doc()).settings == QuantizeSettings()


def test_optional_author_and_tags():
    doc = good_doc(grid="1/8") | {"author": "Ana", "tags": ["swing", "mpc"]}
    preset = preset_from_document(doc)
    assert (preset.author, preset.tags) == ("Ana", ("swing", "mpc"))
    out = json.loads(preset_to_json(preset))
    assert out["author"] == "Ana" and out["tags"] == ["swing", "mpc"]
    assert "author" not in json.loads(preset_to_json(preset.replace(author=None)))


# -- table-driven rejections ---------------------------------------------------------------------
def _with(path: str, value):
    doc = good_doc(grid="1/16")
    target = doc
    *parents, last = path.split(".")
    for key in parents:
        target = target[key]
    if value is DELETE:
        del target[last]
    else:
        target[last] = value
    return doc


DELETE = object()

BAD = [
    # (what to change, value, field the message must name, words it must contain)
    ("colour", "red", "colour", ["unknown field", "settings"]),
    ("settings.swnig", 58, "settings.swnig", ["unknown field", "swing"]),
    ("settings.strength", "high", "settings.strength", ['"high"', "0–100"]),
    ("settings.strength", True, "settings.strength", ["true", "0–100"]),
    ("settings.strength", 101, "settings.strength", ["101", "0–100"]),
    ("settings.swing", 80, "settings.swing", ["80", "50–75"]),
    ("settings.swing", 49.5, "settings.swing", ["49.5", "50–75"]),
    ("settings.exclude_within", 60, "settings.exclude_within", ["60", "0–50"]),
    ("settings.catch_within", -1, "settings.catch_within", ["-1", "0–100"]),
    ("settings.offset", 1.5, "settings.offset", ["1.5", "whole number"]),
    ("settings.offset", 2**40, "settings.offset", [str(2**40)]),
    ("settings.grid", "1/3", "settings.grid", ['"1/3"', "1/128"]),
    ("settings.grid", 16, "settings.grid", ["16", "1/16"]),
    ("settings.grid_type", "quintuplet", "settings.grid_type", ["quintuplet", "triplet"]),
    ("settings.ends", "trim", "settings.ends", ['"trim"', "keep-length"]),
    ("settings.length_grid", "1/3", "settings.length_grid", ['"1/3"', "1/8T"]),
    ("settings.tuplet", "5:4", "settings.tuplet", ["tuplet", "straight"]),
    ("settings.tuplet", "5-4", "settings.tuplet", ['"5-4"', "n:m"]),
    ("settings", [], "settings", ["is a list", "allowed: an object"]),
    ("version", 3, "version", ["3", "newer", "update Quanta"]),
    ("version", 0, "version", ["0", "1–2"]),
    ("version", "1", "version", ['"1"', "whole number"]),
    ("version", DELETE, "version", ["missing"]),
    ("format", "ableton-preset", "format", ['"ableton-preset"', "quanta-preset"]),
    ("format", DELETE, "format", ["missing"]),
    ("name", DELETE, "name", ["missing"]),
    ("name", "", "name", ["empty"]),
    ("name", "   ", "name", ["visible"]),
    ("name", "a\nb", "name", ["control"]),
    ("name", "x" * 65, "name", ["65", "64"]),
    ("name", 7, "name", ["7", "allowed: text"]),
    ("description", DELETE, "description", ["missing"]),
    ("description", "two\nlines", "description", ["one line"]),
    ("description", "d" * 201, "description", ["201", "200"]),
    ("author", None, "author", ["null", "allowed: text"]),
    ("tags", "swing", "tags", ['"swing"', "allowed: a list"]),
    ("tags", ["two words"], "tags[0]", ['"two words"', "one word"]),
    ("tags", ["a", "a"], "tags", ["same tag twice"]),
    ("tags", [str(i) for i in range(17)], "tags", ["17", "16"]),
]


@pytest.mark.parametrize("path,value,field,words", BAD, ids=[f"{b[0]}={b[1]!r:.20}" for b in BAD])
def test_bad_preset_is_rejected_naming_the_field(path, value, field, words):
    with pytest.raises(PresetFieldError) as info:
        preset_from_json(json.dumps(_with(path, value)), "bad.json")
    message = str(info.value)
    assert info.value.field == field
    assert message.startswith(f"bad.json: {field}: ")
    assert "\n" not in message
    for word in words:
        assert word in message


CROSS = [
    # rules the schema cannot express; QuantizeSettings catches them and we name the field
    ({"grid_type": "triplet", "swing": 58}, "settings.swing", ["58", "straight"]),
    ({"grid_type": "dotted", "swing": 62}, "settings.swing", ["62", "dotted"]),
    ({"grid_type": "tuplet"}, "settings.tuplet", ["n:m"]),
    ({"grid_type": "tuplet", "tuplet": "5:99"}, "settings.tuplet", ['"5:99"', "1–64"]),
]


@pytest.mark.parametrize("settings,field,words", CROSS, ids=[c[1] for c in CROSS])
def test_inconsistent_settings_are_rejected_naming_the_field(settings, field, words):
    with pytest.raises(PresetFieldError) as info:
        preset_from_document(good_doc(**settings), "x.json")
    assert info.value.field == field
    for word in words:
        assert word in str(info.value)


def test_whole_numbers_written_as_floats_are_whole_numbers():
    """JSON (and JSON Schema) do not tell 1 from 1.0; other tools may write either."""
    preset = preset_from_document(good_doc(offset=-240.0) | {"version": 1.0})
    assert preset.settings.offset == -240 and isinstance(preset.settings.offset, int)


def test_a_tuplet_grid_loads():
    preset = preset_from_document(good_doc(grid="1/8", grid_type="tuplet", tuplet="5:4"))
    assert preset.settings.tuplet == (5, 4)
    assert json.loads(preset_to_json(preset))["settings"]["tuplet"] == "5:4"


@pytest.mark.parametrize(
    "raw,words",
    [
        (b'{"format": "quanta-preset", "format": "quanta-preset"}', ["format", "twice"]),
        (b'{"format": ', ["not valid JSON", "line 1"]),
        (b"\xff\xfe{}", ["not UTF-8"]),
        (json.dumps(good_doc()).replace("{}", '{"swing": NaN}').encode(), ["NaN"]),
        (b"[" * 30_000 + b"]" * 30_000, ["nested too deeply"]),  # no RecursionError
        (b"42", ["number", "not a preset object"]),
    ],
)
def test_broken_json_gives_one_clean_line(raw, words):
    with pytest.raises(PresetError) as info:
        preset_from_json(raw, "broken.json")
    assert "\n" not in str(info.value) and str(info.value).startswith("broken.json")
    for word in words:
        assert word in str(info.value)


def test_a_bom_from_windows_notepad_is_accepted():
    assert preset_from_json(b"\xef\xbb\xbf" + json.dumps(good_doc()).encode()).name == "Test"


# -- untrusted files -----------------------------------------------------------------------------
def test_oversize_file_is_refused_before_parsing(tmp_path):
    """A valid preset padded past 64 KiB is refused by size alone; at exactly 64 KiB it loads."""
    body = json.dumps(good_doc(swing=58))
    ok = tmp_path / "ok.json"
    ok.write_text(body + " " * (MAX_PRESET_BYTES - len(body)))
    assert ok.stat().st_size == MAX_PRESET_BYTES
    assert read_preset_file(ok).settings.swing == 58
    big = tmp_path / "big.json"
    big.write_text(body + " " * (MAX_PRESET_BYTES - len(body) + 1))
    with pytest.raises(PresetError, match="65537 bytes; a preset is at most 65536"):
        read_preset_file(big)


def test_a_fifo_is_refused_without_hanging(tmp_path):
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    with pytest.raises(PresetError, match="not a regular file"):
        read_preset_file(fifo)


def test_missing_file_and_folder_are_clean_errors(tmp_path):
    with pytest.raises(PresetError, match="no such preset file"):
        read_preset_file(tmp_path / "nope.json")
    with pytest.raises(PresetError, match="not a regular file"):
        read_preset_file(tmp_path)


@pytest.mark.parametrize(
    "name,expected",
    [
        ("Swing 1/16 58", "Swing 1-16 58.json"),
        ("../../etc/passwd", "-.-etc-passwd.json"),
        ("..", "preset.json"),
        ("...hidden", "hidden.json"),
        ("a\\b:c*d?e", "a-b-c-d-e.json"),
        ("tab\there\x00nul", "tab herenul.json"),
        ("CON", "_CON.json"),
        ("nul.txt", "_nul.txt.json"),
        ("x" * 200, "x" * 64 + ".json"),
        ("\U0001f941" * 64, "\U0001f941" * 50 + ".json"),  # 4-byte drums: capped at 200 bytes
        ("Gänsefüßchen „swing“", "Gänsefüßchen „swing“.json"),
    ],
)
def test_names_are_sanitised_before_they_become_file_names(name, expected):
    assert preset_filename(name) == expected


# -- upgrade -------------------------------------------------------------------------------------
def test_older_versions_are_upgraded_step_by_step(monkeypatch):
    """Version 1 is the first format, so the chain is exercised with two made-up steps."""
    monkeypatch.setattr(pf, "VERSION", 3)
    steps = []

    def v1_to_v2(doc):
        steps.append(1)
        return doc | {"renamed": doc.pop("old")}

    def v2_to_v3(doc):
        steps.append(2)
        return doc | {"added": True}

    monkeypatch.setattr(pf, "UPGRADES", {1: v1_to_v2, 2: v2_to_v3})
    out = pf.upgrade_document({"version": 1, "old": 5})
    assert out == {"version": 3, "renamed": 5, "added": True} and steps == [1, 2]
    assert pf.upgrade_document({"version": 2, "renamed": 5}) == {
        "version": 3,
        "renamed": 5,
        "added": True,
    }
    with pytest.raises(PresetFieldError, match="4 is newer than this Quanta understands"):
        pf.upgrade_document({"version": 4})


# -- text form -----------------------------------------------------------------------------------
ODD_NAMES = [
    'MPC "58"',
    "back\\slash",
    "Gänsefüßchen „swing“ ‘x’",
    "a=b c=d",
    "null",
    "quanta-preset:v1",
    "  spaced  out  ",
    "1/16",
]


@pytest.mark.parametrize("name", ODD_NAMES)
def test_text_form_keeps_odd_names_exactly(name):
    preset = Preset(name, QuantizeSettings(division=8, swing=62.5), 'desc with "quotes" and \' ')
    text = preset_to_text(preset)
    assert "\n" not in text
    back = preset_from_text(text)
    assert (back.name, back.description, back.settings) == (
        name,
        preset.description,
        preset.settings,
    )


def test_text_form_is_readable_and_short():
    preset = Preset("MPC 58", QuantizeSettings(swing=58), "Classic")
    assert preset_to_text(preset) == (
        'quanta-preset:v1 name="MPC 58" description=Classic grid=1/16 swing=58'
    )


def test_text_form_survives_forum_smart_quotes_and_line_wrapping():
    pasted = (
        "  quanta-preset:v1 name=\u201cMPC 58\u201d description=\u201cA classic\n   16th swing\u201d\n"
        "grid=1/16\n swing=58 strength=80 \n"
    )
    preset = preset_from_text(pasted)
    assert preset.name == "MPC 58" and preset.description == "A classic 16th swing"
    assert preset.settings == QuantizeSettings(swing=58, strength=80)


def test_text_form_nulls_and_tags():
    text = "quanta-preset:v1 name=n description=d tag=a tag=b grid=1/8 catch_within=null"
    preset = preset_from_text(text)
    assert preset.tags == ("a", "b") and preset.settings.catch_within is None


@pytest.mark.parametrize(
    "text,field,words",
    [
        ("quanta-preset:v1 name=x description=d swnig=58", "swnig", ["unknown field"]),
        ("quanta-preset:v1 name=x description=d swing=fast", "settings.swing", ['"fast"']),
        ("quanta-preset:v1 name=x description=d swing=80", "settings.swing", ["50–75"]),
        ("quanta-preset:v1 name=x description=d swing=nan", "settings.swing", ['"nan"']),
        ("quanta-preset:v1 name=x name=y description=d", "name", ["twice"]),
        ("quanta-preset:v1 name=x", "description", ["missing"]),
        ('quanta-preset:v1 name="x description=d', "name", ["never ends"]),
        ("quanta-preset:v3 name=x description=d", "version", ["newer"]),
        ("quanta-preset:v1 name=x description=d grid_type=triplet swing=58", "settings.swing", []),
        ("quanta-preset:v1 name=x description=d oops", "", ["key=value", "oops"]),
        ("quanta-preset:vX name=x", "", ["quanta-preset:v1"]),
    ],
)
def test_bad_text_form_is_rejected_naming_the_field(text, field, words):
    with pytest.raises(PresetFieldError) as info:
        preset_from_text(text, origin="pasted")
    assert info.value.field == field
    for word in words:
        assert word in str(info.value)


def test_describe_settings_in_words():
    lines = pf.describe_settings(QuantizeSettings(division=16, swing=58, exclude_within=10))
    text = "\n".join(lines)
    assert "Grid: 1/16 straight" in text
    assert "58 %" in text and "Logic's Swing C" in text
    assert "within 10 % of a grid step stay put" in text
    tuplet = "\n".join(pf.describe_settings(QuantizeSettings(grid_type="tuplet", tuplet=(5, 4))))
    assert "5 notes in the time of 4" in tuplet
