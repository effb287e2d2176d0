"""``quanta play IN.mid --out PORT``: play a MIDI file to a port, quantized on the fly.

The file is never changed: the quantize options (or a preset) become every track's playback
quantize, applied by the engine non-destructively. Ctrl-C (or SIGTERM) stops cleanly: every
sounding note gets its note-off before the port is closed.

The helpers here (optional playback quantize, port opening, the run-until-interrupted loop) are shared
with ``quanta live``.
"""

from __future__ import annotations

import argparse
import signal
import sys
from contextlib import contextmanager

from app.quantize_options import add_quantize_options, quantize_options_given, settings_from_args
from engine.errors import DeviceError, QuantaError
from engine.quantize.settings import QuantizeSettings


# -- quantize options (the shared ones: app.quantize_options) -------------------------------
def quantize_from_args(args: argparse.Namespace) -> QuantizeSettings | None:
    """Playback quantize from the options; ``None`` (play as recorded) when none is given."""
    return settings_from_args(args) if quantize_options_given(args) else None


# -- ports ------------------------------------------------------------------------------------
def _print_port_event(event) -> None:
    """Port lost / reconnected: one line for the musician (the port itself closes notes)."""
    print(f"quanta: {getattr(event, 'message', event)}", file=sys.stderr, flush=True)


def open_output(name: str, api: str | None = None, virtual: bool = False):
    return _ports().open_output(name, api=api, virtual=virtual, on_status=_print_port_event)


def open_input(name: str, api: str | None = None, virtual: bool = False):
    return _ports().open_input(name, api=api, virtual=virtual, on_status=_print_port_event)


def _ports():
    try:
        from engine import ports
    except ImportError as exc:
        raise DeviceError(f"MIDI ports are not available: {exc}") from None
    return ports


def close_quietly(port) -> None:
    """Close a port after it delivered what it holds (final note-offs); never raise."""
    if port is None:
        return
    from engine.sounding import wait_delivered

    wait_delivered(port)
    try:
        port.close()
    except Exception as exc:  # closing must never hide the real outcome
        print(f"quanta: warning: closing {getattr(port, 'name', 'port')}: {exc}", file=sys.stderr)


@contextmanager
def interrupts_as_keyboard_interrupt():
    """SIGTERM behaves like Ctrl-C, so a live rig's service manager also stops us cleanly."""

    def _raise(_sig, _frame):
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def report_events(engine) -> None:
    for kind, payload in engine.poll_events():
        if kind == "error":
            print(f"quanta: warning: {payload}", file=sys.stderr)


# -- quanta play ------------------------------------------------------------------------------
def parse_loop(text: str, song) -> tuple[int, int]:
    """``A:B`` in bars (from the start of bar A to the start of bar B, as a DAW's locators),
    or in ticks with a ``t`` suffix (``0t:1920t``)."""
    try:
        a_text, b_text = text.split(":")
        if a_text.endswith("t") and b_text.endswith("t"):
            a, b = int(a_text[:-1]), int(b_text[:-1])
        else:
            a, b = bar_tick(song, int(a_text)), bar_tick(song, int(b_text))
    except ValueError:
        raise QuantaError(
            f"--loop {text!r}: write bars as A:B (e.g. 1:5) or ticks as 0t:1920t"
        ) from None
    if b <= a or a < 0:
        raise QuantaError(f"--loop {text!r}: the end must come after the start")
    return a, b


def bar_tick(song, bar: int) -> int:
    """Tick where bar ``bar`` (counted from 1) starts, following the time signatures."""
    if bar < 1:
        raise ValueError(bar)
    for n, tick, _sig in song.time_signatures().bars(2**62):
        if n == bar:
            return tick
    raise ValueError(bar)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "play",
        help="play a MIDI file to a port, quantized on the fly (the file is not changed)",
        description="Play IN.mid to a MIDI port. Ctrl-C stops cleanly (all notes off).",
    )
    p.add_argument("file", metavar="IN.mid")
    p.add_argument("--out", required=True, metavar="PORT", help="output port (name or number)")
    p.add_argument("--api", help="MIDI API (default: JACK when a JACK server runs)")
    add_quantize_options(p)
    p.add_argument("--loop", metavar="A:B", help="loop bars A to B (or ticks: 0t:1920t)")
    p.add_argument("--tempo", type=float, metavar="BPM", help="play at this tempo instead")
    p.add_argument("--count-in", type=int, default=0, metavar="BARS", help="count-in bars")
    p.add_argument("--metronome", action="store_true", help="click on every beat (channel 10)")
    p.set_defaults(func=run_play)


def run_play(args: argparse.Namespace) -> int:
    from engine.midifile import load_song
    from engine.transport import Engine

    song = load_song(args.file)
    settings = quantize_from_args(args)
    if settings is not None:
        for track in song.tracks:
            if track.notes.size:
                track.quantize = settings
    loop = parse_loop(args.loop, song) if args.loop else None
    engine = Engine(ppq_for_live=song.ppq)
    if args.tempo is not None:
        engine.set_tempo_override(args.tempo)
    out = open_output(args.out, args.api)
    try:
        with interrupts_as_keyboard_interrupt():
            engine.start()
            engine.set_outputs([out])
            engine.set_song(song)
            if args.metronome:
                engine.set_metronome(True)
            engine.set_count_in(args.count_in)
            if loop:
                engine.set_loop(*loop)
            engine.play()
            print(
                f"playing {args.file} to {getattr(out, 'name', args.out)} "
                f"({song.note_count()} notes{', quantized ' + settings.grid_label if settings else ''})"
                "; Ctrl-C stops",
                file=sys.stderr,
            )
            try:
                while not engine.wait_until_stopped(0.2):
                    report_events(engine)
            except KeyboardInterrupt:
                print("quanta: stopping (all notes off)", file=sys.stderr)
                engine.stop()
    finally:
        engine.shutdown()
        report_events(engine)
        close_quietly(out)
    return 0
