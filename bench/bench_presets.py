"""Benchmark preset loading: one file, one text form, and a whole library (the GUI's preset menu).

Target: the catalog (22 factory + 500 user presets) loads in under 0.5 s, so opening the preset
menu never feels slow; one preset parses in well under a millisecond.

    .venv/bin/python bench/bench_presets.py [--user-presets 500] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app import paths, preset_store  # noqa: E402
from engine.presets.preset_format import (  # noqa: E402
    Preset,
    preset_from_json,
    preset_from_text,
    preset_to_json,
    preset_to_text,
)
from engine.quantize.settings import QuantizeSettings  # noqa: E402


def best_of(repeat: int, fn) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--user-presets", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    sample = Preset(
        'MPC "58" 1/16',
        QuantizeSettings(swing=58, strength=85.5, exclude_within=5, catch_within=40),
        "Classic swing, a little loose",
        author="Bench",
        tags=("swing", "mpc"),
    )
    raw, text = preset_to_json(sample).encode(), preset_to_text(sample)
    preset_from_json(raw)  # build the schema validator once
    n = 1000
    t_json = best_of(args.repeat, lambda: [preset_from_json(raw, "b.json") for _ in range(n)]) / n
    t_text = best_of(args.repeat, lambda: [preset_from_text(text) for _ in range(n)]) / n
    print(f"parse one JSON preset: {t_json * 1e6:8.1f} µs")
    print(f"parse one text form:   {t_text * 1e6:8.1f} µs")

    with tempfile.TemporaryDirectory() as folder:
        os.environ[paths.PRESET_DIR_ENV] = folder
        for i in range(args.user_presets):
            preset_store.save_user_preset(sample.replace(name=f"User preset {i:04d}"))
        t_cat = best_of(args.repeat, preset_store.load_catalog)
        count = len(preset_store.load_catalog().entries)
        t_save = best_of(
            args.repeat, lambda: preset_store.save_user_preset(sample.replace(name="x"), force=True)
        )
    ok = t_cat < 0.5
    print(f"load catalog ({count} presets): {t_cat * 1e3:8.1f} ms  (target < 500 ms: {ok})")
    print(f"atomic save (fsync) with {args.user_presets} in the folder: {t_save * 1e3:8.1f} ms")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
