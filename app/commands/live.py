"""``quanta live --in PORT --out PORT``: live input correction for a rig, headless.

MIDI in goes through the causal live quantizer (QUANTIZE_SPEC "Live input") to MIDI out; with
no quantize option it is a plain thru. ``--record TAKE.mid`` saves the raw performance (not the
corrected one: the quantize can be applied later, non-destructively) when Ctrl-C stops us.
Ctrl-C or SIGTERM: held notes are dropped, every sounding note gets its note-off, the take is
saved, the ports are closed.

``--audio [DEVICE]`` sounds the corrected notes on an instrument (``--instrument``, channel 10
on its drum kit) as well as, or instead of, ``--out``. Each note sounds a fixed time (the
input's period and one audio block) after it was played, or after the grid point the quantizer
held it for, at its exact sample (see :class:`app.audio_session.ConstantLatencySink`). A lost
device is said once; with no MIDI output left the command then stops as Ctrl-C would (the take
is still saved) and exits 2.
"""

from __future__ import annotations

import argparse
import sys

from app.audio_options import add_audio_options
from app.commands.play import (
    SoundWatch,
    close_quietly,
    close_sound,
    open_input,
    open_output,
    open_sound,
    quantize_from_args,
    report_events,
    sound_request,
)
from app.quantize_options import add_quantize_options
from app.stop_signals import StopSignals
from engine.errors import DeviceError, QuantaError
from engine.realtime import LIVE_MODES, LiveSettings

LIVE_PPQ = 480


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "live",
        help="MIDI in → live quantize → MIDI out and/or sound (with optional recording)",
        description="Correct live playing on its way from a MIDI input to an output.",
    )
    p.add_argument("--in", dest="inp", required=True, metavar="PORT", help="input port")
    p.add_argument("--out", metavar="PORT", help="output port (optional with --audio)")
    p.add_argument("--api", help="MIDI API (default: JACK when a JACK server runs)")
    add_quantize_options(p)
    add_audio_options(p)
    p.add_argument("--mode", choices=LIVE_MODES, default="nearest", help="default: nearest")
    p.add_argument("--max-delay", type=float, metavar="MS", help="never hold a note longer")
    p.add_argument("--record", metavar="TAKE.mid", help="save the raw performance on exit")
    p.add_argument("--tempo", type=float, default=120.0, metavar="BPM", help="default: 120")
    p.add_argument(
        "--virtual", action="store_true", help="create ports with these names for others to join"
    )
    p.set_defaults(func=run_live)


def run_live(args: argparse.Namespace) -> int:
    # First of all: from here on Ctrl-C, SIGTERM and SIGHUP only ask us to stop.
    with StopSignals(restore=False) as stop:
        return _live(args, stop)


def _live(args: argparse.Namespace, stop: StopSignals) -> int:
    from engine.realtime import Engine

    if not 1 <= args.tempo <= 999:
        raise QuantaError(f"--tempo {args.tempo:g}: allowed 1–999 BPM")
    request = sound_request(args)
    quantize = quantize_from_args(args)
    live = LiveSettings(quantize, mode=args.mode, max_delay_ms=args.max_delay)
    if args.record:
        _check_writable(args.record)
    sound = open_sound(request, ["Live"], live=True)  # before the ports: a bad plugin costs nothing
    out = inp = None
    try:
        if args.out:
            out = open_output(args.out, args.api, virtual=args.virtual)
        inp = open_input(args.inp, args.api, virtual=args.virtual)
    except BaseException:
        close_quietly(out)
        close_sound(sound)
        raise
    watch = SoundWatch(sound, has_midi=out is not None)
    engine = Engine(ppq_for_live=LIVE_PPQ, live_tempo_bpm=args.tempo)
    takes = []
    try:
        engine.start()
        engine.set_live(live)
        sinks = [out] if out is not None else []
        engine.set_outputs(sinks + ([sound.live_sink(inp)] if sound is not None else []))
        engine.set_input(inp)
        if args.record:
            engine.record_free(True)
        what = f"quantize {quantize.grid_label} ({args.mode})" if quantize else "thru"
        where = [getattr(out, "name", args.out)] if out is not None else []
        where += [sound.label] if sound is not None else []
        print(
            f"live: {getattr(inp, 'name', args.inp)} → {' + '.join(where)}, "
            f"{what}; Ctrl-C stops",
            file=sys.stderr,
            flush=True,
        )
        while not stop.requested and not watch.lost():
            report_events(engine)
            stop_wait(stop, 0.1)
        if stop.requested:
            stop.say_stopping()
        if args.record:
            engine.record_free(False)
            engine.wait_until_stopped(2.0)
            takes = engine.takes()
    finally:
        engine.set_input(None)
        engine.shutdown()
        report_events(engine)
        close_quietly(inp)
        close_quietly(out)
        close_sound(sound)
    if args.record:
        _save_take(args.record, takes, args.tempo)
    if watch.fatal:
        raise DeviceError(watch.fatal)
    return 0


def stop_wait(stop: StopSignals, seconds: float, step: float = 0.02) -> None:
    """Sleep up to ``seconds``, returning soon after a stop request."""
    import time

    deadline = time.monotonic() + seconds
    while not stop.requested:
        left = deadline - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(step, left))


def _check_writable(path: str) -> None:
    import os

    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
        raise QuantaError(f"--record {path}: cannot write to folder {folder}")


def _save_take(path: str, takes, bpm: float) -> None:
    from engine.build import new_song
    from engine.smf import save_song

    song = new_song(ppq=LIVE_PPQ, bpm=bpm)
    song.tracks.extend(takes)
    save_song(song, path)
    notes = sum(int(t.notes.size) for t in takes)
    print(f"saved take {path} ({notes} notes)", file=sys.stderr)
