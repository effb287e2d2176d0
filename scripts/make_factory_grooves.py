#!/usr/bin/env python3
"""Write Quanta's factory grooves (presets/grooves/*.json) from their definitions below.

Every groove is computed here from a stated rule, not copied from another product's files; the
JSON is shipped (package data) and tests/test_factory_grooves.py checks that the shipped files
are exactly what this script writes. Run it after changing a definition:

    .venv/bin/python scripts/make_factory_grooves.py
"""

from __future__ import annotations

import sys
from fractions import Fraction as F
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.presets import groove_to_json  # noqa: E402
from engine.quantize import GroovePoint, GrooveTemplate  # noqa: E402

OUT = ROOT / "presets" / "grooves"
SWINGS = (54, 58, 62, 66, 71)


def ms_to_beats(ms: float, bpm: float) -> F:
    """A time offset in ms at a tempo → beats (``ms/1000 * bpm/60``), exact."""
    return F(str(ms)) / 1000 * F(str(bpm)) / 60


def mpc_swing(division: int, swing: int) -> GrooveTemplate:
    step = F(1, division // 4)  # 1/8 → 1/2 beat, 1/16 → 1/4 beat
    pair = 2 * step
    points = []
    for k in range(int(4 / step)):
        beat = k * step if k % 2 == 0 else (k - 1) * step + pair * F(swing, 100)
        points.append(GroovePoint(beat))
    where = f"{float(pair * F(swing, 100)):g} of each {float(pair):g}-beat pair"
    return GrooveTemplate(
        f"MPC Swing 1/{division} {swing}%",
        f"1/{division}",
        4,
        tuple(points),
        f"MPC-style 1/{division} swing at {swing} %: every second 1/{division} is placed at "
        f"{swing} % of its pair of steps ({where}); the downbeat of each pair stays. {swing} % is "
        "one of the swing ratios drum machines in the MPC tradition and Logic's Swing A–F "
        "presets use (50 % is straight, 66.7 % a triplet feel); its points are exactly the "
        f"off-beats of Quanta's grid 1/{division} with swing {swing}. Timing only: velocities "
        "and lengths are left alone.",
    )


def feel(name: str, ms_snare: float, ms_off: float, bpm: float, word: str) -> GrooveTemplate:
    snare = ms_to_beats(ms_snare, bpm)
    off = ms_to_beats(ms_off, bpm)
    points = []
    for k in range(8):  # 1/8 steps of one 4/4 bar
        beat = F(k, 2)
        if k in (2, 6):  # beats 2 and 4: the backbeat
            beat += snare
        elif k % 2:  # the "and" of every beat
            beat += off
        points.append(GroovePoint(beat))
    return GrooveTemplate(
        name,
        "1/8",
        4,
        tuple(points),
        f"A {word} feel: the backbeat (beats 2 and 4) {abs(ms_snare):g} ms "
        f"{'late' if ms_snare > 0 else 'early'} and every off-beat 1/8 {abs(ms_off):g} ms "
        f"{'late' if ms_off > 0 else 'early'} at {bpm:g} BPM, i.e. {float(snare):+g} and "
        f"{float(off):+g} beats (ms / 1000 × BPM / 60); beats 1 and 3 stay on the grid. "
        "Offsets of 10–30 ms are the range in which drummers' deliberate behind- or "
        "ahead-of-the-beat playing is reported in timing studies; being in beats, the feel "
        "scales with the tempo it is used at.",
    )


def shuffle() -> GrooveTemplate:
    points = []
    for k in range(8):
        if k % 2 == 0:
            points.append(GroovePoint(F(k, 2), 110 if k % 4 == 0 else 100, None))
        else:
            points.append(GroovePoint(F(k - 1, 2) + F(2, 3), 78, None))
    return GrooveTemplate(
        "Shuffle 1/8 triplet",
        "1/8",
        4,
        tuple(points),
        "Triplet shuffle: each off-beat 1/8 moved to the last third of its beat (beat + 2/3, "
        "the 1/8T position, 66.7 % swing), as in a shuffle or a 12/8 blues. Velocity accents: "
        "110 on beats 1 and 3, 100 on 2 and 4, 78 on the shuffled note, so with groove velocity "
        "the short note is played softer, as the long-short shuffle is usually played.",
    )


def hat_accents() -> GrooveTemplate:
    points = []
    for k in range(16):
        velocity = 112 if k % 4 == 0 else (92 if k % 4 == 2 else 68)
        points.append(GroovePoint(F(k, 4), velocity, None))
    return GrooveTemplate(
        "Accent 1/16 hats",
        "1/16",
        4,
        tuple(points),
        "Straight 1/16 timing with a hi-hat accent pattern: 112 on each beat, 92 on each "
        "off-beat 1/8, 68 on the 'e' and 'a' 1/16s (a three-level accent, roughly 20 steps "
        "apart, typical of a 1/16 hat played with one hand). Use with groove velocity to "
        "give flat programmed hats dynamics without moving them.",
    )


def backbeat_accents() -> GrooveTemplate:
    points = []
    for k in range(8):
        velocity = 124 if k in (2, 6) else (100 if k % 2 == 0 else 72)
        points.append(GroovePoint(F(k, 2), velocity, None))
    return GrooveTemplate(
        "Accent backbeat 1/8",
        "1/8",
        4,
        tuple(points),
        "Straight 1/8 timing with a rock backbeat accent: 124 on beats 2 and 4 (the snare), "
        "100 on beats 1 and 3, 72 on the off-beat 1/8s. Use with groove velocity to shape "
        "programmed drums or a strummed part; timing is left on the grid.",
    )


def definitions() -> list[GrooveTemplate]:
    out = [mpc_swing(d, s) for d in (16, 8) for s in SWINGS]
    out.append(feel("Laid back 90", 20, 10, 90, "laid-back"))
    out.append(feel("Pushed 120", -15, -10, 120, "pushed (driving)"))
    out.append(shuffle())
    out.append(hat_accents())
    out.append(backbeat_accents())
    return out


def file_name(i: int, template: GrooveTemplate) -> str:
    stem = template.name.lower().replace("/", "-").replace("%", "").replace(" ", "-")
    return f"{i:02d}-{stem}.json"


def files() -> dict[str, str]:
    """File name → JSON text of every factory groove."""
    return {file_name(i, t): groove_to_json(t) for i, t in enumerate(definitions(), 1)}


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, text in files().items():
        (OUT / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(files())} grooves to {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
