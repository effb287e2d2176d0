"""Per-track sound options: which instrument, effects, volume and pan each track of a song gets.

``quanta render`` uses them now and ``play``/``live`` can later: a command calls
:func:`add_track_sound_options` on its parser and :func:`track_sounds_from_args` once the song
is loaded, then hands the result to :func:`app.track_mixer.build_track_mixer`.

``SEL=VALUE`` is split at the first ``=``. SEL picks a track as a DAW's track list does:

- a number is the 1-based track number ``quanta info`` shows (the conductor track of a type-1
  file is track 1); a SEL of digits is always a number, even when some track is named "2";
- anything else is a track name, matched case-insensitively and exactly (surrounding spaces
  ignored). A name shared by two tracks is an error: the musician picks one by number.

``--track-mute SEL`` and ``--track-solo SEL`` take a selector alone; with any solo, only the
soloed tracks are heard (as a DAW's solo buttons, so one command renders a stem).

A track given ``--track-instrument``, ``--track-volume`` or ``--track-pan`` twice keeps the
last value (as any repeated option does); ``--track-effect`` accumulates, and a track's effects
run in the order given. Mistakes raise :class:`TrackOptionError`, one line that names the
option, the value and the tracks there are.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, field

from engine.errors import QuantaError

#: Loudest --track-volume accepted, in dB. Higher is surely a typo and would only clip.
MAX_VOLUME_DB = 24.0
#: How many tracks an error message lists before it shortens the list.
LIST_MAX = 16


class TrackOptionError(QuantaError):
    """A --track-* option names no track, two tracks, or has a value out of range."""


@dataclass
class TrackSound:
    """What one track sounds like; ``instrument`` None means the command's ``--instrument``."""

    instrument: str | None = None
    effects: list[str] = field(default_factory=list)
    volume_db: float = 0.0
    pan: float = 0.0
    mute: bool = False
    solo: bool = False


INSTRUMENT_HELP = "builtin[:PROGRAM] | lv2:URI | vst3:PATH | sf2[:PATH] (default builtin)"
EFFECT_HELP = (
    "master effect: reverb, delay, chorus, compressor, limiter, highpass, lowpass, ... or "
    "vst3:PATH / lv2:URI (repeatable, applied in order)"
)


def add_instrument_options(group, instrument_default: str | None = None) -> None:
    """``--instrument SPEC`` and repeatable ``--effect SPEC`` (the master bus), as every
    command that makes sound spells them."""
    group.add_argument(
        "--instrument", default=instrument_default, metavar="SPEC", help=INSTRUMENT_HELP
    )
    group.add_argument(
        "--effect", action="append", default=[], metavar="NAME[:k=v,...]", help=EFFECT_HELP
    )


def add_track_sound_options(parser: argparse.ArgumentParser) -> None:
    """Add --track-instrument, --track-effect, --track-volume, --track-pan, --track-mute and
    --track-solo (all repeatable) in their own help group.

    Values are kept as text here and checked by :func:`track_sounds_from_args`, because a
    selector can only be checked against the song, and every mistake should read the same.
    """
    group = parser.add_argument_group(
        "per-track sound",
        "SEL is a track number as `quanta info` shows it, or a track name (case-insensitive). "
        "Tracks not named keep --instrument; --effect stays on the master bus.",
    )
    group.add_argument(
        "--track-instrument",
        action="append",
        default=[],
        metavar="SEL=SPEC",
        help="instrument for one track (same SPECs as --instrument; repeatable)",
    )
    group.add_argument(
        "--track-effect",
        action="append",
        default=[],
        metavar="SEL=NAME[:k=v,...]",
        help="effect on one track, before its volume and pan (same NAMEs as --effect); "
        "repeat for more, they run in the order given",
    )
    group.add_argument(
        "--track-volume",
        action="append",
        default=[],
        metavar="SEL=DB",
        help=f"track volume in dB, -inf (silent) to +{MAX_VOLUME_DB:g} (default 0)",
    )
    group.add_argument(
        "--track-pan",
        action="append",
        default=[],
        metavar="SEL=PAN",
        help="track pan, -1 (left) to 1 (right), constant power (default 0, centre)",
    )
    group.add_argument(
        "--track-mute",
        action="append",
        default=[],
        metavar="SEL",
        help="leave a track out of the mix (repeatable)",
    )
    group.add_argument(
        "--track-solo",
        action="append",
        default=[],
        metavar="SEL",
        help="hear only the soloed tracks, e.g. to render one stem (repeatable)",
    )


