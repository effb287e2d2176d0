"""Presets version 2 (QUANTIZE_SPEC part 2): new fields, groove null/name/embedded, version-1
files unchanged, and a preset without the new fields saved as version 1."""

from __future__ import annotations

import json

import jsonschema
import pytest

from engine.presets import preset_format as pf
from engine.presets.preset_format import (
    Preset,
    PresetFieldError,
    preset_from_document,
    preset_from_json,
    preset_from_text,
    preset_to_document,
    preset_to_json,
    preset_to_text,
)
from engine.quantize.groove_template import GrooveTemplate
from engine.quantize.settings import QuantizeSettings as S

G = GrooveTemplate(
    "Laid back 16",
    "1/16",
    4,
    ({"beat": 0, "velocity": 110}, {"beat": 1.02, "velocity": 90.5, "length": 0.2}),
    "snare 10 ms late at 120 BPM",
)


def doc(version, **settings):
    return {
        "format": "quanta-preset",
        "version": version,
        "name": "T",
        "description": "d",
        "settings": settings,
    }


def test_v1_file_loads_unchanged_with_everything_new_off():
    p = preset_from_document(doc(1, grid="1/8", swing=58), "a.json")
    assert p.settings == S(division=8, swing=58)
    assert not p.settings.uses_part2


def test_v1_file_may_not_use_v2_fields():
    with pytest.raises(PresetFieldError) as e:
        preset_from_document(doc(1, humanize_ms=5), "a.json")
    assert e.value.field == "settings.humanize_ms"
    assert "version 2" in str(e.value)


def test_preset_without_new_fields_saves_as_version_1():
    d = preset_to_document(Preset("P", S(swing=62)))
    assert d["version"] == 1
    assert set(d["settings"]) == set(pf.V1_DEFAULTS)
    assert preset_to_text(Preset("P", S(swing=62))).startswith("quanta-preset:v1 ")


@pytest.mark.parametrize(
    "settings",
    [
        S(humanize_ms=7.5, humanize_velocity=4, humanize_noise="white", humanize_seed=2**40),
        S(flam=-12, controllers="follow"),
        S(groove="MPC 58", pre_quantize=20, groove_velocity=-30, groove_length=50),
        S(groove=G, strength=80),
    ],
)
def test_v2_round_trips_through_file_and_text(settings):
    p = Preset("V2", settings, "d")
    d = json.loads(preset_to_json(p))
    assert d["version"] == 2
    assert set(d["settings"]) == set(pf.SETTINGS_KEYS)
    jsonschema.Draft202012Validator(pf.schema()).validate(d)
    assert preset_from_json(preset_to_json(p)).settings == settings
    text = preset_to_text(p)
    assert text.startswith("quanta-preset:v2 ") and "\n" not in text
    assert preset_from_text(text).settings == settings


def test_embedded_groove_is_the_full_document():
    d = preset_to_document(Preset("E", S(groove=G)))
    assert d["settings"]["groove"] == G.to_document()
    assert preset_from_document(d).settings.groove == G


@pytest.mark.parametrize(
    "groove, field, words",
    [
        ({**G.to_document(), "points": [{"beat": 0.2}, {"beat": 0.3}]}, "settings.groove.points", "0.2 and 0.3"),
        ({**G.to_document(), "points": [{"beat": 9}]}, "settings.groove.points[0].beat", "outside"),
        ({**G.to_document(), "base": "1/64"}, "settings.groove.base", "1/64"),
        ({**G.to_document(), "format": "x"}, "settings.groove.format", "quanta-groove"),
        ({**G.to_document(), "bad": 1}, "settings.groove.bad", "unknown"),
        ("", "settings.groove", "empty"),
        (5, "settings.groove", "5"),
    ],
)  # fmt: skip
def test_bad_groove_is_rejected_naming_the_path(groove, field, words):
    with pytest.raises(PresetFieldError) as e:
        preset_from_document(doc(2, groove=groove), "g.json")
    assert e.value.field == field
    assert words in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize(
    "key, value, words",
    [
        ("pre_quantize", 101, "0–100"),
        ("groove_velocity", -101, "-100–100"),
        ("groove_length", -1, "0–100"),
        ("humanize_ms", 1001, "0–1000"),
        ("humanize_velocity", 128, "0–127"),
        ("humanize_noise", "brown", "pink, white"),
        ("humanize_seed", -1, "0–9223372036854775807"),
        ("flam", 1.5, "whole number"),
        ("controllers", "drag", "stay, follow"),
    ],
)
def test_v2_fields_out_of_range_name_field_and_range(key, value, words):
    with pytest.raises(PresetFieldError) as e:
        preset_from_document(doc(2, **{key: value}), "r.json")
    assert e.value.field == f"settings.{key}"
    assert words in str(e.value)


def test_settings_messages_name_field_and_range():
    from engine.errors import SettingsError

    for kw, words in [
        ({"pre_quantize": -1}, "pre_quantize: -1 is out of range; allowed 0–100 %"),
        ({"groove_velocity": 150}, "groove_velocity: 150 is out of range; allowed -100–100 %"),
        ({"humanize_ms": -2}, "humanize_ms: -2 is out of range; allowed 0–1000 ms"),
        ({"humanize_noise": "brown"}, "humanize_noise: 'brown'; allowed: pink, white"),
        ({"flam": 2.5}, "flam: 2.5 is not a whole number of ticks"),
        ({"controllers": "x"}, "controllers: 'x'; allowed: stay, follow"),
    ]:
        with pytest.raises(SettingsError) as e:
            S(**kw)
        assert str(e.value) == words


def test_settings_dict_can_leave_unused_part2_fields_out():
    assert set(S(swing=58).to_dict(True)) == set(pf.V1_DEFAULTS)
    d = S(flam=3).to_dict(True)
    assert d["flam"] == 3 and "groove" not in d
    assert S.from_dict(d) == S(flam=3)
    assert S.from_dict(S(groove=G).to_dict(True)) == S(groove=G)
