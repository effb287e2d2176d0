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

A plugin can pass its probe and still abort or segfault later, part-way through the song; no
handler in the dying process can report that. So a render that uses third-party plugins
(LV2, VST3, SF2) runs in a child process (the same command, started by this one): the parent
picks the temporary file, and the child notes which plugin it is calling in memory shared with
the parent (:mod:`engine.plugins.fault_note`). When the child dies by a signal, the parent
names that plugin and its track in one line, exits 2, and deletes the temporary file; OUT is
untouched. A render with built-in sounds only runs in-process, as before.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

from engine.atomic_write import atomic_output, new_temp_file, save_error_text
from engine.audio import (
    BIT_DEPTHS,
    DITHERS,
    MAX_AUTO_TAIL,
    MAX_RENDER_HOURS,
    SILENCE_DBFS,
    AudioWriter,
    check_render_length,
    render_schedule,
    track_map,
)
from engine.errors import DeviceError, output_folder_problem


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
    g.add_argument(
        "--tail",
        type=float,
        metavar="SECONDS",
        help="seconds to render after the song's end (default: until the mix stays below "
        f"{SILENCE_DBFS:g} dBFS, at most {MAX_AUTO_TAIL:g} s)",
    )
    g.add_argument(
        "--max-hours",
        type=float,
        default=MAX_RENDER_HOURS,
        metavar="H",
        help="refuse a render longer than this many hours, before writing anything "
        f"(default {MAX_RENDER_HOURS:g}; a MIDI file can hold a silence of years)",
    )
    g.add_argument("--block", type=int, default=4096, help="frames per block (default 4096)")
    g.add_argument("--probe-timeout", type=float, default=10.0, metavar="S", help=argparse.SUPPRESS)
    g.add_argument("--progress", action="store_true", help="progress bar even when not a tty")
    # Set by the parent when the render runs in a child process: the temporary file to write.
    g.add_argument("--render-temp", default=None, help=argparse.SUPPRESS)
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


#: The highest ``--max-hours``: a week of audio (48 kHz stereo 16-bit: 116 GB).
MAX_HOURS_ALLOWED = 168.0


def _check_args(args) -> None:
    if not 8000 <= args.rate <= 192000:
        raise DeviceError(f"--rate {args.rate}: use a sample rate from 8000 to 192000 Hz")
    if not 16 <= args.block <= 8192:
        raise DeviceError(f"--block {args.block}: use 16 to 8192 frames")
    if args.tail is not None and not 0 <= args.tail <= 600:
        raise DeviceError(f"--tail {args.tail}: use 0 to 600 seconds")
    if not 0 < args.max_hours <= MAX_HOURS_ALLOWED:
        raise DeviceError(
            f"--max-hours {args.max_hours:g}: use more than 0, at most {MAX_HOURS_ALLOWED:g} hours"
        )
    ext = os.path.splitext(args.output)[1].lower()
    if ext not in (".wav", ".flac"):
        raise DeviceError(f"{args.output}: output must end in .wav or .flac")
    if ext == ".flac" and args.bit_depth == "32f":
        raise DeviceError(f"{args.output}: FLAC cannot hold 32-bit float; use 16 or 24")
    problem = output_folder_problem(args.output)
    if problem is not None:
        raise DeviceError(f"{os.path.basename(args.output)}: cannot save: {problem}")


def _temp_file(output: str) -> str:
    """A new empty hidden file beside ``output``, to render into and rename at the end."""
    return str(new_temp_file(output, suffix=os.path.splitext(output)[1]))


THIRD_PARTY = ("lv2:", "vst3:", "sf2")


def _uses_third_party(args) -> bool:
    """True when any instrument or effect named on the command line is an LV2, VST3 or SF2
    plugin (then the render runs in a child process)."""
    specs = [args.instrument or "", *args.effect]
    specs += [v.partition("=")[2] for v in (*args.track_instrument, *args.track_effect)]
    return any(s.strip().lower().startswith(THIRD_PARTY) for s in specs)


def _relay(src, dst) -> None:
    """Thread body: copy the child's output to ours as it comes (progress bar included)."""
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    while chunk := os.read(src.fileno(), 4096):
        dst.write(decoder.decode(chunk))
        dst.flush()


