"""The grid: exact points for every grid type, swing built from the unswung lattice, offset."""

from __future__ import annotations

import bisect
from fractions import Fraction

import numpy as np
import pytest

from engine.quantize.grid import grid_points, lattice, nearest_grid
from engine.quantize.settings import QuantizeSettings as S


def q(ticks, settings, ppq):
    return nearest_grid(np.asarray(ticks, dtype=np.float64), settings, ppq).tolist()


def test_straight_sixteenths_ties_go_to_the_earlier_point():
    assert q([0, 11, 12, 13, 35, 36, 37, 95], S(), 96) == [0, 0, 0, 24, 24, 24, 48, 96]


def test_division_sets_the_step():
    assert q([47, 49], S(division=4), 96) == [0, 96]  # G = 96, tie at 48 goes earlier
    assert q([100], S(division=1), 96) == [0]  # G = 384
    assert lattice(S(division=128), 480).step == 15
    assert q([7, 8, 23], S(division=128), 480) == [0, 15, 30]


def test_triplet_and_dotted_steps():
    assert q([16, 17, 48, 49], S(division=8, grid_type="triplet"), 96) == [0, 32, 32, 64]
    assert q([36, 37, 108, 109], S(division=8, grid_type="dotted"), 96) == [0, 72, 72, 144]


def test_tuplet_5_4_at_ppq_96_is_exact():
    s = S(division=16, grid_type="tuplet", tuplet=(5, 4))
    assert s.grid_step(96) == Fraction(96, 5)
    assert grid_points(s, 96, 0, 96).tolist() == [0, 19.2, 38.4, 57.6, 76.8, 96]
    # far out the lattice is still exact: 123457 * 19.2 = 2370374.4
    assert q([2370376], s, 96) == [2370374.4]


def test_swing_points_follow_the_spec_formula():
    s = S(swing=62)  # 1/16 at 480: G = 120, odd points at (k-1)G + 2G*0.62
    assert grid_points(s, 480, 0, 480).tolist() == [0, 148.8, 240, 388.8, 480]
    assert q([74, 75, 150, 245, 390], s, 480) == [0, 148.8, 148.8, 240, 388.8]


def test_swing_75_and_ties_between_swung_points():
    s = S(swing=75)  # 1/16 at 96: points 0, 36, 48, 84
    assert q([18, 19, 42, 43], s, 96) == [0, 36, 36, 48]


def test_logic_swing_presets_at_ppq_480():
    for swing, odd in [(54, 129.6), (58, 139.2), (66, 158.4), (71, 170.4)]:
        assert grid_points(S(swing=swing), 480, 0, 240).tolist() == [0, odd, 240]


def test_offset_extends_the_lattice_both_ways():
    s = S(offset=5)  # points ... -19, 5, 29 ...
    assert q([0, 17, 18, 30], s, 96) == [5, 5, 29, 29]  # 17 is the tie
    assert q([3], S(offset=20), 96) == [-4]  # nearest lies before 0; the quantizer clamps
    assert grid_points(S(offset=20), 96, 0, 70).tolist() == [20, 44, 68]


def test_grid_points_swung_with_offset():
    s = S(division=8, swing=66, offset=10)  # G = 48, pair 96, off-beat at 63.36
    assert grid_points(s, 96, 0, 200).tolist() == pytest.approx([10, 73.36, 106, 169.36])


def test_fractional_input_ticks_for_live_use():
    assert q([12.5, 11.9], S(), 96) == [24, 0]


@pytest.mark.parametrize(
    "ppq,division,grid_type",
    [
        (96, 16, "straight"),
        (25, 16, "straight"),
        (24, 128, "straight"),
        (96, 32, "triplet"),
        (480, 8, "dotted"),
        (7, 4, "straight"),
    ],
)
@pytest.mark.parametrize("swing", [50, 58])
def test_distance_matches_brute_force_nearest_with_ties_earlier(ppq, division, grid_type, swing):
    if grid_type != "straight" and swing != 50:
        pytest.skip("swing needs a straight grid")
    s = S(division=division, grid_type=grid_type, swing=swing, offset=3)
    lat = lattice(s, ppq)
    span = int(500 / (2 * lat.step)) + 2
    pts = sorted(
        {
            Fraction(3) + k * 2 * lat.step + off
            for k in range(-span, span + 1)
            for off in (0, 2 * lat.step * Fraction(swing, 100))
        }
    )
    ticks = np.arange(-400, 400)
    got = nearest_grid(ticks, s, ppq)
    for t, g in zip(ticks.tolist(), got.tolist(), strict=True):
        i = bisect.bisect_left(pts, t)
        best = min(pts[i - 2 : i + 2], key=lambda p: (abs(t - p), p))  # ties: the earlier
        assert g == pytest.approx(float(best)), t
    scaled = ticks * lat.scale - lat.origin  # the int64 path agrees with the float path
    assert ((scaled - lat.distance(scaled) + lat.origin) / lat.scale).tolist() == got.tolist()
