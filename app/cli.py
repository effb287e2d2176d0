"""The ``quanta`` command. Without a subcommand it opens the desktop app.

Each subcommand lives in its own module under :mod:`app.commands` and exposes
``register(subparsers)``; the handler it sets with ``set_defaults(func=...)`` returns an exit
code. Errors a user can cause (bad file, bad preset, missing port) are ``QuantaError``s and
print one line and exit 2, never a traceback. So do mistyped commands and options, naming
the nearest real one (see :mod:`app.cli_typos`). A closed stdout pipe ends quietly (141).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from app.cli_typos import (
    looks_like_file,
    unknown_command_message,
    unknown_options_message,
    with_nearest_choice,
)
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
#: Commands that never quantize: they skip loading the groove store (and numba with it).
NO_QUANTIZE_COMMANDS = frozenset({"ports", "plugins"})
EXIT_BROKEN_PIPE = 128 + 13  # 128 + SIGPIPE: how a shell reports a tool cut off by `head`


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse's own usage errors: one line, exit 2
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {with_nearest_choice(message)}\n")


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


def _command_parser(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.ArgumentParser:
    """The parser of the (sub-)sub-command ``argv`` names, e.g. ``presets list``'s."""
    for word in argv:
        if word.startswith("-") or parser._subparsers is None:
            continue
        choices = parser._subparsers._group_actions[0].choices
        if word in choices:
            parser = choices[word]
    return parser


def _usage_error(parser: argparse.ArgumentParser, message: str) -> int:
    parser.print_usage(sys.stderr)
    print(f"{parser.prog}: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def _run(argv: list[str]) -> int:
    parser = build_parser()
    known = set(parser._subparsers._group_actions[0].choices) if parser._subparsers else set()
    top_level = {"-h", "--help", "--version"}
    if "gui" in known and (not argv or (argv[0] not in known and argv[0] not in top_level)):
        first = argv[0] if argv else ""
        if first and not first.startswith("-") and not looks_like_file(first):
            return _usage_error(parser, unknown_command_message(first, known))
        argv.insert(0, "gui")  # `quanta`, `quanta song.mid`, `quanta --screenshot x.png`
    args, extras = parser.parse_known_args(argv)
    args.argv = argv  # what was parsed, for a command that re-runs itself in a child process
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    if extras:
        sub = _command_parser(parser, argv)
        return _usage_error(sub, unknown_options_message(extras, sub._option_string_actions))
    try:
        if args.command not in NO_QUANTIZE_COMMANDS:
            from app import groove_store

            groove_store.install()  # groove names in presets, songs and --groove resolve here
        return int(args.func(args) or 0)
    except QuantaError as exc:
        print(f"quanta: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _stdout_reader_gone() -> bool:
    """True when stdout is a pipe (or socket) whose reading end was closed, so that a broken
    pipe elsewhere (a plugin probe's child, say) is not mistaken for it."""
    import select

    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        if any(ev & select.POLLERR for _, ev in poller.poll(0)):
            return True
    except (OSError, ValueError, AttributeError):
        pass
    try:  # where poll does not flag it (not Linux): writing what is buffered fails again
        sys.stdout.flush()
    except BrokenPipeError:
        return True
    except (OSError, ValueError):
        pass
    return False


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns its exit code.

    A closed pipe on stdout (``quanta info f.mid | head -1``) ends any command quietly with
    exit code 141 (128 + SIGPIPE), what a shell reports for ``cat`` or ``grep`` in the same
    place, so ``set -o pipefail`` scripts see it as they would any Unix tool. Quanta does not
    let SIGPIPE kill it outright: ``play`` and ``live`` must still silence their notes.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        code = _run(argv)
        sys.stdout.flush()  # inside the try: a closed pipe shows here at the latest
        return code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        if not _stdout_reader_gone():
            raise
        _silence_stdout()
        return EXIT_BROKEN_PIPE


if __name__ == "__main__":
    sys.exit(main())
