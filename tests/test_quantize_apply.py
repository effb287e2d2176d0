"""Song-level quantize (filters, lossless events, seq bookkeeping for the writer) and analysis."""

from __future__ import annotations

import io

import mido
import numpy as np
import pytest

from engine.build import add_channel_event, add_meta, add_track, new_song
from engine.model.notes import make_notes
from engine.quantize.analysis import grid_offsets, grid_offsets_percent, offset_stats
from engine.quantize.apply import NoteFilter, quantize_song
from engine.quantize.settings import QuantizeSettings as S
from engine.smf.midifile import load_song_bytes, song_to_bytes


def two_track_song():
    song = new_song(ppq=96)
    a = add_track(song, make_notes([5, 30, 50], [20, 45, 70], [60, 60, 64], channels=[0, 0, 1]))
    add_channel_event(a, 31, 0xB0, 1, 64)
    add_meta(a, 40, 0x06, b"verse")
    add_track(song, make_notes([3, 70], [10, 90], [36, 38], channels=9))
    return load_song_bytes(song_to_bytes(song))  # as if read from a file: real seqs


def test_song_quantize_moves_notes_and_nothing_else():
    song = two_track_song()
    out, report = quantize_song(song, S())
    assert out.tracks[1].notes["start"].tolist() == [0, 24, 48]
    assert out.tracks[2].notes["start"].tolist() == [0, 72]
    for a, b in zip(song.tracks, out.tracks, strict=True):
        assert a.events.tolist() == b.events.tolist()
        assert a.payload.tobytes() == b.payload.tobytes()
    assert song.tracks[1].notes["start"].tolist() == [5, 30, 50]  # input untouched
    assert (report.total, report.moved) == (5, 5)


def test_filters_tracks_channels_pitches():
    song = two_track_song()
    out, rep = quantize_song(song, S(), NoteFilter(tracks={2}))
    assert out.tracks[1].notes["start"].tolist() == [5, 30, 50]
    assert out.tracks[2].notes["start"].tolist() == [0, 72]
    assert rep.not_selected == 3
    out, _ = quantize_song(song, S(), NoteFilter(channels={1}))
    assert out.tracks[1].notes["start"].tolist() == [5, 30, 48]
    out, _ = quantize_song(song, S(), NoteFilter(pitches=(37, 60)))
    assert out.tracks[1].notes["start"].tolist() == [0, 24, 50]
    assert out.tracks[2].notes["start"].tolist() == [3, 72]


def test_moved_notes_lose_their_seq_so_the_writer_places_them_safely():
    song = two_track_song()
    out, _ = quantize_song(song, S(), NoteFilter(tracks={1}))
    notes = out.tracks[1].notes
    assert (notes["on_seq"] == -1).all() and (notes["off_seq"] == -1).all()
    out, _ = quantize_song(song, S(strength=0))
    assert out.tracks[1].notes.tolist() == song.tracks[1].notes.tolist()


def test_strength_zero_file_round_trip_is_byte_identical():
    song = two_track_song()
    data = song_to_bytes(song)
    out, _ = quantize_song(song, S(strength=0, ends="quantize-ends"))
    assert song_to_bytes(out) == data


def test_saved_file_has_exact_ticks_and_off_before_restrike():
    # two same-pitch notes: the first ends where the second now starts (trimmed)
    song = new_song(ppq=96)
    add_track(song, make_notes([0, 30], [40, 60], [60, 60]))
    song = load_song_bytes(song_to_bytes(song))
    out, report = quantize_song(song, S())
    assert report.trimmed == 1
    mid = mido.MidiFile(file=io.BytesIO(song_to_bytes(out)))
    t, events = 0, []
    for msg in mid.tracks[1]:
        t += msg.time
        if msg.type in ("note_on", "note_off"):
            on = msg.type == "note_on" and msg.velocity > 0
            events.append((t, "on" if on else "off"))
    assert events == [(0, "on"), (24, "off"), (24, "on"), (54, "off")]


def test_grid_offsets_signed_ticks_and_percent():
    starts = np.array([0, 5, 20, 30, 47])
    assert grid_offsets(starts, S(), 96).tolist() == [0, 5, -4, 6, -1]
    assert grid_offsets_percent(starts, S(), 96).tolist() == pytest.approx(
        [0, 500 / 24, -400 / 24, 25, -100 / 24]
    )
    # against a swung grid: 1/16 swing 62 at 480, off-beat at 148.8
    assert grid_offsets(np.array([150]), S(swing=62), 480).tolist() == pytest.approx([1.2])


def test_offset_stats():
    st = offset_stats(np.array([0, 1, 2, 3, 12]), S(), 96)  # G 24: 5 % = 1.2, 10 % = 2.4
    assert (st.notes, st.max_abs_ticks, st.mean_abs_ticks) == (5, 12.0, 3.6)
    assert (st.within_5_percent, st.within_10_percent) == (40.0, 60.0)
    assert st.max_abs_percent == 50.0
    assert "max 12.0 ticks (50.0 %)" in st.summary()
    assert offset_stats(np.array([], dtype=np.int64), S(), 96).summary().endswith("no notes")
