"""The groove template model: validation, slot mapping, exact beats, the JSON document."""

from fractions import Fraction

import pytest

from engine.errors import GrooveError
from engine.quantize.groove_template import (
    BASES,
    GroovePoint,
    GrooveTemplate,
    exact_beats,
    slot_of,
    template_from_document,
)


def tpl(points, base="1/16", length=4):
    return GrooveTemplate("t", base, length, tuple(points))


def test_bases_are_the_spec_steps():
    assert BASES["1/16"] == Fraction(1, 4)
    assert BASES["1/8T"] == Fraction(1, 3)
    assert BASES["1/32T"] == Fraction(1, 12)
    assert set(BASES) == {"1/4", "1/8", "1/8T", "1/16", "1/16T", "1/32", "1/32T"}


def test_slot_mapping_nearest_base_point_and_offset():
    t = tpl([{"beat": 0.29}, {"beat": 1.0}, {"beat": 2.6}])
    assert [(j, off) for j, off, _p in t.slots()] == [
        (1, Fraction(1, 25)),
        (4, Fraction(0)),
        (10, Fraction(1, 10)),
    ]
    assert t.point_in_slot(1).beat == Fraction(29, 100)
    assert t.point_in_slot(2) is None


def test_halfway_goes_to_the_later_slot():
    # floor(beat/B + 1/2): 0.125 with B = 0.25 → slot 1, offset -B/2 (documented decision)
    assert slot_of(Fraction(1, 8), Fraction(1, 4), 16) == (1, Fraction(-1, 8))


def test_last_half_step_wraps_to_slot_0_with_negative_offset():
    t = tpl([{"beat": 3.9}])
    assert t.slots()[0][:2] == (0, Fraction(-1, 10))


def test_two_points_in_one_slot_names_both_beats():
    with pytest.raises(GrooveError, match=r"beats 0.2 and 0.3 fall in one 1/16 slot"):
        tpl([{"beat": 0.2}, {"beat": 0.3}])
    with pytest.raises(GrooveError, match=r"beats 0 and 3.9"):
        tpl([{"beat": 0}, {"beat": 3.9}])


@pytest.mark.parametrize(
    "kw, field",
    [
        ({"base": "1/64"}, "base"),
        ({"base": "1/8."}, "base"),
        ({"length": 0}, "length"),
        ({"length": 1.1}, "length"),
        ({"length": 1000}, "length"),
        ({"length": float("nan")}, "length"),
    ],
)
def test_bad_base_or_length(kw, field):
    args = {"name": "t", "base": "1/16", "length": 4, "points": ()}
    args.update(kw)
    with pytest.raises(GrooveError) as e:
        GrooveTemplate(**args)
    assert e.value.field == field


@pytest.mark.parametrize(
    "point, field",
    [
        ({"beat": 4}, "points[0].beat"),
        ({"beat": -0.01}, "points[0].beat"),
        ({"beat": float("inf")}, "points[0].beat"),
        ({"beat": True}, "points[0].beat"),
        ({"beat": 1, "velocity": 0}, "points[0].velocity"),
        ({"beat": 1, "velocity": 127.5}, "points[0].velocity"),
        ({"beat": 1, "velocity": "loud"}, "points[0].velocity"),
        ({"beat": 1, "length": 0}, "points[0].length"),
        ({"beat": 1, "length": -1}, "points[0].length"),
        ({"beat": 1, "swing": 3}, "points[0]"),
        ({"velocity": 3}, "points[0].beat"),
    ],
)
def test_bad_points_name_the_field(point, field):
    with pytest.raises(GrooveError) as e:
        tpl([point])
    assert e.value.field == field


def test_fractional_velocity_allowed_and_points_sorted():
    t = tpl([{"beat": 2, "velocity": 99.5}, GroovePoint(Fraction(1, 2), 1, Fraction(1, 8))])
    assert [p.beat for p in t.points] == [Fraction(1, 2), Fraction(2)]
    assert t.points[1].velocity == 99.5


def test_triplet_base_slots():
    t = tpl([{"beat": 1 / 3}, {"beat": 2 / 3 + 0.05}], base="1/8T", length=2)
    assert t.slot_count == 6
    assert [j for j, _o, _p in t.slots()] == [1, 2]
    assert t.points[0].beat == Fraction(1, 3)


def test_exact_beats_keeps_what_was_meant():
    assert exact_beats(1 / 3, "b") == Fraction(1, 3)
    assert exact_beats(0.58, "b") == Fraction(29, 50)
    assert exact_beats(0.1234567891, "b") == Fraction("0.1234567891")
    assert exact_beats(3, "b") == 3


def test_document_round_trip():
    t = GrooveTemplate(
        "Laid back",
        "1/16",
        4,
        ({"beat": 0, "velocity": 110, "length": 0.25}, {"beat": 1.02, "velocity": 80.5}),
        "snare 10 ms late",
    )
    doc = t.to_document()
    assert doc["format"] == "quanta-groove" and doc["version"] == 1
    assert doc["points"][0] == {"beat": 0, "velocity": 110, "length": 0.25}
    assert template_from_document(doc) == t


@pytest.mark.parametrize(
    "change, field",
    [
        ({"format": "quanta-preset"}, "format"),
        ({"version": 2}, "version"),
        ({"version": "1"}, "version"),
        ({"extra": 1}, "extra"),
        ({"points": "none"}, "points"),
        ({"name": ""}, "name"),
        ({"name": "a\x00b"}, "name"),
    ],
)
def test_document_rejections(change, field):
    doc = GrooveTemplate("g", "1/8", 2, ({"beat": 0.5},)).to_document()
    doc.update(change)
    with pytest.raises(GrooveError) as e:
        template_from_document(doc)
    assert e.value.field == field
