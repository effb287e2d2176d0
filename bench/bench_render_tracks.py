"""Benchmark ``quanta render`` with per-track sound: render speed and plugin set-up time.

Target: an 8-track song where every track has its own instrument and two effects still
renders at >= 20x real time (the plain render's target in bench_sound.py). Set-up (probing
plugins in child processes) is measured cold (empty probe cache) and warm (remembered).

    .venv/bin/python bench/bench_render_tracks.py            # 60 s song
    .venv/bin/python bench/bench_render_tracks.py --seconds 20
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.cli import main  # noqa: E402
from app.sound_options import TrackSound  # noqa: E402
from app.track_mixer import build_track_mixer  # noqa: E402
from engine.build import add_track, new_song  # noqa: E402
from engine.model.notes import make_notes  # noqa: E402
from engine.smf.midifile import save_song  # noqa: E402

TRACKS = 8
PROGRAMS = ("piano", "e-piano", "organ", "bass", "pad")
EPIANO = "lv2:http://drobilla.net/plugins/mda/EPiano"
ZAMCOMP = "vst3:/usr/lib/vst3/ZamComp.vst3"


def make_song(path: Path, seconds: float) -> None:
    """TRACKS tracks of 8th notes at 120 BPM, a different register per track."""
    rng = np.random.default_rng(7)
    song = new_song(480, 120.0)
    n = int(seconds * 4)
    starts = np.arange(n) * 240
    for t in range(TRACKS):
        pitches = rng.integers(36 + 4 * t, 48 + 4 * t, n)
        add_track(song, make_notes(starts, starts + 200, pitches, 90, t), f"T{t + 1}")
    save_song(song, path)


def per_track_args() -> list[str]:
    args: list[str] = []
    for t in range(TRACKS):
        sel = str(t + 2)  # track 1 is the conductor
        args += ["--track-instrument", f"{sel}=builtin:{PROGRAMS[t % len(PROGRAMS)]}"]
        args += ["--track-effect", f"{sel}=lowpass:cutoff_frequency_hz={800 + 300 * t}"]
        args += ["--track-effect", f"{sel}=compressor:threshold_db=-20"]
        args += ["--track-volume", f"{sel}=-{t}", "--track-pan", f"{sel}={(t - 3.5) / 4:.3f}"]
    return args


def timed_render(song: Path, out: Path, extra: list[str]) -> float:
    t = time.perf_counter()
    assert main(["render", str(song), "-o", str(out), "--tail", "1", *extra]) == 0
    return time.perf_counter() - t


def setup_seconds(cache: Path) -> float:
    """build_track_mixer with an LV2 instrument and a VST3 effect on two of the tracks."""
    sounds = {1: TrackSound(instrument=EPIANO), 2: TrackSound(effects=[ZAMCOMP])}
    t = time.perf_counter()
    mixer = build_track_mixer([1, 2], ["", "a", "b"], sounds, cache_path=cache)
    elapsed = time.perf_counter() - t
    mixer.close()
    return elapsed


def main_bench() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=60.0)
    opts = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        os.environ["XDG_CACHE_HOME"] = str(folder / "cache")
        song = folder / "song.mid"
        make_song(song, opts.seconds)
        out = folder / "out.wav"
        timed_render(song, out, [])  # warm up kernels and imports
        plain = timed_render(song, out, [])
        tracks = timed_render(song, out, per_track_args())
        length = opts.seconds + 1
        print(f"{TRACKS} tracks, {length:.0f} s of audio")
        print(f"  plain render:     {plain:6.2f} s  {length / plain:6.0f}x real time")
        print(f"  per-track sound:  {tracks:6.2f} s  {length / tracks:6.0f}x real time")
        cache = folder / "probe.json"
        cold = setup_seconds(cache)
        warm = setup_seconds(cache)
        print(f"  plugin set-up (LV2 EPiano + ZamComp): cold {cold:.2f} s, warm {warm:.3f} s")


if __name__ == "__main__":
    main_bench()
