"""Worked examples with exact ticks for every rule of QUANTIZE_SPEC (PPQ 96 and 480).

At PPQ 96 a 1/16 step is 24 ticks; at PPQ 480 it is 120.
"""

from __future__ import annotations

import numpy as np
import pytest

from engine.model.notes import NOTE_OFF_IS_NOTE_ON_V0, make_notes
from engine.quantize.core import iterative_quantize, quantize_notes
from engine.quantize.settings import QuantizeSettings as S


def notes_of(starts, ends, pitches=60, velocities=100, channels=0):
    n = make_notes(starts, ends, pitches, velocities, channels)
    n["on_seq"] = np.arange(n.size) * 2
    n["off_seq"] = np.arange(n.size) * 2 + 1
    return n


def run(starts, ends, settings, ppq=96, **kw):
    res = quantize_notes(notes_of(starts, ends, **kw), settings, ppq)
    return res.notes["start"].tolist(), res.notes["end"].tolist(), res.report


# -- grid types ---------------------------------------------------------------------------
def test_straight_grid_at_96_and_480():
    assert run([5, 13, 37, 90], [20, 40, 60, 100], S(), pitches=[60, 61, 62, 63])[0] == [
        0,
        24,
        48,
        96,
    ]
    assert run([59, 61, 299], [100, 100, 400], S(), 480, pitches=[1, 2, 3])[0] == [0, 120, 240]


def test_triplets_dotted_and_5_4_tuplets_land_exactly():
    assert run([17, 50, 90], [30, 60, 95], S(division=8, grid_type="triplet"), pitches=[1, 2, 3])[
        0
    ] == [32, 64, 96]
    assert run([40, 100], [60, 130], S(division=8, grid_type="dotted"), pitches=[1, 2])[0] == [
        72,
        72,
    ]
    tup = S(division=16, grid_type="tuplet", tuplet=(5, 4))  # G = 19.2 at PPQ 96
    starts, ends, _ = run([20, 37, 58, 77, 95], [21, 38, 59, 78, 96], tup, pitches=[1, 2, 3, 4, 5])
    assert starts == [19, 38, 58, 77, 96]  # 19.2, 38.4, 57.6, 76.8, 96 rounded once
    assert ends == [20, 39, 59, 78, 97]  # keep-length: same move as the start


def test_tuplet_grid_far_from_zero_is_exact():
    tup = S(division=16, grid_type="tuplet", tuplet=(5, 4))
    assert run([2370376], [2370400], tup)[0] == [2370374]  # 123457 * 19.2 = 2370374.4


# -- swing --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "swing,expected",
    [
        (54, [0, 130, 240, 370]),
        (58, [0, 139, 240, 379]),
        (66.67, [0, 160, 240, 400]),
        (75, [0, 180, 240, 420]),
    ],
)
def test_swing_moves_off_beats_at_480(swing, expected):
    starts = [10, 150, 230, 400]
    pitches = [1, 2, 3, 4]
    assert run(starts, [s + 30 for s in starts], S(swing=swing), 480, pitches=pitches)[0] == (
        expected
    )


def test_swing_at_96_with_rounding_half_up():
    # swing 54 at PPQ 96: the off-beat is at 48*0.54 = 25.92 -> 26
    assert run([27, 70], [30, 80], S(swing=54), pitches=[1, 2])[0] == [26, 74]  # 73.92 -> 74


# -- offset and clamping ------------------------------------------------------------------
def test_offset_moves_the_origin():
    assert run([0, 20, 45], [10, 30, 50], S(offset=5), pitches=[1, 2, 3])[0] == [5, 29, 53]


def test_target_before_zero_is_clamped_and_strength_moves_toward_zero():
    # offset 20: points -4, 20, 44; a note at 3 is nearest to -4, which clamps to 0
    assert run([3], [30], S(offset=20))[0] == [0]
    assert run([3], [30], S(offset=20, strength=50))[0] == [2]  # 3 + (0-3)/2 = 1.5 -> 2


# -- strength -----------------------------------------------------------------------------
def test_strength_from_the_original_position_rounds_half_up():
    starts, ends, rep = run([10, 11, 13], [40, 41, 43], S(strength=50), pitches=[1, 2, 3])
    assert starts == [5, 6, 19]  # 5, 5.5 -> 6, 18.5 -> 19
    assert ends == [35, 36, 49]


def test_changing_the_strength_never_compounds():
    n = notes_of([16], [40])
    once = quantize_notes(n, S(strength=80), 96).notes
    quantize_notes(n, S(strength=50), 96)  # the original is never touched
    assert once["start"].tolist() == [22]  # 16 + 0.8*8 = 22.4
    assert quantize_notes(n, S(strength=80), 96).notes.tolist() == once.tolist()


def test_iterative_quantize_closes_strength_of_the_remaining_gap():
    n = notes_of([16], [40])
    first = iterative_quantize(n, S(strength=50), 96).notes
    second = iterative_quantize(first, S(strength=50), 96).notes
    assert (first["start"][0], second["start"][0]) == (20, 22)  # 8 -> 4 -> 2 ticks off


