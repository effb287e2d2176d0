"""The compiled quantizer passes against simple numpy models of the same rules.

The reference guard model is the quantizer's previous implementation: group each voice with a
stable sort and compare neighbours with shifted slices. The compiled pass must agree with it
on every column and count, including merges that trim, chains of merges and unmoved groups.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engine.quantize.core as core
from engine.model.notes import make_notes
from engine.quantize import kernels
from engine.quantize.settings import QuantizeSettings as S


def reference_guards(start, end, velocity, voice, moved):
    """Guards 2 and 3 on contiguous columns in playing order.

    Returns ``(end, velocity, keep, trimmed, merged)`` in playing order; ``end`` and
    ``velocity`` are updated in place. ``voice`` identifies (pitch, channel); a stable radix sort on it groups each voice and keeps the playing
    order inside it, so neighbours are compared with shifted slices. Merges are rare, so the
    group reductions run on the few rows involved only; the full-length work is a handful of
    vector compares.
    """
    n = start.size
    keep = np.ones(n, dtype=bool)
    if n < 2:
        return end, velocity, keep, 0, 0
    by_voice = np.argsort(voice, kind="stable")
    s, e, vo, mv = start[by_voice], end[by_voice], voice[by_voice], moved[by_voice]
    same_voice = vo[1:] == vo[:-1]  # row i+1 vs row i
    same_start = same_voice & (s[1:] == s[:-1])

    merged = 0
    dups = np.flatnonzero(same_start) + 1  # rows that share a start with the row before
    if dups.size:
        rows = np.union1d(dups - 1, dups)  # every member of a same-start group
        head_mask = ~np.isin(rows, dups)
        heads = np.flatnonzero(head_mask)  # group starts, as positions in ``rows``
        group = np.cumsum(head_mask) - 1
        merge = np.logical_or.reduceat(mv[rows], heads)[group]
        if merge.any():
            members = rows[merge]
            grp = group[merge]
            first = np.flatnonzero(np.diff(grp, prepend=-1))  # first member of each group
            v = velocity[by_voice[members]]
            top_end = np.maximum.reduceat(e[members], first)
            top_vel = np.maximum.reduceat(v, first)
            # Every member takes the merged values so that the last one trims like the head.
            e[members] = np.repeat(top_end, np.diff(np.append(first, members.size)))
            mv[members] = True
            velocity[by_voice[members[first]]] = top_vel
            dropped = members[~np.isin(np.arange(members.size), first)]
            keep[by_voice[dropped]] = False
            merged = int(dropped.size)
            last = np.append(first[1:], members.size) - 1
            head_rows, last_rows = members[first], members[last]

    over = same_voice & ~same_start & (e[:-1] > s[1:]) & (mv[:-1] | mv[1:])
    idx = np.flatnonzero(over)
    e[idx] = s[idx + 1]
    trimmed = idx.size
    if merged:
        e[head_rows] = e[last_rows]  # the head takes the trim its group's last member got
    end[by_voice[idx]] = e[idx]
    if merged:
        end[by_voice[head_rows]] = e[head_rows]
    return end, velocity, keep, int(trimmed), merged


@st.composite
def playing_columns(draw):
    """Columns in playing order (start, voice) with many shared starts and overlaps."""
    n = draw(st.integers(0, 60))
    start = np.sort(np.asarray(draw(st.lists(st.integers(0, 30), min_size=n, max_size=n))))
    length = np.asarray(draw(st.lists(st.integers(1, 20), min_size=n, max_size=n)), dtype=int)
    voice = np.asarray(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)), np.int16)
    voice = voice * 16 + np.asarray(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    vel = np.asarray(draw(st.lists(st.integers(1, 127), min_size=n, max_size=n)), np.uint8)
    moved = np.asarray(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    order = np.lexsort((voice, start))
    return (
        start[order].astype(np.int64),
        (start + length)[order].astype(np.int64),
        vel[order],
        voice[order].astype(np.int16),
        moved[order],
    )


@settings(max_examples=400, deadline=None)
@given(playing_columns())
def test_guard_pass_matches_the_voice_sorted_reference(cols):
    start, end, vel, voice, moved = cols
    n = start.size
    ref_end, ref_vel, ref_keep, ref_trim, ref_merge = reference_guards(
        start.copy(), end.copy(), vel.copy(), voice, moved
    )
    o_end, o_vel, keep, trimmed, merged = kernels.guard_pass(
        np.arange(n), start, end, moved, voice, vel, np.zeros(n, np.int64)
    )
    assert (trimmed, merged) == (ref_trim, ref_merge)
    assert keep.tolist() == ref_keep.tolist()
    assert o_end[keep].tolist() == ref_end[ref_keep].tolist()
    assert o_vel[keep].tolist() == ref_vel[ref_keep].tolist()


def test_guard_pass_merge_then_trim_worked_example():
    # voice 0: two notes on 0 (one moved) merge, ends 10/30 -> 30, trimmed at 24 by the next
    start = np.array([0, 0, 24], dtype=np.int64)
    end = np.array([10, 30, 40], dtype=np.int64)
    vel = np.array([50, 90, 70], dtype=np.uint8)
    moved = np.array([False, True, False])
    voice = np.zeros(3, np.int16)
    o_end, o_vel, keep, trimmed, merged = kernels.guard_pass(
        np.arange(3), start, end, moved, voice, vel, start
    )
    assert (keep.tolist(), trimmed, merged) == ([True, False, True], 1, 1)
    assert (o_end[0], o_vel[0], o_end[2]) == (24, 90, 40)


@kernels.njit
def _compiled_floordiv(x, d):
    return kernels._floordiv(x, d, 1.0 / d)


@pytest.mark.parametrize("d", [1, 3, 7, 240, 1392, 2400, 96_000_001])
def test_floordiv_is_exact_on_both_sides_of_the_float_limit(d):
    fd = kernels._floordiv.py_func
    lim = kernels._FLOAT_EXACT
    xs = [0, 1, -1, d - 1, d, -d, -d - 1, lim - 1, lim, lim + 1, -lim + 1, -lim, -lim - 1]
    xs += [lim - d * k - j for k in range(3) for j in range(3)]
    xs += [2**62 - 1, -(2**62)]
    for x in xs:
        assert int(_compiled_floordiv(np.int64(x), np.int64(d))) == x // d, (x, d)
        assert fd(x, d, 1.0 / d) == x // d


def test_scaled_positions_near_the_float_limit_match_the_exact_path(monkeypatch):
    """Ticks whose scaled value straddles 2**51 take both branches of the fast division."""
    s = S(swing=58, strength=70, exclude_within=10, ends="quantize-ends")  # scale 5
    scale = core.lattice(s, 480).scale
    base = kernels._FLOAT_EXACT // scale
    starts = np.arange(base - 400, base + 400, 7, dtype=np.int64)
    notes = make_notes(starts, starts + 100, (np.arange(starts.size) % 60) + 30)
    fast = core.quantize_notes(notes, s, 480)
    monkeypatch.setattr(core, "_INT64_SAFE", 0)  # Python ints, the exact reference
    slow = core.quantize_notes(notes, s, 480)
    assert fast.notes.tolist() == slow.notes.tolist()
    assert fast.report == slow.report


def test_playing_order_falls_back_on_unsorted_input():
    start = np.arange(5000, dtype=np.int64)[::-1].copy()  # reversed: far too many shifts
    voice = np.zeros(5000, np.int16)
    assert kernels.playing_order(start, voice) is None
    assert core._playing_order(start, voice).tolist() == list(range(4999, -1, -1))


def test_playing_order_is_stable_by_start_then_voice():
    start = np.array([5, 0, 5, 5, 0], dtype=np.int64)
    voice = np.array([3, 2, 1, 3, 2], dtype=np.int16)
    assert kernels.playing_order(start, voice).tolist() == [1, 4, 2, 0, 3]


def test_warm_up_runs_every_mode():
    core.warm_up()  # compiles or loads; must not raise
    assert all(kernels.positions.signatures)


def test_read_only_and_strided_inputs_give_the_same_result():
    notes = make_notes([5, 13, 30, 37], [20, 30, 40, 50], [60, 60, 61, 61], [90, 80, 70, 60])
    expected = core.quantize_notes(notes, S(), 96).notes.tolist()
    frozen = notes.copy()
    frozen.flags.writeable = False
    assert core.quantize_notes(frozen, S(), 96).notes.tolist() == expected
    doubled = np.repeat(notes, 2)[::2]  # a strided view of the same rows
    assert core.quantize_notes(doubled, S(), 96).notes.tolist() == expected
