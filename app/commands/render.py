"""``quanta render IN.mid -o OUT.wav``: the song through Quanta's instruments, to a file.

Playback quantize (a preset or quantize options) applies exactly as in ``quanta play``; the
render uses the same schedule and mixer as live playback, faster than real time. Each track
plays the instrument named by ``--instrument`` (default: the built-in synth; channel 10 plays
the built-in drum kit unless the instrument has drums of its own) unless
``--track-instrument SEL=SPEC`` gives it another; ``--track-effect SEL=NAME[:k=v,...]`` puts
effects on one track (in the order given), ``--track-volume SEL=DB`` and ``--track-pan
SEL=PAN`` set its fader and pan, ``--track-mute SEL`` and ``--track-solo SEL`` its buttons (a
solo renders a stem). SEL is a track number as ``quanta info`` shows it or a track's name (see
:mod:`app.sound_options`). ``--effect`` adds stock or plugin effects to the master bus, in
the order given, before the master limiter.

Every plugin is probed and loaded before the output file is created, so a bad plugin (on any
track) is reported in one line and leaves no file behind; an existing OUT file is replaced only
when the render finished.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

from engine.atomic_write import atomic_output, save_error_text
from engine.audio import BIT_DEPTHS, DITHERS, AudioWriter, render_schedule, track_map
from engine.errors import DeviceError


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "render",
        help="render a MIDI file to WAV/FLAC with the built-in synth or plugins",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("input", metavar="IN.mid")
    p.add_argument("-o", "--output", required=True, metavar="OUT.wav", help=".wav or .flac")
    from app.quantize_options import add_quantize_options
    from app.sound_options import add_instrument_options, add_track_sound_options

    add_quantize_options(p)
    g = p.add_argument_group("sound")
    add_instrument_options(g, "builtin")
    g.add_argument("--rate", type=int, default=48000, help="sample rate in Hz (default 48000)")
    g.add_argument("--bit-depth", choices=BIT_DEPTHS, default="16", help="16, 24 or 32f")
    g.add_argument("--dither", choices=DITHERS, help="default: tpdf at 16-bit, none at 24")
    g.add_argument("--tail", type=float, default=2.0, metavar="SECONDS", help="after last event")
    g.add_argument("--block", type=int, default=4096, help="frames per block (default 4096)")
    g.add_argument("--probe-timeout", type=float, default=10.0, metavar="S", help=argparse.SUPPRESS)
    g.add_argument("--progress", action="store_true", help="progress bar even when not a tty")
    add_track_sound_options(p)
    p.set_defaults(func=cmd_render)


class _ProgressBar:
    def __init__(self, stream):
        self.stream = stream
        self.shown = False

    def __call__(self, frac: float) -> None:
        width = 30
        done = int(frac * width)
        self.stream.write(f"\rrendering [{'#' * done}{'.' * (width - done)}] {frac * 100:5.1f}%")
        self.stream.flush()
        self.shown = True

    def finish(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()


def _check_args(args) -> None:
    if not 8000 <= args.rate <= 192000:
        raise DeviceError(f"--rate {args.rate}: use a sample rate from 8000 to 192000 Hz")
    if not 16 <= args.block <= 8192:
        raise DeviceError(f"--block {args.block}: use 16 to 8192 frames")
    if not 0 <= args.tail <= 600:
        raise DeviceError(f"--tail {args.tail}: use 0 to 600 seconds")
    ext = os.path.splitext(args.output)[1].lower()
    if ext not in (".wav", ".flac"):
        raise DeviceError(f"{args.output}: output must end in .wav or .flac")
    if ext == ".flac" and args.bit_depth == "32f":
        raise DeviceError(f"{args.output}: FLAC cannot hold 32-bit float; use 16 or 24")
    folder = os.path.dirname(os.path.abspath(args.output))
    if not os.path.isdir(folder):
        raise DeviceError(f"{args.output}: folder {folder} does not exist")


def _render_to_file(args, schedule, mixer, strips: dict[int, int]):
    """Stream blocks into a temporary file next to the output and rename it at the end: the
    song is never held in memory whole, and a failed render leaves no half-written file."""
    bar = _ProgressBar(sys.stderr)
    show = args.progress or sys.stderr.isatty()
    suffix = os.path.splitext(args.output)[1]
    try:
        with atomic_output(args.output, suffix=suffix) as tmp:
            with AudioWriter(tmp, args.rate, args.bit_depth, args.dither, name=args.output) as writer:
                try:
                    _, stats = render_schedule(
                        schedule,
                        mixer,
                        strips,
                        tail=args.tail,
                        progress=bar if show else None,
                        on_block=writer.write,
                    )
                finally:
                    bar.finish()
    except OSError as exc:
        raise DeviceError(save_error_text(args.output, exc)) from None
    return writer, stats


def _note_silent_tracks(sounds: dict, strips: dict[int, int], names: list[str]) -> None:
    """A --track-* option for a track that plays nothing is not an error, but worth a line."""
    from app.track_mixer import track_label

    for index in sorted(set(sounds) - set(strips)):
        print(
            f"quanta: note: {track_label(index, names[index])} plays nothing; "
            "its --track-* options have no effect",
            file=sys.stderr,
        )


def cmd_render(args) -> int:
    from app.commands.play import quantize_from_args
    from app.paths import plugin_cache_file
    from app.sound_options import track_sounds_from_args
    from app.track_mixer import build_track_mixer
    from engine.realtime import build_schedule
    from engine.smf import load_song

    _check_args(args)
    settings = quantize_from_args(args)
    song = load_song(args.input)
    names = [t.name for t in song.tracks]
    sounds = track_sounds_from_args(args, names)
    if settings is not None:
        for t in song.tracks:
            t.quantize = settings
    sr = args.rate
    schedule = build_schedule(song)
    strips = track_map(schedule)
    # Every plugin is probed and loaded before the output file exists: a bad one leaves none.
    mixer = build_track_mixer(
        sorted(strips, key=strips.__getitem__),
        names,
        sounds,
        instrument=args.instrument,
        master_effects=args.effect,
        sample_rate=sr,
        max_block=args.block,
        cache_path=plugin_cache_file(),
        probe_timeout=args.probe_timeout,
    )
    _note_silent_tracks(sounds, strips, names)
    try:
        writer, stats = _render_to_file(args, schedule, mixer, strips)
    finally:
        mixer.close()
    peak = writer.peak
    peak_db = 20 * np.log10(max(peak, 1e-9))
    dither = args.dither or ("tpdf" if args.bit_depth == "16" else "none")
    depth = "32-bit float" if args.bit_depth == "32f" else f"{args.bit_depth}-bit, dither {dither}"
    print(
        f"wrote {args.output}: {stats.seconds:.1f} s, {sr} Hz, {depth}, "
        f"{stats.events} events, peak {peak_db:.1f} dBFS, {stats.speed:.0f}x real time"
    )
    return 0
