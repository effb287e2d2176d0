"""Sound for ``quanta play`` and ``quanta live`` without the GUI: instruments on an audio device.

Why one object for it: both commands need the same things around their MIDI loop. The device
is opened and every strip's plugin loaded *before* any MIDI port opens, so a missing device or
a plugin that fails costs one line and nothing else; the engine gets one sink per mixer strip
(each song track on its own strip, as the GUI does in ``ui.engine_link``); the loss of the
device (a JACK server that quits) is noticed and said once; and at exit one line tells how the
audio went (underruns, late events).

PortAudio pitfall handled here: once its JACK server died, PortAudio's own exit handler hangs
(it stops the dead stream again), so a lost session unregisters that handler; the process is
ending and the device is gone anyway.
"""

from __future__ import annotations

import atexit
import time
from dataclasses import dataclass

from app.audio_options import AudioRequest
from engine.errors import DeviceError
from engine.realtime import clock

MIXER_BLOCK = 1024  #: the mixer's largest block (at least the stream's block)
SILENT_PEAK = 1e-4  #: -80 dBFS: the master counts as silent below this
RING_OUT_SECONDS = 3.0  #: longest wait for the last notes' release and effect tails
CLOSE_TIMEOUT = 2.0
LOST_CLOSE_TIMEOUT = 0.5  #: closing a stream whose server died hangs: give up soon

NO_DEVICE = "--audio: no audio output device found (no sound card, and no JACK server running)"


class ConstantLatencySink:
    """Live input to an instrument: every message sounds a fixed ``delay`` after it was played
    (or after the grid point the quantizer held it for), at its exact sample.

    Why: a note played during one audio block can only sound in a later one, and a JACK input
    delivers it a period after it was played. Placed at ``when + delay`` (``delay`` = the
    input's period + one audio block, see :meth:`AudioSession.live_sink`) each note keeps its
    distance to the others, as a soft synth with timestamped input plays it, instead of 0 to 2
    blocks of jitter; and the audio output's late-event count means what it says: messages
    that still missed their place (a stalled thread), which then sound at once. Plugins that
    delay the mix (``plugin_latency``, read per message as it may change) add to the delay: the
    stream renders events that much early, which live input cannot be.
    """

    def __init__(self, sink, delay: float, plugin_latency=lambda: 0.0):
        self.sink = sink
        self.name = sink.name
        self.delay = delay
        self._plugin_latency = plugin_latency

    @property
    def lookahead(self) -> float:
        return self.sink.lookahead

    def send_at(self, when: float, data: bytes) -> None:
        self.sink.send_at(when + self.delay + self._plugin_latency(), data)

    def panic(self) -> None:
        self.sink.panic()

    def close(self) -> None:
        self.sink.close()


def input_period(source) -> float:
    """Seconds between a note being played on ``source`` and its delivery at the latest: a
    JACK port's period; 0 for ports that stamp messages when they arrive (rtmidi)."""
    try:
        period, rate = source.period, source.rate
    except Exception:  # not a JACK port, or its server is gone
        return 0.0
    return period / rate if period and rate else 0.0


@dataclass(frozen=True)
class SongStrips:
    """Which mixer strip plays what: ``names`` in strip order, ``tracks`` song track → strip,
    ``click`` the metronome's strip (``None`` without one)."""

    names: list[str]
    tracks: dict[int, int]
    click: int | None


def song_strips(song, clicks: bool) -> SongStrips:
    """One strip per track with notes (tracks with only meta or controllers get none), plus a
    strip for the metronome; its clicks are on channel 10, so they play on the drum kit."""
    names: list[str] = []
    tracks: dict[int, int] = {}
    for i, track in enumerate(song.tracks):
        if track.notes.size:
            tracks[i] = len(names)
            names.append(track.name or f"Track {i + 1}")
    click = None
    if clicks:
        click = len(names)
        names.append("Click")
    return SongStrips(names, tracks, click)


