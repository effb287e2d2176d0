"""Audio output: the mixer played through a sounddevice (PortAudio) stream, fed by MIDI sinks.

Live MIDI reaches instruments through :class:`TrackSink`, a ``MidiSink`` per mixer strip:
``AudioOutput.sink(i)`` is the sink of strip ``i`` (its instrument, plus its drum kit for
channel 10), so the engine routes each song track to the sink of the strip built for it (see
:func:`engine.mixer.build_mixer`). The engine calls ``send_at(when, data)`` up to
``lookahead`` seconds early; the sink stores the event in a preallocated ring (the producer
side may take a lock; the audio callback never does). Each callback maps the engine clock onto the stream's sample clock and queues every
event due in the block at its exact sample offset, then runs :meth:`Mixer.process`.

The clock mapping: an event at ``when`` is placed at the sample that is handed to the audio
system at engine time ``when`` (the same convention as a JACK MIDI port: both then reach the
speakers after the device's output latency, reported in ``latency``). The block's time comes
from PortAudio's stream clock for the callback (on JACK, the frame clock), mapped onto the
engine clock by the smallest recently seen offset, so waiting for the GIL does not move notes.
Host APIs without a stream clock fall back to a delay-locked loop on callback times.

PortAudio pitfalls handled here: it lists host APIs only when it initialises, so
:func:`reinitialize` rescans after a JACK server appears; closing a stream whose server died
can hang, so :meth:`AudioOutput.close` gives up after a timeout instead of hanging Quanta.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

import numpy as np

from engine import clock
from engine.errors import DeviceError
from engine.mixer import Mixer
from engine.mixer_kernels import interleave

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
    """A fixed-size ring of timed 3-byte MIDI events: one consumer (the callback), producers
    serialised by a lock the consumer never takes. Indices only grow; Python int stores are
    atomic under the GIL, and the producer publishes ``write`` after filling the slot."""

    def __init__(self, capacity: int = 8192):
        self.capacity = capacity
        self.when = np.zeros(capacity)
        self.track = np.zeros(capacity, dtype=np.int32)
        self.msg = np.zeros((capacity, 3), dtype=np.uint8)
        self.write = 0
        self.read = 0
        self.dropped = 0
        self._lock = threading.Lock()

    def push(self, when: float, track: int, status: int, d1: int, d2: int) -> bool:
        with self._lock:
            if self.write - self.read >= self.capacity:
                self.dropped += 1
                return False
            i = self.write % self.capacity
            self.when[i] = when
            self.track[i] = track
            self.msg[i, 0] = status
            self.msg[i, 1] = d1
            self.msg[i, 2] = d2
            self.write += 1
            return True


class TrackSink:
    """The ``MidiSink`` of one mixer track (system messages and sysex are ignored)."""

    def __init__(self, output: AudioOutput, track: int, name: str):
        self.name = name
        self.track = track
        self._out = output
        self.lookahead = output.lookahead

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


class AudioOutput:
    """The mixer on a sounddevice output stream; one :class:`TrackSink` per track."""

    PENDING = 8192
    TIMING = 16384

    def __init__(
        self,
        mixer: Mixer,
        device: str | int | None = None,
        sample_rate: int | None = None,
        block_size: int = 256,
        lookahead: float = 0.1,
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
        self.ring = EventRing()
        self.stream = None
        # Counters and meters: plain attributes the UI may read at any time.
        self.underruns = 0
        self.callbacks = 0
        self.errors = 0
        self.late_events = 0
        self.latency = 0.0
        self.close_hung = False
        self._durations = np.zeros(self.TIMING)
        self._buf = np.zeros((2, mixer.max_block), dtype=np.float32)
        self._p_when = np.zeros(self.PENDING)
        self._p_track = np.zeros(self.PENDING, dtype=np.int32)
        self._p_msg = np.zeros((self.PENDING, 3), dtype=np.uint8)
        self._pending = 0
        self._frames = 0
        self._t0: float | None = None  # DLL state: this block, next block, period estimate
        self._t1 = 0.0
        self._e2 = 0.0
        self._offsets = np.zeros(16)  # engine clock minus stream clock, last 16 callbacks
        self._anchors = np.zeros(16)  # stream-clock time of frame 0, one estimate per block
        self._stream_frames = 0

    # -- control (not real-time) ------------------------------------------------------------
    def sink(self, track: int, name: str | None = None) -> TrackSink:
        if not 0 <= track < len(self.mixer.tracks):
            raise DeviceError(f"mixer has no track {track}")
        return TrackSink(self, track, name or f"Quanta audio: {self.mixer.tracks[track].name}")

    def start(self) -> None:
        """Open and start the stream. Also shortens the interpreter's GIL switch interval to
        at most 0.5 ms: with the default 5 ms, one busy Python thread (the GUI) makes the
        callback wait longer than a 128-frame block lasts."""
        import sys

        sys.setswitchinterval(min(sys.getswitchinterval(), 0.0005))
        sd = _sd()
        index = choose_device(self.device)
        try:
            self.stream = sd.OutputStream(
                samplerate=self.sample_rate,
                blocksize=self.block_size,
                device=index,
                channels=2,
                dtype="float32",
                callback=self._callback,
            )
            self.stream.start()
        except sd.PortAudioError as exc:
            self.stream = None
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
        return not self.close_hung

    def stats(self) -> AudioStats:
        n = min(self.callbacks, self.TIMING)
        d = self._durations[:n]
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
        )

    # -- real-time ---------------------------------------------------------------------------
    def _block_start_from_stream_clock(self, now: float, stream_now: float, frames: int) -> float:
        """Engine-clock time of this block's first sample, from PortAudio's stream clock.

        Two minimum filters, because delays only ever add:

        - where the block starts on the stream clock: blocks follow each other exactly
          ``frames`` apart, and PortAudio reads its clock (JACK: the frame clock) some time
          after the block began, so the block start is the earliest ``stream_now - frames
          done`` over the last 16 blocks. A window, not the earliest ever: the device's sample
          clock drifts against the stream clock (the JACK dummy driver runs slow under load),
          and an all-time minimum let notes drift by up to a period before re-anchoring.
        - the stream clock against the engine clock: PortAudio reads its clock before Python
          runs, so ``now - stream_now`` is the offset plus the wait for the GIL; the minimum
          over the last 16 blocks is the offset (a short window follows a device clock that
          runs slow, like the JACK dummy driver's under load).
        """
        sr = self.sample_rate
        pos = self._stream_frames / sr
        self._stream_frames += frames
        slot = self.callbacks % self._anchors.size
        filled = min(self.callbacks + 1, self._anchors.size)
        self._anchors[slot] = stream_now - pos
        self._offsets[slot] = now - stream_now
        anchor = float(self._anchors[:filled].min())
        return anchor + pos + float(self._offsets[:filled].min())

    def _block_start(self, now: float, frames: int) -> float:
        """Engine-clock time at which this block's first sample reaches the output.

        A second-order delay-locked loop (as JACK uses) on callback times: it learns the
        device's real sample rate (a dummy or cheap device is off by 0.1 % or more) and
        filters out callback jitter. A jump of more than a few blocks resynchronises it.
        """
        est = now
        period = frames / self.sample_rate
        if self._t0 is None or abs(est - self._t1) > 4 * period + self._e2:
            self._frames = 0  # (re)lock fast
            self._t0 = est
            self._t1 = est + period
            self._e2 = period
            return est
        err = est - self._t1
        self._t0 = self._t1
        # Lock fast (4 Hz) during the first second, then follow slowly (0.5 Hz) to filter
        # callback jitter.
        bandwidth = 4.0 if self._frames < self.sample_rate else 0.5
        omega = 2 * math.pi * bandwidth * period
        self._t1 += math.sqrt(2) * omega * err + self._e2
        self._e2 += omega * omega * err
        return self._t0

    def _collect(self) -> None:
        ring = self.ring
        w = ring.write
        while ring.read < w and self._pending < self.PENDING:
            i = ring.read % ring.capacity
            p = self._pending
            self._p_when[p] = ring.when[i]
            self._p_track[p] = ring.track[i]
            self._p_msg[p] = ring.msg[i]
            self._pending = p + 1
            ring.read += 1

    def _queue_due(self, start: float, frames: int) -> None:
        sr = self.sample_rate
        end = start + frames / sr
        n = self._pending
        if not n:
            return
        when = self._p_when[:n]
        due = when < end
        if not due.any():
            return
        idx = np.flatnonzero(due)
        idx = idx[np.argsort(when[idx], kind="stable")]
        for i in idx:
            off = int(round((when[i] - start) * sr))
            if off < 0:
                self.late_events += 1
                off = 0
            m = self._p_msg[i]
            self.mixer.queue(
                int(self._p_track[i]), min(off, frames - 1), int(m[0]), int(m[1]), int(m[2])
            )
        keep = np.flatnonzero(~due)
        k = keep.size
        self._p_when[:k] = self._p_when[keep]
        self._p_track[:k] = self._p_track[keep]
        self._p_msg[:k] = self._p_msg[keep]
        self._pending = k

    def _callback(self, outdata, frames, time_info, status) -> None:
        t_in = time.perf_counter()
        now = clock.now()
        try:
            if status.output_underflow:
                self.underruns += 1
            lat = time_info.outputBufferDacTime - time_info.currentTime
            self.latency = lat if 0.0 <= lat < 1.0 else 0.0
            stream_now = time_info.currentTime
            if stream_now > 0.0:
                start = self._block_start_from_stream_clock(now, stream_now, frames)
            else:  # a host API without a stream clock: filter our own callback times
                start = self._block_start(now, frames)
            self._collect()
            self._queue_due(start, frames)
            buf = self._buf[:, :frames]
            self.mixer.process(buf)
            interleave(buf, frames, outdata)
        except Exception:  # never raise into PortAudio: output silence and count it
            self.errors += 1
            outdata.fill(0)
        self._frames += frames
        self._durations[self.callbacks % self.TIMING] = (time.perf_counter() - t_in) * 1e6
        self.callbacks += 1
