"""``quanta plugins [--json]``: what is installed and loadable, by format.

Every LV2 and VST3 plugin and system SoundFont is loaded once in a child process with a
timeout (results are remembered in the plugin cache; ``--rescan`` probes again), so a plugin
that hangs or crashes is listed as unusable instead of stopping the listing. LV2 bundles are
read in a child process too: a bundle whose code crashes is listed once, by path, and skipped.
On a terminal the scan counts the plugins as it goes (on stderr).
"""

from __future__ import annotations

import json
import os
import sys


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "plugins",
        help="list instruments and effects by format (built-in, LV2, VST3, SF2, stock)",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument(
        "action",
        nargs="?",
        choices=["ui", "presets"],
        help="ui: open one plugin's editor; presets: list (or --save) a plugin's presets (LV2, VST3)",
    )
    p.add_argument("plugin", nargs="?", help="lv2:URI, vst3:PATH or an LV2 plugin's name")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--rescan", action="store_true", help="probe every plugin again")
    p.add_argument(
        "--timeout", type=float, default=10.0, metavar="S", help="per-plugin probe limit"
    )
    from app.commands.plugin_ui import add_arguments

    add_arguments(p.add_argument_group("ui"))
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
        if r.fmt == "lv2-bundle":  # a bundle that crashed or hung while being read
            groups["lv2"].append(
                {"name": r.name, "kind": "bundle", "spec": "", "path": r.ident, "ok": False,
                 "error": r.error}
            )  # fmt: skip
            continue
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


class _Counter:
    """``probing plugins 12/40: ZamComp`` rewritten in place on stderr (a terminal only)."""

    def __init__(self, stream):
        self.stream = stream
        self.shown = False

    def __call__(self, done: int, total: int, result) -> None:
        text = f"\rprobing plugins {done}/{total}"
        if result is not None:
            text += ": " + (result.name or os.path.basename(result.ident.rstrip("/")))
        self.stream.write(text[:79].ljust(79))
        self.stream.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r" + " " * 79 + "\r")
            self.stream.flush()


def cmd_plugins(args) -> int:
    if args.action == "ui":
        from app.commands.plugin_ui import cmd_plugin_ui

        return cmd_plugin_ui(args)
    if args.action == "presets":
        from app.commands.plugin_ui import cmd_presets

        return cmd_presets(args)
    counter = _Counter(sys.stderr) if sys.stderr.isatty() else None
    try:
        groups = collect(args.rescan, args.timeout, counter)
    finally:
        if counter:
            counter.clear()
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
            if e.get("kind") == "bundle":
                line = f"  BAD BUNDLE: {e['error']}"
            elif not e["ok"]:
                line += f"  UNUSABLE: {e['error']}"
            print(line)
    return 0
