"""The quantize command-line options, shared by every command that quantizes.

``quanta quantize``, ``play``, ``live``, ``render`` and ``presets save`` all call
:func:`add_quantize_options` and :func:`settings_from_args`, so an option means the same
everywhere. Every option defaults to ``None`` ("not given"): a ``--preset`` supplies the base
settings and each option given explicitly overrides that one field of it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from engine.errors import SettingsError
from engine.presets import read_groove_file
from engine.quantize import (
    CONTROLLER_MODES,
    ENDS_MODES,
    GRID_TYPES,
    NOISE_KINDS,
    QuantizeSettings,
    parse_grid_text,
)

#: argparse dest → QuantizeSettings field, for the options that map one to one.
_FIELDS = {
    "offset": "offset",
    "strength": "strength",
    "swing": "swing",
    "exclude_within": "exclude_within",
    "ends": "ends",
    "length_grid": "length_grid",
    "pre_quantize": "pre_quantize",
    "groove_velocity": "groove_velocity",
    "groove_length": "groove_length",
    "humanize_ms": "humanize_ms",
    "humanize_velocity": "humanize_velocity",
    "humanize_noise": "humanize_noise",
    "humanize_seed": "humanize_seed",
    "flam": "flam",
    "controllers": "controllers",
}
_DESTS = ("preset", "grid", "grid_type", "tuplet", "catch_within", "groove", *_FIELDS)


def _catch(text: str) -> float | str:
    if text.strip().lower() in ("off", "none", "all"):
        return "off"
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a percentage (or 'off')") from None


def add_quantize_options(parser: argparse.ArgumentParser) -> None:
    """Add the quantize options (in their own help group) to ``parser``."""
    g = parser.add_argument_group(
        "quantize settings",
        "Options override the fields of --preset; without a preset they start from the "
        "defaults shown.",
    )
    g.add_argument(
        "--preset",
        metavar="NAME|FILE",
        help="start from a preset: a name from `quanta presets list` or a .json file "
        "(default none)",
    )
    g.add_argument(
        "--grid",
        metavar="1/N",
        help="grid division 1/1 … 1/128; 1/8T means triplet, 1/8. dotted (default 1/16)",
    )
    g.add_argument(
        "--grid-type",
        choices=GRID_TYPES,
        help="grid variant: triplet = ×2/3, dotted = ×3/2, tuplet needs --tuplet "
        "(default straight)",
    )
    g.add_argument(
        "--tuplet",
        metavar="N:M",
        help="N notes in the time of M, e.g. 5:4 (implies --grid-type tuplet; default none)",
    )
    g.add_argument(
        "--offset",
        type=int,
        metavar="TICKS",
        help="shift the grid origin by this many ticks (default 0)",
    )
    g.add_argument(
        "--strength",
        type=float,
        metavar="PCT",
        help="how far notes move toward the grid, 0–100 %% (default 100)",
    )
    g.add_argument(
        "--swing",
        type=float,
        metavar="PCT",
        help="off-beat position in a pair of steps, 50–75 %%; 50 straight, 66.67 triplet "
        "feel; straight grids only (default 50)",
    )
    g.add_argument(
        "--exclude-within",
        type=float,
        metavar="PCT",
        help="leave notes this close to the grid alone, 0–50 %% of a grid step (default 0)",
    )
    g.add_argument(
        "--catch-within",
        type=_catch,
        metavar="PCT",
        help="only quantize notes this close to the grid, 0–100 %% of a grid step, or 'off' "
        "(default off: every note is caught)",
    )
    g.add_argument(
        "--ends",
        choices=ENDS_MODES,
        help="note ends: keep-length (end moves with the start), quantize-ends (end snaps "
        "on its own), quantize-lengths (length snaps to --length-grid), keep-ends (end "
        "stays) (default keep-length)",
    )
    g.add_argument(
        "--length-grid",
        metavar="1/N",
        help="length step for --ends quantize-lengths: 1/8, 1/8T or 1/8. "
        "(default: the grid itself)",
    )
    add_groove_options(g)


def add_groove_options(g) -> None:
    """The part-2 options (groove, humanize, flam, controllers) in the quantize group."""
    g.add_argument(
        "--groove",
        metavar="NAME|FILE.json|FILE.agr|FILE.rgt",
        help="quantize to a groove template instead of the grid: a groove name from `quanta "
        "groove list`, or a quanta-groove .json, Ableton .agr (its amounts are the defaults) "
        "or REAPER .rgt (base 1/16) file; --strength is then the groove's timing amount "
        "(default none)",
    )
    g.add_argument(
        "--pre-quantize",
        type=float,
        metavar="PCT",
        help="with --groove: first move notes this far toward the groove's straight base "
        "grid, 0–100 %% (default 0)",
    )
    g.add_argument(
        "--groove-velocity",
        type=float,
        metavar="PCT",
        help="with --groove: move velocities toward the groove's, −100–100 %%; negative "
        "pushes away (default 0)",
    )
    g.add_argument(
        "--groove-length",
        type=float,
        metavar="PCT",
        help="with --groove: move note lengths toward the groove's, 0–100 %% (default 0)",
    )
    g.add_argument(
        "--humanize-ms",
        type=float,
        metavar="MS",
        help="random timing after quantize: standard deviation in milliseconds, chords kept "
        "together (default 0 = off)",
    )
    g.add_argument(
        "--humanize-velocity",
        type=float,
        metavar="N",
        help="random velocity: standard deviation in velocity steps (default 0 = off)",
    )
    g.add_argument(
        "--humanize-noise",
        choices=NOISE_KINDS,
        help="pink: drifts like a player (1/f); white: independent per note (default pink)",
    )
    g.add_argument(
        "--humanize-seed",
        type=int,
        metavar="N",
        help="the same seed gives the same result; another seed another take (default 0)",
    )
    g.add_argument(
        "--flam",
        type=int,
        metavar="TICKS",
        help="spread chords: each note this many ticks after the one below (negative: from "
        "the top), −PPQ…PPQ (default 0)",
    )
    g.add_argument(
        "--controllers",
        choices=CONTROLLER_MODES,
        help="follow: CC, pitch bend and pressure move with the note they belong to "
        "(default stay)",
    )


def groove_from_arg(text: str):
    """``--groove``: a ``.json``/``.agr``/``.rgt`` path (or any existing file) is read now,
    strictly (engine.presets.read_groove_file); anything else is a groove *name*, looked up in
    the groove store when the quantize runs. Returns ``(template or name, .agr amounts or None)``.
    """
    if text.lower().endswith((".json", ".agr", ".rgt")) or Path(text).expanduser().is_file():
        loaded = read_groove_file(Path(text).expanduser())
        return loaded.template, loaded.amounts
    return text, None


def quantize_options_given(args: argparse.Namespace) -> bool:
    """True when any quantize option or a preset was given (commands where quantize is optional
    use this to tell "play as recorded" from "quantize with the defaults")."""
    return any(getattr(args, dest, None) is not None for dest in _DESTS)


def _tuplet(text: str) -> tuple[int, int]:
    try:
        n, m = (int(x) for x in str(text).split(":"))
    except ValueError:
        raise SettingsError("tuplet", f"{text!r}; write it as N:M, e.g. 5:4") from None
    return n, m


def settings_from_args(args: argparse.Namespace) -> QuantizeSettings:
    """The settings the command line asks for: the preset (or defaults) plus each option given.

    Changing the grid type away from tuplet drops the preset's tuplet; ``--tuplet`` alone
    implies ``--grid-type tuplet``. Raises ``SettingsError``/``PresetError`` (one line).
    """
    preset = getattr(args, "preset", None)
    if preset is not None:
        from app.preset_store import resolve_preset  # lazy: the store reads the user folder

        base = resolve_preset(preset).settings
    else:
        base = QuantizeSettings()
    fields: dict = {}
    grid = getattr(args, "grid", None)
    grid_type = getattr(args, "grid_type", None)
    tuplet = getattr(args, "tuplet", None)
    kind = None
    if grid is not None:
        fields["division"], kind = parse_grid_text(grid, "grid")
        if grid_type is not None and kind != "straight" and kind != grid_type:
            raise SettingsError("grid", f"{grid} contradicts --grid-type {grid_type}")
    if tuplet is not None:
        fields["tuplet"] = _tuplet(tuplet)
    # The most explicit statement of the grid type wins: --grid-type, then --tuplet, then the
    # suffix of --grid (a plain "1/16" means straight).
    if grid_type is not None:
        fields["grid_type"] = grid_type
    elif tuplet is not None:
        fields["grid_type"] = "tuplet"
    elif kind is not None:
        fields["grid_type"] = kind
    if fields.get("grid_type", base.grid_type) != "tuplet":
        fields["tuplet"] = None
    catch = getattr(args, "catch_within", None)
    if catch is not None:
        fields["catch_within"] = None if catch == "off" else catch
    for dest, name in _FIELDS.items():
        value = getattr(args, dest, None)
        if value is not None:
            fields[name] = value
    groove = getattr(args, "groove", None)
    if groove is not None and groove.lower() in ("none", "off"):
        fields["groove"] = None
    elif groove is not None:
        fields["groove"], amounts = groove_from_arg(groove)
        if amounts is not None:  # an .agr's groove pool amounts, unless an option says otherwise
            for name, value in amounts.settings_fields().items():
                if getattr(args, name, None) is None:
                    fields[name] = value
    return base.replace(**fields) if fields else base


def settings_summary(s: QuantizeSettings) -> str:
    """The settings in one short line, for command output ("1/16, swing 58 %, ...")."""
    parts = [f"grid {s.grid_label}"]
    if s.offset:
        parts.append(f"offset {s.offset:+d} ticks")
    parts.append(f"strength {s.strength:g} %")
    if s.swing != 50:
        parts.append(f"swing {s.swing:g} %")
    if s.exclude_within:
        parts.append(f"exclude within {s.exclude_within:g} %")
    if s.catch_within is not None:
        parts.append(f"catch within {s.catch_within:g} %")
    ends = s.ends
    if s.ends == "quantize-lengths":
        ends += f" {s.length_grid or s.grid_label}"
    parts.append(ends)
    if s.groove is not None:
        name = s.groove if isinstance(s.groove, str) else s.groove.name
        parts[0] = f"groove {name!r}"
        if s.pre_quantize:
            parts.append(f"pre-quantize {s.pre_quantize:g} %")
        if s.groove_velocity:
            parts.append(f"groove velocity {s.groove_velocity:g} %")
        if s.groove_length:
            parts.append(f"groove length {s.groove_length:g} %")
    if s.humanize_ms or s.humanize_velocity:
        parts.append(
            f"humanize {s.humanize_ms:g} ms / {s.humanize_velocity:g} vel "
            f"({s.humanize_noise}, seed {s.humanize_seed})"
        )
    if s.flam:
        parts.append(f"flam {s.flam:+d} ticks")
    if s.controllers == "follow":
        parts.append("controllers follow")
    return ", ".join(parts)
