"""A groove from a drum loop's audio (QUANTIZE_SPEC part 2: "From audio").

Onsets are found with librosa, the standard Python library for music analysis (its spectral-flux
onset strength and peak picking are what MIR research and most tools in Python use; aubio is the
other choice but ships no wheels and its last release is from 2019). Spectral flux on 2048-sample
frames lands its peak a few milliseconds *after* a hit (up to ~10 ms measured on Quanta's own
drums), which is too coarse for a groove, so each onset is then refined in the time domain: the
1 ms block with the steepest rise of high-passed energy within 30 ms before (5 ms after) the
detected frame, and inside it the first sample above half the block's peak. On loops rendered
by Quanta this gives the notes' times back within a fraction of a millisecond.

- Tempo: given, or detected: librosa's tempo estimate, refined to the tempo within ±3 % at
  which the onsets repeat every pattern length (a loop repeats exactly, whatever its groove;
  fitting to the grid instead would pull the tempo toward the groove's own offsets). An octave
  error of the estimate (half or double tempo) is not corrected: give ``--tempo`` then.
- Velocity: the onset strength at each onset, scaled so the strongest is 127 (at least 1).
- Length: null (an audio hit has no note length).
- Tick 0 is the start of the file; the pattern repeats from there.

Limits: a file over :data:`MAX_AUDIO_BYTES` or :data:`MAX_SECONDS` is refused before decoding;
a file libsndfile cannot read is one line naming it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from engine.errors import GrooveError
from engine.quantize import BASES, GrooveTemplate, extract_groove

MAX_AUDIO_BYTES = 1024 * 1024 * 1024
MAX_SECONDS = 600.0
HOP = 256  #: onset-envelope hop in samples (5.3 ms at 48 kHz; the refinement gives the precision)
PAD_SECONDS = 0.1  #: silence before the file so a hit at 0 s is an onset too
PPQ = 96_000  #: onset ticks: 0.005 ms per tick at 120 BPM, far below what matters
TEMPO_DECIMATE = 4  #: envelope frames per frame of the tempo estimate
SEARCH_BEFORE = 0.030
SEARCH_AFTER = 0.005


@dataclass(frozen=True)
class AudioGroove:
    """What an audio extraction found: the template, the tempo used, the onset count."""

    template: GrooveTemplate
    tempo: float
    onsets: int
    seconds: np.ndarray  #: refined onset times in seconds from the start of the file


def read_mono(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """The file as mono float32 and its sample rate; bounded before decoding."""
    import soundfile as sf

    p = Path(path)
    try:
        size = p.stat().st_size
    except FileNotFoundError:
        raise GrooveError(str(p), "no such audio file") from None
    except OSError as exc:
        raise GrooveError(str(p), f"cannot read ({exc.strerror})") from None
    if size > MAX_AUDIO_BYTES:
        raise GrooveError(p.name, f"is {size} bytes; an audio loop is at most {MAX_AUDIO_BYTES}")
    try:
        info = sf.info(str(p))
        if info.samplerate <= 0 or info.channels <= 0:
            raise GrooveError(p.name, "has no audio (no sample rate or channels)")
        seconds = info.frames / info.samplerate
        if seconds > MAX_SECONDS:
            raise GrooveError(
                p.name, f"is {seconds:.0f} s long; extract a groove from at most {MAX_SECONDS:g} s"
            )
        data, rate = sf.read(str(p), dtype="float32", always_2d=True)
    except GrooveError:
        raise
    except (RuntimeError, ValueError, TypeError, OSError, MemoryError) as exc:
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise GrooveError(p.name, f"cannot be read as audio ({text[:160]})") from None
    if data.shape[0] == 0:
        raise GrooveError(p.name, "has no audio frames")
    mono = data.mean(axis=1, dtype=np.float32)
    if not np.all(np.isfinite(mono)):
        raise GrooveError(p.name, "holds samples that are not finite numbers")
    return mono, int(rate)


def find_onsets(y: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(onset times in s, onset strengths, the onset envelope) of a mono signal."""
    import librosa

    pad = int(PAD_SECONDS * sr)
    y = np.concatenate([np.zeros(pad, np.float32), y])
    env = librosa.onset.onset_strength(y=y, sr=sr, hop_length=HOP)
    frames = librosa.onset.onset_detect(
        onset_envelope=env, sr=sr, hop_length=HOP, units="frames", delta=0.03
    )
    if frames.size == 0:
        return np.zeros(0), np.zeros(0), env
    strength = np.array([env[max(0, f - 2) : f + 3].max() for f in frames], dtype=np.float64)
    coarse = frames.astype(np.int64) * HOP
    # Time-domain refinement on 1 ms blocks of high-passed energy.
    hp = np.abs(np.diff(y, prepend=y[:1]))
    w = max(1, sr // 1000)
    n = hp.size // w
    blocks = hp[: n * w].reshape(n, w)
    energy = np.log(blocks.sum(axis=1, dtype=np.float64) + 1e-9)
    rise = np.diff(energy, prepend=energy[:1])
    before, after = int(SEARCH_BEFORE * sr), int(SEARCH_AFTER * sr)
    refined = np.empty(coarse.size, np.int64)
    for i, s in enumerate(coarse):
        a = max(1, (s - before) // w)
        b = max(a + 1, min(n, (s + after) // w + 1))
        k = a + int(np.argmax(rise[a:b]))
        blk = blocks[k]
        refined[i] = k * w + int(np.argmax(blk >= 0.5 * blk.max()))
    keep = np.concatenate([[True], np.diff(refined) > w])  # two peaks on one hit: keep one
    seconds = (refined[keep] - pad) / sr
    return np.maximum(seconds, 0.0), strength[keep], env


def _repeat_cost(seconds: np.ndarray, period: float) -> float:
    """How far the onsets are from repeating after ``period`` seconds (0 for a perfect loop):
    each onset that has a repetition inside the file, capped at 10 ms off."""
    shifted = seconds[seconds + period <= seconds[-1] + 0.010] + period
    if shifted.size == 0:
        return np.inf
    i = np.clip(np.searchsorted(seconds, shifted), 1, seconds.size - 1)
    d = np.minimum(np.abs(seconds[i] - shifted), np.abs(seconds[i - 1] - shifted))
    return float(np.minimum(d, 0.010).sum() / shifted.size)


def fit_loop_tempo(seconds: np.ndarray, guess: float, beats: float) -> float:
    """The tempo within ±3 % of ``guess`` at which the onsets repeat every ``beats`` beats.

    A loop's pattern repeats exactly, whatever its groove, so the tempo is fitted to that
    repetition rather than to a grid the groove deliberately leaves (coarse steps of 0.01 BPM,
    then 0.0005 BPM around the best)."""
    best = guess
    for lo, hi, step in ((guess * 0.97, guess * 1.03, 0.01), (None, None, 0.0005)):
        if lo is None:
            lo, hi = best - 0.01, best + 0.01
        grid = np.arange(lo, hi, step)
        costs = [_repeat_cost(seconds, beats * 60 / bpm) for bpm in grid]
        if not np.isfinite(min(costs)):
            return round(guess, 3)
        best = float(grid[int(np.argmin(costs))])
    return round(best, 3)


def detect_tempo(env: np.ndarray, sr: int, seconds: np.ndarray, beats: float) -> float:
    """librosa's tempo estimate, refined by :func:`fit_loop_tempo` for a loop of ``beats``."""
    import librosa

    # The estimate needs no fine hop (the fit below is exact): a 4x coarser envelope keeps
    # librosa's tempogram 16x smaller (2.3 s → a tenth of that on a 10 s loop).
    n = env.size // TEMPO_DECIMATE * TEMPO_DECIMATE
    coarse = env[:n].reshape(-1, TEMPO_DECIMATE).max(axis=1) if n else env
    hop = HOP * TEMPO_DECIMATE if n else HOP
    guess = float(np.atleast_1d(librosa.feature.tempo(onset_envelope=coarse, sr=sr, hop_length=hop))[0])
    if not np.isfinite(guess) or guess <= 0:
        raise GrooveError("--tempo", "no tempo could be detected; give --tempo BPM")
    return fit_loop_tempo(np.sort(seconds), guess, beats)


def extract_audio_groove(
    path: str | os.PathLike,
    *,
    base: str = "1/16",
    length: float | Fraction | None = None,
    tempo: float | None = None,
    name: str = "Audio groove",
) -> AudioGroove:
    """Onsets of a WAV/FLAC loop → a groove template (see the module docstring)."""
    p = Path(path)
    if base not in BASES:
        raise GrooveError("--base", f"{base!r}; allowed: {', '.join(BASES)}")
    y, sr = read_mono(p)
    seconds, strength, env = find_onsets(y, sr)
    if seconds.size == 0:
        raise GrooveError(p.name, "has no onsets (silence, or no clear hits)")
    if tempo is None:
        beats = float(length) if length is not None else 4.0  # the default pattern: a 4/4 bar
        bpm = detect_tempo(env, sr, seconds, beats)
    else:
        bpm = float(tempo)
    ticks = np.round(seconds * bpm / 60 * PPQ).astype(np.int64)
    peak = strength.max()
    velocity = np.clip(strength / peak * 127 if peak > 0 else np.full(strength.size, 127.0), 1, 127)
    template = extract_groove(
        ticks,
        velocity,
        None,
        ppq=PPQ,
        base=base,
        length=length,
        name=name,
        description=f"Extracted from the audio of {p.name} at {bpm:g} BPM "
        f"({seconds.size} onsets)",
    )
    return AudioGroove(template, bpm, int(seconds.size), seconds)
