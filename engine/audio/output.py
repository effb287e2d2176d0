"""Audio output: the mixer played through a sounddevice (PortAudio) stream, fed by MIDI sinks.

Live MIDI reaches instruments through :class:`TrackSink`, a ``MidiSink`` per mixer strip:
``AudioOutput.sink(i)`` is the sink of strip ``i`` (its instrument, plus its drum kit for
channel 10), so the engine routes each song track to the sink of the strip built for it (see
:func:`engine.audio.mixer.build_mixer`). The engine calls ``send_at(when, data)`` up to
``lookahead`` seconds early; the sink stores the event in a preallocated ring (producers take
a lock among themselves; the audio callback never does). Each callback maps the engine clock
onto the stream's sample clock, queues every event due in the block at its exact sample
offset, and runs the mix.

Two callbacks, one behaviour. When every strip is a built-in synth without effects (the
default sound), PortAudio calls compiled code directly (:mod:`engine.audio.audio_native`): no
Python and no GIL, so a busy GUI or a long numpy call cannot make the sound drop out. Mixes
with plugins or effects need Python per block and use a Python callback that runs the same
compiled scheduling step and then ``Mixer.process``.

The clock mapping: an event at ``when`` is placed at the sample that is handed to the audio
system at engine time ``when`` (the same convention as a JACK MIDI port: both then reach the
speakers after the device's output latency, reported in ``latency``). The block's time comes
from PortAudio's stream clock for the callback (on JACK, the frame clock), mapped onto the
engine clock by the smallest recently seen offset, so a late callback does not move notes.
Host APIs without a stream clock fall back to a delay-locked loop on callback times.

PortAudio pitfalls handled here: it lists host APIs only when it initialises, so
:func:`reinitialize` rescans after a JACK server appears; closing a stream whose server died
can hang, so :meth:`AudioOutput.close` gives up after a timeout instead of hanging Quanta.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from engine.audio.audio_native import (
    P_HEAD,
    P_TAIL,
    PA_OUTPUT_UNDERFLOW,
    R_CALLBACKS,
    R_ERRORS,
    R_LATE,
    R_LATENCY,
    R_PDC,
    R_STARVED,
    R_UNDERRUNS,
    NativeBlock,
    callback_address,
)
from engine.audio.audio_native import (
    SUPPORTED as NATIVE_SUPPORTED,
)
from engine.audio.mixer import Mixer
from engine.audio.mixer_kernels import interleave
from engine.audio.render_ahead import RenderAhead
from engine.errors import DeviceError
from engine.realtime import clock

NO_DEVICE_MESSAGE = "no audio output device found: sound is off (MIDI, editing and render work)"
_warned_no_device = False


def _sd():
    try:
        import sounddevice as sd
    except OSError:  # PortAudio library missing
        raise DeviceError(
            "audio output needs PortAudio (Debian/Ubuntu: apt install libportaudio2)"
        ) from None
    return sd


def reinitialize() -> None:
    """Make PortAudio rescan host APIs and devices (e.g. after a JACK server started)."""
    sd = _sd()
    sd._terminate()
    sd._initialize()


def output_devices() -> list[dict]:
    """Output devices: index, name, host API, channels and default rate."""
    sd = _sd()
    apis = sd.query_hostapis()
    out = []
    for i, d in enumerate(sd.query_devices()):
        if d["max_output_channels"] > 0:
            out.append(
                {
                    "index": i,
                    "name": d["name"],
                    "hostapi": apis[d["hostapi"]]["name"],
                    "channels": d["max_output_channels"],
                    "default_samplerate": d["default_samplerate"],
                }
            )
    return out


@dataclass(frozen=True)
class OutputDevice:
    """An output device as the settings dialog lists it."""

    index: int
    name: str
    hostapi: str
    channels: int
    default_samplerate: float


def list_devices() -> list[OutputDevice]:
    """Output devices for the UI (``name`` is what :func:`choose_device` accepts)."""
    return [OutputDevice(**d) for d in output_devices()]


def choose_device(device: str | int | None = None) -> int:
    """The output device to use: an index, a (part of a) name, or None for the default
    (PortAudio's default output, else a JACK device, else the first output)."""
    devices = output_devices()
    if not devices:
        raise DeviceError(NO_DEVICE_MESSAGE)
    if device is None:
        default = _sd().default.device[1]
        if isinstance(default, int) and any(d["index"] == default for d in devices):
            return default
        jack = [d for d in devices if "JACK" in d["hostapi"]]
        return (jack or devices)[0]["index"]
    if isinstance(device, int) or str(device).isdigit():
        idx = int(device)
        if not any(d["index"] == idx for d in devices):
            raise DeviceError(f"audio device {idx} does not exist or has no outputs")
        return idx
    matches = [d for d in devices if str(device).lower() in d["name"].lower()]
    if not matches:
        names = ", ".join(d["name"] for d in devices)
        raise DeviceError(f"no audio output device matches {device!r}; available: {names}")
    return matches[0]["index"]


def audio_available() -> tuple[bool, str]:
    """Whether any output device exists; the message is printed only the first time."""
    global _warned_no_device
    try:
        ok = bool(output_devices())
        msg = "" if ok else NO_DEVICE_MESSAGE
    except DeviceError as exc:
        ok, msg = False, str(exc)
    if not ok and not _warned_no_device:
        _warned_no_device = True
        import sys

        print(f"quanta: {msg}", file=sys.stderr)
    return ok, msg


class EventRing:
    """A fixed-size ring of timed 3-byte MIDI events for one stream: one consumer (the audio
    callback, compiled or Python), producers serialised by a lock the consumer never takes.
    The slots and indices live in the stream's :class:`engine.audio.audio_native.NativeBlock`; the
    producer fills a slot, then publishes it by storing the new head (one 8-byte store)."""

    def __init__(self, block: NativeBlock):
        self._block = block
        self._rows = block.ring
        self._p = block.p
        self.capacity = block.ring.shape[0]
        self.dropped = 0
        self._lock = threading.Lock()

    def push(self, when: float, track: int, status: int, d1: int, d2: int) -> bool:
        with self._lock:
            head = int(self._p[P_HEAD])
            if head - int(self._p[P_TAIL]) >= self.capacity:
                self.dropped += 1
                return False
            self._rows[head % self.capacity] = (when, track, status, d1, d2)
            self._p[P_HEAD] = head + 1
            return True


class TrackSink:
    """The ``MidiSink`` of one mixer track (system messages and sysex are ignored)."""

    def __init__(self, output: AudioOutput, track: int, name: str):
        self.name = name
        self.track = track
        self._out = output

    @property
    def lookahead(self) -> float:
        """How early the engine should send: the stream's lookahead plus the mix's plugin
        latency, which the stream schedules ahead of (see ``AudioOutput.plugin_latency``)."""
        return self._out.lookahead + self._out.plugin_latency

    def send_at(self, when: float, data: bytes) -> None:
        if not data or data[0] < 0x80 or data[0] >= 0xF0:
            return
        d1 = data[1] if len(data) > 1 else 0
        d2 = data[2] if len(data) > 2 else 0
        self._out.ring.push(when, self.track, data[0], d1, d2)

    def panic(self) -> None:
        now = clock.now()
        for ch in range(16):
            self._out.ring.push(now, self.track, 0xB0 | ch, 64, 0)
            self._out.ring.push(now, self.track, 0xB0 | ch, 123, 0)
            self._out.ring.push(now, self.track, 0xB0 | ch, 120, 0)

    def close(self) -> None:
        return None


@dataclass
class AudioStats:
    """A snapshot for the UI and benchmarks (durations in microseconds)."""

    underruns: int
    callbacks: int
    errors: int
    dropped_events: int
    late_events: int
    callback_p50_us: float
    callback_p99_us: float
    latency_s: float
    native: bool
    mode: str
    starved: int


#: Blocks whose stream could not be closed (its server died): PortAudio may still call into
#: them, so they are never freed.
_abandoned: list = []


class AudioOutput:
    """The mixer on a sounddevice output stream; one :class:`TrackSink` per track.

    Three ways to run, all with the same scheduling code and the same sound:

    - ``native`` (default whenever ``Mixer.native``: built-in instruments, no effects): the
      compiled, GIL-free callback of :mod:`engine.audio.audio_native` renders each block.
    - render-ahead (default otherwise, ``render_ahead`` seconds, see
      :mod:`engine.audio.render_ahead`): a Python thread renders the plugin mix that much early
      and the GIL-free callback plays it; Python work elsewhere cannot cause dropouts unless
      it holds the GIL longer than that.
    - ``render_ahead=0``: a Python callback renders each block (lowest latency with plugins,
      but the GUI can starve it).
    """

    #: Default render-ahead for mixes with plugins: enough to ride over a GUI repaint.
    RENDER_AHEAD = 0.02

    def __init__(
        self,
        mixer: Mixer,
        device: str | int | None = None,
        sample_rate: int | None = None,
        block_size: int = 256,
        lookahead: float = 0.1,
        native: bool | None = None,
        render_ahead: float | None = None,
    ):
        if block_size > mixer.max_block:
            raise DeviceError(f"block size {block_size} exceeds the mixer's {mixer.max_block}")
        self.mixer = mixer
        self.device = device
        self.sample_rate = sample_rate or mixer.sample_rate
        if self.sample_rate != mixer.sample_rate:
            raise DeviceError("the stream's sample rate must match the mixer's")
        self.block_size = block_size
        self.lookahead = lookahead
        can = mixer.native and NATIVE_SUPPORTED
        self.native = can if native is None else bool(native) and can
        self.block = NativeBlock(mixer, self.sample_rate)
        self.ring = EventRing(self.block)
        self.ahead: RenderAhead | None = None
        ahead = self.RENDER_AHEAD if render_ahead is None else max(float(render_ahead), 0.0)
        if not self.native and ahead > 0 and NATIVE_SUPPORTED:
            blocks = max(1, int(np.ceil(ahead * self.sample_rate / block_size)))
            self.ahead = RenderAhead(self.block, mixer, block_size, blocks * block_size)
        self.stream = None
        self.close_hung = False
        self._buf = np.zeros((2, mixer.max_block), dtype=np.float32)
        self._times = np.zeros(3)
        self.block.rt[R_PDC] = mixer.update_latency() / self.sample_rate

    # -- counters: plain reads of what the callback stores ------------------------------------
    @property
    def underruns(self) -> int:
        return int(self.block.rt[R_UNDERRUNS])

    @property
    def callbacks(self) -> int:
        return int(self.block.rt[R_CALLBACKS])

    @property
    def errors(self) -> int:
        return int(self.block.rt[R_ERRORS])

    @property
    def late_events(self) -> int:
        return int(self.block.rt[R_LATE])

    @property
    def latency(self) -> float:
        """The device's output latency in seconds, as PortAudio reports it."""
        return float(self.block.rt[R_LATENCY])

    @property
    def plugin_latency(self) -> float:
        """Seconds a plugin mix is heard late by: its plugins' latency (after compensation
        between tracks) plus the render-ahead buffer. Playback schedules that much earlier so
        notes sound on time; live input hears it."""
        ahead = self.ahead.ahead / self.sample_rate if self.ahead is not None else 0.0
        return float(self.block.rt[R_PDC]) + ahead

    @property
    def mode(self) -> str:
        """How blocks are made: "compiled", "render-ahead" or "python" (see the class)."""
        return "compiled" if self.native else "render-ahead" if self.ahead else "python"

    @property
    def starved(self) -> int:
        """Blocks the render-ahead thread did not deliver in time (played as silence)."""
        return int(self.block.rt[R_STARVED])

    # -- control (not real-time) ------------------------------------------------------------
    def sink(self, track: int, name: str | None = None) -> TrackSink:
        if not 0 <= track < len(self.mixer.tracks):
            raise DeviceError(f"mixer has no track {track}")
        return TrackSink(self, track, name or f"Quanta audio: {self.mixer.tracks[track].name}")

    def start(self) -> None:
        """Open and start the stream. For the Python callback, also shortens the interpreter's
        GIL switch interval to at most 0.5 ms: with the default 5 ms, one busy Python thread
        (the GUI) makes the callback wait longer than a 128-frame block lasts."""
        import sys

        sd = _sd()
        index = choose_device(self.device)
        common = dict(
            samplerate=self.sample_rate,
            blocksize=self.block_size,
            device=index,
            channels=2,
            dtype="float32",
        )
        try:
            if self.native or self.ahead is not None:
                if self.ahead is not None:
                    sys.setswitchinterval(min(sys.getswitchinterval(), 0.0005))
                    self.ahead.start()
                ffi = sd._ffi
                self.stream = sd._StreamBase(
                    kind="output",
                    callback=ffi.cast("PaStreamCallback *", callback_address()),
                    userdata=ffi.cast("void *", self.block.p.ctypes.data),
                    wrap_callback=None,
                    **common,
                )
            else:
                sys.setswitchinterval(min(sys.getswitchinterval(), 0.0005))
                self.stream = sd.OutputStream(callback=self._callback, **common)
            self.stream.start()
        except sd.PortAudioError as exc:
            self.stream = None
            if self.ahead is not None:
                self.ahead.stop()
            raise DeviceError(f"audio device {index} could not be opened: {exc}") from None

    def close(self, timeout: float = 2.0) -> bool:
        """Stop and close the stream; False if that hung (the server died) and was abandoned."""
        stream, self.stream = self.stream, None
        if stream is None:
            return True

        def shut() -> None:
            try:
                stream.stop()
                stream.close()
            except Exception:  # closing is best effort; a dead server cannot be helped
                pass

        t = threading.Thread(target=shut, name="quanta-audio-close", daemon=True)
        t.start()
        t.join(timeout)
        self.close_hung = t.is_alive()
        if self.ahead is not None:
            self.ahead.stop()
        if self.close_hung:
            _abandoned.append((stream, self.block, self.mixer, self.ahead))
        elif self.ahead is not None:
            self.ahead.close()
        return not self.close_hung

    def placements(self) -> np.ndarray:
        """Where each event went: see :meth:`engine.audio.audio_native.NativeBlock.placements`."""
        return self.block.placements()

    def stats(self) -> AudioStats:
        n = min(self.callbacks, self.block.durations.size)
        d = self.block.durations[:n]
        p50, p99 = (float(np.percentile(d, 50)), float(np.percentile(d, 99))) if n else (0.0, 0.0)
        return AudioStats(
            self.underruns,
            self.callbacks,
            self.errors,
            self.ring.dropped,
            self.late_events,
            p50,
            p99,
            self.latency,
            self.native,
            self.mode,
            self.starved,
        )

    # -- real-time (the Python callback; the native one is engine.audio.audio_native's) -------------
    def _callback(self, outdata, frames, time_info, status) -> None:
        block = self.block
        t_in = clock.now()
        try:
            times = self._times
            times[0] = time_info.inputBufferAdcTime
            times[1] = time_info.currentTime
            times[2] = time_info.outputBufferDacTime
            flags = PA_OUTPUT_UNDERFLOW if status.output_underflow else 0
            block.prepare(t_in, times, flags, frames)
            buf = self._buf[:, :frames]
            self.mixer.process(buf)
            block.rt[R_PDC] = self.mixer.pdc_samples / self.sample_rate
            interleave(buf, frames, outdata)
        except Exception:  # never raise into PortAudio: output silence and count it
            block.rt[R_ERRORS] += 1
            outdata.fill(0)
        block.finish(t_in, clock.now(), frames)
