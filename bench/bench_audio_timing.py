"""Benchmark how close audio notes sound to the times the engine asked for, on a real JACK
server: the spread and median of (heard − asked) over a run of notes, for each way of making
blocks (compiled callback, Python callback, render-ahead, with a latent plugin).

Why a benchmark and not a test: these figures depend on the machine. On an idle machine the
spread is below 1 ms; on a loaded 2-core machine with a non-real-time dummy driver the stream
clock's mapping onto the engine clock wanders and the spread reached 5–23 ms. The tests
(tests/test_audio_jack.py) assert what holds everywhere instead: every note sounds exactly at
the frame Quanta placed it at, on time or counted late, none lost or stuck.

Targets (idle machine, real-time JACK): spread < 1 ms, |median| < 5 ms, no late events.

    .venv/bin/python bench/bench_audio_timing.py            # every mode, 8 notes each
    .venv/bin/python bench/bench_audio_timing.py --notes 20 --only compiled256
    scripts/stress -- .venv/bin/python bench/bench_audio_timing.py   # the same under load
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MODES = {
    "compiled256": (256, True, "", None),
    "compiled128": (128, True, "", None),
    "python256": (256, False, "", 0.0),
    "render-ahead256": (256, False, "", None),
    "python256-latent-plugin": (256, False, "vst3:/usr/lib/vst3/ZaMaximX2.vst3", 0.0),
    "render-ahead256-latent-plugin": (256, False, "vst3:/usr/lib/vst3/ZaMaximX2.vst3", 0.05),
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--notes", type=int, default=8)
    ap.add_argument("--spacing", type=float, default=0.75)
    ap.add_argument("--only", choices=list(MODES))
    args = ap.parse_args(argv)

    from tests.conftest import _start_jack, _stop_jack
    from tests.test_audio_jack import _play_and_record, _portaudio_on

    server, old = _start_jack(realtime=True)
    gen = _portaudio_on(server)
    next(gen)
    try:
        print(f"{'mode':<32}{'spread ms':>10}{'median ms':>10}{'late':>6}{'underruns':>10}")
        for name, (block, native, effect, ahead) in MODES.items():
            if args.only and name != args.only:
                continue
            got = _play_and_record(
                block, notes=args.notes, spacing=args.spacing, native=native, effect=effect,
                ahead=ahead,
            )  # fmt: skip
            if got.times.size != got.whens.size:
                print(f"{name:<32} heard {got.times.size} of {got.whens.size} notes")
                continue
            lag = (got.times - got.whens) * 1000
            print(
                f"{name:<32}{lag.max() - lag.min():>10.2f}{np.median(lag):>10.2f}"
                f"{got.stats.late_events:>6}{got.stats.underruns:>10}"
            )
    finally:
        next(gen, None)
        _stop_jack(server, old)
    return 0


if __name__ == "__main__":
    sys.exit(main())
