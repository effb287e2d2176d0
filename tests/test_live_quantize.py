"""The causal live quantizer on a virtual clock: exact send times (QUANTIZE_SPEC, live input).

Clock: 120 BPM at PPQ 480, so one tick is 1/960 s; the song is at tick 0 at engine time 100.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.errors import SettingsError
from engine.model.tempo import TempoMap
from engine.quantize.settings import QuantizeSettings
from engine.realtime.live_quantize import (
    LiveQuantizer,
    LiveSettings,
    MusicalClock,
    grid_neighbours,
    nearest_point,
)

PPQ = 480
T0 = 100.0


def at(tick: float) -> float:
    return T0 + tick / 960.0


def lq(**kw) -> LiveQuantizer:
    mode = kw.pop("mode", "nearest")
    max_delay = kw.pop("max_delay_ms", None)
    settings = LiveSettings(QuantizeSettings(**kw), mode=mode, max_delay_ms=max_delay)
    return LiveQuantizer(settings, MusicalClock(TempoMap.constant(PPQ, 120), T0, 0), PPQ)


def test_thru_when_quantize_is_off():
    q = LiveQuantizer(LiveSettings(), MusicalClock(TempoMap.constant(PPQ, 120), T0), PPQ)
    assert q.note_on(at(113), 0, 60) == at(113)
    assert q.note_off(at(400), 0, 60) == at(400)


def test_nearest_holds_an_early_note_until_the_grid():
    q = lq(division=16)  # G = 120 ticks
    assert q.note_on(at(110), 0, 60) == pytest.approx(at(120), abs=1e-12)


def test_nearest_sends_a_late_note_at_once():
    q = lq(division=16)
    assert q.note_on(at(130), 0, 60) == at(130)


def test_strength_moves_part_of_the_way():
    q = lq(division=16, strength=50)
    assert q.note_on(at(100), 0, 60) == pytest.approx(at(110), abs=1e-12)


def test_exclude_within_sends_notes_near_the_grid_at_once():
    q = lq(division=16, exclude_within=10)  # 12 ticks
    assert q.note_on(at(110), 0, 60) == at(110)  # 10 ticks early: inside the safe zone
    assert q.note_on(at(100), 0, 61) == pytest.approx(at(120), abs=1e-12)  # 20 ticks early


def test_catch_within_only_moves_notes_near_the_grid():
    q = lq(division=16, catch_within=10)
    assert q.note_on(at(100), 0, 60) == at(100)  # 20 ticks away: not caught
    assert q.note_on(at(230), 0, 61) == pytest.approx(at(240), abs=1e-12)


def test_next_mode_holds_every_note_until_the_next_grid_point():
    q = lq(division=16, mode="next")
    assert q.note_on(at(130), 0, 60) == pytest.approx(at(240), abs=1e-12)
    assert q.note_on(at(240), 0, 61) == at(240)  # on the grid: no delay


def test_next_mode_respects_swing():
    q = lq(division=16, swing=60, mode="next")  # off-beat at 2*120*0.6 = 144
    assert q.note_on(at(130), 0, 60) == pytest.approx(at(144), abs=1e-12)
    assert q.note_on(at(150), 0, 62) == pytest.approx(at(240), abs=1e-12)


def test_next_mode_lets_a_note_just_after_the_grid_go_when_excluded():
    """Silent in the spec: the safe zone is measured to the nearest point in both modes."""
    q = lq(division=16, mode="next", exclude_within=10)
    assert q.note_on(at(125), 0, 60) == at(125)


def test_max_delay_sends_a_note_that_would_wait_too_long_at_once():
    q = lq(division=16, mode="next", max_delay_ms=100)
    assert q.note_on(at(130), 0, 60) == at(130)  # 110 ticks = 114.6 ms > 100 ms
    assert q.note_on(at(150), 0, 61) == pytest.approx(at(240), abs=1e-12)  # 93.75 ms


def test_note_off_is_delayed_by_its_note_on_delay():
    q = lq(division=16)
    on = q.note_on(at(110), 0, 60)
    off = q.note_off(at(300), 0, 60)
    assert off - on == pytest.approx((300 - 110) / 960, abs=1e-12)  # length kept


def test_note_off_arriving_before_its_delayed_note_on_goes_after_it():
    q = lq(division=16, mode="next")
    on = q.note_on(at(130), 0, 60)  # held to 240
    off = q.note_off(at(150), 0, 60)  # released while the note-on is still held
    assert on == pytest.approx(at(240), abs=1e-12)
    assert off == pytest.approx(at(260), abs=1e-12) and off > on


def test_quantize_ends_moves_an_early_note_off_to_its_grid_point():
    q = lq(division=16, ends="quantize-ends")
    q.note_on(at(120), 0, 60)
    assert q.note_off(at(350), 0, 60) == pytest.approx(at(360), abs=1e-12)
    q.note_on(at(480), 0, 60)
    assert q.note_off(at(610), 0, 60) == at(610)  # late off: at once, never into the past


def test_quantize_ends_never_ends_a_note_before_it_starts():
    q = lq(division=16, mode="next", ends="quantize-ends")
    on = q.note_on(at(130), 0, 60)  # held to 240
    off = q.note_off(at(140), 0, 60)  # nearest grid 120 is in the past; 240 = the on
    assert on == pytest.approx(at(240), abs=1e-12)
    assert off == pytest.approx(at(360), abs=1e-12)  # first grid point after the note-on


def test_repeated_notes_pair_first_in_first_out():
    q = lq(division=16, mode="next")
    q.note_on(at(10), 0, 60)  # -> 120 (delay 110)
    q.note_on(at(125), 0, 60)  # -> 240 (delay 115)
    assert q.note_off(at(200), 0, 60) == pytest.approx(at(310), abs=1e-12)
    assert q.note_off(at(300), 0, 60) == pytest.approx(at(415), abs=1e-12)
    assert q.open_notes == 0
    assert q.note_off(at(500), 0, 60) == at(500)  # stray note-off: passes at once


def test_tempo_changes_are_honoured():
    tempo = TempoMap(PPQ, [0, 480], [500_000, 1_000_000])  # 120 BPM, then 60 BPM at beat 2
    q = LiveQuantizer(
        LiveSettings(QuantizeSettings(division=4), mode="next"), MusicalClock(tempo, T0), PPQ
    )
    # tick 600 is at 0.5 s + 120/480 s = 0.75 s; the next quarter (960) is at 1.5 s.
    assert q.note_on(T0 + 0.75, 0, 60) == pytest.approx(T0 + 1.5, abs=1e-12)


def test_clock_keeps_the_previous_anchor_for_times_before_a_new_one():
    c = MusicalClock(TempoMap.constant(PPQ, 120), T0, 0)
    c.anchor(T0 + 1.0, 0, keep_previous=True)  # a loop wrap scheduled 1 s ahead
    assert c.tick_at(T0 + 0.5) == pytest.approx(480)
    assert c.tick_at(T0 + 1.25) == pytest.approx(240)
    c.anchor(T0 + 2.0, 960)  # play/locate: the new mapping holds before it too
    assert c.tick_at(T0 + 1.5) == pytest.approx(480)


def test_bad_live_settings_name_the_field():
    with pytest.raises(SettingsError, match="mode"):
        LiveSettings(mode="later")
    with pytest.raises(SettingsError, match="max_delay"):
        LiveSettings(max_delay_ms=-1)


@given(
    t=st.floats(min_value=-2000, max_value=20000, allow_nan=False),
    swing=st.sampled_from([50, 54, 58, 62, 66, 71, 75]),
    division=st.sampled_from([4, 8, 16, 32]),
)
def test_grid_neighbours_bracket_the_offline_nearest_point(t, swing, division):
    s = QuantizeSettings(division=division, swing=swing)
    p, n = grid_neighbours(t, s, PPQ)
    assert p <= t < n
    q = nearest_point(t, s, PPQ)
    assert q == pytest.approx(p if t - p <= n - t else n, abs=1e-6)


@given(
    t=st.floats(min_value=0, max_value=4000, allow_nan=False),
    mode=st.sampled_from(["nearest", "next"]),
)
def test_a_live_note_is_never_sent_before_it_arrives(t, mode):
    q = lq(division=16, swing=62, mode=mode)
    send = q.note_on(at(t), 0, 60)
    assert send >= at(t)
    assert send - at(t) <= 2 * 120 * 0.62 / 960 + 1e-9  # at most the longest grid gap


def test_live_and_offline_grid_agree_on_exact_points():
    s = QuantizeSettings(division=16, grid_type="triplet")
    pts = np.arange(0, 2000, 7, dtype=np.float64)
    for t in pts:
        p, n = grid_neighbours(t, s, PPQ)
        assert nearest_point(t, s, PPQ) in (p, n)