class AudioSession:
    """A mixer (one strip per name) playing on an audio device, for the length of a command."""

    def __init__(self, output, device_name: str, request: AudioRequest, hostapi: str = "") -> None:
        self.output = output
        self.device_name = device_name
        self.request = request
        #: The device is a JACK server's (PortAudio's JACK host API).
        self.on_jack = "JACK" in hostapi
        self.lost = False
        #: A loss :meth:`close` found that nobody said yet (see :func:`close_sound`).
        self.unsaid: str | None = None
        self._closed = False

    @classmethod
    def open(cls, request: AudioRequest, strips: list[str], live: bool = False) -> AudioSession:
        """Choose the device, load the instrument on every strip and start the stream; a
        missing device, a failing plugin or a device that will not open raise one line.

        ``live``: the sound of live input, where every ms of latency is heard. A mix with
        plugins then renders each block in the audio callback instead of a little ahead
        (``render_ahead=0``): ahead-rendering rides over a busy GUI, which the headless
        command does not have, and it would add its buffer to every note played.
        """
        from app.paths import plugin_cache_file
        from engine.audio import AudioOutput, build_mixer, choose_device, output_devices

        devices = output_devices()
        if not devices:
            raise DeviceError(NO_DEVICE)
        index = choose_device(request.device)
        info = next(d for d in devices if d["index"] == index)
        rate = request.rate or int(info["default_samplerate"])
        mixer = build_mixer(
            strips,
            request.instrument,
            request.effects,
            rate,
            max(MIXER_BLOCK, request.block),
            cache_path=plugin_cache_file(),
        )
        try:
            ahead = {"render_ahead": 0.0} if live else {}
            output = AudioOutput(mixer, index, rate, request.block, **ahead)
            output.start()
        except DeviceError as exc:
            mixer.close()
            raise DeviceError(
                f"--audio: {info['name']!r} does not play {rate} Hz in blocks of "
                f"{request.block} ({exc})"
            ) from None
        except BaseException:
            mixer.close()
            raise
        return cls(output, info["name"], request, info["hostapi"])

    # -- what the engine plays to ----------------------------------------------------------
    def sink(self, strip: int):
        """The MIDI sink of mixer strip ``strip`` (events placed at their exact sample)."""
        return self.output.sink(strip)

    def live_sink(self, source, strip: int = 0) -> ConstantLatencySink:
        """The sink for live input from ``source``: a constant latency (see the class)."""
        out = self.output
        period = input_period(source)
        # On the input's JACK server the audio runs in that server's periods too, however
        # small the stream's blocks: a note can only sound in the period after it arrived.
        block = max(out.block_size / out.sample_rate, period if self.on_jack else 0.0)
        return ConstantLatencySink(
            out.sink(strip), period + block, lambda: float(getattr(out, "plugin_latency", 0.0))
        )

    @property
    def label(self) -> str:
        return f"audio {self.device_name!r} ({self.request.instrument})"

    # -- while running ---------------------------------------------------------------------
    def check(self) -> str | None:
        """The first time the stream stopped on its own (its device or JACK server went
        away): the message to show; ``None`` while it plays, and after that first time."""
        if self.lost or self._closed or self._alive():
            return None
        return self._lose()

    def ring_out(self, limit: float = RING_OUT_SECONDS) -> None:
        """Let the last notes sound before closing: wait out the events handed over early,
        then until the master is silent (release and effect tails), at most ``limit`` s."""
        out = self.output
        deadline = clock.now() + limit
        early = out.lookahead + float(getattr(out, "plugin_latency", 0.0))
        time.sleep(min(limit, early + 2 * out.block_size / out.sample_rate))
        quiet = 0
        while quiet < 3 and clock.now() < deadline and self._alive():
            quiet = quiet + 1 if float(out.mixer.master_peak.max()) < SILENT_PEAK else 0
            time.sleep(0.02)

    # -- the end -----------------------------------------------------------------------------
    def close(self) -> None:
        """Stop the stream and the plugins; never hangs on a device that went away. A loss
        not yet said (it happened since the last :meth:`check`) waits in :attr:`unsaid`."""
        if self._closed:
            return
        self.unsaid = self.check()
        self._closed = True
        closed = self.output.close(LOST_CLOSE_TIMEOUT if self.lost else CLOSE_TIMEOUT)
        if not closed:  # it looked alive, but stopping it hung: its server is gone
            if not self.lost:
                self.unsaid = self._lose()
            return  # the stream may still call into the plugins: leave them to the exit
        self.output.mixer.close()

    def summary(self) -> str:
        """One line on how the audio went, for stderr at exit."""
        s = self.output.stats()
        dropped = s.dropped_events + sum(t.dropped_events for t in self.output.mixer.tracks)
        parts = [f"{s.underruns} underruns", f"{s.late_events} late events"]
        if s.starved:
            parts.append(f"{s.starved} blocks rendered too late")
        if dropped:
            parts.append(f"{dropped} dropped events")
        if s.errors:
            parts.append(f"{s.errors} failed blocks")
        out = self.output
        where = (
            f"{self.device_name}, {out.sample_rate} Hz, {out.block_size} frames, "
            f"{self.request.instrument}"
        )
        return f"audio: {', '.join(parts)} ({where}){'; device lost' if self.lost else ''}"

    def _alive(self) -> bool:
        stream = self.output.stream
        try:
            return stream is not None and bool(stream.active)
        except Exception:  # PortAudio cannot even tell: the device is gone all the same
            return False

    def _lose(self) -> str:
        """Mark the device lost; the message that says so."""
        self._mark_lost()
        return f"audio output lost: {self.device_name!r} stopped (did the JACK server quit?)"

    def _mark_lost(self) -> None:
        self.lost = True
        try:
            import sounddevice as sd

            atexit.unregister(sd._exit_handler)  # it would hang stopping the dead stream
        except (ImportError, OSError, AttributeError):
            pass
