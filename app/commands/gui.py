"""``quanta [FILE]`` / ``quanta gui [FILE]``: open the desktop app.

Without a file the built-in demo song opens, so a new user hears and sees quantize at once.
``--screenshot PATH`` renders the window offscreen to a PNG and exits (docs, tests, bug
reports); it needs no display, and says in one line where it wrote.
"""

from __future__ import annotations

import os
import re

from engine.errors import QuantaError


def _size(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"(\d{3,5})x(\d{3,5})", text.strip())
    if not m:
        raise QuantaError(f"--size {text!r}: write it as WIDTHxHEIGHT, e.g. 1280x800")
    return int(m.group(1)), int(m.group(2))


def handler(args) -> int:
    size = _size(args.size)
    if args.screenshot:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    else:
        from app.display_check import check_display

        check_display()  # one line instead of Qt's abort (exit 134) when it cannot open
    from ui.app import run

    code = run(args.file, screenshot=args.screenshot, size=size, start_engine=not args.no_engine)
    if args.screenshot and code == 0:
        width, height = size
        print(f"wrote {os.path.abspath(args.screenshot)} ({width}x{height} PNG)")
    return code


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "gui",
        help="open the Quanta window (the default command)",
        description="Open the Quanta window with FILE (a MIDI file or .quanta project), "
        "or the built-in demo song.",
    )
    p.add_argument("file", nargs="?", metavar="FILE", help="MIDI file or Quanta project")
    p.add_argument(
        "--screenshot", metavar="PATH", help="render the window to a PNG and exit (offscreen)"
    )
    p.add_argument("--size", default="1280x800", help="window size for --screenshot (WxH)")
    p.add_argument("--no-engine", action="store_true", help="do not start the playback engine")
    p.set_defaults(func=handler)
