"""The ``quanta`` command. Without a subcommand it opens the desktop app.

Each subcommand lives in its own module under :mod:`app.commands` and exposes
``register(subparsers)``; the handler it sets with ``set_defaults(func=...)`` returns an exit
code. Errors a user can cause (bad file, bad preset, missing port) are ``QuantaError``s and
print one line and exit 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from engine.errors import QuantaError

#: Subcommand modules, in the order ``--help`` lists them. A module that fails to import
#: (e.g. an optional part not installed) is skipped with a note instead of breaking the CLI.
COMMAND_MODULES = (
    "app.commands.gui",
    "app.commands.quantize",
    "app.commands.info",
    "app.commands.presets",
    "app.commands.groove",
    "app.commands.ports",
    "app.commands.play",
    "app.commands.live",
    "app.commands.render",
    "app.commands.plugins",
)

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse's own usage errors: one line, exit 2
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"quanta: error: {message}\n")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("quanta")
    except PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="quanta",
        description="Quanta: a MIDI workstation with a quantizer musicians can trust.",
    )
    parser.add_argument("--version", action="version", version=f"quanta {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # not written (yet): nothing to register
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    known = set(parser._subparsers._group_actions[0].choices) if parser._subparsers else set()
    top_level = {"-h", "--help", "--version"}
    if "gui" in known and (not argv or (argv[0] not in known and argv[0] not in top_level)):
        argv.insert(0, "gui")  # `quanta`, `quanta song.mid`, `quanta --screenshot x.png`
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        from app import groove_store

        groove_store.install()  # groove names in presets and --groove resolve through the store
        return int(args.func(args) or 0)
    except QuantaError as exc:
        print(f"quanta: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
