"""``quanta presets``: list, show, save, export, import, delete and validate quantize presets.

Presets travel as .json files or as a one-line text form (``quanta-preset:v1 name=… grid=1/16
swing=58``) that survives being pasted into a chat; ``import`` accepts either, validates fully
first, and never overwrites a user preset without ``--force``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from app import preset_store
from engine.errors import PresetError, QuantaError
from engine.presets import (
    MAX_PRESET_BYTES,
    Preset,
    check_name,
    describe_settings,
    display_name,
    is_preset_text,
    preset_from_bytes,
    preset_from_text,
    preset_to_document,
    preset_to_text,
    read_preset_file,
)


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "presets",
        help="list, show, save, share and check quantize presets",
        description=__doc__.split("\n\n")[0],
    )
    sub = parser.add_subparsers(dest="presets_command", metavar="ACTION", required=True)

    p = sub.add_parser("list", help="factory and user presets with a one-line description")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("show", help="every setting of a preset, in words and in JSON")
    p.add_argument("name", metavar="NAME", help="preset name, .json file or text form")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("save", help="save quantize options as a user preset")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--description", default="", metavar="TEXT", help="one line")
    p.add_argument("--force", action="store_true", help="replace a user preset of that name")
    _add_quantize_options(p)
    p.set_defaults(func=cmd_save)

    p = sub.add_parser("export", help="write a preset to a .json file or print its text form")
    p.add_argument("name", metavar="NAME")
    p.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="file to write (replaced): JSON, or the text form with --text or a .txt name",
    )
    p.add_argument(
        "--text", action="store_true", help="the one-line text form (printed, or written to -o)"
    )
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("import", help="validate a .json file or text form and add it")
    p.add_argument(
        "source",
        metavar="FILE.json|TEXT|-",
        help="a preset file, a pasted text form, or - to read either from standard input "
        "(no shell quoting needed)",
    )
    p.add_argument("--as", dest="as_name", metavar="NAME", help="save under another name")
    p.add_argument("--force", action="store_true", help="replace a user preset of that name")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("delete", help="delete a user preset")
    p.add_argument("name", metavar="NAME")
    p.set_defaults(func=cmd_delete)

    p = sub.add_parser("validate", help="check preset files; exit 2 with the reasons if bad")
    p.add_argument("files", nargs="+", metavar="FILE.json")
    p.set_defaults(func=cmd_validate)


# -- quantize options (shared with `quanta quantize`) -----------------------------------------
def _add_quantize_options(parser: argparse.ArgumentParser) -> None:
    try:
        from app.quantize_options import add_quantize_options
    except ModuleNotFoundError as exc:
        if exc.name != "app.quantize_options":
            raise
        parser.set_defaults(_no_quantize_options=True)
        return
    add_quantize_options(parser)


def _settings_from_args(args):
    if getattr(args, "_no_quantize_options", False):
        raise PresetError("quantize options are not available in this build; import a preset")
    from app.quantize_options import settings_from_args

    return settings_from_args(args)


# -- handlers ----------------------------------------------------------------------------------
def _source_label(entry: preset_store.PresetEntry) -> str:
    if entry.shadowed:
        return "factory (hidden by user)"
    if entry.shadows_factory:
        return "user (shadows factory)"
    return entry.source


def _warn(problems) -> None:
    for line in problems:
        print(f"quanta: warning: {line}", file=sys.stderr)


def cmd_list(args) -> int:
    catalog = preset_store.load_catalog()
    _warn(catalog.problems)
    if args.json:
        rows = [
            {
                "name": e.name,
                "source": e.source,
                "description": e.description,
                "shadowed": e.shadowed,
                "shadows_factory": e.shadows_factory,
                "path": str(e.preset.path) if e.preset.path else None,
                "settings": preset_to_document(e.preset)["settings"],
            }
            for e in catalog.entries
        ]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    if not catalog.entries:
        print("no presets")
        return 0
    width = max(len(e.name) for e in catalog.entries)
    src_width = max(len(_source_label(e)) for e in catalog.entries)
    for e in catalog.entries:
        print(f"{e.name:<{width}}  {_source_label(e):<{src_width}}  {e.description}")
    return 0


def _resolve(name: str) -> Preset:
    return preset_store.resolve_preset(name)


def cmd_show(args) -> int:
    preset = _resolve(args.name)
    where = f" — {preset.path}" if preset.path else ""
    print(f"{preset.name} ({preset.source}{where})")
    if preset.description:
        print(preset.description)
    if preset.author:
        print(f"Author: {preset.author}")
    if preset.tags:
        print(f"Tags: {', '.join(preset.tags)}")
    print()
    for line in describe_settings(preset.settings):
        print(f"  {line}")
    print()
    print("JSON:")
    print(json.dumps(preset_to_document(preset), indent=2, ensure_ascii=False))
    print()
    print("Text form:")
    print(preset_to_text(preset))
    return 0


def cmd_save(args) -> int:
    settings = _settings_from_args(args)
    preset = Preset(name=args.name, settings=settings, description=args.description)
    saved = preset_store.save_user_preset(preset, force=args.force)
    print(f"saved user preset {saved.name!r} to {saved.path}")
    _note_shadowing(saved)
    return 0


def _note_shadowing(preset: Preset) -> None:
    from engine.presets import same_name

    if any(same_name(f.name, preset.name) for f in preset_store.factory_presets()):
        print(f"note: it shadows the factory preset {preset.name!r}; delete it to get that back")


def cmd_export(args) -> int:
    if not args.output and not args.text:
        raise PresetError("export needs -o FILE.json or --text")
    preset = preset_store.load(args.name)
    if not args.output:
        print(preset_to_text(preset))
        return 0
    as_text = args.text or Path(args.output).suffix.lower() == ".txt"
    path = preset_store.export_preset(args.name, Path(args.output), text=as_text)
    form = "text form" if as_text else "JSON"
    print(f"exported {preset.name!r} to {display_name(path)} ({form})")
    return 0


def _read_stdin_preset() -> Preset:
    return preset_from_bytes(sys.stdin.buffer.read(MAX_PRESET_BYTES + 1), origin="stdin")


def cmd_import(args) -> int:
    if args.source == "-":
        preset = _read_stdin_preset()
        if args.as_name is not None:
            preset = preset.replace(name=check_name(args.as_name, field="--as"))
        saved = preset_store.save_user_preset(preset, force=args.force)
    else:
        saved = preset_store.import_preset(args.source, as_name=args.as_name, force=args.force)
    print(f"imported {saved.name!r} as a user preset ({saved.path})")
    _note_shadowing(saved)
    return 0


def cmd_delete(args) -> int:
    path = preset_store.delete_user_preset(args.name)
    print(f"deleted user preset {args.name!r} ({path})")
    return 0


def cmd_validate(args) -> int:
    bad = 0
    for item in args.files:
        try:
            if is_preset_text(item):
                preset = preset_from_text(item)
            else:
                preset = read_preset_file(item)
        except QuantaError as exc:
            bad += 1
            print(f"quanta: invalid: {exc}", file=sys.stderr)
            continue
        print(f"{display_name(item)}: ok ({preset.name!r})")
    return 2 if bad else 0
