"""QUANTIZE_SPEC rule by rule: worked examples with exact ticks at PPQ 96 and 480.

Complements test_quantize_core.py (mostly PPQ 96) with the 480 cases and the boundaries that
the spec's two tie rules make delicate: ties go to the *earlier* grid point, exclude-within
keeps ``|d| <= range`` and catch-within keeps ``|d| > range``. At PPQ 96 a 1/16 step is 24
ticks; at PPQ 480 it is 120.
"""

from __future__ import annotations

import numpy as np
import pytest

from engine.build import add_channel_event, add_meta, add_track, new_song
from engine.errors import SettingsError
from engine.model.notes import make_notes
from engine.quantize.apply import quantize_song
from engine.quantize.core import quantize_notes
from engine.quantize.settings import QuantizeSettings as S


def run(starts, ends, settings, ppq, pitches=None, velocities=100):
    """Quantize; by default every note gets its own pitch so that no guard interferes."""
    if pitches is None:
        pitches = list(range(40, 40 + len(starts)))
    res = quantize_notes(make_notes(starts, ends, pitches, velocities), settings, ppq)
    order = np.argsort(res.source, kind="stable")  # back in input order
    return res.notes["start"][order].tolist(), res.notes["end"][order].tolist(), res.report


def starts_of(starts, settings, ppq):
    return run(starts, [s + 1000 for s in starts], settings, ppq)[0]


# -- Grid: division, variants, exact fractional steps, rounding half up once -----------------
@pytest.mark.parametrize(
    "settings,ppq,starts,expected",
    [
        (S(division=4), 480, [239, 240, 241], [0, 0, 480]),  # G 480, tie at 240 -> earlier
        (S(division=4), 96, [47, 48, 49], [0, 0, 96]),
        (S(division=8, grid_type="triplet"), 480, [79, 80, 81], [0, 0, 160]),  # G 160
        (S(division=8, grid_type="triplet"), 96, [15, 16, 17], [0, 0, 32]),  # G 32
        (S(division=8, grid_type="dotted"), 480, [180, 181, 540, 541], [0, 360, 360, 720]),
        (S(division=8, grid_type="dotted"), 96, [36, 37], [0, 72]),  # G 72
        (S(division=128), 480, [7, 8, 22, 23], [0, 15, 15, 30]),  # G 15
    ],
)
def test_division_and_variants(settings, ppq, starts, expected):
    assert starts_of(starts, settings, ppq) == expected


def test_tuplet_7_4_at_480_lands_on_exact_points_rounded_once():
    # G = 120*4/7 = 68.571...: points 68.57 137.14 205.71 274.29 342.86 411.43 480
    s = S(division=16, grid_type="tuplet", tuplet=(7, 4))
    starts = [70, 140, 200, 270, 340, 410, 479]
    assert starts_of(starts, s, 480) == [69, 137, 206, 274, 343, 411, 480]


def test_tuplet_5_4_at_96_ties_between_fractional_points():
    # G = 19.2: midpoint of 19.2 and 38.4 is 28.8, so 28 -> 19.2 and 29 -> 38.4
    s = S(division=16, grid_type="tuplet", tuplet=(5, 4))
    assert starts_of([9, 10, 28, 29], s, 96) == [0, 19, 19, 38]


@pytest.mark.parametrize(
    "ppq,starts,expected",
    [
        (96, [13, 11, 35], [19, 6, 30]),  # 18.5 -> 19, 5.5 -> 6, 29.5 -> 30
        (480, [61, 59, 181], [91, 30, 211]),  # 90.5 -> 91, 29.5 -> 30, 210.5 -> 211
    ],
)
def test_rounding_is_half_up_not_half_even(ppq, starts, expected):
    assert starts_of(starts, S(strength=50), ppq) == expected


def test_rounded_once_at_the_end_not_per_step():
    # 1/128 5:4 at 96: G = 2.4; a note at 4 goes to 4.8. Strength 50: 4.4 -> 4. Rounding the
    # target first (5) would give 4.5 -> 5.
    s = S(division=128, grid_type="tuplet", tuplet=(5, 4), strength=50)
    assert starts_of([4], s, 96) == [4]
    # at 480, 1/16 7:4 (G = 68.571): 70 -> 68.571, strength 50: 69.29 -> 69; a rounded
    # target (69) would give 69.5 -> 70
    s = S(division=16, grid_type="tuplet", tuplet=(7, 4), strength=50)
    assert starts_of([70], s, 480) == [69]


