"""Live input with a groove, humanize and flam (QUANTIZE_SPEC part 2): causal, exact send times
on a virtual clock (120 BPM, PPQ 480: one tick is 1/960 s; tick 0 at engine time 100)."""

from __future__ import annotations

import pytest

from engine.model.tempo import TempoMap
from engine.quantize import groove as groove_mod
from engine.quantize.groove_template import GrooveTemplate
from engine.quantize.humanize import deviation_sequence
from engine.quantize.settings import QuantizeSettings
from engine.realtime.live_quantize import CHORD_WINDOW_S, LiveQuantizer, LiveSettings, MusicalClock

PPQ = 480
T0 = 100.0
# 1/16 at PPQ 480: B = 120 ticks; slot 1 point at 0.29 beat = 139.2 ticks, slot 2 empty
G = GrooveTemplate("g", "1/16", 1, ({"beat": 0}, {"beat": 0.29}, {"beat": 0.70}))


def at(tick: float) -> float:
    return T0 + tick / 960.0


def lq(mode="nearest", max_delay_ms=None, **kw) -> LiveQuantizer:
    kw.setdefault("groove", G)
    s = LiveSettings(QuantizeSettings(**kw), mode=mode, max_delay_ms=max_delay_ms)
    return LiveQuantizer(s, MusicalClock(TempoMap.constant(PPQ, 120), T0, 0), PPQ)


def test_held_note_goes_to_its_slots_point():
    q = lq()
    assert q.note_on(at(125), 0, 60) == pytest.approx(at(139.2), abs=1e-12)


def test_point_in_the_past_sends_at_once():
    q = lq()
    assert q.note_on(at(145), 0, 60) == at(145)


def test_timing_amount_and_pre_quantize():
    assert lq(strength=50).note_on(at(125), 0, 60) == pytest.approx(at(132.1), abs=1e-12)
    # empty slot 2 (base 240): pre 100 pulls 230 to 240 (a delay), nothing else
    assert lq(pre_quantize=100).note_on(at(230), 0, 60) == pytest.approx(at(240), abs=1e-12)
    assert lq().note_on(at(230), 0, 60) == at(230)


def test_ranges_and_max_delay():
    assert lq(exclude_within=10).note_on(at(130), 0, 60) == at(130)  # 9.2 < 12: alone
    assert lq(catch_within=5).note_on(at(125), 0, 60) == at(125)  # 14.2 > 6: not caught
    assert lq(max_delay_ms=10).note_on(at(125), 0, 60) == at(125)  # needs 14.8 ms
    assert lq(max_delay_ms=20).note_on(at(125), 0, 60) == pytest.approx(at(139.2), abs=1e-12)


def test_next_mode_waits_for_the_next_point():
    # 145 is past slot 1's point; slot 2 is empty; slot 3's point is at 336
    q = lq(mode="next")
    assert q.note_on(at(145), 0, 60) == pytest.approx(at(336), abs=1e-12)


def test_note_off_keeps_the_length_and_never_precedes_its_on():
    q = lq()
    on = q.note_on(at(125), 0, 60)
    assert q.note_off(at(200), 0, 60) == pytest.approx(at(200) + (on - at(125)), abs=1e-12)
    q = lq(ends="quantize-ends")
    q.note_on(at(125), 0, 60)
    # the end is quantized on the straight base lattice: 230 → 240
    assert q.note_off(at(230), 0, 60) == pytest.approx(at(240), abs=1e-12)


def test_groove_name_resolved_once():
    calls = []

    def resolver(name):
        calls.append(name)
        return G

    groove_mod.set_groove_resolver(resolver)
    try:
        q = lq(groove="Mine")
        for k in range(5):
            q.note_on(at(125 + 480 * k), 0, 60)
        assert calls == ["Mine"]
    finally:
        groove_mod.set_groove_resolver(None)


def test_humanize_is_delay_only_and_chords_share_it():
    q = lq(groove=None, strength=0, humanize_ms=10, humanize_seed=3)
    seq = deviation_sequence(4096, "pink", 3, 0, 0)
    for k in range(20):
        when = at(480 * k)
        sends = [q.note_on(when + i * 0.005, 0, 60 + i) for i in range(3)]
        want = max(0.0, seq[k]) * 0.010
        assert sends[0] == pytest.approx(when + want, abs=1e-12)
        for i in range(1, 3):
            assert sends[i] - (when + i * 0.005) == pytest.approx(want, abs=1e-12)


def test_flam_live_spreads_in_played_order_per_channel():
    q = lq(groove=None, strength=0, flam=48)  # 48 ticks = 50 ms
    t = at(960)
    assert q.note_on(t, 0, 64) == t
    assert q.note_on(t + 0.002, 0, 60) == pytest.approx(t + 0.002 + 0.05, abs=1e-12)
    assert q.note_on(t + 0.004, 1, 40) == t + 0.004  # another channel: its own first note
    assert q.note_on(t + 0.006, 0, 67) == pytest.approx(t + 0.006 + 0.1, abs=1e-12)
    later = t + CHORD_WINDOW_S + 0.001
    assert q.note_on(later, 0, 50) == later  # a new group
