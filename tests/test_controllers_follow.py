"""Controllers follow notes (QUANTIZE_SPEC part 2): owner note, order, floor at 0, what stays,
merges, and the choices documented in engine/quantize/controllers.py."""

from __future__ import annotations

import numpy as np

from engine.build import add_channel_event, add_meta, add_track, new_song
from engine.model.notes import make_notes
from engine.quantize.apply import NoteFilter, quantize_song
from engine.quantize.groove_template import GrooveTemplate
from engine.quantize.settings import QuantizeSettings as S
from engine.smf.midifile import load_song_bytes, song_to_bytes


def song_with(notes, events, ppq=96):
    song = new_song(ppq=ppq)
    tr = add_track(song, notes)
    for tick, status, d1, d2 in events:
        add_channel_event(tr, tick, status, d1, d2)
    return load_song_bytes(song_to_bytes(song))


def ev(track):
    return [(int(t), int(s), int(a), int(b)) for t, s, a, b in track.events[["tick", "status", "data1", "data2"]]]


def test_followers_move_with_their_owner_and_the_rest_stays():
    notes = make_notes([5, 30, 50], [20, 45, 70], [60, 62, 64], channels=[0, 0, 1])
    events = [
        (2, 0xB0, 7, 100),  # before the channel's first note: stays
        (6, 0xE0, 0, 64),  # owner 5 (→0, shift -5): 1, but not before the CC at 2 → 2
        (31, 0xB0, 1, 64),  # owner 30 (→24): 25
        (33, 0xD0, 40, 0),  # channel pressure, owner 30: 27
        (40, 0xA0, 62, 30),  # poly pressure: 34
        (52, 0xB1, 1, 64),  # channel 1, owner 50 (→48): 50
        (52, 0xC0, 5, 0),  # program change: stays
    ]
    song = song_with(notes, events)
    out, _ = quantize_song(song, S(controllers="follow"))
    assert ev(out.tracks[1]) == [
        (2, 0xB0, 7, 100),
        (2, 0xE0, 0, 64),
        (25, 0xB0, 1, 64),
        (27, 0xD0, 40, 0),
        (34, 0xA0, 62, 30),
        (50, 0xB1, 1, 64),
        (52, 0xC0, 5, 0),
    ]
    stay, _ = quantize_song(song, S())
    assert ev(stay.tracks[1]) == ev(song.tracks[1])


def test_meta_and_sysex_stay_and_file_round_trips():
    song = new_song(ppq=96)
    tr = add_track(song, make_notes([10], [50], 60))
    add_channel_event(tr, 12, 0xB0, 64, 127)
    add_meta(tr, 12, 0x06, b"mark")
    song = load_song_bytes(song_to_bytes(song))
    out, _ = quantize_song(song, S(controllers="follow"))
    again = load_song_bytes(song_to_bytes(out))
    assert [e[:2] for e in ev(again.tracks[1])] == [(2, 0xB0), (12, 0xFF)]


def test_never_below_zero_and_order_kept_against_a_later_earlier_owner():
    # note A at 10 → 0 (owner of CC at 11 → 1); note B at 13 → 24 pushes forward: fine;
    # note C at 40 → 48 ... a note moved early far: CC at 41 owner C at 40 → 24 (groove)
    notes = make_notes([30, 40], [35, 45], [60, 61])
    events = [(31, 0xB0, 1, 1), (41, 0xB0, 1, 2)]
    song = song_with(notes, events)
    out, _ = quantize_song(song, S(controllers="follow", grid_type="straight", division=8))
    # 30 → 48 (+18): CC 31 → 49; 40 → 48 (+8): CC 41 → 49 (order kept)
    assert [e[0] for e in ev(out.tracks[1])] == [49, 49]
    notes = make_notes([3], [20], [60])
    out, _ = quantize_song(
        song_with(notes, [(4, 0xB0, 1, 1)]), S(controllers="follow", offset=5, division=4)
    )
    assert out.tracks[1].notes["start"].tolist() == [5]
    notes = make_notes([8], [20], [60])
    g = GrooveTemplate("push", "1/16", 1, ({"beat": 0.95},))
    song = song_with(notes, [(9, 0xB0, 1, 1)])
    out, _ = quantize_song(song, S(groove=g, controllers="follow"))
    assert out.tracks[1].notes["start"].tolist() == [0]  # target -4.8 clamped
    assert [e[0] for e in ev(out.tracks[1])] == [1]


