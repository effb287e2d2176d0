"""``quanta groove``: list, show, import, export, delete, validate and extract groove templates.

Grooves travel as quanta-groove .json, Ableton .agr (plain or gzip) and REAPER SWS .rgt files;
every file is validated fully before anything is written, and a bad one is one line naming the
file and the problem (exit 2).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from app import groove_store
from app.commands.quantize import _int_list
from app.preset_store import atomic_write_bytes
from engine.errors import GrooveError, QuantaError
from engine.presets import groove_file_bytes, kind_of, name_from_filename, read_groove_file
from engine.quantize import BASES, GrooveTemplate

AUDIO_SUFFIXES = (".wav", ".flac")
MIDI_SUFFIXES = (".mid", ".midi", ".smf", ".kar", ".rmi")


def _base(text: str) -> str:
    if text not in BASES:
        raise argparse.ArgumentTypeError(f"{text!r}: allowed {', '.join(BASES)}")
    return text


def _bars(text: str) -> tuple[int, int]:
    try:
        a, b = (int(x) for x in text.split("-", 1)) if "-" in text else (int(text),) * 2
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: write A-B, e.g. 1-4") from None
    if not 1 <= a <= b <= 100_000:
        raise argparse.ArgumentTypeError(f"{text!r}: bars count from 1, A <= B")
    return a, b


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value < 10_000:
        raise argparse.ArgumentTypeError(f"{text!r}: must be > 0")
    return value


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "groove",
        help="groove templates: list, show, import/export .json/.agr/.rgt, extract from MIDI or audio",
        description=__doc__.split("\n\n")[0],
    )
    sub = parser.add_subparsers(dest="groove_command", metavar="ACTION", required=True)

    p = sub.add_parser("list", help="factory and user grooves with a one-line description")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("show", help="a groove's points, and its JSON")
    p.add_argument("name", metavar="NAME|FILE")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("import", help="validate a .json/.agr/.rgt file and add it as a user groove")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--as", dest="as_name", metavar="NAME", help="save under another name")
    p.add_argument(
        "--base", type=_base, metavar="1/16", help="base of an .rgt (not in the file; default 1/16)"
    )
    p.add_argument("--force", action="store_true", help="replace a user groove of that name")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("export", help="write a groove to FILE.json, FILE.agr or FILE.rgt")
    p.add_argument("name", metavar="NAME")
    p.add_argument("-o", "--output", required=True, metavar="FILE.json|FILE.agr|FILE.rgt")
    p.add_argument("--gzip", action="store_true", help=".agr: gzip-compressed, as Live saves them")
    p.add_argument(
        "--rgt-version", type=int, choices=(0, 1), default=1, help=".rgt: 1 (default) or 0"
    )
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("delete", help="delete a user groove")
    p.add_argument("name", metavar="NAME")
    p.set_defaults(func=cmd_delete)

    p = sub.add_parser("validate", help="check groove files; exit 2 with the reasons if bad")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--base", type=_base, metavar="1/16", help="base for .rgt files")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser(
        "extract",
        help="make a groove from a MIDI take or a WAV/FLAC drum loop",
        description="Extract a groove: each slot's point is the median of where the notes (or "
        "audio onsets) fell over the repetitions of the pattern.",
    )
    p.add_argument("input", metavar="IN.mid|IN.wav|IN.flac")
    p.add_argument("-o", "--output", required=True, metavar="OUT.json")
    p.add_argument("--base", type=_base, default="1/16", metavar="1/16", help="default 1/16")
    p.add_argument(
        "--length", type=_positive, metavar="BEATS", help="pattern length (default one bar)"
    )
    p.add_argument("--tracks", type=_int_list(1, 65535, "tracks"), metavar="LIST")
    p.add_argument("--channels", type=_int_list(1, 16, "channels"), metavar="LIST")
    p.add_argument("--bars", type=_bars, metavar="A-B", help="only these bars (1 = first)")
    p.add_argument(
        "--tempo", type=_positive, metavar="BPM", help="audio: the loop's tempo (default: detected)"
    )
    p.add_argument("--name", metavar="NAME", help="groove name (default: from the file name)")
    p.add_argument("--force", action="store_true", help="replace OUT.json if it exists")
    p.set_defaults(func=cmd_extract)


# -- handlers ----------------------------------------------------------------------------------
def _warn(problems) -> None:
    for line in problems:
        print(f"quanta: warning: {line}", file=sys.stderr)


def _label(e: groove_store.GrooveEntry) -> str:
    if e.shadowed:
        return "factory (hidden by user)"
    if e.shadows_factory:
        return "user (shadows factory)"
    return e.source


def _summary(t: GrooveTemplate) -> str:
    return f"{t.base}, {float(t.length):g} beats, {len(t.points)} points"


def cmd_list(args) -> int:
    catalog = groove_store.load_catalog()
    _warn(catalog.problems)
    if args.json:
        rows = [
            {
                "name": e.name,
                "source": e.source,
                "shadowed": e.shadowed,
                "shadows_factory": e.shadows_factory,
                "path": str(e.path) if e.path else None,
                "groove": e.template.to_document(),
            }
            for e in catalog.entries
        ]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    if not catalog.entries:
        print("no grooves")
        return 0
    width = max(len(e.name) for e in catalog.entries)
    src = max(len(_label(e)) for e in catalog.entries)
    for e in catalog.entries:
        first = e.template.description.split(". ")[0][:80]
        print(f"{e.name:<{width}}  {_label(e):<{src}}  {_summary(e.template):<28}  {first}")
    return 0


def cmd_show(args) -> int:
    t = groove_store.resolve(args.name)
    print(f"{t.name} ({_summary(t)})")
    if t.description:
        print(t.description)
    print()
    print(f"  {'slot':>4}  {'beat':>10}  {'offset':>9}  {'velocity':>8}  {'length':>8}")
    for j, off, p in t.slots():
        vel = "-" if p.velocity is None else f"{p.velocity:g}"
        ln = "-" if p.length is None else f"{float(p.length):g}"
        print(f"  {j:>4}  {float(p.beat):>10.4f}  {float(off):>+9.4f}  {vel:>8}  {ln:>8}")
    print()
    print("JSON:")
    print(json.dumps(t.to_document(), indent=2, ensure_ascii=False))
    return 0


def cmd_import(args) -> int:
    entry, loaded = groove_store.import_groove(
        args.file, as_name=args.as_name, base=args.base, force=args.force
    )
    print(f"imported {entry.name!r} ({_summary(entry.template)}) as a user groove ({entry.path})")
    if loaded.amounts is not None:
        a = loaded.amounts
        print(
            f"note: the .agr's amounts (timing {a.timing:g} %, quantize {a.quantization:g} %, "
            f"velocity {a.velocity:g} %, random {a.random:g} %) are not part of a groove; with "
            "`quanta quantize --groove FILE.agr` they are used as defaults"
        )
    if entry.shadows_factory:
        print(f"note: it shadows the factory groove {entry.name!r}; delete it to get that back")
    return 0


def cmd_export(args) -> int:
    path = groove_store.export_groove(
        args.name, Path(args.output), compress=args.gzip, version=args.rgt_version
    )
    print(f"exported {args.name!r} to {path}")
    return 0


def cmd_delete(args) -> int:
    path = groove_store.delete_user_groove(args.name)
    print(f"deleted user groove {args.name!r} ({path})")
    return 0


def cmd_validate(args) -> int:
    bad = 0
    for item in args.files:
        try:
            loaded = read_groove_file(item, base=args.base)
        except QuantaError as exc:
            bad += 1
            print(f"quanta: invalid: {exc}", file=sys.stderr)
            continue
        print(f"{item}: ok ({loaded.template.name!r}, {_summary(loaded.template)})")
    return 2 if bad else 0


def _extract_midi(args, name: str) -> GrooveTemplate:
    from engine.quantize import extract_from_notes
    from engine.smf import load_song

    song = load_song(args.input)
    parts = []
    for i, track in enumerate(song.tracks):
        if args.tracks is not None and i + 1 not in args.tracks:
            continue
        notes = track.notes
        if args.channels is not None:
            notes = notes[np.isin(notes["channel"], [c - 1 for c in args.channels])]
        parts.append(notes)
    notes = np.concatenate(parts) if parts else None
    if notes is None or notes.size == 0:
        raise GrooveError(args.input, "has no notes on the chosen tracks and channels")
    origin = 0
    sigs = song.time_signatures()
    if args.bars is not None:
        lines = [tick for bar, tick, _ in sigs.bars(song.length_ticks() + 1)]
        a, b = args.bars
        if a > len(lines):
            raise GrooveError("--bars", f"the song has {len(lines)} bars")
        lo = lines[a - 1]
        hi = lines[b] if b < len(lines) else song.length_ticks() + 1
        notes = notes[(notes["start"] >= lo) & (notes["start"] < hi)]
        origin = lo
        if notes.size == 0:
            raise GrooveError(args.input, f"has no notes in bars {a}-{b}")
    return extract_from_notes(
        np.sort(notes, order="start"),
        song.ppq,
        base=args.base,
        length=args.length,
        origin=origin,
        time_signatures=sigs,
        name=name,
        description=f"Extracted from {Path(args.input).name}",
    )


def cmd_extract(args) -> int:
    src = Path(args.input)
    out = Path(args.output)
    if kind_of(out) != "json":
        raise GrooveError(str(out), "extract writes a quanta-groove .json file")
    if out.exists() and not args.force:
        raise GrooveError(str(out), "exists; use --force to replace it")
    name = args.name or name_from_filename(src)
    suffix = src.suffix.lower()
    if suffix in AUDIO_SUFFIXES:
        from engine.audio import extract_audio_groove

        result = extract_audio_groove(
            src, base=args.base, length=args.length, tempo=args.tempo, name=name
        )
        template = result.template
        print(
            f"{src.name}: {result.onsets} onsets at {result.tempo:.2f} BPM "
            f"({'given' if args.tempo else 'detected'})"
        )
    elif suffix in MIDI_SUFFIXES:
        if args.tempo is not None:
            raise GrooveError("--tempo", "is for audio input; a MIDI file has its own tempo")
        template = _extract_midi(args, name)
    else:
        raise GrooveError(str(src), "extract reads .mid, .wav or .flac files")
    atomic_write_bytes(out, groove_file_bytes(template, "json"))
    print(f"wrote {template.name!r} ({_summary(template)}) to {out}")
    return 0
