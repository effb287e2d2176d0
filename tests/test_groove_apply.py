"""Groove apply (QUANTIZE_SPEC part 2, steps 1–6): worked examples with exact ticks at PPQ 96
and 480, and the choices the spec leaves open (documented in engine/quantize/groove.py)."""

from __future__ import annotations

import numpy as np
import pytest

from engine.errors import SettingsError
from engine.model.notes import make_notes
from engine.quantize import groove as groove_mod
from engine.quantize.core import quantize_notes
from engine.quantize.groove_template import GrooveTemplate
from engine.quantize.settings import QuantizeSettings as S

# One beat of 1/16: slot 0 at 0 (velocity 120, length 1/8 beat), slot 1 at 0.29 (velocity 60),
# slot 2 empty, slot 3 at 0.70 (offset -0.05, length 1/2 beat).
T = GrooveTemplate(
    "test",
    "1/16",
    1,
    (
        {"beat": 0, "velocity": 120, "length": 0.125},
        {"beat": 0.29, "velocity": 60},
        {"beat": 0.70, "length": 0.5},
    ),
)
# PPQ 96: B = 24, points 0, 27.84, -, 67.2.   PPQ 480: B = 120, points 0, 139.2, -, 336.


def run(starts, stops, ppq, pitches=None, vels=100, sel=None, **kw):
    n = len(starts)
    pitches = list(range(60, 60 + n)) if pitches is None else pitches  # no same-pitch guards
    notes = make_notes(starts, stops, pitches, vels)
    res = quantize_notes(notes, S(groove=kw.pop("groove", T), **kw), ppq, sel)
    back = np.argsort(res.source)
    out = res.notes[back]
    return out["start"].tolist(), out["end"].tolist(), out["velocity"].tolist(), res


# -- step 3: timing ------------------------------------------------------------------------
def test_timing_100_puts_starts_on_points_ppq96():
    s, e, v, rep = run([2, 30, 70, 96 + 25, 192 + 66], [20, 40, 80, 140, 270], 96)
    assert s == [0, 28, 67, 124, 259]  # 27.84 → 28, 67.2 → 67, 123.84 → 124, 259.2 → 259
    assert e == [18, 38, 77, 143, 271]  # keep-length
    assert v == [100] * 5  # velocity amount 0
    assert rep.report.moved == 5


def test_timing_100_puts_starts_on_points_ppq480():
    s, e, _, _ = run([10, 150, 350, 480 + 130], [100, 200, 400, 700], 480)
    assert s == [0, 139, 336, 619]  # 139.2 → 139, 619.2 → 619
    assert e == [90, 189, 386, 709]


def test_timing_amount_is_strength_and_rounds_once_half_up():
    s, *_ = run([30, 70, 101], [40, 80, 110], 96, strength=50)
    # 30 + (27.84-30)/2 = 28.92 → 29; 70 + (67.2-70)/2 = 68.6 → 69; 101 + (96-101)/2 = 98.5 → 99
    assert s == [29, 69, 99]
    s, *_ = run([150, 481], [200, 500], 480, strength=50)
    assert s == [145, 481 - 0]  # 144.6 → 145; 480.5 → 481 (half up)


# -- step 1: pre-quantize --------------------------------------------------------------------
def test_pre_quantize_then_slot_then_timing():
    # t=34: b(t)=24, pre 50 → t1 = 29, slot 1 (point 27.84); timing 50 → 28.42 → 28
    s, *_ = run([34], [50], 96, pre_quantize=50, strength=50)
    assert s == [28]
    # timing 0: the note stays at t1 = 29
    s, *_ = run([34], [50], 96, pre_quantize=50, strength=0)
    assert s == [29]
    s, *_ = run([170], [250], 480, pre_quantize=100, strength=0)
    assert s == [120]


def test_pre_quantize_tie_goes_to_the_earlier_base_point():
    s, *_ = run([12, 36], [20, 40], 96, pre_quantize=100, strength=0)
    assert s == [0, 24]


def test_pre_quantize_can_change_the_slot():
    # t = 37 is nearest base point 48 (slot 2, empty) only after pre-quantize pulls it there?
    # no: b(37)=48 (|d|=11 < 13): pre 100 → t1 = 48 → slot 2 empty → keeps 48
    s, *_ = run([37], [60], 96, pre_quantize=100)
    assert s == [48]
    s, *_ = run([37], [60], 96)  # without pre-quantize: t1 = 37 → slot 2 too (nearest 48)
    assert s == [37]


