"""Property tests of part 2 (hypothesis): amounts 0 write the file back byte for byte; timing
100 puts every start on its slot's point; same seed same bytes; chords keep one humanize
deviation; flam order; controllers keep their order and their note."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.build import add_channel_event, add_track, new_song
from engine.model.notes import make_notes
from engine.quantize.apply import quantize_song
from engine.quantize.core import quantize_notes
from engine.quantize.groove_template import BASES, GrooveTemplate
from engine.quantize.settings import ENDS_MODES
from engine.quantize.settings import QuantizeSettings as S
from engine.smf.midifile import load_song_bytes, song_to_bytes

PPQS = st.sampled_from([24, 96, 480, 960])
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def templates(draw):
    base = draw(st.sampled_from(sorted(BASES)))
    step = BASES[base]
    slots = draw(st.integers(1, 16))
    chosen = draw(st.lists(st.integers(0, slots - 1), unique=True, max_size=slots))
    points = []
    for j in chosen:
        off = Fraction(draw(st.integers(-499, 499)), 1000) * step
        beat = j * step + off
        if beat < 0:
            beat += slots * step
        points.append(
            {
                "beat": beat,
                "velocity": draw(st.none() | st.integers(1, 127)),
                "length": draw(st.none() | st.sampled_from([Fraction(1, 8), Fraction(1, 2), 1])),
            }
        )
    return GrooveTemplate("h", base, slots * step, tuple(points))


@st.composite
def songs(draw, ppq):
    n = draw(st.integers(1, 30))
    starts = np.array(draw(st.lists(st.integers(0, 3000), min_size=n, max_size=n)))
    lens = np.array(draw(st.lists(st.integers(1, 400), min_size=n, max_size=n)))
    pitches = draw(st.lists(st.integers(60, 63), min_size=n, max_size=n))
    chans = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    song = new_song(ppq=ppq)
    order = np.argsort(starts, kind="stable")
    tr = add_track(song, make_notes(starts[order], (starts + lens)[order], pitches, 90, chans))
    for t in sorted(draw(st.lists(st.integers(0, 3200), max_size=30))):
        add_channel_event(tr, t, draw(st.sampled_from([0xB0, 0xB1, 0xE0, 0xD1, 0xC0])), 1, 2)
    return load_song_bytes(song_to_bytes(song))


@FAST
@given(data=st.data(), ppq=PPQS, g=templates())
def test_all_amounts_zero_is_byte_identical(data, ppq, g):
    song = data.draw(songs(ppq))
    st_ = S(
        groove=g,
        strength=0,
        ends=data.draw(st.sampled_from(ENDS_MODES)),
        controllers="follow",
        humanize_seed=data.draw(st.integers(0, 2**63 - 1)),
        humanize_noise=data.draw(st.sampled_from(["pink", "white"])),
    )
    out, rep = quantize_song(song, st_)
    assert rep.moved == 0
    assert song_to_bytes(out) == song_to_bytes(song)


@FAST
@given(ppq=PPQS, g=templates(), data=st.data())
def test_timing_100_puts_each_start_on_its_slots_point(ppq, g, data):
    n = data.draw(st.integers(1, 40))
    starts = np.array(data.draw(st.lists(st.integers(0, 5000), min_size=n, max_size=n)))
    notes = make_notes(starts, starts + 5, np.arange(n) % 128, 90, np.arange(n) // 128)
    res = quantize_notes(notes, S(groove=g), ppq)
    out = res.notes[np.argsort(res.source)]
    step = g.step * ppq
    offs = {j: off * ppq for j, off, _p in g.slots()}
    for t0, t1 in zip(starts.tolist(), out["start"].tolist(), strict=True):
        k = math.floor(Fraction(t0) / step + Fraction(1, 2))
        if 2 * (Fraction(t0) - (k - 1) * step) == step:  # a tie goes to the earlier point
            k -= 1
        j = k % g.slot_count
        if j in offs:
            p = max(k * step + offs[j], Fraction(0))
            assert t1 == math.floor(p + Fraction(1, 2))
        else:
            assert t1 == t0


@FAST
@given(data=st.data(), ppq=PPQS, g=st.none() | templates())
def test_same_seed_same_bytes(data, ppq, g):
    song = data.draw(songs(ppq))
    st_ = S(
        groove=g,
        humanize_ms=data.draw(st.floats(0.1, 40)),
        humanize_velocity=data.draw(st.floats(0, 20)),
        humanize_seed=data.draw(st.integers(0, 2**32)),
        flam=data.draw(st.integers(-ppq, ppq)),
        controllers="follow",
    )
    a, _ = quantize_song(song, st_)
    b, _ = quantize_song(song, st_)
    assert song_to_bytes(a) == song_to_bytes(b)


@FAST
@given(data=st.data(), ppq=PPQS)
def test_chords_keep_one_humanize_deviation(data, ppq):
    n = data.draw(st.integers(1, 20))
    ticks = sorted(set(data.draw(st.lists(st.integers(0, 4000), min_size=n, max_size=n))))
    size = data.draw(st.integers(2, 4))
    starts = np.repeat(ticks, size)
    pitches = np.arange(len(ticks) * size) % 128  # no two notes of one voice: no merges
    notes = make_notes(starts, starts + 30, pitches, 90)
    st_ = S(strength=data.draw(st.floats(0, 100)), humanize_ms=data.draw(st.floats(1, 60)))
    res = quantize_notes(notes, st_, ppq)
    out = res.notes[np.argsort(res.source)]
    s = out["start"].reshape(len(ticks), size)
    assert (s == s[:, :1]).all()


@FAST
@given(data=st.data(), ppq=PPQS)
def test_flam_order(data, ppq):
    flam = data.draw(st.integers(-ppq, ppq).filter(bool))
    n = data.draw(st.integers(2, 6))
    pitches = data.draw(st.lists(st.integers(30, 90), min_size=n, max_size=n, unique=True))
    notes = make_notes([ppq] * n, [ppq * 3] * n, pitches, 90)
    res = quantize_notes(notes, S(flam=flam), ppq)
    by_pitch = sorted(res.notes[["pitch", "start"]].tolist(), reverse=flam < 0)
    assert [s for _p, s in by_pitch] == [ppq + i * abs(flam) for i in range(n)]


@FAST
@given(data=st.data(), ppq=PPQS, g=st.none() | templates())
def test_controllers_keep_their_order_and_their_note(data, ppq, g):
    song = data.draw(songs(ppq))
    st_ = S(
        groove=g,
        humanize_ms=data.draw(st.sampled_from([0.0, 15.0])),
        flam=data.draw(st.integers(-5, 5)),
        controllers="follow",
    )
    out, _ = quantize_song(song, st_)
    before, after = song.tracks[1].events, out.tracks[1].events
    assert sorted(before["seq"].tolist()) == sorted(after["seq"].tolist())
    by_seq_b = before[np.argsort(before["seq"])]
    by_seq_a = after[np.argsort(after["seq"])]
    assert (by_seq_a["tick"] >= 0).all()
    for ch in range(16):
        for kind in (0xB0, 0xE0, 0xD0):
            m = by_seq_b["status"] == kind | ch
            ticks = by_seq_a["tick"][m]
            assert (np.diff(ticks) >= 0).all()  # source order kept
    prog = by_seq_b["status"] & 0xF0 == 0xC0
    assert by_seq_a["tick"][prog].tolist() == by_seq_b["tick"][prog].tolist()
    # each follower moved by its owner's shift (a plain loop as the reference)
    notes = song.tracks[1].notes
    res = quantize_notes(notes, st_, ppq, tempo=song.tempo_map(), stream=1)
    last: dict[int, int] = {}
    for e_b, e_a in zip(by_seq_b, by_seq_a, strict=True):
        if e_b["status"] & 0xF0 not in (0xA0, 0xB0, 0xD0, 0xE0):
            continue
        ch, tick = int(e_b["status"] & 0x0F), int(e_b["tick"])
        owners = [
            i for i in range(notes.size) if notes["channel"][i] == ch and notes["start"][i] <= tick
        ]
        shift = 0
        if owners:
            top = max(int(notes["start"][i]) for i in owners)
            shift = min(int(res.shift[i]) for i in owners if notes["start"][i] == top)
        want = max(tick + shift, 0, last.get(ch, 0))
        last[ch] = want
        assert int(e_a["tick"]) == want


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), ppq=st.sampled_from([24, 96]), g=templates())
def test_residue_tables_agree_with_the_exact_kernel(data, ppq, g):
    """groove_positions' table path (big clips) gives exactly what the per-note kernel gives."""
    from engine.quantize import groove as gm

    period = gm._period_ticks(g, ppq)
    n = 4 * period + data.draw(st.integers(1, 200))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32)))
    starts = np.sort(rng.integers(0, 40 * period + 500, n))
    lens = rng.integers(1, 3 * ppq, n)
    notes = make_notes(starts, starts + lens, rng.integers(0, 128, n), rng.integers(1, 128, n))
    st_ = S(
        groove=g,
        strength=data.draw(st.sampled_from([0, 50, 80, 100])),
        pre_quantize=data.draw(st.sampled_from([0, 30, 100])),
        groove_velocity=data.draw(st.sampled_from([0, 60, -40])),
        groove_length=data.draw(st.sampled_from([0, 50])),
        exclude_within=data.draw(st.sampled_from([0, 5])),
        catch_within=data.draw(st.sampled_from([None, 45])),
        ends=data.draw(st.sampled_from(ENDS_MODES)),
        offset=data.draw(st.integers(-50, 50)),
    )
    sel = rng.random(n) < 0.9 if data.draw(st.booleans()) else None
    t, e, v = notes["start"], notes["end"], notes["velocity"]
    fast = gm.groove_positions(t, e, v, sel, st_, g, ppq)
    saved = gm.MAX_TABLE_TICKS
    gm.MAX_TABLE_TICKS = 0
    try:
        exact = gm.groove_positions(t, e, v, sel, st_, g, ppq)
    finally:
        gm.MAX_TABLE_TICKS = saved
    for a, b in zip(fast, exact, strict=True):
        if isinstance(a, np.ndarray):
            assert a.tolist() == b.tolist()
        else:
            assert a == b
