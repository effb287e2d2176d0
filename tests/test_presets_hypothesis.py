"""Property tests: the loader never crashes on any input, and valid presets always round-trip."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import PresetError
from engine.presets.preset_format import (
    SETTINGS_KEYS,
    V2_DEFAULTS,
    Preset,
    PresetFieldError,
    preset_filename,
    preset_from_document,
    preset_from_json,
    preset_from_text,
    preset_to_json,
    preset_to_text,
    read_preset_file,
    schema,
)
from engine.quantize.settings import DIVISIONS, ENDS_MODES, GRID_TYPES, QuantizeSettings

#: The shipped schema, as any other tool would use it.
SCHEMA = jsonschema.Draft202012Validator(schema())

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()  # NaN and infinities too, as a dict from code could hold them
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)

#: Values that are sometimes right: the loader must sort them out field by field.
NEAR = st.one_of(
    JSON,
    st.sampled_from(["1/16", "1/8T", "1/8.", "5:4", "0:4", "triplet", "tuplet", "keep-ends"]),
    st.integers(-5, 130),
    st.floats(-5, 130),
)


#: Plausible values per settings key (some still wrong together, e.g. swing on a triplet grid).
PLAUSIBLE = {
    "grid": st.sampled_from(["1/4", "1/8", "1/16", "1/32", "1/3", "1/16T"]),
    "grid_type": st.sampled_from(GRID_TYPES),
    "tuplet": st.sampled_from([None, "5:4", "3:2", "7:99", "0:4"]),
    "offset": st.integers(-1000, 1000) | st.sampled_from([2.0, 1.5]),
    "strength": st.floats(-1, 101, allow_nan=False),
    "swing": st.sampled_from([50, 54.5, 58, 75, 76]),
    "exclude_within": st.floats(0, 55, allow_nan=False),
    "catch_within": st.none() | st.floats(0, 100, allow_nan=False),
    "ends": st.sampled_from(ENDS_MODES + ("trim",)),
    "length_grid": st.sampled_from([None, "1/8", "1/8T", "1/8.", "1/3"]),
    "groove": st.sampled_from(
        [
            None,
            "MPC 58",
            "",
            {"format": "quanta-groove", "version": 1, "name": "g", "base": "1/16",
             "length": 1, "points": [{"beat": 0.3, "velocity": 90, "length": None}]},
            {"format": "quanta-groove", "version": 1, "name": "g", "base": "1/16",
             "length": 1, "points": [{"beat": 0.2}, {"beat": 0.3}]},
        ]
    ),  # fmt: skip
    "pre_quantize": st.floats(-1, 101, allow_nan=False),
    "groove_velocity": st.floats(-101, 101, allow_nan=False),
    "groove_length": st.floats(-1, 101, allow_nan=False),
    "humanize_ms": st.floats(-1, 1001, allow_nan=False),
    "humanize_velocity": st.floats(-1, 128, allow_nan=False),
    "humanize_noise": st.sampled_from(["pink", "white", "brown"]),
    "humanize_seed": st.integers(-1, 2**64),
    "flam": st.integers(-40000, 40000) | st.sampled_from([2.0, 1.5]),
    "controllers": st.sampled_from(["stay", "follow", "drag"]),
}


@st.composite
def near_documents(draw):
    """A plausible preset with up to two things broken (or nothing at all)."""
    keys = draw(st.lists(st.sampled_from(SETTINGS_KEYS), unique=True, max_size=10))
    doc = {
        "format": "quanta-preset",
        "version": 2 if set(keys) & set(V2_DEFAULTS) else draw(st.sampled_from([1, 2])),
        "name": draw(st.sampled_from(["Swing 58", "x", "Ünïcode “quoted”"])),
        "description": draw(st.sampled_from(["", "one line"])),
        "settings": {k: draw(PLAUSIBLE[k]) for k in keys},
    }
    for _ in range(draw(st.integers(0, 2))):
        nested = isinstance(doc.get("settings"), dict) and draw(st.booleans())
        where = doc["settings"] if nested else doc
        key = draw(st.sampled_from(sorted(where) + ["author", "tags", "swnig", "version"]))
        if draw(st.booleans()):
            where.pop(key, None)
        else:
            where[key] = draw(NEAR | st.text(max_size=70))
    return doc


def _loads_or_rejects_cleanly(load, *args) -> Preset | None:
    try:
        preset = load(*args)
    except PresetError as exc:
        assert str(exc) and "\n" not in str(exc)
        return None
    assert isinstance(preset, Preset) and isinstance(preset.settings, QuantizeSettings)
    return preset


@settings(max_examples=300, deadline=None)
@given(JSON)
def test_any_json_value_is_a_preset_or_a_clean_error(doc):
    _loads_or_rejects_cleanly(preset_from_document, doc, "random.json")


@settings(max_examples=500, deadline=None)
@given(near_documents())
def test_near_miss_documents_are_presets_or_clean_errors(doc):
    if _loads_or_rejects_cleanly(preset_from_document, doc, "near.json"):
        SCHEMA.validate(doc)  # other tools using the schema agree it is valid
    elif SCHEMA.is_valid(doc):
        # the schema cannot express cross-field rules; only those may reject a schema-valid file
        with pytest.raises(PresetFieldError) as info:
            preset_from_document(doc, "near.json")
        # (and a version-1 file using a version-2 field, and an embedded groove's own rules)
        field = info.value.field
        assert (
            field in ("settings.swing", "settings.tuplet")
            or field.startswith("settings.groove")
            or (doc.get("version") == 1 and field.split(".")[-1] in V2_DEFAULTS)
        ), str(info.value)
    try:
        raw = json.dumps(doc)
    except ValueError:
        return
    _loads_or_rejects_cleanly(preset_from_json, raw, "near.json")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_are_a_preset_or_a_clean_error(raw):
    _loads_or_rejects_cleanly(preset_from_json, raw, "bytes.json")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_pasted_text_is_a_preset_or_a_clean_error(tail):
    _loads_or_rejects_cleanly(preset_from_text, "quanta-preset:v1 " + tail)
    _loads_or_rejects_cleanly(preset_from_text, "quanta-preset:v1 name=x description=d " + tail)


# -- valid presets round-trip --------------------------------------------------------------------
#: Any character a name may hold, with the ones that are hard to quote drawn often.
VISIBLE = st.one_of(
    st.sampled_from(list('"\u201c\u201d\u201e\u2018\u2019\\ =/.\u2028\u00a0')),
    st.characters(blacklist_categories=("Cc", "Cs")),
)


@st.composite
def quantize_settings(draw) -> QuantizeSettings:
    grid_type = draw(st.sampled_from(GRID_TYPES))
    percent = st.floats(0, 100, allow_nan=False) | st.integers(0, 100)
    kw = {
        "division": draw(st.sampled_from(DIVISIONS)),
        "grid_type": grid_type,
        "offset": draw(st.integers(-(2**31), 2**31 - 1)),
        "strength": draw(percent),
        "exclude_within": draw(st.floats(0, 50, allow_nan=False)),
        "catch_within": draw(st.none() | percent),
        "ends": draw(st.sampled_from(ENDS_MODES)),
        "length_grid": draw(
            st.none()
            | st.builds(
                lambda n, s: f"1/{n}{s}",
                st.sampled_from(DIVISIONS),
                st.sampled_from(["", "T", "."]),
            )
        ),
    }
    if grid_type == "tuplet":
        kw["tuplet"] = (draw(st.integers(1, 64)), draw(st.integers(1, 64)))
    if grid_type == "straight":
        kw["swing"] = draw(st.floats(50, 75, allow_nan=False))
    return QuantizeSettings(**kw)


def visible_text(min_size: int = 0, max_size: int = 64):
    # lists-then-join keeps the bias above (st.text would merge it into one flat alphabet)
    return st.lists(VISIBLE, min_size=min_size, max_size=max_size).map("".join)


@st.composite
def presets(draw) -> Preset:
    return Preset(
        name=draw(visible_text(1, 64).filter(lambda s: s.strip())),
        settings=draw(quantize_settings()),
        description=draw(visible_text(0, 200)),
        author=draw(st.none() | visible_text(0, 64)),
        tags=tuple(
            draw(
                st.lists(st.from_regex(r"[\w.+-]{1,32}", fullmatch=True), max_size=16, unique=True)
            )
        ),
    )


def _same(a: Preset, b: Preset) -> None:
    assert (b.name, b.description, b.author, b.tags) == (a.name, a.description, a.author, a.tags)
    assert b.settings == a.settings


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(presets())
def test_valid_presets_round_trip_through_a_file_and_the_text_form(preset):
    SCHEMA.validate(json.loads(preset_to_json(preset)))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / preset_filename(preset.name)
        path.write_text(preset_to_json(preset), "utf-8")
        assert path.parent == Path(folder)
        _same(preset, read_preset_file(path))
    text = preset_to_text(preset)
    assert "\n" not in text and "\r" not in text
    _same(preset, preset_from_text(text))


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=300))
def test_any_name_becomes_a_safe_file_name(name):
    file_name = preset_filename(name)
    stem = file_name.removesuffix(".json")
    assert stem and len(stem) <= 65 and len(file_name.encode()) <= 255 - len(" (999)")
    assert not any(ch in file_name for ch in '/\\<>:"|?*\x00')
    assert ".." not in file_name and not file_name.startswith(".")
    assert not any(ord(ch) < 32 or 0x7F <= ord(ch) <= 0x9F for ch in file_name)
