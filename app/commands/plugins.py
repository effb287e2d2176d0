"""``quanta plugins [--json]``: what is installed and loadable, by format.

Every LV2 and VST3 plugin and system SoundFont is loaded once in a child process with a
timeout (results are remembered in the plugin cache; ``--rescan`` probes again), so a plugin
that hangs or crashes is listed as unusable instead of stopping the listing.
"""

from __future__ import annotations

import json
import sys


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "plugins",
        help="list instruments and effects by format (built-in, LV2, VST3, SF2, stock)",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--rescan", action="store_true", help="probe every plugin again")
    p.add_argument(
        "--timeout", type=float, default=10.0, metavar="S", help="per-plugin probe limit"
    )
    p.set_defaults(func=cmd_plugins)


def collect(rescan: bool = False, timeout: float = 10.0, progress=None) -> dict[str, list[dict]]:
    """Everything Quanta can play or process, grouped by format."""
    from app.paths import plugin_cache_file
    from engine.plugins import PROGRAM_NAMES, fluidsynth_available, scan_installed, stock_names

    groups: dict[str, list[dict]] = {
        "builtin": [
            {"name": "Quanta Synth", "kind": "instrument", "spec": f"builtin:{p}", "ok": True}
            for p in PROGRAM_NAMES
        ]
        + [
            {
                "name": "Quanta Drums",
                "kind": "instrument",
                "spec": "builtin (channel 10)",
                "ok": True,
            }
        ],
        "stock": [{"name": n, "kind": "effect", "spec": n, "ok": True} for n in stock_names()],
        "lv2": [],
        "vst3": [],
        "sf2": [],
    }
    for r in scan_installed(plugin_cache_file(), timeout=timeout, rescan=rescan, progress=progress):
        entry = {
            "name": r.name or r.ident.rsplit("/", 1)[-1],
            "vendor": r.vendor,
            "kind": r.kind,
            "spec": f"{r.fmt}:{r.ident}",
            "ok": r.ok,
        }
        if not r.ok:
            entry["error"] = r.error
        groups[r.fmt].append(entry)
    if not fluidsynth_available():
        groups["sf2"] = [{"name": "SoundFonts", "ok": False, "error": "libfluidsynth not found"}]
    return groups


def cmd_plugins(args) -> int:
    def progress(r) -> None:
        if not args.json and sys.stderr.isatty():
            sys.stderr.write(f"\rprobing {r.fmt}: {r.name or r.ident}"[:78].ljust(78))

    groups = collect(args.rescan, args.timeout, progress)
    if not args.json and sys.stderr.isatty():
        sys.stderr.write("\r" + " " * 78 + "\r")
    if args.json:
        print(json.dumps(groups, indent=1))
        return 0
    titles = {
        "builtin": "Built-in",
        "stock": "Stock effects",
        "lv2": "LV2",
        "vst3": "VST3",
        "sf2": "SoundFonts (SF2)",
    }
    for fmt, entries in groups.items():
        usable = sum(1 for e in entries if e["ok"])
        print(
            f"{titles[fmt]}: {usable} usable"
            + (f", {len(entries) - usable} not" if usable < len(entries) else "")
        )
        for e in entries:
            kind = e.get("kind") or "?"
            line = f"  {e['name']:<28} {kind:<10} {e.get('spec', '')}"
            if not e["ok"]:
                line += f"  UNUSABLE: {e['error']}"
            print(line)
    return 0