def describe_tracks(names: list[str]) -> str:
    """``1 "Conductor", 2 "Keys", 3 (no name)``: the track list an error message ends with."""
    items = [f'{i} "{n}"' if n else f"{i} (no name)" for i, n in enumerate(names, start=1)]
    if len(items) > LIST_MAX:
        items = items[:LIST_MAX] + [f"… ({len(items)} in all)"]
    return ", ".join(items) if items else "none"


def select_track(sel: str, names: list[str], option: str, text: str) -> int:
    """The 0-based index of the track ``sel`` names (see the module docstring for the rules)."""
    where = f"{option} {text}"
    key = sel.strip()
    if not key:
        raise TrackOptionError(f"{where}: give a track as SEL=..., e.g. 2=... or Bass=...")
    if key.isdigit():
        number = int(key)
        if 1 <= number <= len(names):
            return number - 1
        raise TrackOptionError(
            f"{where}: there is no track {number}; tracks: {describe_tracks(names)}"
        )
    folded = key.casefold()
    hits = [i for i, n in enumerate(names) if n.strip().casefold() == folded]
    if len(hits) == 1:
        return hits[0]
    if not hits:
        raise TrackOptionError(
            f'{where}: no track is named "{key}"; tracks: {describe_tracks(names)}'
        )
    numbers = " and ".join(str(i + 1) for i in hits)
    raise TrackOptionError(
        f'{where}: tracks {numbers} are both named "{key}"; give the track number instead'
    )


def _split(text: str, option: str) -> tuple[str, str]:
    sel, eq, value = text.partition("=")
    if not eq or not value.strip():
        raise TrackOptionError(f"{option} {text}: write SEL=VALUE, e.g. {option} 2=...")
    return sel, value.strip()


def parse_volume(value: str, where: str) -> float:
    """dB as a number, ``-inf`` for silence; a trailing ``dB`` is allowed (``-6dB``)."""
    text = value.strip()
    if text.lower().endswith("db"):
        text = text[:-2].strip()
    try:
        db = float(text)
    except ValueError:
        db = math.nan
    if math.isnan(db) or db > MAX_VOLUME_DB:
        raise TrackOptionError(f"{where}: volume is in dB, -inf to +{MAX_VOLUME_DB:g}")
    return db


def parse_pan(value: str, where: str) -> float:
    """-1 (hard left) .. 0 (centre) .. 1 (hard right)."""
    try:
        pan = float(value)
    except ValueError:
        pan = math.nan
    if not -1.0 <= pan <= 1.0:
        raise TrackOptionError(f"{where}: pan is a number from -1 (left) to 1 (right)")
    return pan


def track_sounds_from_args(args: argparse.Namespace, names: list[str]) -> dict[int, TrackSound]:
    """Every --track-* option resolved against the song's track ``names`` (in file order).

    Returns 0-based track index → :class:`TrackSound` for the tracks that were named; tracks
    not in it keep the command's defaults. Nothing is loaded here, so a mistake is reported
    before any plugin is probed.
    """
    sounds: dict[int, TrackSound] = {}

    def entries(dest: str, option: str):
        for text in getattr(args, dest, None) or []:
            sel, value = _split(text, option)
            index = select_track(sel, names, option, text)
            yield sounds.setdefault(index, TrackSound()), value, f"{option} {text}"

    for sound, value, _ in entries("track_instrument", "--track-instrument"):
        sound.instrument = value
    for sound, value, _ in entries("track_effect", "--track-effect"):
        sound.effects.append(value)
    for sound, value, where in entries("track_volume", "--track-volume"):
        sound.volume_db = parse_volume(value, where)
    for sound, value, where in entries("track_pan", "--track-pan"):
        sound.pan = parse_pan(value, where)
    for dest, option in (("track_mute", "--track-mute"), ("track_solo", "--track-solo")):
        for text in getattr(args, dest, None) or []:
            index = select_track(text, names, option, text)
            setattr(sounds.setdefault(index, TrackSound()), dest[len("track_") :], True)
    return sounds
