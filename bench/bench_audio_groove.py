#!/usr/bin/env python3
"""Groove extraction from a 30 s drum loop (target < 2 s).

    .venv/bin/python bench/bench_audio_groove.py

Renders 15 bars at 120 BPM of a swung 1/16 drum pattern with `quanta render` (48 kHz stereo),
then times :func:`engine.audio.extract_audio_groove` (decode, onsets, refinement, tempo, slot
medians), with the tempo given and detected. librosa's first import (scipy and friends) is
timed apart: it is paid once per process, not per extraction.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    import numpy as np

    from app.cli import main as quanta
    from engine.build import add_track, new_song
    from engine.model.notes import make_notes
    from engine.smf import save_song

    with tempfile.TemporaryDirectory() as tmp:
        ppq, bars = 960, 15
        song = new_song(ppq=ppq, bpm=120)
        starts, pitches = [], []
        for bar in range(bars):
            for k in range(16):
                beat = bar * 4 + k / 4 + (0.04 if k % 2 else 0)
                starts.append(round(beat * ppq))
                pitches.append(36 if k % 8 == 0 else 38 if k % 8 == 4 else 42)
        s = np.array(starts)
        add_track(song, make_notes(s, s + ppq // 8, np.array(pitches), 100, channels=9))
        mid, wav = Path(tmp) / "loop.mid", Path(tmp) / "loop.wav"
        save_song(song, mid)
        quanta(["render", str(mid), "-o", str(wav), "--tail", "0"])
        import soundfile as sf

        print(f"loop: {sf.info(str(wav)).duration:.1f} s, {len(starts)} hits")
        t = time.perf_counter()
        import librosa  # noqa: F401
        from librosa import feature, onset  # noqa: F401

        print(f"librosa import (once per process): {time.perf_counter() - t:.2f} s")
        from engine.audio import extract_audio_groove

        extract_audio_groove(wav, tempo=120)  # warm: first-call caches inside librosa/numba
        for label, tempo in (("tempo given", 120.0), ("tempo detected", None)):
            best = np.inf
            for _ in range(3):
                t = time.perf_counter()
                r = extract_audio_groove(wav, tempo=tempo)
                best = min(best, time.perf_counter() - t)
            print(
                f"extract, {label}: {best * 1000:.0f} ms (best of 3; {r.onsets} onsets, "
                f"{r.tempo:g} BPM, {len(r.template.points)} points)"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