def test_strength_zero_returns_everything_untouched_even_overlaps():
    n = notes_of([5, 10, 10, 30], [50, 40, 45, 60])  # overlapping and duplicate same-pitch notes
    res = quantize_notes(n, S(strength=0, ends="quantize-ends"), 96)
    assert res.notes.tolist() == n.tolist()
    assert (res.report.moved, res.report.trimmed, res.report.merged) == (0, 0, 0)


# -- exclude and catch ----------------------------------------------------------------------
def test_exclude_within_leaves_the_safe_zone_alone():
    # 10 % of 24 ticks = 2.4: |d| <= 2.4 stays
    starts, _, rep = run(
        [24, 26, 27, 46, 45], [30, 30, 30, 50, 50], S(exclude_within=10), pitches=[1, 2, 3, 4, 5]
    )
    assert sorted(starts) == [24, 24, 26, 46, 48]
    assert (rep.on_grid, rep.excluded, rep.moved) == (1, 2, 2)


def test_exclude_50_moves_nothing():
    assert run([5, 11, 13], [20, 20, 20], S(exclude_within=50), pitches=[1, 2, 3])[2].moved == 0


def test_catch_within_only_moves_notes_near_the_grid():
    # 25 % of 24 = 6: |d| <= 6 is caught
    starts, _, rep = run([30, 31, 36], [40, 40, 40], S(catch_within=25), pitches=[1, 2, 3])
    assert starts == [24, 31, 36]
    assert (rep.moved, rep.outside_catch) == (1, 2)


def test_exclude_and_catch_combined():
    starts, _, rep = run(
        [26, 29, 31], [40, 40, 40], S(exclude_within=10, catch_within=25), pitches=[1, 2, 3]
    )
    assert starts == [24, 26, 31]  # 29 -> 24; 26 excluded; 31 outside the catch range
    assert (rep.moved, rep.excluded, rep.outside_catch) == (1, 1, 1)
    assert "1 left alone by exclude-within" in rep.summary()


def test_ranges_are_measured_to_the_swung_point():
    # swing 62 at 480: off-beat at 148.8; catch 10 % of G = 12 ticks
    s = S(swing=62, catch_within=10)
    assert run([160, 161], [200, 200], s, 480, pitches=[1, 2])[0] == [149, 161]


# -- ends ---------------------------------------------------------------------------------
def test_keep_length():
    assert run([10], [50], S())[:2] == ([0], [40])


def test_quantize_ends_quantizes_the_end_on_its_own():
    assert run([10], [50], S(ends="quantize-ends"))[:2] == ([0], [48])
    # the start sits in the safe zone, the end does not: only the end moves
    assert run([26], [58], S(ends="quantize-ends", exclude_within=10))[:2] == ([26], [48])
    # strength applies to the end too: 50 + 0.5*(48-50) = 49
    assert run([10], [50], S(ends="quantize-ends", strength=50))[:2] == ([5], [49])


def test_quantize_lengths_default_length_grid_is_the_grid():
    assert run([10], [45], S(ends="quantize-lengths"))[:2] == ([0], [24])  # 35 -> 24
    assert run([10], [46], S(ends="quantize-lengths"))[:2] == ([0], [48])  # 36: 1.5 -> 2 steps
    # strength 50: start 5, length 35 + (24-35)/2 = 29.5, end 34.5 rounds once -> 35
    assert run([10], [45], S(ends="quantize-lengths", strength=50))[:2] == ([5], [35])


def test_quantize_lengths_with_own_length_grid_and_minimum_one_step():
    s = S(ends="quantize-lengths", length_grid="1/8")  # L = 48
    assert run([0, 96], [35, 106], s, pitches=[1, 2])[:2] == ([0, 96], [48, 144])


def test_quantize_lengths_ignores_the_ranges():
    s = S(ends="quantize-lengths", exclude_within=10)
    assert run([26], [61], s)[:2] == ([26], [50])  # start excluded, length 35 -> 24


def test_keep_ends_moves_only_the_start():
    assert run([10], [50], S(ends="keep-ends"))[:2] == ([0], [50])


# -- guard: end after start -----------------------------------------------------------------
def test_end_guard_sets_end_to_first_grid_point_after_start():
    starts, ends, rep = run([10], [11], S(ends="quantize-ends"))  # both quantize to 0
    assert (starts, ends, rep.ends_fixed) == ([0], [24], 1)


def test_end_guard_for_keep_ends():
    starts, ends, rep = run([20], [22], S(ends="keep-ends"))  # start 24 would pass the end
    assert (starts, ends, rep.ends_fixed) == ([24], [48], 1)


def test_end_guard_uses_a_point_that_rounds_after_the_start():
    # 1/128 5:4 at 96: G = 2.4; start 2 -> 2.4 -> 2, end 3 -> 2.4 -> 2; 2.4 rounds to the
    # start itself, so the guard takes 4.8 -> 5
    s = S(division=128, grid_type="tuplet", tuplet=(5, 4), ends="quantize-ends")
    assert run([2], [3], s)[:2] == ([2], [5])


