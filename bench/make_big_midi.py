"""Write the benchmark MIDI file: 1M notes on 16 tracks with CCs and pitch bends (~2.5M events).

Deterministic (fixed seed), built with numpy and saved with Quanta's own writer, so it takes
seconds. Tracks alternate between running-status / note-on-velocity-0 style and plain
note-off style so both reader paths are exercised.

    .venv/bin/python bench/make_big_midi.py [--notes 1000000] [--out bench/data/big.mid]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.build import add_meta, new_song  # noqa: E402
from engine.model.notes import EVENT_DTYPE, EVENT_RUNNING, NOTE_OFF_IS_NOTE_ON_V0, empty_notes  # noqa: E402
from engine.model.song import META_TRACK_NAME, Song, Track  # noqa: E402
from engine.smf.midifile import save_song  # noqa: E402

DEFAULT_OUT = Path(__file__).resolve().parent / "data" / "big.mid"
PPQ = 480
TRACKS = 16


def _track(rng: np.random.Generator, index: int, n_notes: int) -> Track:
    channel = index % 16
    # Onsets on a 1/16 grid with humanised offsets; up to 3 notes per step (chords).
    step = PPQ // 4
    grid = np.sort(rng.integers(0, n_notes // 2, n_notes)) * step
    start = np.maximum(grid + rng.integers(-20, 21, n_notes), 0).astype(np.int64)
    start.sort()
    length = rng.integers(30, 4 * PPQ, n_notes)
    notes = empty_notes(n_notes)
    notes["start"] = start
    notes["end"] = start + length
    notes["pitch"] = rng.integers(24, 100, n_notes)
    notes["velocity"] = rng.integers(1, 128, n_notes)
    notes["channel"] = channel
    notes["id"] = np.arange(n_notes, dtype=np.int32)
    running_style = index % 2 == 0
    if running_style:
        notes["flags"] = NOTE_OFF_IS_NOTE_ON_V0  # the writer follows it for the new offs
    else:
        notes["off_velocity"] = rng.integers(0, 128, n_notes)

    # CCs and pitch bends: half an event per note (2.5M events in all for 1M notes).
    n_cc = n_notes // 4
    n_pb = n_notes // 4
    last = int(start[-1])
    ev = np.zeros(n_cc + n_pb, dtype=EVENT_DTYPE)
    ev["tick"] = np.sort(rng.integers(0, last + 1, n_cc + n_pb))
    ev["seq"] = -1
    is_cc = rng.random(n_cc + n_pb) < 0.5
    ev["status"] = np.where(is_cc, 0xB0 | channel, 0xE0 | channel)
    ev["data1"] = np.where(
        is_cc, rng.choice([1, 7, 10, 11, 64], ev.size), rng.integers(0, 128, ev.size)
    )
    ev["data2"] = rng.integers(0, 128, ev.size)
    if running_style:
        ev["flags"][0] = EVENT_RUNNING  # marks the track's style: new events use running status
    track = Track(notes=notes, events=ev, end_tick=int(notes["end"].max()))
    add_meta(track, 0, META_TRACK_NAME, f"Track {index + 1}".encode())
    return track


def make_song(n_notes: int = 1_000_000, seed: int = 1234) -> Song:
    rng = np.random.default_rng(seed)
    song = new_song(ppq=PPQ, bpm=128)
    per = n_notes // TRACKS
    for i in range(TRACKS):
        song.tracks.append(_track(rng, i, per + (1 if i < n_notes % TRACKS else 0)))
    return song


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--notes", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    song = make_song(args.notes, args.seed)
    save_song(song, args.out)
    events = sum(t.notes.size * 2 + t.events.size for t in song.tracks)
    print(
        f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB, {song.note_count()} notes, "
        f"~{events} events) in {time.perf_counter() - t0:.2f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
