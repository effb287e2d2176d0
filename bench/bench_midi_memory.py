"""Peak memory of reading a MIDI file, against the file size and the final model.

Each file is read in a fresh child process (numba cache warm) so that peak RSS
(``ru_maxrss``) belongs to that read alone; the child reports the RSS before reading, the
peak after, the tracemalloc peak (numpy arrays) and the model's ``Song.nbytes()``.

Files (20 MB each unless ``--mb``): dense notes (note-on/velocity-0 pairs, running status:
6 bytes a note), dense two-byte events (channel pressure with running status: the most
events a byte of file can hold), and the 16-track benchmark mix of bench/make_big_midi.py.

    .venv/bin/python bench/bench_midi_memory.py [--mb 20]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

HEADER = b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x01\xe0"

_CHILD = r"""
import json, resource, sys, tracemalloc
from engine.smf.midifile import load_song, warm_up
warm_up()
def rss():
    with open("/proc/self/status") as fh:
        return int(fh.read().split("VmRSS:")[1].split()[0]) * 1024
before = rss()
tracemalloc.start()
song = load_song(sys.argv[1])
_, traced = tracemalloc.get_traced_memory()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"before": before, "peak": peak, "traced": traced, "model": song.nbytes(),
                  "notes": song.note_count(),
                  "events": sum(int(t.events.size) for t in song.tracks)}))
"""


def _track(body: bytes) -> bytes:
    body += b"\x00\xff\x2f\x00"
    return b"MTrk" + len(body).to_bytes(4, "big") + body


def dense_notes(size: int) -> bytes:
    return HEADER + _track(b"\x00\x90\x3c\x40" + b"\x01\x3c\x00\x00\x3c\x40" * (size // 6))


def dense_pressure(size: int) -> bytes:
    return HEADER + _track(b"\x00\xd0\x05" + b"\x00\x05" * (size // 2))


def mixed(size: int, folder: Path) -> Path:
    path = folder / "mixed.mid"
    notes = max(1000, int(size / 9.2e6 * 1_000_000))
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "make_big_midi.py"), "--notes", str(notes),
         "--out", str(path)],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    return path


def measure(path: Path) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path)],
        cwd=ROOT, check=True, capture_output=True, text=True,
    )  # fmt: skip
    return json.loads(out.stdout)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=20.0, help="size of each test file (MB)")
    args = ap.parse_args()
    size = int(args.mb * 1e6)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = {}
        for name, make in (("dense notes", dense_notes), ("dense 2-byte events", dense_pressure)):
            files[name] = folder / f"{name.replace(' ', '_')}.mid"
            files[name].write_bytes(make(size))
        files["16-track mix"] = mixed(size, folder)
        print(f"{'file':<20} {'size':>8} {'model':>9} {'peak-before':>12} {'xfile':>6} "
              f"{'xmodel':>7} {'traced':>9}")  # fmt: skip
        for name, path in files.items():
            r = measure(path)
            file_mb = path.stat().st_size / 1e6
            grow = (r["peak"] - r["before"]) / 1e6
            model = r["model"] / 1e6
            print(
                f"{name:<20} {file_mb:>6.1f}MB {model:>7.1f}MB {grow:>10.1f}MB "
                f"{grow / file_mb:>6.1f} {grow / model:>7.2f} {r['traced'] / 1e6:>7.1f}MB"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
