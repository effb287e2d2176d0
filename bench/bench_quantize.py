"""Benchmark the quantizer: 1M notes in memory, and `quanta quantize` end to end vs mido.

Targets: quantizing 1M notes < 50 ms on one core (typical settings, including swing +
exclude-within + quantize-ends); `quanta quantize big.mid` end to end (process start, load,
quantize, save) under one third of the time mido takes just to parse the same file.

    .venv/bin/python bench/make_big_midi.py            # once: bench/data/big.mid
    .venv/bin/python bench/bench_quantize.py [--notes 1000000] [--repeat 7] [--no-mido]
    .venv/bin/python bench/bench_quantize.py --quick   # 100k notes, no end-to-end run
    .venv/bin/python bench/bench_quantize.py --cold    # numba compile / cache-load cost

Run pinned (``taskset -c 1``; the script also pins itself unless --all-cores): the machine is
shared, so each case reports the best and the median of --repeat runs, and the target line
checks the slowest case's best time.

The per-note arithmetic and the guards are numba kernels (engine/quantize/kernels.py) compiled
with ``cache=True``: the first process after a code change compiles them (--cold measures it);
later processes load them from ``__pycache__``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.model.notes import empty_notes, sort_notes  # noqa: E402
from engine.quantize.core import quantize_notes  # noqa: E402
from engine.quantize.settings import QuantizeSettings  # noqa: E402

DEFAULT_FILE = ROOT / "bench" / "data" / "big.mid"
PPQ = 480
TARGET_MS = 50.0
TARGET_RATIO = 1 / 3

CASES = {
    "1/16 straight, keep-length": QuantizeSettings(),
    "1/16 swing 58, exclude 10 %, quantize-ends": QuantizeSettings(
        swing=58, exclude_within=10, ends="quantize-ends"
    ),
    "1/16 swing 66.67, strength 80, exclude 10 %, catch 45 %": QuantizeSettings(
        swing=66.67, strength=80, exclude_within=10, catch_within=45
    ),
    "1/8T strength 70, quantize-lengths 1/8": QuantizeSettings(
        division=8, grid_type="triplet", strength=70, ends="quantize-lengths", length_grid="1/8"
    ),
    "1/16 5:4 tuplet, keep-ends": QuantizeSettings(
        division=16, grid_type="tuplet", tuplet=(5, 4), ends="keep-ends"
    ),
}


def performance(n: int, seed: int = 7) -> np.ndarray:
    """A humanised multi-track take: 16 channels, 1/16 onsets ±20 ticks, chords, legato."""
    rng = np.random.default_rng(seed)
    step = PPQ // 4
    notes = empty_notes(n)
    grid = np.sort(rng.integers(0, n // 2, n)) * step
    notes["start"] = np.maximum(grid + rng.integers(-20, 21, n), 0)
    notes["end"] = notes["start"] + rng.integers(30, 4 * PPQ, n)
    notes["pitch"] = rng.integers(36, 96, n)
    notes["velocity"] = rng.integers(1, 128, n)
    notes["channel"] = rng.integers(0, 16, n)
    notes["on_seq"] = np.arange(n) * 2
    notes["off_seq"] = np.arange(n) * 2 + 1
    notes["id"] = np.arange(n)
    return sort_notes(notes)


def best_ms(fn, repeat: int) -> tuple[float, float, object]:
    """(best, median) wall time in ms, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return min(times), float(np.median(times)), result


def bench_memory(n: int, repeat: int) -> bool:
    notes = performance(n)
    scaled_note = "" if n == 1_000_000 else ", target checked scaled to 1M notes"
    print(f"quantize_notes on {n:,} notes at PPQ {PPQ} (best / median of {repeat}{scaled_note}):")
    worst_best, worst_label = 0.0, ""
    for label, settings in CASES.items():
        quantize_notes(notes, settings, PPQ)  # compile or load the kernels, warm the allocator
        best, med, res = best_ms(lambda s=settings: quantize_notes(notes, s, PPQ), repeat)
        scaled = best * 1_000_000 / n
        flag = "ok" if scaled < TARGET_MS else "OVER"
        if scaled > worst_best:
            worst_best, worst_label = scaled, label
        print(f"  {best:7.1f} / {med:7.1f} ms  {flag:4}  {label}")
        print(f"      {res.report.summary()}")
    ok = worst_best < TARGET_MS
    print(
        f"TARGET quantize 1M notes < {TARGET_MS:.0f} ms on one core: slowest case best "
        f"{worst_best:.1f} ms ({worst_label}) {'ok' if ok else 'OVER'}"
    )
    return ok


_COLD_SCRIPT = """
import time
t0 = time.perf_counter()
import numpy as np
from engine.quantize.core import warm_up
t1 = time.perf_counter()
warm_up()
t2 = time.perf_counter()
print(f"{(t1 - t0) * 1e3:.0f} {(t2 - t1) * 1e3:.0f}")
"""


def bench_cold() -> None:
    """Process-level cost of the numba kernels: compiling them, then loading them cached."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        for label in ("empty cache (compile)", "warm cache (load)"):
            out = subprocess.run(
                [sys.executable, "-c", _COLD_SCRIPT],
                cwd=ROOT,
                env=env,
                check=True,
                capture_output=True,
                text=True,
            ).stdout.split()
            print(
                f"cold start, {label}: import {out[0]} ms, warm_up() (every ends mode) {out[1]} ms"
            )


def bench_end_to_end(path: Path, use_mido: bool) -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "q.mid"
        cmd = [sys.executable, "-m", "app.cli", "quantize", str(path), "-o", str(out)]
        cmd += ["--swing", "58", "--exclude-within", "10", "--ends", "quantize-ends"]
        subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)  # warm caches
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True)
        quanta_s = time.perf_counter() - t0
    print(f"`quanta quantize {path.name}` end to end: {quanta_s:.2f} s")
    print(f"      {proc.stdout.strip()}")
    if not use_mido:
        return True
    import mido

    t0 = time.perf_counter()
    mido.MidiFile(str(path))
    mido_s = time.perf_counter() - t0
    ratio = quanta_s / mido_s
    ok = ratio < TARGET_RATIO
    print(f"mido parse of the same file: {mido_s:.2f} s")
    print(f"ratio quanta/mido: {ratio:.3f} (target < {TARGET_RATIO:.3f}) {'ok' if ok else 'OVER'}")
    return ok


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--notes", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--file", type=Path, default=DEFAULT_FILE)
    ap.add_argument("--no-mido", action="store_true", help="skip the mido comparison")
    ap.add_argument("--quick", action="store_true", help="100k notes, no end-to-end run")
    ap.add_argument("--all-cores", action="store_true", help="do not pin to one core")
    ap.add_argument("--memory-only", action="store_true", help="only the in-memory cases")
    ap.add_argument("--cold", action="store_true", help="only the numba compile/load cost")
    args = ap.parse_args()
    if not args.all_cores and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    if args.cold:
        bench_cold()
        return 0
    ok = bench_memory(100_000 if args.quick else args.notes, args.repeat)
    if not args.quick and not args.memory_only:
        if not args.file.exists():
            print(f"{args.file} missing: run bench/make_big_midi.py first", file=sys.stderr)
            return 2
        ok &= bench_end_to_end(args.file, not args.no_mido)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
