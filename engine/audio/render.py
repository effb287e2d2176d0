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
from engine.errors import DeviceError
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


def render_schedule(
    schedule: Schedule,
    mixer: Mixer,
    strips: dict[int, int],
    tail: float = 2.0,
    block: int | None = None,
    progress: Callable[[float], None] | None = None,
    on_block: Callable[[np.ndarray], None] | None = None,
) -> tuple[np.ndarray | None, RenderStats]:
    """Render every row of ``schedule`` through ``mixer``; returns (2, frames) float32.

    ``strips`` maps song tracks to mixer strips (rows of other tracks are skipped). With
    ``on_block`` each rendered block is handed over instead (and ``None`` is returned), so a
    long song streams to its file without being held in memory. Plugins run in this (non-audio)
    thread here, so its floating-point mode is restored afterwards (see engine.plugins.fpenv).
    """
    with preserved_fp_env():
        return _render_blocks(schedule, mixer, strips, tail, block, progress, on_block)


def _render_blocks(schedule, mixer, strips, tail, block, progress, on_block):
    import time

    t0 = time.perf_counter()
    sr = mixer.sample_rate
    block = block or mixer.max_block
    rows = schedule.rows[schedule.rows["kind"] != KIND_SYSEX]
    rows = rows[np.isin(rows["track"], list(strips))]
    at = np.rint(rows["sec"] * sr).astype(np.int64)
    total = int(np.ceil((schedule.end_sec + max(tail, 0.0)) * sr))
    total = max(total, int(at.max()) + 1 if at.size else 0)
    audio = np.zeros((2, total), dtype=np.float32) if on_block is None else None
    scratch = np.zeros((2, block), dtype=np.float32)
    status, d1, d2, track = rows["status"], rows["data1"], rows["data2"], rows["track"]
    # Plugin delay compensation: the mix comes out ``lat`` samples late, so render that much
    # longer and drop the first ``lat`` samples; every note lands on its own sample.
    lat = mixer.update_latency()
    span = total + lat
    bounds = np.searchsorted(at, np.arange(0, span + block, block), side="left")
    lut = np.full(int(rows["track"].max()) + 1 if rows.size else 1, -1, dtype=np.int64)
    for song_track, strip in strips.items():
        if song_track < lut.size:
            lut[song_track] = strip
    strip_of = lut[track] if rows.size else np.zeros(0, np.int64)
    last_report = -1.0
    for b, start in enumerate(range(0, span, block)):
        n = min(block, span - start)
        for r in range(int(bounds[b]), int(bounds[b + 1])):
            mixer.queue(
                int(strip_of[r]), int(at[r]) - start, int(status[r]), int(d1[r]), int(d2[r])
            )
        out_at = start - lat  # where this block's first sample goes in the output
        if audio is not None and out_at >= 0:
            buf = audio[:, out_at : out_at + n]  # render in place
        else:
            buf = scratch[:, :n]
        mixer.process(buf)
        skip = max(0, -out_at)
        if skip < n:
            if audio is not None and out_at < 0:
                audio[:, : n - skip] = buf[:, skip:]
            if on_block is not None:
                on_block(buf[:, skip:])
        if progress is not None:
            frac = (start + n) / span
            if frac - last_report >= 0.01 or start + n == span:
                progress(frac)
                last_report = frac
    stats = RenderStats(total, total / sr, int(rows.size), time.perf_counter() - t0)
    return audio, stats


def render_song(
    song: Song,
    make_mixer: Callable[[list[int]], Mixer],
    tail: float = 2.0,
    progress: Callable[[float], None] | None = None,
    on_block: Callable[[np.ndarray], None] | None = None,
) -> tuple[np.ndarray | None, RenderStats]:
    """Render a song; ``make_mixer(tracks)`` builds a mixer with one strip per listed track."""
    schedule = build_schedule(song)
    strips = track_map(schedule)
    mixer = make_mixer(list(strips))
    try:
        return render_schedule(
            schedule, mixer, strips, tail=tail, progress=progress, on_block=on_block
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

    ``peak`` is the highest absolute float sample written. Use as a context manager.
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
        if block.size:
            self.peak = max(self.peak, float(np.abs(block).max()))
        frames = block.T
        if self.bit_depth == "32f":
            data = np.ascontiguousarray(frames, dtype=np.float32)
        elif self.bit_depth == "16":
            data = to_pcm(frames, 16, self.dither, self._rng)
        else:  # soundfile maps int32 to 24 bits by its top three bytes
            data = to_pcm(frames, 24, self.dither, self._rng) << 8
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
