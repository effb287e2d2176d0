"""Fuzz the groove document model and the file reader: any JSON value or any bytes give a template or one clean line
naming the problem (never a traceback), and whatever is accepted saves and reads back equal."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import GrooveError
from engine.presets import read_groove_file
from engine.quantize.groove_template import BASES, GrooveTemplate, template_from_document

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)  # fmt: skip
NUMBER = st.integers(-5, 300) | st.floats(-5, 300) | st.sampled_from([0.1, 1 / 3, 2.5, 1e308])
POINT = st.fixed_dictionaries(
    {"beat": NUMBER},
    optional={"velocity": st.none() | NUMBER, "length": st.none() | NUMBER, "x": JSON},
)
NEAR = st.fixed_dictionaries(
    {
        "format": st.sampled_from(["quanta-groove", "quanta-groove", "quanta-preset"]),
        "version": st.sampled_from([1, 1, 2, "1", 0]),
        "name": st.sampled_from(["Swing", "", "a\x00b", "x" * 70, 5]),
        "base": st.sampled_from([*BASES, "1/64", None]),
        "length": NUMBER,
        "points": st.lists(POINT, max_size=6) | JSON,
    },
    optional={"description": st.text(max_size=20) | JSON, "extra": JSON},
)


def accepted_or_clean(doc):
    try:
        g = template_from_document(doc)
    except GrooveError as exc:
        assert str(exc) and "\n" not in str(exc)
        return None
    assert isinstance(g, GrooveTemplate)
    again = template_from_document(json.loads(json.dumps(g.to_document())))
    assert again == g  # what is accepted can be saved and read back
    return g


@settings(max_examples=300, deadline=None)
@given(JSON)
def test_any_json_value(doc):
    accepted_or_clean(doc)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(NEAR)
def test_near_miss_documents(doc):
    accepted_or_clean(doc)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_any_bytes_as_a_file(tmp_path_factory, raw):
    path = tmp_path_factory.mktemp("g") / "g.json"
    path.write_bytes(raw)
    try:
        read_groove_file(path)
    except GrooveError as exc:
        assert "g.json" in str(exc) and "\n" not in str(exc)
