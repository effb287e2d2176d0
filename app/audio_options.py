"""The sound options of ``quanta play`` and ``quanta live``: ``--audio [DEVICE]`` and friends.

``--audio`` alone means the default output device (PortAudio's default, else JACK, else the
first output). ``--instrument`` takes the same specs as ``quanta render``; ``--effect`` goes on
the master bus. The other sound options without ``--audio`` are an error rather than a silent
no-op or an implied device: a rig's command line should say where its sound goes.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

from app.sound_options import add_instrument_options
from engine.errors import DeviceError

#: ``--audio`` given without a device name.
DEFAULT_DEVICE = ""
DEFAULT_BLOCK = 256
DEFAULT_INSTRUMENT = "builtin"


@dataclass(frozen=True)
class AudioRequest:
    """What the options ask for; ``device``/``rate`` ``None`` mean the device's defaults."""

    device: str | None = None
    instrument: str = DEFAULT_INSTRUMENT
    effects: list[str] = field(default_factory=list)
    rate: int | None = None
    block: int = DEFAULT_BLOCK


def add_audio_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--audio``, ``--instrument``, ``--effect``, ``--rate`` and ``--block``."""
    g = parser.add_argument_group(
        "sound", "Play through an instrument on an audio device (no hardware synth needed)."
    )
    g.add_argument(
        "--audio",
        nargs="?",
        const=DEFAULT_DEVICE,
        metavar="DEVICE",
        help="sound on this audio output (index or part of its name; default device when "
        "omitted). Put it after IN.mid, or give a device, so it does not take the file name",
    )
    add_instrument_options(g)  # default None: given without --audio is an error
    g.add_argument("--rate", type=int, metavar="HZ", help="sample rate (default: the device's own)")
    g.add_argument(
        "--block",
        type=int,
        metavar="FRAMES",
        help=f"audio block size in frames (default {DEFAULT_BLOCK})",
    )


def audio_request(args: argparse.Namespace) -> AudioRequest | None:
    """The sound asked for, or ``None`` without ``--audio``; bad values raise one line."""
    extras = [
        opt
        for opt, value in (
            ("--instrument", args.instrument),
            ("--effect", args.effect),
            ("--rate", args.rate),
            ("--block", args.block),
        )
        if value is not None and value != []
    ]
    if args.audio is None:
        if extras:
            verb = "needs" if len(extras) == 1 else "need"
            raise DeviceError(f"{', '.join(extras)} {verb} --audio (the device to play on)")
        return None
    if args.rate is not None and not 8000 <= args.rate <= 192000:
        raise DeviceError(f"--rate {args.rate}: use a sample rate from 8000 to 192000 Hz")
    block = DEFAULT_BLOCK if args.block is None else args.block
    if not 16 <= block <= 8192:
        raise DeviceError(f"--block {block}: use 16 to 8192 frames")
    return AudioRequest(
        device=args.audio.strip() or None,
        instrument=args.instrument or DEFAULT_INSTRUMENT,
        effects=list(args.effect),
        rate=args.rate,
        block=block,
    )
