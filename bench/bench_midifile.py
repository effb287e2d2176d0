"""Benchmark MIDI file load/save on the 1M-note file against the targets and against mido.

Targets (warm, numba cache hot): load < 1 s, save < 1 s, model < 64 MB. Cold compile time is
measured in a fresh process with an empty numba cache (``NUMBA_CACHE_DIR`` in a temp dir).

    .venv/bin/python bench/make_big_midi.py
    .venv/bin/python bench/bench_midifile.py [--file bench/data/big.mid] [--no-mido] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.smf.midifile import load_song, song_to_bytes  # noqa: E402

DEFAULT_FILE = ROOT / "bench" / "data" / "big.mid"

_COLD = """
import time
t0 = time.perf_counter()
from engine.smf.midifile import load_song, song_to_bytes
song = load_song({path!r})
t1 = time.perf_counter()
song_to_bytes(song)
t2 = time.perf_counter()
print(f"{{t1 - t0:.3f}} {{t2 - t1:.3f}}")
"""


def _best(fn, repeat: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def cold_times(path: Path) -> tuple[float, float]:
    """Load and save seconds in a new process with an empty numba cache (compile included)."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        out = subprocess.run(
            [sys.executable, "-c", _COLD.format(path=str(path))],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
    return float(out[0]), float(out[1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--file", type=Path, default=DEFAULT_FILE)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-mido", action="store_true", help="skip mido's (slow) parse")
    ap.add_argument("--no-cold", action="store_true", help="skip the cold-compile run")
    args = ap.parse_args(argv)
    if not args.file.exists():
        print(f"{args.file} is missing: run bench/make_big_midi.py first", file=sys.stderr)
        return 1
    size = args.file.stat().st_size
    load_song(args.file)  # warm the numba cache
    load_s, song = _best(lambda: load_song(args.file), args.repeat)
    save_s, data = _best(lambda: song_to_bytes(song), args.repeat)
    identical = data == args.file.read_bytes()

    tracemalloc.start()
    song2 = load_song(args.file)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    model = song2.nbytes()
    events = sum(int(t.events.size) for t in song2.tracks) + 2 * song2.note_count()

    print(f"file               {args.file.name}: {size / 1e6:.1f} MB, {len(song.tracks)} tracks")
    print(f"notes / events     {song.note_count():,} / {events:,}")
    print(f"load (warm, best)  {load_s:.3f} s   target < 1 s")
    print(f"save (warm, best)  {save_s:.3f} s   target < 1 s  (byte-identical: {identical})")
    print(f"model              {model / 2**20:.1f} MB   target < 64 MB (Song.nbytes)")
    print(f"load peak alloc    {peak / 2**20:.1f} MB (numpy, tracemalloc; incl. file bytes)")
    if not args.no_cold:
        cold_load, cold_save = cold_times(args.file)
        print(f"cold load / save   {cold_load:.2f} s / {cold_save:.2f} s (numba compile included)")
    if not args.no_mido:
        import mido

        t0 = time.perf_counter()
        mido.MidiFile(str(args.file))
        mido_s = time.perf_counter() - t0
        print(f"mido parse         {mido_s:.2f} s   ({mido_s / load_s:.0f}x slower than load_song)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
