"""The piano roll's bar grid in closed form agrees with the song's own time-signature map.

BarGrid never walks bar by bar (a 2^28-tick silence at 1 PPQ is hundreds of millions of
bars); here it is checked against TimeSignatureMap.bars/position, which do walk, on small
random songs with several time signatures.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from engine.model import TimeSignature, TimeSignatureMap
from ui.pianoroll.bars import BarGrid


def _random_map(rng: random.Random) -> TimeSignatureMap:
    ppq = rng.choice([1, 3, 24, 96, 480])
    sigs = [
        TimeSignature(rng.randrange(0, 60 * ppq), rng.randint(1, 7), rng.choice([1, 2, 4, 8, 16]))
        for _ in range(rng.randint(0, 4))
    ]
    return TimeSignatureMap(ppq, sigs)


@pytest.mark.parametrize("seed", range(40))
def test_bars_snapping_and_numbers_match_the_walked_bars(seed):
    rng = random.Random(seed)
    sigs = _random_map(rng)
    end = 200 * sigs.ppq
    walked = list(sigs.bars(2 * end))  # past every tick asked about
    ticks = np.array([t for _n, t, _s in walked])
    numbers = np.array([n for n, _t, _s in walked])
    grid = BarGrid.build(sigs)
    for _ in range(25):
        t0 = rng.uniform(-5, end * 0.8)
        t1 = t0 + rng.uniform(0, end * 0.2)
        got_t, got_n = grid.bars_in(t0, t1)
        inside = (ticks >= t0) & (ticks < t1)
        assert got_t.tolist() == ticks[inside].tolist()
        assert got_n.tolist() == numbers[inside].tolist()
        tick = rng.uniform(0, end * 0.9)
        i = int(np.searchsorted(ticks, tick))
        near = ticks[max(0, i - 1) : i + 1]
        assert grid.snap(tick) == int(near[np.argmin(np.abs(near - tick))])  # ties: earlier
        whole = int(tick)
        j = int(np.searchsorted(ticks, whole, "left"))
        assert grid.before(whole) == (int(ticks[j - 1]) if j else 0)
        assert grid.after(whole) == int(ticks[np.searchsorted(ticks, whole, "right")])
        assert grid.number_at(whole) == sigs.position(whole)[0]


def test_thinned_bars_keep_numbers_1_plus_n_times_every():
    grid = BarGrid.build(TimeSignatureMap(480, [TimeSignature(0, 4, 4)]))
    ticks, numbers = grid.bars_in(0, 1920 * 40, ticks_per_px=100, min_px=36)  # 19.2 px a bar
    assert numbers.tolist() == list(range(1, 41, 2)) and (ticks == (numbers - 1) * 1920).all()


def test_a_silence_of_hundreds_of_millions_of_bars_costs_nothing():
    grid = BarGrid.build(TimeSignatureMap(1, [TimeSignature(0, 4, 4), TimeSignature(2**40, 3, 4)]))
    assert grid.number_at(2**40 + 7) == 2**38 + 1 + 2  # 4-tick bars, then 3-tick bars
    ticks, _ = grid.bars_in(0, 2**41, ticks_per_px=2**41 / 1000, min_px=6)
    assert 0 < ticks.size <= 2 * 1000 // 6 + 2
    assert grid.beats_in(0, 2**41).size == 0  # far too dense: not computed
    assert grid.snap(2**40 + 2) == 2**40 + 3 and grid.before(2**40) == 2**40 - 4