def test_moved_event_never_passes_the_previous_one():
    notes = make_notes([0, 40], [10, 45], [60, 61])
    events = [(20, 0xB0, 1, 1), (41, 0xB0, 1, 2)]
    out, _ = quantize_song(song_with(notes, events), S(controllers="follow", division=4))
    # 40 → 0 (1/4 grid at PPQ 96: 0 or 96; 40 → 0): CC 41 → 1, but the CC at 20 stays: → 20
    assert out.tracks[1].notes["start"].tolist() == [0, 0]
    assert [e[0] for e in ev(out.tracks[1])] == [20, 20]


def test_merged_note_controllers_take_the_keepers_shift():
    notes = make_notes([22, 26], [30, 40], [60, 60])  # both land on 24 and merge
    events = [(23, 0xE0, 0, 1), (27, 0xE0, 0, 2)]
    out, rep = quantize_song(song_with(notes, events), S(controllers="follow"))
    assert rep.merged == 1
    # keeper is the note from 22 (+2): bends 23 → 25 and 27 → 29
    assert [e[0] for e in ev(out.tracks[1])] == [25, 29]


def test_chord_owner_is_the_first_to_sound_after_flam():
    notes = make_notes([96, 96, 96], [150, 150, 150], [60, 64, 67])
    events = [(96, 0xB0, 64, 127), (100, 0xE0, 0, 70)]
    out, _ = quantize_song(song_with(notes, events), S(strength=0, flam=10, controllers="follow"))
    assert [e[0] for e in ev(out.tracks[1])] == [96, 100]


def test_humanize_shift_carries_bends():
    starts = np.arange(20) * 96
    notes = make_notes(starts, starts + 50, 60)
    events = [(int(s) + 10, 0xE0, 0, 64) for s in starts]
    song = song_with(notes, events)
    out, _ = quantize_song(song, S(strength=0, humanize_ms=40, controllers="follow"))
    shift = out.tracks[1].notes["start"] - starts
    assert shift.any()
    assert [e[0] for e in ev(out.tracks[1])] == (starts + 10 + shift).tolist()


def test_unselected_notes_hold_their_controllers():
    notes = make_notes([5, 30], [20, 45], [60, 62], channels=[0, 1])
    events = [(6, 0xB0, 1, 1), (31, 0xB1, 1, 1)]
    out, _ = quantize_song(
        song_with(notes, events), S(controllers="follow"), NoteFilter(channels={1})
    )
    assert [e[0] for e in ev(out.tracks[1])] == [6, 25]


def test_huge_ticks_follow_too():
    big = 24 * 2**36
    notes = make_notes([big + 5, big + 30], [big + 20, big + 45], [60, 62])
    song = new_song(ppq=96)
    tr = add_track(song, notes)
    add_channel_event(tr, big + 31, 0xB0, 1, 1)
    out, _ = quantize_song(song, S(controllers="follow"))
    assert out.tracks[1].notes["start"].tolist() == [big, big + 24]  # a 1/16 point
    assert [e[0] for e in ev(out.tracks[1])] == [big + 25]


def test_playback_plays_what_the_offline_apply_writes():
    from engine.realtime.schedule import playback_notes_and_events

    notes = make_notes([5, 30, 50], [20, 45, 70], [60, 62, 64])
    song = song_with(notes, [(6, 0xE0, 0, 1), (31, 0xB0, 1, 1)])
    st = S(controllers="follow", humanize_ms=12, humanize_seed=3)
    out, _ = quantize_song(song, st)
    played, events = playback_notes_and_events(song.tracks[1], 96, st, song.tempo_map(), 1)
    assert played[["start", "end"]].tolist() == out.tracks[1].notes[["start", "end"]].tolist()
    assert events.tolist() == out.tracks[1].events.tolist()


def test_worked_example_ppq480():
    notes = make_notes([130, 250], [200, 400], [60, 62])
    events = [(131, 0xE0, 0, 64), (260, 0xB0, 11, 90), (261, 0xC0, 3, 0)]
    out, _ = quantize_song(song_with(notes, events, ppq=480), S(controllers="follow"))
    assert out.tracks[1].notes["start"].tolist() == [120, 240]
    assert [e[0] for e in ev(out.tracks[1])] == [121, 250, 261]