# -- step 2: empty slots ---------------------------------------------------------------------
def test_empty_slot_keeps_t1_end_moves_velocity_stays():
    s, e, v, rep = run([50], [90], 96, pre_quantize=50, groove_velocity=100, groove_length=100)
    assert (s, e, v) == ([49], [89], [100])
    assert rep.report.no_point == 1
    s, e, _, _ = run([50], [90], 96, pre_quantize=50, ends="keep-ends")
    assert (s, e) == ([49], [90])


def test_empty_slot_ignores_the_ranges():
    s, *_ = run([50], [90], 96, pre_quantize=100, exclude_within=50)
    assert s == [48]
    s, *_ = run([250], [300], 480, pre_quantize=100, catch_within=1)
    assert s == [240]


def test_empty_slot_end_is_not_quantized_on_its_own():
    s, e, _, _ = run([50], [91], 96, pre_quantize=100, ends="quantize-ends")
    assert (s, e) == ([48], [89])


# -- step 3: ranges --------------------------------------------------------------------------
def test_exclude_within_leaves_the_note_untouched():
    # exclude 10 % of B = 2.4 ticks; 29 is 1.16 from 27.84 → untouched (no velocity either)
    s, e, v, rep = run([29, 31], [40, 45], 96, exclude_within=10, groove_velocity=100)
    assert (s, e, v) == ([29, 28], [40, 42], [100, 60])
    assert rep.report.excluded == 1


def test_exclude_zero_still_applies_velocity_and_length_on_the_point():
    s, e, v, rep = run([0], [50], 96, groove_velocity=100, groove_length=100)
    assert (s, e, v) == ([0], [12], [120])
    assert rep.report.on_grid == 1


def test_catch_within_only_near_points():
    # catch 10 %: 32 is 4.16 from 27.84 > 2.4 → untouched; 29 is caught
    s, _, v, rep = run([32, 97], [40, 120], 96, catch_within=10, groove_velocity=100)
    assert s == [32, 96] and v == [100, 120]
    assert rep.report.outside_catch == 1
    s, *_ = run([155, 130], [160, 140], 480, catch_within=10)  # 12 ticks; 15.8 / 9.2 away
    assert s == [155, 139]


# -- step 4: velocity ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "amount, v_in, v_out",
    [(100, 100, 60), (50, 100, 80), (-50, 100, 120), (-100, 20, 1), (25, 127, 110)],
)
def test_velocity_amount(amount, v_in, v_out):
    # point velocity 60 at slot 1; 127 + 0.25*(60-127) = 110.25 → 110
    _, _, v, _ = run([30], [40], 96, vels=v_in, groove_velocity=amount)
    assert v == [v_out]


def test_fractional_point_velocity_rounds_half_up():
    g = GrooveTemplate("f", "1/16", 1, ({"beat": 0, "velocity": 99.5},))
    _, _, v, _ = run([0, 96], [10, 110], 96, vels=[100, 98], groove=g, groove_velocity=100)
    assert v == [100, 100]  # 99.5 → 100
    _, _, v, _ = run([0], [10], 96, vels=98, groove=g, groove_velocity=50)
    assert v == [99]  # 98.75 → 99


def test_velocity_only_change_is_never_trimmed_or_merged():
    # A on the point (velocity only), B unmoved inside it (empty slot): overlap kept
    s, e, v, rep = run([0, 50], [100, 80], 96, pitches=[60, 60], groove_velocity=100)
    assert (s, e, v) == ([0, 50], [100, 80], [120, 100])
    assert (rep.report.trimmed, rep.report.merged, rep.report.moved) == (0, 0, 0)


# -- step 5: length and ends -----------------------------------------------------------------
def test_length_amount_rounds_the_exact_end_once():
    # start 101 → 98.5 (timing 50); len 21 → 21 + (12-21)/2 = 16.5; end 115 (not 99 + 17)
    s, e, _, _ = run([101], [122], 96, strength=50, groove_length=50)
    assert (s, e) == ([99], [115])
    s, e, _, _ = run([2, 830], [100, 900], 480, groove_length=100)
    assert (s, e) == ([0, 816], [60, 1056])  # slot 3 of rep 1: 816, length 240


def test_without_point_length_the_ends_mode_applies_on_the_base_lattice():
    s, e, _, _ = run([30], [70], 96, groove_length=100, ends="quantize-ends")
    assert (s, e) == ([28], [72])
    s, e, _, _ = run([30], [70], 96, ends="keep-ends")
    assert (s, e) == ([28], [70])
    # quantize-lengths: len 40 → 2 steps of 24 = 48; end = 27.84 + 48 = 75.84 → 76
    s, e, _, _ = run([30], [70], 96, ends="quantize-lengths")
    assert (s, e) == ([28], [76])
    s, e, _, _ = run([30], [70], 96, ends="quantize-lengths", length_grid="1/8")
    assert (s, e) == ([28], [76])  # 40 → 1 step of 48
    s, e, _, _ = run([150], [400], 480, ends="quantize-ends", strength=50)
    assert (s, e) == ([145], [380])  # end 400 → 360 at 50 %


