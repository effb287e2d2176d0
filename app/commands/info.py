"""``quanta info IN.mid``: what is in a MIDI file and how tightly it sits on a grid.

Tracks (name, channels, notes), PPQ, tempos, time signatures, length in bars and seconds, and
how far note starts sit off the grid (1/16 unless ``--grid``), as text or ``--json``.

A file timed in SMPTE frames shows its division as such; its ticks are mapped onto a fixed
tempo (one quarter note = one second, see :class:`engine.model.smf_container.SmpteDivision`), so
bars and grid steps are counted in those quarters: harmless, but not musical. Foreign chunks
and an RMID wrapper (both kept on save) are listed too.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from engine.quantize import QuantizeSettings, offset_stats, parse_grid_text

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
    bars = sigs.bar_count(length - 1) if length else 0
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
        "division": _division(song),
        "container": "RMID" if song.file_extras.riff is not None else "SMF",
        "other_chunks": song.file_extras.chunk_ids(),
        "tempos": [
            {"tick": int(t), "bpm": round(60e6 / float(u), 3)}
            for t, u in zip(tempo.ticks, tempo.usec, strict=True)
        ],
        "ignored_tempos": [int(t) for t in tempo.ignored],
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


def _division(song) -> dict:
    if song.smpte is None:
        return {"kind": "ppq", "ppq": int(song.ppq)}
    return {
        "kind": "smpte",
        "fps": song.smpte.fps,
        "ticks_per_frame": song.smpte.ticks_per_frame,
        "ticks_per_second": round(song.smpte.ticks_per_second, 6),
        "text": song.smpte.describe(),
    }


def _timing_lines(info: dict) -> list[str]:
    div = info["division"]
    if div["kind"] != "smpte":
        return []
    bpm = info["tempos"][0]["bpm"]
    return [
        f"timing: SMPTE, fixed: {info['ppq']} ticks make a quarter note at {bpm:g} BPM; "
        "tempo events are kept but do not change timing",
        "  (bars and grid steps count those quarters: harmless, but not musical)",
    ]


def _file_lines(info: dict) -> list[str]:
    lines = []
    if info["container"] == "RMID":
        lines.append("container: RIFF RMID (kept on save)")
    if info["other_chunks"]:
        lines.append(f"other chunks: {_shorten(info['other_chunks'])} (kept on save)")
    return lines


def clock_text(secs: float) -> str:
    """``m:ss.sss`` as a musician reads a song's length; past an hour ``h:mm:ss``, past a day
    days too (a hostile file's silences can last years: ``8947848500:00.000`` says nothing)."""
    if secs < 3600:
        return f"{int(secs // 60)}:{secs % 60:06.3f}"
    whole = int(secs)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    clock = f"{hours}:{rest // 60:02d}:{rest % 60:02d}"
    if days == 0:
        return clock
    years = f" (~{days / 365.25:.1f} years)" if days >= 365 else ""
    return f"{days} day{'' if days == 1 else 's'} {clock}{years}"


def _shorten(items: list[str]) -> str:
    if len(items) <= SHOW_MAX:
        return ", ".join(items)
    return ", ".join(items[:SHOW_MAX]) + f" … ({len(items)} in all)"


def format_text(info: dict) -> str:
    tempos = [f"{t['bpm']:g} BPM at {t['tick']}" for t in info["tempos"]]
    ignored = info["ignored_tempos"]
    if ignored:
        where = _shorten([str(t) for t in ignored])
        tempos.append(f"ignored: tempo 0 µs per quarter (unusable) at {where}")
    sigs = [f"{s['signature']} at {s['tick']}" for s in info["time_signatures"]]
    secs = info["length_seconds"]
    div = info["division"]
    timing = div["text"] if div["kind"] == "smpte" else f"{info['ppq']} PPQ"
    lines = [
        f"{info['file']}: MIDI format {info['format']}, {timing}, "
        f"{len(info['tracks'])} tracks, {info['notes']} notes",
        *_timing_lines(info),
        *_file_lines(info),
        f"tempo: {_shorten(tempos)}",
        f"time signature: {_shorten(sigs)}",
        f"length: {info['length_bars']} bar{'' if info['length_bars'] == 1 else 's'}, {clock_text(secs)} "
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
    from engine.smf import load_song

    grid = _grid(args.grid)
    song = load_song(args.input)
    info = describe(song, grid, name=str(args.input))
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        print(format_text(info))
    return 0
