"""The built-in demo song: deterministic, musical, and audibly off the grid."""

from __future__ import annotations

import numpy as np

from engine.demo import (
    BASS_CHANNEL,
    DEMO_BARS,
    DEMO_PPQ,
    DRUM_CHANNEL,
    KEYS_CHANNEL,
    demo_song,
)


def test_demo_is_deterministic():
    a, b = demo_song(), demo_song()
    for ta, tb in zip(a.tracks, b.tracks, strict=True):
        assert np.array_equal(ta.notes, tb.notes)
        assert np.array_equal(ta.events, tb.events)


def test_demo_has_named_drum_bass_keys_tracks_on_gm_channels():
    song = demo_song()
    assert song.ppq == DEMO_PPQ
    names = [t.name for t in song.tracks]
    assert names == ["Conductor", "Drums", "Bass", "Keys"]
    assert song.tracks[1].channels == [DRUM_CHANNEL] == [9]
    assert song.tracks[2].channels == [BASS_CHANNEL]
    assert song.tracks[3].channels == [KEYS_CHANNEL]
    # Bass and keys carry a program change so a GM synth picks the right sound.
    programs = [
        (int(e["status"]), int(e["data1"]))
        for t in song.tracks[2:]
        for e in t.events
        if e["status"] & 0xF0 == 0xC0
    ]
    assert programs == [(0xC1, 33), (0xC0, 4)]


def test_demo_is_a_loop_of_four_bars_at_96_bpm_in_4_4():
    song = demo_song()
    bar = DEMO_PPQ * 4
    assert song.length_ticks() == DEMO_BARS * bar
    assert abs(song.tempo_map().bpm_at(0) - 96.0) < 1e-6
    sig = song.time_signatures().signatures[0]
    assert (sig.numerator, sig.denominator) == (4, 4)
    for t in song.tracks[1:]:
        assert t.notes["start"].min() >= 0
        assert t.notes["end"].max() <= DEMO_BARS * bar
        assert np.all(t.notes["end"] > t.notes["start"])


def test_demo_notes_are_humanized_so_quantize_has_work_to_do():
    """Most onsets sit off the 1/16 grid by a few ticks, but close enough to be caught."""
    sixteenth = DEMO_PPQ // 4
    for t in demo_song().tracks[1:]:
        d = t.notes["start"] % sixteenth
        off = np.minimum(d, sixteenth - d)
        assert np.mean(off > 0) > 0.8, t.name
        assert off.max() <= sixteenth // 2
        assert np.unique(t.notes["velocity"]).size > 5  # velocities vary too


def test_demo_notes_are_sorted_with_stable_unique_ids():
    for t in demo_song().tracks[1:]:
        assert np.all(np.diff(t.notes["start"]) >= 0)
        assert np.array_equal(t.notes["id"], np.arange(t.notes.size))