def test_end_guard_on_the_base_lattice():
    # keep-ends: start 20 → 28 past the kept end 26 → end on the next base point, 48
    s, e, _, rep = run([20], [26], 96, ends="keep-ends")
    assert (s, e) == ([28], [48])
    assert rep.report.ends_fixed == 1


# -- pattern geometry ------------------------------------------------------------------------
def test_wrapped_point_pushes_the_next_downbeat_and_clamps_at_zero():
    g = GrooveTemplate("push", "1/16", 1, ({"beat": 0.95},))  # slot 0, offset -0.05
    s, *_ = run([96, 0, 3, 200], [110, 10, 20, 220], 96, groove=g)
    assert s == [91, 0, 0, 187]  # 91.2; 0 clamps; 3 → clamp 0; 192-4.8=187.2


def test_offset_moves_the_pattern_origin():
    s, *_ = run([40, 10], [50, 20], 96, offset=10)
    assert s == [38, 10]  # 10 + 27.84 = 37.84; 10 is slot 0 of the shifted pattern


def test_triplet_base():
    g = GrooveTemplate("tri", "1/8T", 1, ({"beat": 0.4},))  # slot 1, offset 1/15
    s, *_ = run([35, 130], [40, 150], 96, groove=g)
    assert s == [38, 134]  # 38.4; 96 + 38.4 = 134.4
    s, *_ = run([170], [200], 480, groove=g)
    assert s == [192]


def test_multi_beat_pattern_repeats():
    g = GrooveTemplate("two", "1/8", 2, ({"beat": 0.55}, {"beat": 1.45}))
    s, *_ = run([50, 140, 240, 330], [60, 150, 250, 340], 96, groove=g)
    assert s == [53, 139, 245, 331]  # 52.8, 139.2, 192+52.8, 192+139.2


def test_not_selected_notes_stay():
    s, _, v, _ = run([30, 31], [40, 41], 96, sel=[False, True], groove_velocity=100)
    assert s == [30, 28] and v == [100, 60]


def test_groove_name_needs_a_resolver():
    notes = make_notes([30], [40], 60)
    with pytest.raises(SettingsError, match="groove"):
        quantize_notes(notes, S(groove="MPC 58"), 96)
    groove_mod.set_groove_resolver(lambda name: T)
    try:
        assert quantize_notes(notes, S(groove="MPC 58"), 96).notes["start"].tolist() == [28]
    finally:
        groove_mod.set_groove_resolver(None)


def test_python_int_fallback_agrees_with_the_kernel():
    g = GrooveTemplate("odd", "1/16", 1, ({"beat": 0.2917, "length": 0.1234},))
    big = 96 * 2**35
    notes = make_notes([31, big + 31], [50, big + 50], [60, 61])
    st = S(groove=g, strength=33.33, pre_quantize=12.34, groove_length=45.67)
    res = quantize_notes(notes, st, 96)
    small = quantize_notes(notes[:1], st, 96)
    assert res.notes[0].tolist() == small.notes[0].tolist()
    assert res.notes["start"][1] - big == small.notes["start"][0]
    assert res.notes["end"][1] - big == small.notes["end"][0]


def test_slot_tie_goes_to_the_earlier_base_point():
    # 12 is halfway between base points 0 and 24: slot 0 (point 0), not slot 1 (27.84)
    s, *_ = run([12], [20], 96)
    assert s == [0]
    s, *_ = run([60], [100], 480)  # halfway 0..120 at PPQ 480
    assert s == [0]


def test_point_velocity_is_exact():
    g = GrooveTemplate("v", "1/16", 1, ({"beat": 0, "velocity": 100 / 3},))  # 33.333…
    _, _, v, _ = run([0], [10], 96, vels=[34], groove=g, groove_velocity=75)
    assert v == [34]  # exactly 100/3: 34 - 0.75 * 2/3 = 33.5 → 34 (1/1000 would give 33)
    _, _, v, _ = run([0], [10], 96, vels=[35], groove=g, groove_velocity=75)
    assert v == [34]  # 35 - 1.25 = 33.75 → 34


def test_template_without_points_only_pre_quantizes():
    g = GrooveTemplate("none", "1/8", 2, ())
    s, e, v, rep = run([5, 50], [30, 70], 96, groove=g, pre_quantize=50, groove_velocity=100)
    assert (s, e, v) == ([3, 49], [28, 69], [100, 100])  # 2.5 → 3; 48 + 1 = 49
    assert rep.report.no_point == 2
