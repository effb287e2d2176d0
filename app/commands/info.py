"""``quanta info IN.mid``: what is in a MIDI file and how tightly it sits on a grid.

Tracks (name, channels, notes), PPQ, tempos, time signatures, length in bars and seconds, and
how far note starts sit off the grid (1/16 unless ``--grid``), as text or ``--json``.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from engine.quantize.analysis import offset_stats
from engine.quantize.settings import QuantizeSettings, parse_grid_text

#: Tempo and signature lists longer than this are shortened in the text output.
SHOW_MAX = 8


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "info",
        help="tracks, tempo, length and timing (how far notes sit off the grid) of a MIDI file",
        description="Show a MIDI file's tracks, PPQ, tempos, time signatures and length, and "
        "how far its notes sit off a grid.",
    )
    p.add_argument("input", metavar="IN.mid")
    p.add_argument(
        "--grid",
        default="1/16",
        metavar="1/N",
        help="grid to measure timing against: 1/1 … 1/128, 1/8T triplet, 1/8. dotted "
        "(default 1/16)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.set_defaults(func=run)


def _grid(text: str) -> QuantizeSettings:
    division, kind = parse_grid_text(text, "grid")
    return QuantizeSettings(division=division, grid_type=kind)


def describe(song, grid: QuantizeSettings, name: str = "") -> dict:
    """Everything ``info`` reports, as plain JSON-ready values."""
    tempo = song.tempo_map()
    sigs = song.time_signatures()
    length = song.length_ticks()
    bars = sum(1 for _ in sigs.bars(max(length - 1, 0))) if length else 0
    tracks = []
    for number, track in enumerate(song.tracks, start=1):
        stats = offset_stats(track.notes["start"], grid, song.ppq)
        tracks.append(
            {
                "number": number,
                "name": track.name,
                "channels": [c + 1 for c in track.channels],
                "notes": int(track.notes.size),
                "events": int(track.events.size),
                "timing": stats.to_dict() if track.notes.size else None,
            }
        )
    starts = [t.notes["start"] for t in song.tracks if t.notes.size]
    all_starts = np.concatenate(starts) if starts else np.zeros(0, dtype=np.int64)
    return {
        "file": name,
        "format": int(song.format),
        "ppq": int(song.ppq),
        "tempos": [
            {"tick": int(t), "bpm": round(60e6 / float(u), 3)}
            for t, u in zip(tempo.ticks, tempo.usec, strict=True)
        ],
        "time_signatures": [
            {"tick": s.tick, "signature": f"{s.numerator}/{s.denominator}"} for s in sigs.signatures
        ],
        "length_ticks": int(length),
        "length_bars": bars,
        "length_seconds": round(float(tempo.tick_to_seconds(length)), 3),
        "notes": song.note_count(),
        "tracks": tracks,
        "timing": offset_stats(all_starts, grid, song.ppq).to_dict(),
    }


def _shorten(items: list[str]) -> str:
    if len(items) <= SHOW_MAX:
        return ", ".join(items)
    return ", ".join(items[:SHOW_MAX]) + f" … ({len(items)} in all)"


def format_text(info: dict) -> str:
    tempos = [f"{t['bpm']:g} BPM at {t['tick']}" for t in info["tempos"]]
    sigs = [f"{s['signature']} at {s['tick']}" for s in info["time_signatures"]]
    secs = info["length_seconds"]
    lines = [
        f"{info['file']}: MIDI format {info['format']}, {info['ppq']} PPQ, "
        f"{len(info['tracks'])} tracks, {info['notes']} notes",
        f"tempo: {_shorten(tempos)}",
        f"time signature: {_shorten(sigs)}",
        f"length: {info['length_bars']} bar{'' if info['length_bars'] == 1 else 's'}, {int(secs // 60)}:{secs % 60:06.3f} "
        f"({info['length_ticks']} ticks)",
        "",
        f"{'#':>3}  {'track':<24} {'channels':<12} {'notes':>8}  timing (mean / max off)",
    ]
    for t in info["tracks"]:
        chans = ",".join(str(c) for c in t["channels"]) or "-"
        timing = "-"
        if t["timing"]:
            tm = t["timing"]
            timing = f"{tm['mean_abs_percent']:.1f} % / {tm['max_abs_percent']:.1f} %"
        lines.append(
            f"{t['number']:>3}  {t['name'][:24]:<24} {chans[:12]:<12} {t['notes']:>8}  {timing}"
        )
    tm = info["timing"]
    lines.append("")
    if tm["notes"]:
        lines.append(
            f"timing vs {tm['grid']}: mean {tm['mean_abs_ticks']:.1f} ticks "
            f"({tm['mean_abs_percent']:.1f} % of a step), max {tm['max_abs_ticks']:.1f} ticks "
            f"({tm['max_abs_percent']:.1f} %)"
        )
        lines.append(
            f"notes within 5 % of a step: {tm['within_5_percent']:.1f} %, "
            f"within 10 %: {tm['within_10_percent']:.1f} %"
        )
    else:
        lines.append(f"timing vs {tm['grid']}: no notes")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from engine.midifile import load_song

    grid = _grid(args.grid)
    song = load_song(args.input)
    info = describe(song, grid, name=str(args.input))
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        print(format_text(info))
    return 0
