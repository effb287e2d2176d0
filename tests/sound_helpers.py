"""Helpers shared by the sound tests: drive an instrument block by block, measure pitch."""

from __future__ import annotations

import numpy as np

from engine.plugins.base import BLOCK_EVENT_DTYPE


def run_instrument(inst, events, seconds: float, block: int = 256, rate: int = 48000):
    """Render ``seconds`` of ``inst`` with ``events`` = [(sample, status, d1, d2), ...]."""
    total = int(seconds * rate)
    out = np.zeros((2, total), dtype=np.float32)
    events = sorted(events, key=lambda e: e[0])
    buf = np.zeros((2, block), dtype=np.float32)
    for start in range(0, total, block):
        n = min(block, total - start)
        ev = np.array(
            [(s - start, st, d1, d2) for s, st, d1, d2 in events if start <= s < start + n],
            dtype=BLOCK_EVENT_DTYPE,
        )
        inst.process(ev, buf[:, :n])
        out[:, start : start + n] = buf[:, :n]
    return out


def peak_frequency(x: np.ndarray, rate: int = 48000, fmin: float = 20.0) -> float:
    """Frequency of the strongest spectral peak (zero-padded FFT, parabolic refinement)."""
    pad = 8
    spec = np.abs(np.fft.rfft(x * np.hanning(x.size), pad * x.size))
    freqs = np.fft.rfftfreq(pad * x.size, 1 / rate)
    spec[freqs < fmin] = 0
    i = int(np.argmax(spec))
    a, b, c = np.log(spec[i - 1 : i + 2] + 1e-30)
    shift = 0.5 * (a - c) / (a - 2 * b + c)
    return float((i + shift) * rate / (pad * x.size))


def rms_db(x: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(np.square(x, dtype=np.float64))) + 1e-30))


def tone_through(fx) -> np.ndarray:
    """One second of a 220 Hz sine at amplitude 0.5 (-9 dBFS RMS) through the stereo effect
    ``fx`` at 48 kHz, in 256-frame blocks as the audio thread feeds it; the left channel out."""
    t = np.arange(48000) / 48000
    tone = (0.5 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    out = []
    for k in range(0, 48000 - 256 + 1, 256):
        b = np.vstack([tone[k : k + 256]] * 2)
        fx.process(b)
        out.append(b[0].copy())
    return np.concatenate(out)


def settled_db(y: np.ndarray) -> float:
    """RMS in dB of the second half of :func:`tone_through`'s output, once a compressor's
    attack has settled."""
    y = y[24000:]
    return float(20 * np.log10(np.sqrt(np.mean(y**2))))
