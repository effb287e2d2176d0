"""Memory the engine's per-pass bookkeeping holds while one pass plays a big song.

    .venv/bin/python bench/bench_engine_memory.py [--notes 1000000] [--tracks 16] [--json PATH]

The engine remembers which notes it has already played in the current pass, so that a playback
quantize change mid-play never plays a note twice. This bench drives the engine's own dispatch
and release code (no thread, no ports: a sink that only counts) through one whole pass of a
song of ``--notes`` notes on a simulated clock, with a quantize change every ``--change-every``
seconds of song time, and reports:

- ``bookkeeping_peak``: the most entries the "already played" bookkeeping held at once, and its
  deep size in bytes (measured at geometric steps, so within 25 % of the peak);
- ``rss_growth_mb``: how much the process grew during the pass (after the song was built);
- ``notes_sent``: note-ons that reached the sink (every note once; a change may skip a note
  moved behind the playhead, never double one).

Pure Python on the engine's code path: ~10 s for 1M notes on this machine.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.build import add_track, new_song  # noqa: E402
from engine.model.notes import make_notes  # noqa: E402
from engine.quantize.settings import QuantizeSettings  # noqa: E402
from engine.realtime.transport import Engine  # noqa: E402

PPQ = 480


class CountingSink:
    """Counts note-ons; keeps nothing else (the bench measures the engine, not the sink)."""

    name = "count"
    lookahead = 0.0

    def __init__(self) -> None:
        self.note_ons = 0

    def send_at(self, when: float, data: bytes) -> None:
        if data[0] & 0xF0 == 0x90 and len(data) == 3 and data[2]:
            self.note_ons += 1


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def deep_size(obj, seen=None) -> int:
    """Bytes held by a set/dict/list of tuples of ints (the bookkeeping's shapes)."""
    seen = seen if seen is not None else set()
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    size = sys.getsizeof(obj)
    if isinstance(obj, dict):
        size += sum(deep_size(k, seen) + deep_size(v, seen) for k, v in obj.items())
    elif isinstance(obj, set | frozenset | list | tuple):
        size += sum(deep_size(x, seen) for x in obj)
    return size


def bookkeeping(engine: Engine) -> list:
    """The engine's "already played" structures (whichever this version of the engine has)."""
    played = engine._rt.played
    if isinstance(played, set):  # before engine.realtime.pass_memory: every played note
        return [played]
    return [played.skip, played.unplayed]


def make_song(n: int, tracks: int, seconds_per_note: float):
    rng = np.random.default_rng(5)
    song = new_song(ppq=PPQ, bpm=120)
    per = n // tracks
    ticks_per_note = seconds_per_note * tracks * PPQ * 2  # 120 BPM: 960 ticks a second
    for t in range(tracks):
        grid = (np.arange(per) * ticks_per_note).astype(np.int64)
        starts = np.maximum(0, grid + rng.integers(-20, 21, per) + t)
        add_track(song, make_notes(starts, starts + 100, 36 + (np.arange(per) * 7 + t) % 60))
    return song


def drain(engine: Engine, now: float) -> None:
    while not engine._cmds.empty():
        name, args = engine._cmds.get_nowait()
        engine._command(name, args, now)


def run(n: int, tracks: int, change_every: float, step: float) -> dict:
    seconds_per_note = 0.0005  # 2000 notes a second across the tracks
    song = make_song(n, tracks, seconds_per_note)
    engine = Engine()  # not started: this thread plays the engine thread's part
    sink = CountingSink()
    engine.set_outputs([sink])
    engine.set_song(song)
    now = 1000.0
    drain(engine, now)
    rss0 = rss_mb()
    engine._command("play", (), now)
    engine._publish(now)
    end = now + n * seconds_per_note + 1.0
    peak_entries, peak_bytes, next_change, k = 0, 0, now + change_every, 0
    measured = 0
    t0 = time.perf_counter()
    while engine._rt.playing and now < end:
        now += step
        if change_every and now >= next_change:
            # the builder's work, done here at once; the swap happens on the next drain
            engine.set_track_quantize(1 + k % tracks, QuantizeSettings(division=(8, 16)[k % 2]))
            engine.wait_rebuilt(60)
            next_change += change_every
            k += 1
        drain(engine, now)
        engine._dispatch(now)
        engine._release(now)
        engine._publish(now)
        entries = sum(len(s) for s in bookkeeping(engine))
        if entries > peak_entries:
            peak_entries = entries
            if entries >= measured * 1.25 or entries <= 10_000:
                # deep_size walks every entry: measured at geometric steps of the peak
                peak_bytes = max(peak_bytes, sum(deep_size(s) for s in bookkeeping(engine)))
                measured = entries
    elapsed = time.perf_counter() - t0
    rss1 = rss_mb()
    engine._closing = True
    engine._build_wanted.set()
    return {
        "notes": n,
        "tracks": tracks,
        "quantize_changes": k,
        "notes_sent": sink.note_ons,
        "bookkeeping_peak_entries": peak_entries,
        "bookkeeping_peak_bytes": peak_bytes,
        "rss_growth_mb": round(rss1 - rss0, 1),
        "seconds": round(elapsed, 1),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--notes", type=int, default=1_000_000)
    ap.add_argument("--tracks", type=int, default=16)
    ap.add_argument("--change-every", type=float, default=20.0, help="song seconds; 0 = never")
    ap.add_argument("--step", type=float, default=0.005, help="simulated engine wake-up, s")
    ap.add_argument("--json", metavar="PATH")
    args = ap.parse_args()
    result = run(args.notes, args.tracks, args.change_every, args.step)
    print(
        f"{result['notes']} notes, {result['quantize_changes']} quantize changes: "
        f"bookkeeping peak {result['bookkeeping_peak_entries']} entries, "
        f"{result['bookkeeping_peak_bytes'] / 2**20:.1f} MB; "
        f"RSS grew {result['rss_growth_mb']} MB during the pass; "
        f"{result['notes_sent']} note-ons sent; {result['seconds']} s"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
