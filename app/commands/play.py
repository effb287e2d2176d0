"""``quanta play IN.mid --out PORT``: play a MIDI file to a port, quantized on the fly.

The file is never changed: the quantize options (or a preset) become every track's playback
quantize, applied by the engine non-destructively. Ctrl-C, SIGTERM or SIGHUP stops cleanly:
every sounding note gets its note-off before the port is closed (see :mod:`app.stop_signals`;
a second signal during that shutdown is ignored).

``--audio [DEVICE]`` plays the song through Quanta's instruments on an audio device as well as
(or instead of) the port: each track with notes on its own mixer strip, channel 10 on the drum
kit (see :mod:`app.audio_session`). At the end of the song the last notes ring out before the
device closes; a lost device is said once (with a port too, the MIDI keeps playing; alone, it
ends the command with exit 2).

The helpers here (optional playback quantize, port opening, the run-until-interrupted loop) are shared
with ``quanta live``.
"""

from __future__ import annotations

import argparse
import sys

from app.audio_options import AudioRequest, add_audio_options, audio_request
from app.quantize_options import add_quantize_options, quantize_options_given, settings_from_args
from app.stop_signals import StopSignals
from engine.errors import DeviceError, QuantaError
from engine.quantize import QuantizeSettings


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
        from engine.ports import open_input, open_output  # noqa: F401  (loads rtmidi here)
    except ImportError as exc:
        raise DeviceError(f"MIDI ports are not available: {exc}") from None
    return ports


def close_quietly(port) -> None:
    """Close a port after it delivered what it holds (final note-offs); never raise."""
    if port is None:
        return
    from engine.realtime import wait_delivered

    wait_delivered(port)
    say_late(port)
    try:
        port.close()
    except Exception as exc:  # closing must never hide the real outcome
        print(f"quanta: warning: closing {getattr(port, 'name', 'port')}: {exc}", file=sys.stderr)


def say_late(port) -> None:
    """Say how many events reached a frame-exact port after their frame had passed (the
    machine was too busy to hand them over in time; each went out at the next period)."""
    late = int(getattr(port, "late", 0) or 0)
    if late:
        name = getattr(port, "name", "port")
        print(
            f"quanta: warning: {late} event{'s' if late != 1 else ''} reached {name} late "
            "(the machine was busy; each went out at the next period)",
            file=sys.stderr,
            flush=True,
        )


def report_events(engine) -> None:
    for kind, payload in engine.poll_events():
        if kind == "error":
            print(f"quanta: warning: {payload}", file=sys.stderr)


# -- sound (app.audio_session) ----------------------------------------------------------------
def sound_request(args: argparse.Namespace) -> AudioRequest | None:
    """The ``--audio`` request; with neither ``--out`` nor ``--audio`` there is nowhere to play."""
    request = audio_request(args)
    if request is None and not args.out:
        raise QuantaError("nowhere to play: give --out PORT, --audio [DEVICE], or both")
    return request


def open_sound(request: AudioRequest | None, strips: list[str], live: bool = False):
    """The audio session for ``request`` (``None`` without ``--audio``); ``live`` for the
    sound of live input (see :meth:`app.audio_session.AudioSession.open`)."""
    if request is None:
        return None
    from app.audio_session import AudioSession

    return AudioSession.open(request, strips, live=live)


def close_sound(sound) -> None:
    """Close the audio session and print its one-line summary (stderr)."""
    if sound is None:
        return
    sound.close()
    if sound.unsaid:  # lost after the last look (e.g. at the very end): still said once
        print(f"quanta: warning: {sound.unsaid}", file=sys.stderr, flush=True)
    print(f"quanta: {sound.summary()}", file=sys.stderr, flush=True)


