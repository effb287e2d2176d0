"""Benchmark the engine on songs built to hurt (issue 14): each figure is what a few-byte MIDI
file with silences of 2^28 ticks, thousands of them, or an absurd tempo costs the engine.

Figures (milliseconds of wall time and peak MB traced by tracemalloc, best of ``--repeat``):

- schedule: ``build_schedule`` of 4096 silences of 2^28 - 1 ticks at 480 PPQ (ticks pass
  2^40, sorted by tick rank);
- timeline + metronome: ``make_timeline`` with clicks of one 2^28-beat silence at 1 PPQ
  (target: ~nothing; before issue 14: 2 s and 197 MB for the first 2^20 clicks);
- click stream: seek into the middle of that silence and take 10,000 clicks;
- meta scan: ``Song.tempo_map`` + ``time_signatures`` of 20,000 tracks (before: 0.76 s);
- render refusal: ``render_song`` of the 2^28-beat song, refused before allocating;
- tempo 1 µs: build the schedule and take 1,000 clicks of a song timed at 1 µs per quarter.

Targets: every figure in milliseconds and under a few MB, whatever the silence.

    .venv/bin/python bench/bench_hostile_engine.py [--repeat 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.audio.render import render_song  # noqa: E402
from engine.errors import RenderLimitError  # noqa: E402
from engine.realtime.metronome import ClickSettings, ClickStream  # noqa: E402
from engine.realtime.schedule import build_schedule  # noqa: E402
from engine.realtime.timeline import make_timeline  # noqa: E402
from engine.smf.midifile import load_song_bytes  # noqa: E402
from tests import midi_corpus as mc  # noqa: E402
from tests.hostile_songs import GAP, gapped_song, tempo_event  # noqa: E402


def measure(fn, repeat: int) -> tuple[float, float]:
    """(best ms of ``repeat`` runs, peak MB of one more run under tracemalloc, which slows
    Python down too much to time)."""
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, (time.perf_counter() - t) * 1000)
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return best, peak


def many_tracks(n: int = 20_000):
    plain = mc.raw_track([(0, mc.meta(0x03, b"t")), (0, b"\x90\x3c\x40"), (10, b"\x80\x3c\x00")], False)
    tracks = [plain] * n
    tracks[0] = mc.raw_track([(0, tempo_event(600_000)), (0, mc.meta(0x58, b"\x03\x02\x18\x08"))], False)
    return load_song_bytes(mc.raw_smf(1, 480, tracks))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    thousands = gapped_song(480, 4096)
    years = gapped_song(1, 1)
    years_sched = build_schedule(years)
    tempo, tsig = years.tempo_map(), years.time_signatures()
    fast = gapped_song(480, 999, gap=480_000, length=240, usec=1)
    tracks = many_tracks()

    def clicks():
        s = ClickStream(tsig, tempo, GAP + 2)
        s.seek(tempo.tick_to_seconds(1 << 27))
        for _ in range(10_000):
            s.pop()

    def refused():
        try:
            render_song(years, lambda t: None, name="song.mid")
        except RenderLimitError:
            return
        raise AssertionError("not refused")

    def fast_tempo():
        tl = make_timeline(build_schedule(fast), ClickSettings())
        s = tl.click_stream()
        s.seek(0.0)
        for _ in range(1000):
            s.pop()

    cases = {
        "schedule 4096 x 2^28 ticks": lambda: build_schedule(thousands),
        "timeline + metronome, 2^28 beats": lambda: make_timeline(years_sched, ClickSettings()),
        "click stream: seek + 10,000 clicks": clicks,
        "tempo map + signatures, 20,000 tracks": lambda: (tracks.tempo_map(), tracks.time_signatures()),
        "render refused (4.3 years)": refused,
        "tempo 1 us: schedule + 1,000 clicks": fast_tempo,
    }
    results = {}
    for name, fn in cases.items():
        ms, mb = measure(fn, args.repeat)
        results[name] = {"ms": round(ms, 2), "peak_mb": round(mb, 2)}
        if not args.json:
            print(f"{name:42s} {ms:9.2f} ms {mb:8.2f} MB")
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