def _render_in_child(args) -> int:
    """Run this same render in a child process; report a plugin crash there in one line.

    The child's output is relayed through this process's streams (so it reads exactly as a
    render in one process would); its progress bar is asked for when ours would be shown."""
    import subprocess
    import threading

    from engine.plugins import FaultNote, exit_reason

    tmp = _temp_file(args.output)
    note = FaultNote()
    cmd = [sys.executable, "-m", "app.cli", *args.argv, "--render-temp", tmp]
    if sys.stderr.isatty() and not args.progress:
        cmd.append("--progress")
    env = {**os.environ, **note.env()}
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    try:
        # Same process group: Ctrl+C reaches the child too, and it stops as it would alone.
        proc = subprocess.Popen(
            cmd, env=env, pass_fds=(note.fd,), stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        relays = [
            threading.Thread(target=_relay, args=(proc.stdout, sys.stdout), daemon=True),
            threading.Thread(target=_relay, args=(proc.stderr, sys.stderr), daemon=True),
        ]
        for t in relays:
            t.start()
        try:
            code = proc.wait()
        except KeyboardInterrupt:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            raise
        finally:
            for t in relays:
                t.join(timeout=5)
        running = note.read()
    finally:
        note.close()
        if os.path.exists(tmp):
            os.unlink(tmp)
    if code < 0:
        what = running or "a plugin"
        raise DeviceError(
            f"render failed: {what} crashed ({exit_reason(code)}); {args.output} was not written"
        )
    return code


def _guard_plugins(mixer) -> None:
    """In a render child: make every third-party plugin note its name before each call."""
    from engine.plugins import guard

    def label(plugin, where: str) -> str:
        info = plugin.info
        return f'{info.format.upper()} plugin "{info.name}" ({info.ident}) {where}'

    for t in mixer.tracks:
        for p in [t.instrument, *t.effects]:
            if p.info.format in ("lv2", "vst3", "sf2"):
                guard(p, label(p, f'on track "{t.name}"'))
    for p in mixer.master_effects:
        if getattr(p, "info", None) is not None and p.info.format in ("lv2", "vst3", "sf2"):
            guard(p, label(p, "on the master bus"))


def _render_to_file(args, schedule, mixer, strips: dict[int, int]):
    """Stream blocks into a temporary file next to the output and rename it at the end: the
    song is never held in memory whole, and a failed render leaves no half-written file."""
    bar = _ProgressBar(sys.stderr)
    show = args.progress or sys.stderr.isatty()
    suffix = os.path.splitext(args.output)[1]
    try:
        with atomic_output(args.output, suffix=suffix, temp=args.render_temp) as tmp:
            with AudioWriter(
                tmp, args.rate, args.bit_depth, args.dither, name=args.output
            ) as writer:
                try:
                    _, stats = render_schedule(
                        schedule,
                        mixer,
                        strips,
                        tail=args.tail,
                        progress=bar if show else None,
                        on_block=writer.write,
                        max_hours=args.max_hours,
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


def peak_text(peak: float) -> str:
    """``peak -0.3 dBFS`` of the samples the file holds, or ``silent`` when all are zero."""
    if peak <= 0.0:
        return "silent"
    return f"peak {20 * np.log10(peak):.1f} dBFS"


def cmd_render(args) -> int:
    from app.commands.play import quantize_from_args
    from app.paths import plugin_cache_file
    from app.sound_options import track_sounds_from_args
    from app.track_mixer import build_track_mixer
    from engine.realtime import build_schedule
    from engine.smf import load_song

    _check_args(args)
    if args.render_temp is None and _uses_third_party(args) and hasattr(args, "argv"):
        return _render_in_child(args)
    settings = quantize_from_args(args)
    song = load_song(args.input)
    names = [t.name for t in song.tracks]
    sounds = track_sounds_from_args(args, names)
    if settings is not None:
        for t in song.tracks:
            t.quantize = settings
    sr = args.rate
    schedule = build_schedule(song)
    # Before any plugin is loaded or file made: a silence of years is one line, not a hang.
    check_render_length(schedule, args.tail, args.max_hours, os.path.basename(args.input))
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
    if args.render_temp is not None:
        _guard_plugins(mixer)
    try:
        writer, stats = _render_to_file(args, schedule, mixer, strips)
    finally:
        mixer.close()
    dither = args.dither or ("tpdf" if args.bit_depth == "16" else "none")
    depth = "32-bit float" if args.bit_depth == "32f" else f"{args.bit_depth}-bit, dither {dither}"
    tail = max(0.0, stats.seconds - schedule.end_sec)
    speed = f", {stats.speed:.0f}x real time" if stats.frames else ""
    print(
        f"wrote {args.output}: {stats.seconds:.1f} s (tail {tail:.1f} s), {sr} Hz, {depth}, "
        f"{stats.events} events, {peak_text(writer.peak)}{speed}"
    )
    return 0