class SoundWatch:
    """Says once that the audio device was lost. Alone (no MIDI port) the command has nothing
    left to play: :attr:`fatal` then holds the message to end it with."""

    def __init__(self, sound, has_midi: bool):
        self.sound = sound
        self.has_midi = has_midi
        self.fatal: str | None = None

    def lost(self) -> bool:
        """Check the device; True when the command should stop (the sound was all it had)."""
        msg = self.sound.check() if self.sound is not None else None
        if msg is None:
            return False
        if self.has_midi:
            print(f"quanta: warning: {msg}; MIDI continues", file=sys.stderr, flush=True)
            return False
        self.fatal = msg  # said once, as the command's error line
        return True


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
    return song.time_signatures().bar_start(bar)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "play",
        help="play a MIDI file to a port or an audio device, quantized on the fly (the file "
        "is not changed)",
        description="Play IN.mid to a MIDI port and/or through an instrument on an audio "
        "device. Ctrl-C stops cleanly (all notes off).",
    )
    # Optional only so that `quanta play --audio song.mid` (where --audio took the file name
    # for a device) can be understood; run_play insists on a file.
    p.add_argument("file", metavar="IN.mid", nargs="?")
    p.add_argument(
        "--out", metavar="PORT", help="output port (name or number); optional with --audio"
    )
    p.add_argument("--api", help="MIDI API (default: JACK when a JACK server runs)")
    add_quantize_options(p)
    add_audio_options(p)
    p.add_argument("--loop", metavar="A:B", help="loop bars A to B (or ticks: 0t:1920t)")
    p.add_argument("--tempo", type=float, metavar="BPM", help="play at this tempo instead")
    p.add_argument("--count-in", type=int, default=0, metavar="BARS", help="count-in bars")
    p.add_argument("--metronome", action="store_true", help="click on every beat (channel 10)")
    p.set_defaults(func=run_play)


def _file_taken_by_audio(args: argparse.Namespace) -> None:
    """``quanta play --audio song.mid``: the file went to ``--audio`` as a device name; give
    it back (default device) when it names a MIDI file, else say the file is missing."""
    if args.file is not None:
        return
    taken = args.audio or ""
    if taken.lower().endswith((".mid", ".midi", ".smf", ".kar")):
        args.file, args.audio = taken, ""
        return
    raise QuantaError("play: give the MIDI file to play (quanta play IN.mid ...)")


def run_play(args: argparse.Namespace) -> int:
    # First of all: from here on Ctrl-C, SIGTERM and SIGHUP only ask us to stop.
    with StopSignals(restore=False) as stop:
        return _play(args, stop)


def _play(args: argparse.Namespace, stop: StopSignals) -> int:
    from app.audio_session import song_strips
    from engine.realtime import Engine
    from engine.smf import load_song

    _file_taken_by_audio(args)
    request = sound_request(args)
    song = load_song(args.file)
    settings = quantize_from_args(args)
    if settings is not None:
        for track in song.tracks:
            if track.notes.size:
                track.quantize = settings
    loop = parse_loop(args.loop, song) if args.loop else None
    strips = song_strips(song, clicks=args.metronome or args.count_in > 0)
    sound = open_sound(request, strips.names)  # before the port: a bad plugin costs nothing
    try:
        out = open_output(args.out, args.api) if args.out else None
    except BaseException:
        close_sound(sound)
        raise
    watch = SoundWatch(sound, has_midi=out is not None)
    engine = Engine(ppq_for_live=song.ppq)
    if args.tempo is not None:
        engine.set_tempo_override(args.tempo)
    try:
        engine.start()
        midi = [out] if out is not None else []
        click = [sound.sink(strips.click)] if sound and strips.click is not None else []
        engine.set_outputs(midi + click)
        engine.set_song(song)
        if sound is not None:
            for track, strip in strips.tracks.items():
                engine.set_outputs([*midi, sound.sink(strip)], track=track)
        if args.metronome:
            engine.set_metronome(True)
        engine.set_count_in(args.count_in)
        if loop:
            engine.set_loop(*loop)
        if not stop.requested:
            engine.play()
            where = [getattr(out, "name", args.out)] if out is not None else []
            where += [sound.label] if sound is not None else []
            print(
                f"playing {args.file} to {' + '.join(where)} "
                f"({song.note_count()} notes{', quantized ' + settings.grid_label if settings else ''})"
                "; Ctrl-C stops",
                file=sys.stderr,
                flush=True,
            )
        ended = False
        while not stop.requested:
            if engine.wait_until_stopped(0.1):
                ended = True
                break
            report_events(engine)
            if watch.lost():
                break
        if stop.requested:
            stop.say_stopping()
        elif ended and sound is not None and not watch.lost() and not sound.lost:
            sound.ring_out()
        engine.stop()
    finally:
        engine.shutdown()
        report_events(engine)
        close_quietly(out)
        close_sound(sound)
    if watch.fatal:
        raise DeviceError(watch.fatal)
    return 0
