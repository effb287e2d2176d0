"""The built-in demo song: a humanized drum, bass and keys loop.

A new user who starts Quanta without a file should hear and see quantize within seconds, so
the demo is played "by hand": onsets wander around the 1/16 grid (hi-hats drag a little, the
bass pushes, chords spread like a real player's hand) and velocities vary. Quantizing it at
1/16 audibly tightens it; a swing preset audibly changes the feel.

The randomness uses a fixed seed so the demo is the same on every machine and in every test.
Channels follow General MIDI: drums on channel 10 (index 9), bass on 2, keys on 1.
"""

from __future__ import annotations

import numpy as np

from engine.build import add_channel_event, add_track, new_song
from engine.model.notes import make_notes, sort_notes
from engine.model.song import Song

DEMO_PPQ = 480
DEMO_BPM = 96.0
DEMO_BARS = 4
DEMO_SEED = 20260127

DRUM_CHANNEL = 9
BASS_CHANNEL = 1
KEYS_CHANNEL = 0
BASS_PROGRAM = 33  # GM "Electric Bass (finger)"
KEYS_PROGRAM = 4  # GM "Electric Piano 1"

KICK, SNARE, CLOSED_HAT, OPEN_HAT = 36, 38, 42, 46

#: One chord per bar (Am7 – Fmaj7 – C – G), voiced around middle C, and the bass root.
CHORDS = ((57, 60, 64, 67), (57, 60, 64, 65), (55, 60, 64, 67), (55, 59, 62, 67))
BASS_ROOTS = (45, 41, 48, 43)

SIXTEENTH = DEMO_PPQ // 4
BAR = DEMO_PPQ * 4


def _humanize(rng, starts, spread: float, drag: float = 0.0) -> np.ndarray:
    """Move onsets off the grid like a player would: a normal spread plus a steady lean."""
    jitter = rng.normal(drag, spread, size=len(starts))
    return np.maximum(0, np.asarray(starts) + np.round(jitter)).astype(np.int64)


def _velocities(rng, base, spread: float) -> np.ndarray:
    v = np.asarray(base, dtype=np.float64) + rng.normal(0, spread, size=len(base))
    return np.clip(np.round(v), 1, 127).astype(np.uint8)


def _drums(rng) -> np.ndarray:
    starts, pitches, vels = [], [], []
    for bar in range(DEMO_BARS):
        b = bar * BAR
        for s in (0, 7, 8, 10) if bar % 2 else (0, 8, 10):  # kick, with a pickup every 2nd bar
            starts.append(b + s * SIXTEENTH)
            pitches.append(KICK)
            vels.append(108)
        for s in (4, 12):  # backbeat
            starts.append(b + s * SIXTEENTH)
            pitches.append(SNARE)
            vels.append(112)
        for s in range(0, 16, 2):  # eighth-note hats, accented on the beat
            open_hat = bar == DEMO_BARS - 1 and s == 14
            starts.append(b + s * SIXTEENTH)
            pitches.append(OPEN_HAT if open_hat else CLOSED_HAT)
            vels.append(92 if s % 4 == 0 else 70)
        starts.append(b + 15 * SIXTEENTH)  # ghost snare before the next bar
        pitches.append(SNARE)
        vels.append(38)
    starts = _humanize(rng, starts, spread=14.0, drag=6.0)
    return make_notes(
        starts,
        starts + SIXTEENTH // 2,
        pitches,
        _velocities(rng, vels, 7.0),
        DRUM_CHANNEL,
        off_velocities=64,
    )


def _bass(rng) -> np.ndarray:
    starts, ends, pitches, vels = [], [], [], []
    pattern = ((0, 3, 0), (3, 1, 12), (6, 2, 0), (10, 2, 7), (12, 3, 0))  # (16th, len, +semis)
    for bar, root in enumerate(BASS_ROOTS):
        for s, length, interval in pattern:
            starts.append(bar * BAR + s * SIXTEENTH)
            ends.append(bar * BAR + (s + length) * SIXTEENTH - 20)
            pitches.append(root + interval)
            vels.append(100 if s == 0 else 84)
    on = _humanize(rng, starts, spread=12.0, drag=-5.0)  # bass players push
    off = np.maximum(np.asarray(ends) + np.round(rng.normal(0, 10, len(ends))), on + 30)
    return make_notes(
        on, off.astype(np.int64), pitches, _velocities(rng, vels, 6.0), BASS_CHANNEL, 64
    )


def _keys(rng) -> np.ndarray:
    starts, ends, pitches, vels = [], [], [], []
    hits = ((0, 5), (6, 4), (10, 6))  # (16th, length in 16ths): a syncopated comp
    for bar, chord in enumerate(CHORDS):
        for s, length in hits:
            for k, pitch in enumerate(chord):
                starts.append(bar * BAR + s * SIXTEENTH + 6 * k)  # a rolled hand
                ends.append(bar * BAR + (s + length) * SIXTEENTH - 30)
                pitches.append(pitch)
                vels.append(88 if s == 0 else 74)
    on = _humanize(rng, starts, spread=10.0)
    off = np.maximum(np.asarray(ends) + np.round(rng.normal(0, 12, len(ends))), on + 60)
    off = np.minimum(off, DEMO_BARS * BAR)  # the loop end: nothing hangs over into bar 1
    return make_notes(
        on, off.astype(np.int64), pitches, _velocities(rng, vels, 8.0), KEYS_CHANNEL, 64
    )


def _with_ids(notes: np.ndarray) -> np.ndarray:
    notes = sort_notes(notes)
    notes["id"] = np.arange(notes.size, dtype=np.int32)
    return notes


def demo_song() -> Song:
    """The demo loop, built fresh each call (callers may edit it freely)."""
    rng = np.random.default_rng(DEMO_SEED)
    song = new_song(ppq=DEMO_PPQ, bpm=DEMO_BPM, time_signature=(4, 4))
    for name, notes, channel, program in (
        ("Drums", _drums(rng), DRUM_CHANNEL, None),
        ("Bass", _bass(rng), BASS_CHANNEL, BASS_PROGRAM),
        ("Keys", _keys(rng), KEYS_CHANNEL, KEYS_PROGRAM),
    ):
        track = add_track(song, _with_ids(notes), name=name)
        if program is not None:
            add_channel_event(track, 0, 0xC0 | channel, program)
        track.end_tick = DEMO_BARS * BAR
    return song
