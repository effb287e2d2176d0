"""``quanta ports [--api NAME|all] [--json]``: the MIDI ports Quanta can use.

By default it lists the API Quanta would choose (and says why: explicit ``--api``, the
``QUANTA_MIDI_API`` variable, a running JACK server, or the platform default), because that is
what ``quanta play``/``quanta live`` will open. ``--api all`` lists every API this build of
python-rtmidi knows, with the reason an unusable one cannot be used. "Inputs" are ports
Quanta can read from (keyboards), "outputs" ports it can send to (synths). Exit 2 with one
line when no API works.
"""

from __future__ import annotations

import argparse
import json

from engine.ports import api_label, api_problem, choose_api, compiled_apis, list_ports


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "ports",
        help="list MIDI inputs and outputs (JACK, ALSA, CoreMIDI, WinMM)",
        description="List the MIDI ports Quanta can open, on the API it would choose or on "
        "every API.",
    )
    p.add_argument(
        "--api",
        metavar="NAME",
        help="jack, alsa, coremidi, winmm, or 'all' (default: the API Quanta chooses: "
        "$QUANTA_MIDI_API, else JACK when a JACK server runs, else the platform's)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.set_defaults(func=run)


def _api_entry(api: str) -> dict:
    problem = api_problem(api)
    entry = {"api": api, "available": problem is None, "problem": problem}
    if problem is None:
        inputs, outputs = list_ports(api)
        entry["inputs"] = [{"index": p.index, "name": p.name} for p in inputs]
        entry["outputs"] = [{"index": p.index, "name": p.name} for p in outputs]
    return entry


def collect(api: str | None) -> dict:
    """Everything ``quanta ports`` shows, as plain data (the ``--json`` output)."""
    if api and api.lower() == "all":
        chosen = choose_api()  # none works: DeviceError naming every API tried (exit 2)
        choice = {"api": chosen.name, "reason": chosen.reason}
        return {"chosen": choice, "apis": [_api_entry(a) for a in compiled_apis()]}
    chosen = choose_api(api)
    return {
        "chosen": {"api": chosen.name, "reason": chosen.reason},
        "apis": [_api_entry(chosen.name)],
    }


def _print_ports(title: str, ports: list[dict]) -> None:
    print(f"  {title}:")
    if not ports:
        print("    (none)")
    for p in ports:
        print(f"    {p['index']:>3}  {p['name']}")


def run(args: argparse.Namespace) -> int:
    data = collect(args.api)
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    chosen = data["chosen"]
    print(f"MIDI API: {chosen['reason']}")
    for entry in data["apis"]:
        label = api_label(entry["api"])
        if not entry["available"]:
            print(f"{entry['problem']} (not usable)")
            continue
        print(f"{label}:")
        _print_ports("inputs (Quanta reads from)", entry["inputs"])
        _print_ports("outputs (Quanta sends to)", entry["outputs"])
    return 0