# -- guard: overlaps and merges -------------------------------------------------------------
def test_moved_note_trims_the_unmoved_note_it_lands_in():
    starts, ends, rep = run([0, 30], [40, 60], S())
    assert (starts, ends, rep.trimmed) == ([0, 24], [24, 54], 1)


def test_moved_note_is_trimmed_at_the_next_same_pitch_note():
    starts, ends, rep = run([2, 48], [55, 60], S())
    assert (starts, ends, rep.trimmed) == ([0, 48], [48, 60], 1)
    assert run([2, 48], [50, 60], S())[2].trimmed == 0  # ends exactly at the next start


def test_overlap_of_other_pitch_or_channel_is_kept():
    assert run([2, 30], [55, 60], S(), pitches=[60, 61])[2].trimmed == 0
    assert run([2, 30], [55, 60], S(), channels=[0, 1])[2].trimmed == 0


def test_overlap_between_unmoved_notes_is_kept():
    starts, ends, rep = run([0, 24], [40, 60], S())  # already on the grid, overlapping
    assert (ends, rep.trimmed) == ([40, 60], 0)


def test_notes_landing_on_one_start_merge_keeping_the_earliest_identity():
    n = notes_of([1, 10], [20, 60], velocities=[80, 110])
    n["flags"][0] = NOTE_OFF_IS_NOTE_ON_V0
    res = quantize_notes(n, S(), 96)
    assert res.notes.size == 1 and res.report.merged == 1
    row = res.notes[0]
    assert (row["start"], row["end"], row["velocity"]) == (0, 50, 110)  # latest end, top vel
    assert (row["id"], row["on_seq"], row["off_seq"], row["flags"]) == (0, 0, 1, 1)
    assert res.source.tolist() == [0]


def test_merge_then_trim_against_the_next_note():
    starts, ends, rep = run([1, 10, 24], [20, 60, 40], S())
    assert (starts, ends, rep.merged, rep.trimmed) == ([0, 24], [24, 40], 1, 1)


def test_same_start_on_other_channels_is_not_merged():
    assert run([1, 10], [20, 60], S(), channels=[0, 1])[2].merged == 0


# -- identity, order, selection --------------------------------------------------------------
def test_moved_notes_keep_id_seq_and_flags_and_come_out_sorted():
    n = notes_of([50, 10, 30], [60, 20, 40], pitches=[1, 2, 3])
    n["flags"] = [4, 8, 1]
    res = quantize_notes(n, S(), 96)
    assert res.notes["start"].tolist() == [0, 24, 48]
    assert res.source.tolist() == [1, 2, 0]
    assert res.notes["id"].tolist() == [1, 2, 0]
    assert res.notes["on_seq"].tolist() == [2, 4, 0]
    assert res.notes["flags"].tolist() == [8, 1, 4]


def test_selection_mask_leaves_other_notes_alone():
    n = notes_of([5, 13], [20, 30], pitches=[1, 2])
    res = quantize_notes(n, S(), 96, selected=np.array([False, True]))
    assert res.notes["start"].tolist() == [5, 24]
    assert (res.report.not_selected, res.report.moved) == (1, 1)


def test_huge_ticks_fall_back_to_exact_integers():
    t = 2**55 + 13  # far beyond int64-safe scaled arithmetic with swing 66.67
    res = quantize_notes(notes_of([t], [t + 10]), S(swing=66.67, strength=33), 480)
    # t % 240 == 141: the swung off-beat (160.008) is 19.008 ticks later; 33 % of that is 6.27
    assert res.notes["start"][0] == t + 6


def test_huge_ticks_keep_playing_order():
    t = 120 * 2**50  # a grid point far beyond what fits a packed sort key
    n = notes_of([t + 130, t + 5, t + 5], [t + 200, t + 50, t + 50], pitches=[1, 3, 2])
    res = quantize_notes(n, S(), 480)
    assert (res.notes["start"] - t).tolist() == [0, 0, 120]
    assert res.notes["pitch"].tolist() == [2, 3, 1]


def test_negative_offset_still_never_moves_before_zero():
    # offset -5: points -5, 19, 43 ...; a note at 2 is nearest to -5, clamped to 0
    assert run([2, 10], [20, 30], S(offset=-5), pitches=[1, 2])[0] == [0, 19]


def test_empty_input():
    res = quantize_notes(notes_of([], []), S(), 96)
    assert res.notes.size == 0 and res.report.total == 0


def test_merge_keeps_the_lowest_original_start_even_in_unsorted_input():
    # input order: the note from 10 comes first, but the note from 1 is the earlier one
    n = notes_of([10, 1], [20, 60], velocities=[90, 40])
    n["id"] = [7, 8]
    res = quantize_notes(n, S(), 96)
    row = res.notes[0]
    assert (row["start"], row["end"], row["velocity"], row["id"]) == (0, 59, 90, 8)
    assert res.source.tolist() == [1]
