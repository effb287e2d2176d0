"""Property tests: invariants of the quantizer over random clips and settings (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.build import add_channel_event, add_track, new_song
from engine.model.notes import make_notes
from engine.quantize.apply import NoteFilter, quantize_song
from engine.quantize.core import quantize_notes
from engine.quantize.grid import nearest_grid
from engine.quantize.settings import ENDS_MODES, QuantizeSettings

PPQS = st.sampled_from([24, 96, 480, 960])


@st.composite
def quantize_settings(draw, ends=ENDS_MODES, ranges=True):
    grid_type = draw(st.sampled_from(["straight", "triplet", "dotted", "tuplet"]))
    tuplet = None
    if grid_type == "tuplet":
        tuplet = (draw(st.integers(1, 9)), draw(st.integers(1, 9)))
    swing = draw(st.floats(50, 75)) if grid_type == "straight" else 50.0
    return QuantizeSettings(
        division=draw(st.sampled_from([1, 2, 4, 8, 16, 32, 64, 128])),
        grid_type=grid_type,
        tuplet=tuplet,
        offset=draw(st.integers(0, 300)),
        strength=draw(st.floats(0, 100)),
        swing=swing,
        exclude_within=draw(st.floats(0, 50)) if ranges else 0.0,
        catch_within=draw(st.none() | st.floats(0, 100)) if ranges else None,
        ends=draw(st.sampled_from(ends)),
        length_grid=draw(st.none() | st.sampled_from(["1/4", "1/8T", "1/16.", "1/32"])),
    )


@st.composite
def clips(draw, max_notes=40):
    n = draw(st.integers(0, max_notes))
    starts = draw(st.lists(st.integers(0, 4000), min_size=n, max_size=n))
    lengths = draw(st.lists(st.integers(1, 600), min_size=n, max_size=n))
    pitches = draw(st.lists(st.integers(60, 62), min_size=n, max_size=n))
    channels = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    vels = draw(st.lists(st.integers(1, 127), min_size=n, max_size=n))
    s = np.asarray(starts, dtype=np.int64)
    notes = make_notes(s, s + np.asarray(lengths, dtype=np.int64), pitches, vels, channels)
    order = np.lexsort((notes["channel"], notes["pitch"], notes["start"]))
    notes = notes[order]
    notes["on_seq"] = np.arange(n) * 2
    notes["off_seq"] = np.arange(n) * 2 + 1
    return notes


def grid_distance(ticks, s, ppq):
    t = np.asarray(ticks, dtype=np.float64)
    return np.abs(t - nearest_grid(t, s, ppq))


PROPS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPS
@given(clips(), quantize_settings(), PPQS)
def test_strength_zero_changes_nothing(notes, s, ppq):
    res = quantize_notes(notes, s.replace(strength=0.0), ppq)
    assert res.notes.tolist() == notes.tolist()
    assert res.report.moved == res.report.trimmed == res.report.merged == 0


@PROPS
@given(clips(), quantize_settings(ranges=False), PPQS)
def test_full_strength_puts_every_start_on_a_grid_point(notes, s, ppq):
    s = s.replace(strength=100.0)
    res = quantize_notes(notes, s, ppq)
    target = np.maximum(nearest_grid(notes["start"][res.source], s, ppq), 0)
    assert res.notes["start"].tolist() == np.floor(target + 0.5).astype(np.int64).tolist()


@PROPS
@given(clips(), quantize_settings(ends=("keep-length", "quantize-ends", "keep-ends")), PPQS)
def test_quantizing_twice_at_full_strength_equals_once(notes, s, ppq):
    """Not for quantize-lengths: a trimmed length re-quantizes to another length step."""
    s = s.replace(strength=100.0)
    once = quantize_notes(notes, s, ppq)
    twice = quantize_notes(once.notes, s, ppq)
    assert twice.notes.tolist() == once.notes.tolist()
    assert twice.report.moved == 0


@PROPS
@given(clips(), quantize_settings(), PPQS)
def test_no_note_ends_at_or_before_its_start(notes, s, ppq):
    res = quantize_notes(notes, s, ppq)
    assert np.all(res.notes["end"] > res.notes["start"])


@PROPS
@given(clips(), quantize_settings(), PPQS)
def test_distance_to_the_grid_never_grows(notes, s, ppq):
    res = quantize_notes(notes, s, ppq)
    before = grid_distance(notes["start"][res.source], s, ppq)
    after = grid_distance(res.notes["start"], s, ppq)
    assert np.all(after <= before + 1e-9)


@PROPS
@given(clips(), quantize_settings(), PPQS)
def test_count_only_drops_by_reported_merges_and_output_is_sorted(notes, s, ppq):
    res = quantize_notes(notes, s, ppq)
    assert res.notes.size == notes.size - res.report.merged
    assert np.unique(res.source).size == res.source.size
    key = np.lexsort((res.notes["channel"], res.notes["pitch"], res.notes["start"]))
    assert key.tolist() == list(range(res.notes.size))
    # identity columns come from the source row
    for col in ("id", "on_seq", "off_seq", "flags", "pitch", "channel"):
        assert res.notes[col].tolist() == notes[col][res.source].tolist()


@PROPS
@given(clips(), quantize_settings(), PPQS)
def test_same_voice_notes_never_overlap_after_a_move(notes, s, ppq):
    """An overlap may only survive where it was already in the source between two notes
    whose starts did not move (and the earlier one did not get longer)."""
    res = quantize_notes(notes, s, ppq)
    out, src = res.notes, notes[res.source]
    kept = out["start"] == src["start"]
    for voice in {(int(c), int(p)) for c, p in zip(out["channel"], out["pitch"], strict=True)}:
        idx = np.flatnonzero((out["channel"] == voice[0]) & (out["pitch"] == voice[1]))
        for a, b in zip(idx[:-1], idx[1:], strict=True):
            if out["end"][a] > out["start"][b]:
                assert kept[a] and kept[b] and out["end"][a] <= src["end"][a]


@PROPS
@given(clips(), quantize_settings(), st.integers(0, 1))
def test_song_level_keeps_non_note_events_and_only_filtered_notes_move(notes, s, channel):
    song = new_song(ppq=96)
    track = add_track(song, notes, name="Keys")
    add_channel_event(track, 7, 0xB0, 64, 127)
    add_channel_event(track, 13, 0xE0, 0, 64)
    before = [t.events.copy() for t in song.tracks]
    payload = [t.payload.copy() for t in song.tracks]
    out, report = quantize_song(song, s, NoteFilter(channels=[channel]))
    assert song.tracks[1].notes.tolist() == notes.tolist()  # the input song is untouched
    for t, ev, pl in zip(out.tracks, before, payload, strict=True):
        assert t.events.tolist() == ev.tolist()
        assert t.payload.tobytes() == pl.tobytes()
    other = out.tracks[1].notes
    other = other[other["channel"] != channel]
    assert sorted(other["start"].tolist()) == sorted(
        notes["start"][notes["channel"] != channel].tolist()
    )
    assert report.total == notes.size


@settings(max_examples=60, deadline=None)
@given(clips(max_notes=15), quantize_settings(), PPQS)
def test_python_int_fallback_agrees_with_int64(notes, s, ppq):
    """Huge tick values take the exact Python-int path; it must match the fast path."""
    import engine.quantize.core as core

    fast = quantize_notes(notes, s, ppq)
    saved = core._INT64_SAFE
    core._INT64_SAFE = 0  # force object arrays
    try:
        slow = quantize_notes(notes, s, ppq)
    finally:
        core._INT64_SAFE = saved
    assert slow.notes.tolist() == fast.notes.tolist()
    assert slow.source.tolist() == fast.source.tolist()
    assert slow.report == fast.report
