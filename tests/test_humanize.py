"""Humanize and flam (QUANTIZE_SPEC part 2): onset groups, scale, clamps, seeds, spectrum,
flam order and the ends rules (choices documented in engine/quantize/humanize.py)."""

from __future__ import annotations

import numpy as np
import pytest

from engine.errors import SettingsError
from engine.model.notes import make_notes
from engine.model.tempo import TempoMap
from engine.quantize.core import quantize_notes
from engine.quantize.humanize import deviation_sequence, pink_noise
from engine.quantize.settings import QuantizeSettings as S


def spectrum_slope(x: np.ndarray) -> float:
    """β of power ∝ 1/f^β, fitted on log-log over the whole band (averaged periodograms)."""
    seg = 1024
    segs = x[: x.size // seg * seg].reshape(-1, seg)
    p = np.mean(np.abs(np.fft.rfft(segs - segs.mean(axis=1, keepdims=True), axis=1)) ** 2, 0)
    f = np.arange(p.size)
    k = slice(1, p.size - 1)
    slope = np.polyfit(np.log(f[k]), np.log(p[k]), 1)[0]
    return -slope


def test_pink_slope_near_one_and_white_near_zero():
    pink = deviation_sequence(65536, "pink", 7, 0, 0)
    white = deviation_sequence(65536, "white", 7, 0, 0)
    assert 0.7 <= spectrum_slope(pink) <= 1.3
    assert abs(spectrum_slope(white)) < 0.15


def test_sequence_is_standardised_and_clamped():
    for noise in ("pink", "white"):
        x = deviation_sequence(5000, noise, 3, 1, 0)
        assert abs(x.mean()) < 0.01 and 0.98 < x.std() <= 1.0 + 1e-12
        assert np.abs(x).max() <= 3.0


def test_pink_noise_lengths():
    rng = np.random.default_rng(0)
    for n in (0, 1, 2, 3, 17):
        assert pink_noise(rng, n).shape == (n,)


def grid_clip(n=400, ppq=96):
    starts = np.arange(n, dtype=np.int64) * ppq
    return make_notes(starts, starts + ppq // 2, 60, 80)


def test_humanize_ms_is_the_sd_in_ticks_at_the_tempo():
    notes = grid_clip()
    # 120 BPM: 96 ticks per 500 ms, 0.192 tick/ms: 100 ms is 19.2 ticks
    res = quantize_notes(notes, S(strength=0, humanize_ms=100), 96)
    dev = res.notes["start"] - notes["start"][res.source]
    assert 0.9 * 19.2 < dev.std() < 1.1 * 19.2
    assert np.abs(dev).max() <= 3 * 19.2 + 0.5
    slow = TempoMap.constant(96, 60)  # 60 BPM: 0.096 tick/ms
    res = quantize_notes(notes, S(strength=0, humanize_ms=100), 96, tempo=slow)
    dev2 = res.notes["start"] - notes["start"][res.source]
    assert 0.9 * 9.6 < dev2.std() < 1.1 * 9.6


def test_same_seed_same_result_other_seed_differs():
    notes = grid_clip(50)
    st = S(strength=0, humanize_ms=8, humanize_velocity=6)
    a = quantize_notes(notes, st, 96).notes
    b = quantize_notes(notes, st, 96).notes
    c = quantize_notes(notes, st.replace(humanize_seed=1), 96).notes
    assert a.tobytes() == b.tobytes()
    assert a.tobytes() != c.tobytes()


def test_streams_differ_per_track():
    notes = grid_clip(50)
    st = S(strength=0, humanize_ms=8)
    a = quantize_notes(notes, st, 96, stream=0).notes
    b = quantize_notes(notes, st, 96, stream=1).notes
    assert a.tobytes() != b.tobytes()


def test_chords_share_one_deviation_and_ends_move_with_starts():
    starts = np.repeat(np.arange(100) * 96, 3)
    notes = make_notes(starts, starts + 40, np.tile([60, 64, 67], 100), 90)
    res = quantize_notes(notes, S(strength=0, humanize_ms=15), 96)
    out = res.notes[np.argsort(res.source)]
    s = out["start"].reshape(100, 3)
    assert (s == s[:, :1]).all()
    assert (out["end"] - out["start"] == 40).all()


def test_humanize_velocity_steps_and_clamp():
    notes = grid_clip(300)
    res = quantize_notes(notes, S(strength=0, humanize_velocity=10), 96)
    dv = res.notes["velocity"].astype(int) - 80
    assert 8.5 < dv.std() < 11
    assert res.notes["start"].tolist() == notes["start"].tolist()  # timing untouched
    loud = make_notes(np.arange(300) * 96, np.arange(300) * 96 + 10, 60, 127)
    v = quantize_notes(loud, S(strength=0, humanize_velocity=60), 96).notes["velocity"]
    assert v.min() >= 1 and v.max() == 127


def test_no_note_before_zero_and_keep_ends_guard():
    notes = make_notes([0, 1, 2], [5, 6, 7], [60, 61, 62])
    for seed in range(20):
        res = quantize_notes(notes, S(strength=0, humanize_ms=50, humanize_seed=seed), 96)
        assert res.notes["start"].min() >= 0
    # keep-ends: an end at or before the humanized start goes to the next grid point
    notes = make_notes(np.arange(50) * 96, np.arange(50) * 96 + 2, 60)
    res = quantize_notes(notes, S(strength=0, humanize_ms=20, ends="keep-ends"), 96)
    assert (res.notes["end"] > res.notes["start"]).all()
    late = res.notes["start"] >= notes["start"][res.source] + 2
    assert late.any() and (res.notes["end"][late] % 24 == 0).all()


def test_single_onset_group_still_moves():
    notes = make_notes([960, 960], [1000, 1000], [60, 64])
    res = quantize_notes(notes, S(strength=0, humanize_ms=30, humanize_seed=5), 96)
    assert res.notes["start"][0] == res.notes["start"][1] != 960


def test_humanize_applies_to_notes_the_ranges_left_alone():
    notes = make_notes([1, 97], [20, 120], [60, 61])
    res = quantize_notes(notes, S(exclude_within=10, humanize_ms=20, humanize_seed=2), 96)
    assert res.report.excluded == 2
    assert (res.notes["start"] != [1, 97]).any()


def test_all_zero_changes_nothing():
    notes = grid_clip(30)
    res = quantize_notes(notes, S(strength=0, humanize_seed=99), 96)
    assert res.notes.tobytes() == notes.tobytes()


# -- flam ------------------------------------------------------------------------------------
def chord(channels=0):
    return make_notes([96, 96, 96, 200], [150, 150, 150, 260], [67, 60, 64, 50], 90, channels)


def out_by_pitch(res):
    return {int(p): (int(s), int(e)) for p, s, e in res.notes[["pitch", "start", "end"]]}


def test_flam_rising_and_falling():
    up = out_by_pitch(quantize_notes(chord(), S(strength=0, flam=5), 96))
    assert up == {60: (96, 150), 64: (101, 155), 67: (106, 160), 50: (200, 260)}
    down = out_by_pitch(quantize_notes(chord(), S(strength=0, flam=-5), 96))
    assert down == {67: (96, 150), 64: (101, 155), 60: (106, 160), 50: (200, 260)}


def test_flam_is_per_channel():
    notes = chord(channels=[0, 1, 0, 0])
    out = out_by_pitch(quantize_notes(notes, S(strength=0, flam=4), 96))
    assert out[60] == (96, 150)  # alone on channel 1
    assert out[64] == (96, 150) and out[67] == (100, 154)


def test_flam_groups_after_quantize_and_keep_ends_guard():
    notes = make_notes([95, 97, 98], [100, 100, 100], [60, 62, 64])
    res = quantize_notes(notes, S(flam=3, ends="keep-ends"), 96)
    out = out_by_pitch(res)
    # all land on 96; spread 96, 99, 102; ends stay at 100 except the last, guarded to 120
    assert out == {60: (96, 100), 62: (99, 100), 64: (102, 120)}


def test_flam_unisons_share_a_position_and_merge():
    notes = make_notes([96, 96, 96], [150, 140, 150], [60, 60, 64], channels=0)
    res = quantize_notes(notes, S(strength=100, flam=6, offset=0, exclude_within=0), 96)
    # the two 60s are one voice: both stay at 96 (not moved, so not merged); 64 goes to 102
    assert sorted(res.notes[["pitch", "start"]].tolist()) == [(60, 96), (60, 96), (64, 102)]


def test_flam_range_is_ppq():
    with pytest.raises(SettingsError, match="flam"):
        quantize_notes(chord(), S(flam=97), 96)
    quantize_notes(chord(), S(flam=-96), 96)


def test_tempo_map_converts_at_each_note():
    """Same deviation sequence, two tempos: ticks per ms differ by the tempo at the note."""
    notes = grid_clip(200)
    two = TempoMap(96, [0, 96 * 100], [500_000, 1_000_000])  # 120 BPM, then 60 BPM
    res = quantize_notes(notes, S(strength=0, humanize_ms=50), 96, tempo=two)
    ref = quantize_notes(notes, S(strength=0, humanize_ms=50), 96)  # 120 BPM throughout
    dev = res.notes["start"] - notes["start"][res.source]
    dev_ref = ref.notes["start"] - notes["start"][ref.source]
    assert dev[:100].tolist() == dev_ref[:100].tolist()
    z = np.asarray(deviation_sequence(200, "pink", 0, 0, 0))[100:]
    want = np.floor(z * 50 * 0.096 + 0.5).astype(int)  # 60 BPM: 0.096 tick/ms
    assert dev[100:].tolist() == want.tolist()


def test_flam_worked_example_ppq480():
    notes = make_notes([478, 481, 483], [900, 900, 900], [64, 60, 67], 90)
    out = out_by_pitch(quantize_notes(notes, S(flam=-30), 480))
    # all quantize to 480; falling order 67, 64, 60 at 480, 510, 540; ends keep their lengths
    assert out == {67: (480, 897), 64: (510, 932), 60: (540, 959)}
