"""Bars, beats and tempo in closed form: the same answers as walking bar by bar, at no cost
per empty tick; tempos that cannot time anything (0 µs per quarter) are ignored, never
divided by."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.model.tempo import TempoMap, TimeSignature, TimeSignatureMap

signature = st.builds(
    TimeSignature,
    st.integers(0, 5000),
    st.integers(1, 13),
    st.sampled_from([1, 2, 4, 8, 16, 32, 64, 128]),
)


def _walk(sigs: TimeSignatureMap, end: int) -> list[tuple[int, int]]:
    """Reference: bar lines by walking tick by bar, as the old code did."""
    return [(n, t) for n, t, _ in sigs.bars(end)]


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([1, 3, 24, 96, 480]), st.lists(signature, max_size=6), st.integers(0, 6000))
def test_closed_form_bars_agree_with_walking(ppq, sig_list, end):
    sigs = TimeSignatureMap(ppq, sig_list)
    walked = _walk(sigs, end)
    assert sigs.bar_count(end) == len(walked)
    ticks, numbers = sigs.bar_lines(0, end + 1)
    assert list(zip(numbers.tolist(), ticks.tolist(), strict=True)) == walked
    for n, t in walked:
        assert sigs.bar_start(n) == t
        assert sigs.bar_at(t) == n
        assert sigs.position(t)[0] == n
    if walked:
        every = 3
        t_e, n_e = sigs.bar_lines(0, end + 1, every)
        assert n_e.tolist() == [n for n, _ in walked if (n - 1) % every == 0]
        assert t_e.tolist() == [t for n, t in walked if (n - 1) % every == 0]


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from([1, 4, 96, 480]),
    st.lists(signature, max_size=5),
    st.integers(0, 3000),
    st.integers(0, 3000),
)
def test_beats_are_every_beat_of_every_bar_in_the_window(ppq, sig_list, t0, span):
    sigs = TimeSignatureMap(ppq, sig_list)
    t1 = t0 + span
    expected = []
    lines = _walk(sigs, t1 + 1)
    for j, (_n, bar_tick) in enumerate(lines):
        i = max(k for k, s in enumerate(sigs.signatures) if s.tick <= bar_tick)
        sig = sigs.signatures[i]
        beat = max(1, ppq * 4 // sig.denominator)
        stop = bar_tick + max(1, sigs.bar_ticks(sig))
        if j + 1 < len(lines):
            stop = min(stop, lines[j + 1][1])
        for k, t in enumerate(range(bar_tick, stop, beat)):
            if t0 <= t < t1:
                expected.append((t, k == 0))
    ticks, down = sigs.beats(t0, t1)
    assert list(zip(ticks.tolist(), down.tolist(), strict=True)) == expected


def test_position_counts_bars_beats_and_ticks():
    sigs = TimeSignatureMap(480, [TimeSignature(0, 4, 4), TimeSignature(1920 * 2 + 480, 3, 8)])
    assert sigs.position(0) == (1, 1, 0)
    assert sigs.position(1920 + 480 * 2 + 5) == (2, 3, 5)
    # bar 3 is cut short at 4320 by the 3/8: the 3/8 starts bar 4
    assert sigs.position(4320) == (4, 1, 0)
    assert sigs.position(4320 + 240 * 2 + 7) == (4, 3, 7)
    assert sigs.bar_start(5) == 4320 + 720


@pytest.mark.timeout(30)
def test_huge_silences_cost_nothing_per_tick():
    """2^28-tick gaps at 1 PPQ, thousands of them: counting bars is instant (the walk would
    take 2^26 steps per gap)."""
    ppq = 1
    gap = 1 << 28
    sigs = TimeSignatureMap(
        ppq, [TimeSignature(k * gap, 3 + k % 5, 4 if k % 2 else 8) for k in range(4000)]
    )
    end = 4000 * gap + 12345
    count = sigs.bar_count(end)
    # independent count: per segment, ceil(length / bar)
    expected = 0
    for k, s in enumerate(sigs.signatures):
        nxt = sigs.signatures[k + 1].tick if k + 1 < len(sigs.signatures) else end + 1
        expected += math.ceil((nxt - s.tick) / max(1, sigs.bar_ticks(s)))
    assert count == expected
    assert sigs.bar_start(count) <= end < sigs.bar_start(count + 1)
    ticks, numbers = sigs.bar_lines(end - 100, end + 100)
    assert ticks.size == numbers.size and 0 < ticks.size <= 200
    beats, _ = sigs.beats(3999 * gap - 10, 3999 * gap + 10)
    assert beats.size > 0 and np.all(np.diff(beats) > 0)


@pytest.mark.parametrize("bad", [0.0, -5.0, float("nan"), float("inf")])
def test_unusable_tempo_is_ignored_and_the_previous_one_goes_on(bad):
    tm = TempoMap(480, [0, 960, 1920], [600_000, bad, 250_000])
    assert tm.ticks.tolist() == [0, 1920]
    assert tm.usec.tolist() == [600_000, 250_000]
    assert tm.ignored.tolist() == [960]
    assert tm.tick_to_seconds(1920) == pytest.approx(2 * 2 * 0.6)
    assert tm.seconds_to_tick(2.4 + 0.25) == pytest.approx(1920 + 480)
    assert tm.bpm_at(960) == pytest.approx(100.0)


def test_tempo_zero_at_tick_zero_leaves_the_default_120_bpm():
    tm = TempoMap(96, [0], [0])
    assert tm.usec.tolist() == [500_000]
    assert tm.tick_to_seconds(96) == pytest.approx(0.5)
    assert tm.seconds_to_tick(1.0) == pytest.approx(192)
    assert TempoMap.constant(96, 0).bpm_at(0) == pytest.approx(120.0)


def test_limits_return_the_first_lines_and_beats():
    sigs = TimeSignatureMap(4, [TimeSignature(0, 3, 4), TimeSignature(30, 5, 8)])
    all_ticks, all_numbers = sigs.bar_lines(0, 200)
    ticks, numbers = sigs.bar_lines(0, 200, limit=4)
    assert ticks.tolist() == all_ticks[:4].tolist() and numbers.tolist() == [1, 2, 3, 4]
    assert sigs.bar_lines(0, 200, every=2, limit=3)[1].tolist() == [1, 3, 5]
    every_beat, every_down = sigs.beats(5, 150)
    beats, down = sigs.beats(5, 150, limit=7)
    assert beats.tolist() == every_beat[:7].tolist() and down.tolist() == every_down[:7].tolist()
    assert sigs.beats(5, 150, limit=0)[0].size == 0


@pytest.mark.timeout(30)
def test_metronome_over_a_huge_silence_is_bounded():
    from engine.realtime.metronome import MAX_CLICKS, click_rows

    sigs = TimeSignatureMap(1, [])
    rows = click_rows(sigs, TempoMap(1), 0, 1 << 28)
    assert rows.size == MAX_CLICKS
    assert rows["tick"][:5].tolist() == [0, 1, 2, 3, 4]
    assert rows["data1"][:5].tolist() == [76, 77, 77, 77, 76]
    late = click_rows(sigs, TempoMap(1), (1 << 28) - 8, 1 << 28)
    assert late["tick"].tolist() == list(range((1 << 28) - 8, 1 << 28))


def test_tempo_bytes_never_write_a_tempo_of_zero():
    from engine.build import tempo_bytes

    assert tempo_bytes(120) == (500_000).to_bytes(3, "big")
    assert tempo_bytes(1e12) == (1).to_bytes(3, "big")  # not 0: the fastest a file can say
    assert tempo_bytes(0.001) == (0xFFFFFF).to_bytes(3, "big")  # the slowest
    for bad in (0, -120, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="positive number of BPM"):
            tempo_bytes(bad)
