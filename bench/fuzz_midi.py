"""Long fuzz run of the MIDI reader: N hostile and damaged files, each judged in a child
process bounded to 10 s and 1 GB (tests/midi_fuzz.py), then the campaign's figures.

Half the cases are structured hostile files (tempo 0, 2^28-tick gaps by the thousand, huge
declared lengths, 65,534-65,536 tracks now and then, truncated chunks, RMID, SMPTE, header
counts that disagree...), half are valid files damaged byte by byte. Every case that is not
"accepted" or "clean reject" is printed with its seed; ``--save DIR`` also writes its bytes.

    .venv/bin/python bench/fuzz_midi.py 5000 [--seed 0] [--save /tmp/midi-fuzz-failures]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.midi_fuzz import Worker, hostile_file, mutated_file  # noqa: E402

LABELS = {"reject": "clean reject"}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cases", type=int, help="how many files to try")
    ap.add_argument("--seed", type=int, default=0, help="first seed (case i uses seed + i)")
    ap.add_argument("--save", type=Path, help="folder for the bytes of failing cases")
    args = ap.parse_args()
    counts: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    worker = Worker()
    slowest = (0.0, -1)
    t0 = time.perf_counter()
    try:
        for i in range(args.cases):
            seed = args.seed + i
            rng = random.Random(seed)
            kind = "hostile" if seed % 2 else "damaged"
            data = hostile_file(rng) if kind == "hostile" else mutated_file(rng)
            t = time.perf_counter()
            outcome, detail = worker.run(data)
            slowest = max(slowest, (time.perf_counter() - t, seed))
            counts[outcome] += 1
            if outcome == "accepted":
                kinds[kind] += 1
            if outcome not in ("accepted", "reject"):
                print(f"seed {seed} ({kind}, {len(data)} bytes): {outcome}: {detail}", flush=True)
                if args.save:
                    args.save.mkdir(parents=True, exist_ok=True)
                    (args.save / f"seed-{seed}.mid").write_bytes(data)
            if (i + 1) % 500 == 0:
                print(f"... {i + 1} cases, {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    finally:
        worker.close()
    wall = time.perf_counter() - t0
    print(
        f"tried {args.cases} / accepted {counts['accepted']} (hostile {kinds['hostile']}, "
        f"damaged {kinds['damaged']}) / clean reject {counts['reject']} / crash "
        f"{counts['crash']} / hang {counts['hang']} / over 1 GB {counts['over 1 GB']}"
    )
    print(f"{wall:.0f} s in all; slowest case {slowest[0]:.2f} s (seed {slowest[1]})")
    return 0 if counts["accepted"] + counts["reject"] == args.cases else 1


if __name__ == "__main__":
    sys.exit(main())