# -- Origin: offset both ways, clamp at 0 ------------------------------------------------------
@pytest.mark.parametrize(
    "ppq,offset,starts,expected",
    [
        (96, 30, [0, 17, 18, 19], [6, 6, 6, 30]),  # 30 = 6 mod 24; 18 is the 6/30 tie
        (480, 30, [89, 90, 91, 100], [30, 30, 150, 150]),  # 90 is the 30/150 tie
        (480, 250, [5, 69, 70, 71], [10, 10, 10, 130]),  # 250 = 10 mod 120, lattice both ways
        (480, -30, [100, 149, 150, 151], [90, 90, 90, 210]),
    ],
)
def test_offset_shifts_the_lattice_both_ways(ppq, offset, starts, expected):
    assert starts_of(starts, S(offset=offset), ppq) == expected


@pytest.mark.parametrize(
    "ppq,offset,start,full,half",
    [
        (96, 20, 3, 0, 2),  # points -4, 20: target -4 clamps to 0; 3 -> 1.5 -> 2
        (480, 100, 30, 0, 15),  # points -20, 100: target -20 -> 0; 30 -> 15
        (480, -30, 20, 0, 10),  # points -30, 90: target -30 -> 0; 20 -> 10
    ],
)
def test_target_before_zero_is_clamped(ppq, offset, start, full, half):
    assert starts_of([start], S(offset=offset), ppq) == [full]
    assert starts_of([start], S(offset=offset, strength=50), ppq) == [half]


# -- Swing -----------------------------------------------------------------------------------
def test_swing_far_from_the_origin_is_built_from_the_unswung_lattice():
    far480, far96 = 240 * 10**6, 48 * 10**6  # a million pairs of steps out
    assert starts_of([far480 + 140], S(swing=58), 480) == [far480 + 139]  # 139.2
    assert starts_of([far96 + 27], S(swing=58), 96) == [far96 + 28]  # 27.84
    assert starts_of([far96 + 27], S(swing=58, strength=50), 96) == [far96 + 27]  # 27.42


def test_swing_with_offset_counts_pairs_from_the_origin():
    # 1/16 swing 75 offset 10 at 96: points 10, 46 (10 + 48*0.75), 58, 94
    s = S(swing=75, offset=10)
    assert starts_of([40, 50, 52, 53, 77], s, 96) == [46, 46, 46, 58, 94]


def test_ties_between_swung_points_go_earlier_at_480():
    # swing 60 at 480: points 0, 144, 240: midpoints 72 and 192
    assert starts_of([72, 73, 192, 193], S(swing=60), 480) == [0, 144, 144, 240]


@pytest.mark.parametrize(
    "kw",
    [
        {"division": 8, "grid_type": "triplet"},
        {"division": 8, "grid_type": "dotted"},
        {"division": 16, "grid_type": "tuplet", "tuplet": (5, 4)},
    ],
)
def test_swing_on_a_non_straight_grid_is_an_error(kw):
    with pytest.raises(SettingsError, match="swing.*straight grid"):
        S(swing=54, **kw)
    S(swing=50, **kw)  # 50 is straight: allowed


# -- Strength --------------------------------------------------------------------------------
def test_strength_is_measured_from_the_original_at_480():
    notes = make_notes([150, 95], [400, 300], [60, 61])
    res = quantize_notes(notes, S(strength=60), 480)  # 150 - 0.6*30 = 132; 95 + 15 = 110
    assert res.notes["start"].tolist() == [110, 132]
    again = quantize_notes(notes, S(strength=60), 480)  # from the original, not the result
    assert again.notes.tolist() == res.notes.tolist()


# -- Exclude within (<=) and catch (>) boundaries ------------------------------------------------
@pytest.mark.parametrize(
    "ppq,exclude,starts,expected",
    [
        (96, 25, [30, 31, 18, 17], [30, 24, 18, 24]),  # range 6: |d| 6 stays, 7 moves
        (480, 10, [132, 133, 108, 107], [132, 120, 108, 120]),  # range 12
        (480, 25, [150, 151, 90, 89], [150, 120, 90, 120]),  # range 30
    ],
)
def test_exclude_within_keeps_a_distance_equal_to_the_range(ppq, exclude, starts, expected):
    got, _, rep = run(starts, [s + 500 for s in starts], S(exclude_within=exclude), ppq)
    assert got == expected
    assert (rep.excluded, rep.moved) == (2, 2)


def test_exclude_50_keeps_even_the_tie_at_half_a_step():
    # 12 at 96 is exactly half a step from 0 and 24: |d| = 12 <= 12 stays; at 45 % it moves to
    # the earlier point
    assert starts_of([12, 36], S(exclude_within=50), 96) == [12, 36]
    assert starts_of([12, 36], S(exclude_within=45), 96) == [0, 24]
    assert starts_of([60, 180], S(exclude_within=45), 480) == [0, 120]


