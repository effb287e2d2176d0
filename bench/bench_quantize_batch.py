"""Benchmark `quanta quantize FOLDER -o OUT` with --jobs 1 and --jobs 2: files per second.

The real command end to end (process start, pool start, load, quantize, save of every file),
on a folder of humanized takes of mixed sizes written once with a fixed seed. Each case runs
--repeat times; the best and the median wall time are reported, as the machine is shared.
The outputs of both cases are compared byte for byte.

    .venv/bin/python bench/bench_quantize_batch.py [--files 32] [--notes 50000] [--repeat 3]

The target: with 2 free cores, --jobs 2 quantizes a folder of such takes at least 1.6x as
many files per second as --jobs 1. On a loaded machine the ratio says how much was free: with
Linux's autogroup scheduling (``/proc/sys/kernel/sched_autogroup_enabled``) every process of
one session shares one CPU share, so when other sessions keep the cores busy, more worker
processes get no more CPU time. The load average before and after each case is printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.build import add_track, new_song  # noqa: E402
from engine.model import make_notes  # noqa: E402
from engine.smf import save_song  # noqa: E402

QUANTA = Path(sys.executable).with_name("quanta")
TARGET_SPEEDUP = 1.6


def write_takes(folder: Path, files: int, notes: int, seed: int = 7) -> int:
    """``files`` takes of 0.25x..1.75x ``notes`` notes, 4 tracks each; returns the note total."""
    rng = np.random.default_rng(seed)
    total = 0
    for i in range(files):
        song = new_song(ppq=480, bpm=120)
        n = max(4, int(notes * rng.uniform(0.25, 1.75)) // 4)
        for t in range(4):
            grid = np.arange(n, dtype=np.int64) * 120 + 480
            start = grid + rng.integers(-40, 41, n)
            add_track(
                song,
                make_notes(start, start + rng.integers(30, 400, n), rng.integers(30, 100, n), 90, t),
                f"Track {t + 1}",
            )
            total += n
        save_song(song, folder / f"take{i:03d}.mid")
    return total


def run_case(src: Path, out: Path, jobs: int) -> float:
    args = [str(QUANTA), "quantize", str(src), "-o", str(out), "--jobs", str(jobs)]
    args += ["--swing", "58", "--exclude-within", "10", "--ends", "quantize-ends"]
    t0 = time.perf_counter()
    proc = subprocess.run(args, capture_output=True, text=True, start_new_session=True)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"quanta quantize --jobs {jobs} failed ({proc.returncode}):\n{proc.stderr}")
    return elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", type=int, default=32)
    ap.add_argument("--notes", type=int, default=50000, help="mean notes per file")
    ap.add_argument("--repeat", type=int, default=3)
    opts = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="quanta-bench-batch-") as tmp:
        tmp = Path(tmp)
        src = tmp / "takes"
        src.mkdir()
        total = write_takes(src, opts.files, opts.notes)
        size = sum(f.stat().st_size for f in src.iterdir()) / 1e6
        print(f"{opts.files} files, {total} notes, {size:.1f} MB; best and median of {opts.repeat}")
        rates = {}
        for jobs in (1, 2):
            load = os.getloadavg()[0]
            times = [run_case(src, tmp / f"out{jobs}-{r}", jobs) for r in range(opts.repeat)]
            best, median = min(times), statistics.median(times)
            rates[jobs] = opts.files / best
            print(
                f"  --jobs {jobs}: best {best:.2f} s ({opts.files / best:.1f} files/s), "
                f"median {median:.2f} s ({opts.files / median:.1f} files/s); "
                f"load average {load:.1f} -> {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
            )
        for f in sorted((tmp / "out1-0").iterdir()):
            if f.read_bytes() != (tmp / "out2-0" / f.name).read_bytes():
                sys.exit(f"{f.name}: --jobs 2 wrote a different file than --jobs 1")
        speedup = rates[2] / rates[1]
        verdict = "meets" if speedup >= TARGET_SPEEDUP else "misses"
        print(f"  speed-up {speedup:.2f}x ({verdict} the {TARGET_SPEEDUP}x target); outputs identical")
    return 0


if __name__ == "__main__":
    sys.exit(main())
