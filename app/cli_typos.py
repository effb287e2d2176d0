"""Telling a mistyped command or option from a file name, and naming what was meant.

``quanta song.mid`` opens the window with a file, so the first word of the command line is
either a command or a file. It is a file when it exists or looks like one (has a folder part
or an extension, e.g. ``song.mid``, ``./take``, ``~/x.quanta``); any other bare word is a
command, and an unknown one is reported with the nearest command (``quantise`` → "did you
mean quantize?") instead of opening a window that cannot find a file named ``quantise``.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable


def looks_like_file(word: str) -> bool:
    """True when ``word`` names a file to open rather than a command."""
    if os.path.exists(word):
        return True
    if os.sep in word or "/" in word or word.startswith("~"):
        return True
    stem, ext = os.path.splitext(word)
    return bool(stem) and len(ext) > 1


def nearest(word: str, names: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The name in ``names`` closest to ``word`` (difflib ratio ≥ ``cutoff``), or ``None``."""
    close = difflib.get_close_matches(word, list(names), n=1, cutoff=cutoff)
    return close[0] if close else None


def unknown_command_message(word: str, commands: Iterable[str]) -> str:
    """``unknown command 'quantise' (did you mean 'quantize'?)`` or the list of commands."""
    commands = sorted(commands)
    guess = nearest(word, commands)
    if guess is not None:
        return f"unknown command {word!r} (did you mean {guess!r}?)"
    return (
        f"{word!r} is neither a command nor a file; commands: {', '.join(commands)} "
        "(quanta --help)"
    )


def unknown_options_message(extras: list[str], options: Iterable[str]) -> str:
    """What argparse left over, with the nearest real option for each misspelled one.

    A misspelled option's value is left over too; only the options are named then.
    """
    options = sorted(options)
    flags = [arg.split("=", 1)[0] for arg in extras if arg.startswith("-") and arg != "-"]
    if not flags:
        return f"unrecognized arguments: {' '.join(extras)}"
    parts = []
    for flag in flags:
        guess = nearest(flag, options)
        parts.append(f"{flag} (did you mean {guess}?)" if guess else flag)
    return f"unknown option{'s' if len(parts) > 1 else ''}: {', '.join(parts)}"


_INVALID_CHOICE = re.compile(r"invalid choice: '([^']*)' \(choose from (.*)\)$")


def with_nearest_choice(message: str) -> str:
    """argparse's "invalid choice: 'improt' (choose from 'list', 'import', …)" with the
    nearest choice added ("did you mean 'import'?"), for sub-commands and option values."""
    m = _INVALID_CHOICE.search(message)
    if not m:
        return message
    guess = nearest(m.group(1), re.findall(r"'([^']*)'", m.group(2)))
    return f"{message}; did you mean {guess!r}?" if guess else message
