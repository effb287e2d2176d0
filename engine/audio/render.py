"""Offline render: a song through the same schedule and mixer as live playback, to a file.

The event list comes from :func:`engine.realtime.schedule.build_schedule` (playback quantize applied,
ticks to seconds through the song's tempo map), exactly what the real-time engine plays. Each
event is queued at its exact sample offset and the :class:`engine.audio.mixer.Mixer` renders block
by block, so a rendered note lands on the same sample it would in playback.

Writing is quantization too: :func:`to_pcm` rounds to 16 or 24 bits with optional TPDF dither
(±1 LSB triangular noise, which turns the signal-correlated rounding error into a constant
white noise floor), or keeps 32-bit float.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from engine.audio.mixer import Mixer
from engine.errors import DeviceError, RenderLimitError
from engine.model.song import Song
from engine.plugins.fpenv import preserved_fp_env
from engine.realtime.schedule import KIND_SYSEX, Schedule, build_schedule

BIT_DEPTHS = ("16", "24", "32f")
DITHERS = ("tpdf", "none")


@dataclass
class RenderStats:
    frames: int
    seconds: float
    events: int
    wall_seconds: float = 0.0

    @property
    def speed(self) -> float:
        """How many times faster than real time the render ran."""
        return self.seconds / self.wall_seconds if self.wall_seconds else float("inf")


def track_map(schedule: Schedule) -> dict[int, int]:
    """Song track index → mixer strip, for tracks that have anything to play (in order)."""
    used = np.unique(schedule.rows["track"][schedule.rows["kind"] != KIND_SYSEX])
    return {int(t): i for i, t in enumerate(used)}


#: An automatic tail ends once the mix has stayed below this level (peak, dBFS) ...
SILENCE_DBFS = -90.0
#: ... for this long (long enough to ride over the gap between a delay's echoes) ...
SILENCE_WINDOW = 2.0
#: ... or after this many seconds past the song's end, whatever still rings (a drone, an LFO).
MAX_AUTO_TAIL = 30.0


#: Longest render allowed by default, in hours. A MIDI file of a few bytes can hold a silence
#: of years (a delta of 2^28 ticks at 1 PPQ is 4.3 years at 120 BPM); 12 hours of 48 kHz
#: stereo is already 8 GB at 16 bits. ``quanta render --max-hours`` raises it.
MAX_RENDER_HOURS = 12.0


def duration_text(seconds: float) -> str:
    """A duration as a musician reads it: ``42.0 s``, ``3.5 min``, ``7.2 hours``, ``3.1 days``,
    ``4.3 years``."""
    if not np.isfinite(seconds):
        return "forever"
    for unit, size in (("years", 365.25 * 86400), ("days", 86400), ("hours", 3600)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds / 60:.1f} min" if seconds >= 120 else f"{seconds:.1f} s"


def render_seconds(schedule: Schedule, tail: float | None = None) -> float:
    """How long a render of ``schedule`` lasts before any automatic tail: the song's end (or
    its last event, if later) plus an explicit ``tail``. Costs nothing per tick or frame."""
    secs = schedule.rows["sec"]
    last = float(secs[-1]) if secs.size else 0.0  # rows are in time order
    return max(schedule.end_sec, last) + max(0.0, tail or 0.0)


def check_render_length(
    schedule: Schedule,
    tail: float | None = None,
    max_hours: float = MAX_RENDER_HOURS,
    name: str = "the song",
) -> float:
    """Refuse, in one line and before anything is allocated, a render longer than
    ``max_hours``; returns its length in seconds."""
    seconds = render_seconds(schedule, tail)
    if not (np.isfinite(seconds) and seconds <= max_hours * 3600.0):
        raise RenderLimitError(
            f"{name} lasts {duration_text(seconds)}; render is limited to "
            f"{max_hours:g} hours (--max-hours)"
        )
    return seconds


def render_schedule(
    schedule: Schedule,
    mixer: Mixer,
    strips: dict[int, int],
    tail: float | None = None,
    block: int | None = None,
    progress: Callable[[float], None] | None = None,
    on_block: Callable[[np.ndarray], None] | None = None,
    max_hours: float = MAX_RENDER_HOURS,
) -> tuple[np.ndarray | None, RenderStats]:
    """Render every row of ``schedule`` through ``mixer``; returns (2, frames) float32.

    A render longer than ``max_hours`` is refused (:class:`RenderLimitError`) before anything
    is rendered (see :func:`check_render_length`); nothing is allocated per frame up front.

    ``strips`` maps song tracks to mixer strips (rows of other tracks are skipped). With
    ``on_block`` each rendered block is handed over instead (and ``None`` is returned), so a
    long song streams to its file without being held in memory. Plugins run in this (non-audio)
    thread here, so its floating-point mode is restored afterwards (see engine.plugins.fpenv).

    ``tail`` is how many seconds to render after the song's end. ``None`` (the default)
    renders until the reverbs and releases have died away: the file ends at the last sample
    louder than :data:`SILENCE_DBFS` once the mix has stayed below it for
    :data:`SILENCE_WINDOW` seconds, and at most :data:`MAX_AUTO_TAIL` seconds after the end.
    """
    check_render_length(schedule, tail, max_hours)
    with preserved_fp_env():
        return _render_blocks(schedule, mixer, strips, tail, block, progress, on_block)


class _TailTrim:
    """Ends an automatic tail: blocks after the last loud sample are held back until either a
    louder one comes (they are passed on) or the silence has lasted long enough (dropped)."""

    def __init__(self, song_end: int, sample_rate: int, emit: Callable[[np.ndarray], None]):
        self.level = 10.0 ** (SILENCE_DBFS / 20.0)
        self.window = int(round(SILENCE_WINDOW * sample_rate))
        self.end = song_end  # the output reaches at least here: song end or last loud sample
        self.seen = 0  # output samples fed
        self.emitted = 0
        self.emit = emit
        self.held: list[np.ndarray] = []

    def feed(self, block: np.ndarray) -> bool:
        """Take the next output block; True once the tail has been silent long enough."""
        start, n = self.seen, block.shape[1]
        self.seen += n
        if n:
            loud = np.flatnonzero(np.abs(block).max(axis=0) > self.level)
            if loud.size:
                self.end = max(self.end, start + int(loud[-1]) + 1)
        if not self.held and self.seen <= self.end:
            self.emit(block)  # the song itself: straight through, no copy
            self.emitted = self.seen
            return False
        self.held.append(block.copy())  # ``block`` is the renderer's scratch buffer
        self._flush()
        return self.seen >= self.end + self.window

    def _flush(self) -> None:
        while self.held and self.emitted < self.end:
            head = self.held[0]
            k = min(head.shape[1], self.end - self.emitted)
            self.emit(head[:, :k])
            self.emitted += k
            if k < head.shape[1]:
                self.held[0] = head[:, k:]
            else:
                self.held.pop(0)

    def finish(self) -> int:
        """Pass on what belongs to the file; returns its length in samples."""
        self._flush()
        self.held.clear()
        return self.emitted


def _render_blocks(schedule, mixer, strips, tail, block, progress, on_block):
    import time

    t0 = time.perf_counter()
    sr = mixer.sample_rate
    block = block or mixer.max_block
    rows = schedule.rows[schedule.rows["kind"] != KIND_SYSEX]
    rows = rows[np.isin(rows["track"], list(strips))]
    at = np.rint(rows["sec"] * sr).astype(np.int64)
    last_event = int(at.max()) + 1 if at.size else 0
    song_end = max(int(np.ceil(schedule.end_sec * sr)), last_event)
    auto = tail is None
    if auto:
        total = song_end + int(np.ceil(MAX_AUTO_TAIL * sr))  # the upper bound
    else:
        total = max(int(np.ceil((schedule.end_sec + max(tail, 0.0)) * sr)), last_event)
    pieces: list[np.ndarray] = []
    emit = on_block if on_block is not None else (lambda b: pieces.append(b.copy()))
    trim = _TailTrim(song_end, sr, emit) if auto else None
    scratch = np.zeros((2, block), dtype=np.float32)
    status, d1, d2, track = rows["status"], rows["data1"], rows["data2"], rows["track"]
    # Plugin delay compensation: the mix comes out ``lat`` samples late, so render that much
    # longer and drop the first ``lat`` samples; every note lands on its own sample.
    lat = mixer.update_latency()
    span = total + lat
    report_span = (song_end if auto else total) + lat
    lut = np.full(int(rows["track"].max()) + 1 if rows.size else 1, -1, dtype=np.int64)
    for song_track, strip in strips.items():
        if song_track < lut.size:
            lut[song_track] = strip
    strip_of = lut[track] if rows.size else np.zeros(0, np.int64)
    last_report = -1.0
    hi = 0  # rows before ``hi`` are queued; found block by block, never a per-block table
    for start in range(0, span, block):
        n = min(block, span - start)
        lo, hi = hi, int(np.searchsorted(at, start + block, side="left"))
        for r in range(lo, hi):
            mixer.queue(
                int(strip_of[r]), int(at[r]) - start, int(status[r]), int(d1[r]), int(d2[r])
            )
        buf = scratch[:, :n]
        mixer.process(buf)
        skip = max(0, lat - start)  # the first ``lat`` samples are the plugins' delay
        if skip < n:
            if trim is None:
                emit(buf[:, skip:])
            elif trim.feed(buf[:, skip:]):
                break
        if progress is not None:
            frac = min(1.0, (start + n) / report_span)
            if frac - last_report >= 0.01 or (frac == 1.0 and last_report < 1.0):
                progress(frac)
                last_report = frac
    frames = trim.finish() if trim is not None else total
    if progress is not None and last_report < 1.0:
        progress(1.0)
    audio = None
    if on_block is None:
        audio = np.concatenate(pieces, axis=1) if pieces else np.zeros((2, 0), np.float32)
    stats = RenderStats(frames, frames / sr, int(rows.size), time.perf_counter() - t0)
    return audio, stats


def render_song(
    song: Song,
    make_mixer: Callable[[list[int]], Mixer],
    tail: float | None = None,
    progress: Callable[[float], None] | None = None,
    on_block: Callable[[np.ndarray], None] | None = None,
    max_hours: float = MAX_RENDER_HOURS,
    name: str = "the song",
) -> tuple[np.ndarray | None, RenderStats]:
    """Render a song; ``make_mixer(tracks)`` builds a mixer with one strip per listed track.

    ``tail``: seconds after the end, or ``None`` to render until the mix has died away. A
    song longer than ``max_hours`` is refused before the mixer is made (``name`` names it in
    the message)."""
    schedule = build_schedule(song)
    check_render_length(schedule, tail, max_hours, name)
    strips = track_map(schedule)
    mixer = make_mixer(list(strips))
    try:
        return render_schedule(
            schedule,
            mixer,
            strips,
            tail=tail,
            progress=progress,
            on_block=on_block,
            max_hours=max_hours,
        )
    finally:
        mixer.close()


def to_pcm(
    audio: np.ndarray, bits: int, dither: str = "tpdf", rng: np.random.Generator | None = None
) -> np.ndarray:
    """Float audio (-1..1) → integers of ``bits`` bits (int16 or int32), rounded, clipped.

    With ``dither="tpdf"`` the sum of two uniform ±0.5 LSB noises is added before rounding.
    """
    if dither not in DITHERS:
        raise DeviceError(f"dither must be one of {', '.join(DITHERS)}, not {dither!r}")
    rng = rng or np.random.default_rng()
    top = float(2 ** (bits - 1))
    x = np.asarray(audio, dtype=np.float64) * top
    if dither == "tpdf":
        x += rng.random(x.shape) - rng.random(x.shape)
    q = np.clip(np.rint(x), -top, top - 1)
    return q.astype(np.int16 if bits == 16 else np.int32)


class AudioWriter:
    """Writes planar float blocks to WAV/FLAC as they come, quantized (and dithered) per block.

    ``peak`` is the highest absolute sample the file holds, in full scale (1.0 = 0 dBFS), after
    rounding and dither: an empty song at 16 bits holds dither noise, not digital silence.
    Use as a context manager.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        sample_rate: int,
        bit_depth: str = "16",
        dither: str | None = None,
        seed: int | None = None,
        name: str | os.PathLike | None = None,
    ):
        import soundfile as sf

        self.name = os.fspath(name if name is not None else path)
        if bit_depth not in BIT_DEPTHS:
            raise DeviceError(
                f"bit depth must be one of {', '.join(BIT_DEPTHS)}, not {bit_depth!r}"
            )
        ext = os.path.splitext(str(path))[1].lower()
        fmt = {".wav": "WAV", ".flac": "FLAC"}.get(ext)
        if fmt is None:
            raise DeviceError(f"{path}: output must end in .wav or .flac")
        if fmt == "FLAC" and bit_depth == "32f":
            raise DeviceError(f"{path}: FLAC cannot hold 32-bit float; use --bit-depth 16 or 24")
        if dither is None:
            dither = "tpdf" if bit_depth == "16" else "none"
        if dither not in DITHERS:
            raise DeviceError(f"dither must be one of {', '.join(DITHERS)}, not {dither!r}")
        self.path = path
        self.bit_depth = bit_depth
        self.dither = dither
        self.peak = 0.0
        self._rng = np.random.default_rng(seed)
        subtype = {"16": "PCM_16", "24": "PCM_24", "32f": "FLOAT"}[bit_depth]
        try:
            self._file = sf.SoundFile(
                str(path), "w", samplerate=sample_rate, channels=2, subtype=subtype, format=fmt
            )
        except (OSError, RuntimeError, sf.LibsndfileError) as exc:
            raise self._error(exc) from None

    def _error(self, exc: BaseException) -> DeviceError:
        """One line naming the output (not the temporary file); "disk full" when it is.

        libsndfile reports a failed write(2) as "System error." without the errno, so a
        failure is called a full disk when the folder has (next to) no space left.
        """
        folder = os.path.dirname(os.path.abspath(self.path)) or "."
        full = getattr(exc, "errno", None) in (errno.ENOSPC, getattr(errno, "EDQUOT", 0))
        if not full:
            try:
                st = os.statvfs(folder)
                full = st.f_bavail * st.f_frsize < 1 << 20
            except (OSError, AttributeError):
                pass
        if full:
            return DeviceError(f"disk full: could not write {self.name}")
        return DeviceError(f"{self.name}: cannot write audio file ({exc})")

    def write(self, block: np.ndarray) -> None:
        """Append a (2, n) float block."""
        frames = block.T
        if self.bit_depth == "32f":
            data = np.ascontiguousarray(frames, dtype=np.float32)
            top = 1.0
        elif self.bit_depth == "16":
            data = to_pcm(frames, 16, self.dither, self._rng)
            top = 32768.0
        else:  # soundfile maps int32 to 24 bits by its top three bytes
            data = to_pcm(frames, 24, self.dither, self._rng) << 8
            top = 2147483648.0
        if data.size:  # the peak of what the file holds (dither included), not of the mix
            self.peak = max(self.peak, float(np.abs(data.astype(np.float64)).max()) / top)
        try:
            self._file.write(data)
        except (OSError, RuntimeError) as exc:
            raise self._error(exc) from None

    def close(self) -> None:
        try:
            self._file.close()
        except (OSError, RuntimeError) as exc:
            raise self._error(exc) from None

    def __enter__(self) -> AudioWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
            return
        try:  # already failing: that error is the one to report
            self._file.close()
        except (OSError, RuntimeError):
            pass


def write_audio(
    path: str | os.PathLike,
    audio: np.ndarray,
    sample_rate: int,
    bit_depth: str = "16",
    dither: str | None = None,
    seed: int | None = None,
) -> None:
    """Write (2, frames) float audio as WAV or FLAC (by extension). Dither defaults to TPDF at
    16 bits and none at 24 (its noise floor is already below any DAC's)."""
    with AudioWriter(path, sample_rate, bit_depth, dither, seed) as writer:
        writer.write(audio)
