"""The quantize command-line options, shared by every command that quantizes.

``quanta quantize``, ``play``, ``live``, ``render`` and ``presets save`` all call
:func:`add_quantize_options` and :func:`settings_from_args`, so an option means the same
everywhere. Every option defaults to ``None`` ("not given"): a ``--preset`` supplies the base
settings and each option given explicitly overrides that one field of it.
"""

from __future__ import annotations

import argparse

from engine.errors import SettingsError
from engine.quantize import ENDS_MODES, GRID_TYPES, QuantizeSettings, parse_grid_text

#: argparse dest → QuantizeSettings field, for the options that map one to one.
_FIELDS = {
    "offset": "offset",
    "strength": "strength",
    "swing": "swing",
    "exclude_within": "exclude_within",
    "ends": "ends",
    "length_grid": "length_grid",
}
_DESTS = ("preset", "grid", "grid_type", "tuplet", "catch_within", *_FIELDS)


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
    return ", ".join(parts)
