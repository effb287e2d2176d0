"""Groove extraction from onsets (QUANTIZE_SPEC part 2): slot medians, one onset per tick,
nearest per repetition, default length, and extract → apply round trips."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from engine.errors import GrooveError
from engine.model.notes import make_notes
from engine.model.tempo import TimeSignature, TimeSignatureMap
from engine.quantize.core import quantize_notes
from engine.quantize.groove_extract import extract_from_notes, extract_groove
from engine.quantize.settings import QuantizeSettings as S


def pts(g):
    return [(p.beat, p.velocity, p.length) for p in g.points]


def test_worked_example_ppq96():
    g = extract_groove(
        [0, 30, 96, 122, 192, 220, 221],
        [100, 80, 110, 70, 90, 60, 127],
        [20, 10, 30, 12, 20, 8, 4],
        ppq=96,
        length=1,
    )
    # slot 0: deviations 0,0,0; velocities 100,110,90 → 100; lengths 20,30,20 → median 20
    # slot 1 (base 24): 30→6, 122→2, rep 2: 220 (4) beats 221 (5) → median 4 → 28/96 beat
    assert pts(g) == [
        (Fraction(0), 100.0, Fraction(20, 96)),
        (Fraction(28, 96), 70.0, Fraction(10, 96)),
    ]


def test_even_count_median_is_the_mean_of_the_middle_two_ppq480():
    g = extract_groove([130, 480 + 126], [100, 50], [60, 61], ppq=480, length=1)
    # deviations 10 and 6 → 8; velocity mean 75; lengths 60, 61 → 60.5
    assert pts(g) == [(Fraction(128, 480), 75.0, Fraction(121, 960))]


def test_onsets_on_one_tick_are_one_onset():
    g = extract_groove([24, 24, 24], [30, 90, 60], [10, 50, 20], ppq=96, length=1)
    assert pts(g) == [(Fraction(1, 4), 90.0, Fraction(50, 96))]


def test_negative_deviation_of_slot_zero_wraps_to_the_pattern_end():
    g = extract_groove([96 - 5, 192 - 5], [100, 100], None, ppq=96, length=1)
    assert pts(g) == [(Fraction(91, 96), 100.0, None)]
    assert g.slots()[0][:2] == (0, Fraction(-5, 96))


def test_halfway_goes_to_the_later_slot_and_ties_keep_the_earlier():
    g = extract_groove([12], None, None, ppq=96, length=1)  # halfway 0..24: slot 1, -12
    assert g.slots()[0][:2] == (1, Fraction(-1, 8))
    g = extract_groove([22, 26], [10, 20], None, ppq=96, length=1)  # equally near 24
    assert pts(g) == [(Fraction(22, 96), 10.0, None)]


def test_default_length_is_one_bar_at_the_first_onset():
    assert extract_groove([0], None, None, ppq=96).length == 4
    sigs = TimeSignatureMap(96, [TimeSignature(0, 4, 4), TimeSignature(384, 6, 8)])
    assert extract_groove([400], None, None, ppq=96, time_signatures=sigs).length == 3
    sigs = TimeSignatureMap(96, [TimeSignature(0, 7, 8)])
    g = extract_groove([0], None, None, ppq=96, base="1/8T", time_signatures=sigs)
    assert g.length == Fraction(11, 3)  # 3.5 beats rounded up to whole 1/8T steps


def test_bad_input():
    with pytest.raises(GrooveError, match="onsets"):
        extract_groove([], ppq=96)
    with pytest.raises(GrooveError, match="base"):
        extract_groove([0], ppq=96, base="1/64")
    with pytest.raises(GrooveError, match="velocities"):
        extract_groove([0, 1], [1], ppq=96)


def test_extract_then_apply_reproduces_the_take():
    rng = np.random.default_rng(3)
    base = np.arange(64) * 24
    dev = np.tile(rng.integers(-8, 9, 16), 4)  # one bar of feel, repeated 4 times
    take = make_notes(base + 96 + dev, base + 96 + dev + 10, 60, 90)
    g = extract_from_notes(take, 96, length=4, base="1/16")
    straight = make_notes(base + 96, base + 106, 62, 90)
    res = quantize_notes(straight, S(groove=g), 96)
    assert res.notes["start"].tolist() == take["start"].tolist()