@pytest.mark.parametrize(
    "ppq,catch,starts,expected",
    [
        (96, 25, [30, 31, 18, 17], [24, 31, 24, 17]),  # range 6: |d| 6 caught, 7 left
        (480, 25, [150, 151, 90, 89], [120, 151, 120, 89]),  # range 30
        (480, 50, [60, 180], [0, 120]),  # the half-step tie is caught, goes earlier
    ],
)
def test_catch_within_catches_a_distance_equal_to_the_range(ppq, catch, starts, expected):
    got, _, rep = run(starts, [s + 500 for s in starts], S(catch_within=catch), ppq)
    assert got == expected
    assert rep.outside_catch == sum(a == b for a, b in zip(got, starts, strict=True))


def test_exclude_and_catch_combined_boundaries_at_480():
    # exclude 10 % = 12, catch 25 % = 30: moved only when 12 < |d| <= 30
    got, _, rep = run(
        [132, 133, 150, 151, 120], [400] * 5, S(exclude_within=10, catch_within=25), 480
    )
    assert got == [132, 120, 120, 151, 120]
    assert (rep.on_grid, rep.excluded, rep.outside_catch, rep.moved) == (1, 1, 1, 2)


def test_catch_zero_moves_nothing_and_exclude_zero_moves_everything_off_grid():
    assert starts_of([1, 119], S(catch_within=0), 480) == [1, 119]
    assert starts_of([1, 119], S(exclude_within=0), 480) == [0, 120]


# -- Ends ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "settings,expected",
    [
        (S(), (120, 390)),  # keep-length: the end moves with the start
        (S(ends="keep-ends"), (120, 400)),
        (S(ends="quantize-ends"), (120, 360)),  # 400: 360 is 40 away, 480 is 80
        (S(ends="quantize-ends", strength=50), (125, 380)),
        (S(ends="quantize-lengths"), (120, 360)),  # length 270 = 2.25 steps -> 240
        (S(ends="quantize-lengths", strength=50), (125, 380)),  # 270 + (240-270)/2 = 255
        (S(ends="quantize-lengths", length_grid="1/8T"), (120, 440)),  # L 160: 270 -> 320
        (S(ends="quantize-lengths", length_grid="1/4."), (120, 840)),  # L 720: max(1, 0) steps
    ],
)
def test_the_four_ends_modes_at_480(settings, expected):
    starts, ends, _ = run([130], [400], settings, 480)
    assert (starts[0], ends[0]) == expected


@pytest.mark.parametrize(
    "settings,expected",
    [
        (S(), (0, 35)),
        (S(ends="keep-ends"), (0, 45)),
        (S(ends="quantize-ends"), (0, 48)),  # 45 -> 48
        (S(ends="quantize-lengths"), (0, 24)),  # 35 -> 24
        (S(ends="quantize-lengths", length_grid="1/8T"), (0, 32)),  # L 32: 35 -> 32
        (S(ends="quantize-lengths", length_grid="1/8."), (0, 72)),  # L 72: 35 -> 72 (0.49 -> 1)
    ],
)
def test_the_four_ends_modes_at_96(settings, expected):
    starts, ends, _ = run([10], [45], settings, 96)
    assert (starts[0], ends[0]) == expected


def test_quantize_lengths_rounds_the_step_count_half_up():
    # 1/8 at 480 (L 240): length 360 is 1.5 steps -> 2 (480); 359 -> 1 (240)
    s = S(ends="quantize-lengths", length_grid="1/8")
    assert run([0, 1000], [360, 1359], s, 480)[1] == [480, 1200]


def test_quantize_ends_uses_the_ranges_for_the_end_on_its_own():
    # exclude 10 % at 480 (12): the start 125 (d 5) stays, the end 250 (d 10) stays, 290 moves
    s = S(ends="quantize-ends", exclude_within=10)
    assert run([125, 1325], [250, 1490], s, 480)[:2] == ([125, 1325], [250, 1440])
    # catch 10 %: the start 125 is caught, the end 290 (d 50) is not
    s = S(ends="quantize-ends", catch_within=10)
    assert run([125], [290], s, 480)[:2] == ([120], [290])


def test_quantize_lengths_ignores_the_ranges_at_480():
    s = S(ends="quantize-lengths", exclude_within=10)
    assert run([125], [295], s, 480)[:2] == ([125], [245])  # start stays, length 170 -> 120


# -- Guard: end after start --------------------------------------------------------------------
def test_end_guard_on_a_swung_grid_takes_the_next_point_that_rounds_after_the_start():
    # swing 58 at 480: off-beat 139.2. keep-ends: 135 -> 139, end 138 would come before it;
    # the first grid point after 139 that is a later tick is 240 (139.2 rounds to 139)
    starts, ends, rep = run([135], [138], S(swing=58, ends="keep-ends"), 480)
    assert (starts, ends, rep.ends_fixed) == ([139], [240], 1)
    # quantize-ends: 10 and 50 both go to 0; the end goes to the off-beat, 139.2 -> 139
    starts, ends, rep = run([10], [50], S(swing=58, ends="quantize-ends"), 480)
    assert (starts, ends, rep.ends_fixed) == ([0], [139], 1)


def test_end_guard_at_96_with_keep_ends_and_quantize_ends():
    assert run([20], [22], S(ends="keep-ends"), 96)[:2] == ([24], [48])
    assert run([50], [55], S(ends="quantize-ends"), 96)[:2] == ([48], [72])


def test_end_guard_for_quantize_lengths_is_one_length_step():
    # A quantized length is at least min(length, L) >= 1 tick at PPQ 96 and 480, so this guard
    # only triggers with a length step under one tick. PPQ 22, 1/128: L = 0.6875. The note 3-4
    # goes to 2.75 (start 3) with length 0.6875 (end 3.4375 -> 3): the end is set one length
    # step (rounded: 1 tick) after the start.
    starts, ends, rep = run([3], [4], S(division=128, ends="quantize-lengths"), 22)
    assert (starts, ends, rep.ends_fixed) == ([3], [4], 1)


# -- Guards act only on moved notes: trim and merge, with counts ------------------------------------
def test_trim_and_merge_at_480_with_counts():
    # same pitch: 10-300 -> 0-290 is trimmed at 120 by 130-400 -> 120-390
    starts, ends, rep = run([10, 130], [300, 400], S(), 480, pitches=[60, 60])
    assert (starts, ends, rep.trimmed, rep.merged) == ([0, 120], [120, 390], 1, 0)
    # 10-300 and 50-400 land on 0: one note, latest end (350), highest velocity
    res = quantize_notes(make_notes([10, 50], [300, 400], [60, 60], [70, 100]), S(), 480)
    assert res.notes[["start", "end", "velocity"]].tolist() == [(0, 350, 100)]
    assert (res.report.merged, res.report.trimmed, res.source.tolist()) == (1, 0, [0])


def test_unmoved_notes_are_neither_trimmed_nor_merged_at_480():
    # on the grid: an overlap and a duplicate start stay as they are
    notes = make_notes([0, 0, 120], [300, 200, 400], [60, 60, 60])
    res = quantize_notes(notes, S(), 480)
    assert res.notes[["start", "end"]].tolist() == [(0, 300), (0, 200), (120, 400)]
    assert (res.report.moved, res.report.trimmed, res.report.merged) == (0, 0, 0)
    # in the safe zone (exclude 10 %): also left alone, duplicates included
    notes = make_notes([125, 125, 250], [300, 200, 400], [60, 60, 60])
    res = quantize_notes(notes, S(exclude_within=10), 480)
    assert res.notes[["start", "end"]].tolist() == [(125, 300), (125, 200), (250, 400)]
    assert (res.report.trimmed, res.report.merged) == (0, 0)


def test_a_moved_note_into_an_unmoved_one_trims_the_earlier_at_96():
    starts, ends, rep = run([0, 30], [40, 60], S(), 96, pitches=[60, 60])
    assert (starts, ends, rep.trimmed) == ([0, 24], [24, 54], 1)


# -- Non-note events keep their ticks ----------------------------------------------------------
@pytest.mark.parametrize("ppq", [96, 480])
def test_non_note_events_keep_their_ticks(ppq):
    song = new_song(ppq=ppq)
    g = ppq // 4
    track = add_track(song, make_notes([g + 5, 2 * g - 3], [2 * g, 3 * g], [60, 62]))
    add_channel_event(track, g + 5, 0xB0, 64, 127)  # sustain with the first note-on
    add_channel_event(track, g + 7, 0xE0, 0, 70)  # pitch bend
    add_channel_event(track, 3, 0xC0, 5)  # program
    add_meta(track, g + 1, 0x06, b"marker")
    before = [(t.events.copy(), t.payload.copy()) for t in song.tracks]
    out, report = quantize_song(song, S())
    assert out.tracks[1].notes["start"].tolist() == [g, 2 * g]
    for t, (ev, pl) in zip(out.tracks, before, strict=True):
        assert t.events.tolist() == ev.tolist()
        assert t.payload.tobytes() == pl.tobytes()
    assert report.moved == 2


@pytest.mark.parametrize("ppq,offset", [(96, 12), (480, 60)])
def test_tie_toward_a_point_before_zero_clamps_and_leaves_the_note(ppq, offset):
    # the note at 0 sits exactly between -offset and +offset: the tie goes to the earlier
    # point (before 0), which clamps to 0, so the note stays; one tick later it goes forward
    got, _, rep = run([0, 1], [50, 50], S(offset=offset), ppq)
    assert got == [0, offset]
    assert rep.moved == 1
