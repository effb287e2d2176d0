"""The built-in drum kit: General MIDI drum notes synthesised at start-up, played as one-shots.

Sounds are made once per sample rate from sines, noise and simple filters (no sample files), so
the kit works on a fresh machine. A hit is a table lookup from its onset sample, so a note-on
lands on its exact sample. Closed and pedal hi-hats choke the open hat, as on a real kit.
"""

from __future__ import annotations

import numpy as np

#: GM drum notes → kit piece. Notes not listed fall back to the nearest listed note.
GM_DRUMS = {
    35: "kick",
    36: "kick",
    37: "rim",
    38: "snare",
    39: "clap",
    40: "snare",
    41: "tom_low",
    42: "hat_closed",
    43: "tom_low",
    44: "hat_pedal",
    45: "tom_mid",
    46: "hat_open",
    47: "tom_mid",
    48: "tom_high",
    49: "crash",
    50: "tom_high",
    51: "ride",
    52: "crash",
    53: "ride",
    55: "crash",
    57: "crash",
    59: "ride",
}
CHOKED_BY = {"hat_open": ("hat_closed", "hat_pedal")}


def _exp_env(n: int, sr: int, tau: float) -> np.ndarray:
    return np.exp(-np.arange(n) / (tau * sr))


def _one_pole_hp(x: np.ndarray, sr: int, hz: float) -> np.ndarray:
    # Frequency-domain brick-ish high-pass: exact and vectorised, fine for one-shot synthesis.
    spec = np.fft.rfft(x)
    f = np.fft.rfftfreq(x.size, 1 / sr)
    spec *= 1.0 / np.sqrt(1.0 + (hz / np.maximum(f, 1.0)) ** 4)
    return np.fft.irfft(spec, x.size)


def _band(x: np.ndarray, sr: int, lo: float, hi: float) -> np.ndarray:
    spec = np.fft.rfft(x)
    f = np.fft.rfftfreq(x.size, 1 / sr)
    spec *= 1.0 / np.sqrt(1.0 + (lo / np.maximum(f, 1.0)) ** 4)
    spec *= 1.0 / np.sqrt(1.0 + (f / hi) ** 4)
    return np.fft.irfft(spec, x.size)


def _sweep(n: int, sr: int, f_end: float, f_start: float, tau: float) -> np.ndarray:
    t = np.arange(n) / sr
    freq = f_end + (f_start - f_end) * np.exp(-t / tau)
    return np.sin(2 * np.pi * np.cumsum(freq) / sr)


def synthesize_kit(sample_rate: int, seed: int = 7) -> dict[str, np.ndarray]:
    """Every kit piece as a mono float32 one-shot, peak about 1."""
    sr = sample_rate
    rng = np.random.default_rng(seed)

    def noise(sec: float) -> np.ndarray:
        return rng.standard_normal(int(sec * sr))

    def n_of(sec: float) -> int:
        return int(sec * sr)

    kit: dict[str, np.ndarray] = {}
    n = n_of(0.5)
    click = np.zeros(n)
    click[: n_of(0.003)] = np.hanning(2 * n_of(0.003))[n_of(0.003) :]
    kit["kick"] = _sweep(n, sr, 48, 160, 0.03) * _exp_env(n, sr, 0.16) + 0.3 * click
    n = n_of(0.35)
    body = _sweep(n, sr, 180, 260, 0.02) * _exp_env(n, sr, 0.06)
    kit["snare"] = 0.7 * body + 0.6 * _band(noise(0.35), sr, 1200, 9000) * _exp_env(n, sr, 0.08)
    n = n_of(0.08)
    kit["rim"] = _band(noise(0.08), sr, 1500, 5000) * _exp_env(n, sr, 0.008) + 0.5 * np.sin(
        2 * np.pi * 1700 * np.arange(n) / sr
    ) * _exp_env(n, sr, 0.01)
    n = n_of(0.4)
    bursts = np.zeros(n)
    for k in range(4):
        start = n_of(0.011 * k)
        tau = 0.006 if k < 3 else 0.09
        bursts[start:] += _exp_env(n - start, sr, tau)
    kit["clap"] = _band(noise(0.4), sr, 900, 4000) * bursts
    hat = _one_pole_hp(noise(0.9), sr, 7000)
    kit["hat_closed"] = hat[: n_of(0.12)] * _exp_env(n_of(0.12), sr, 0.025)
    kit["hat_pedal"] = hat[: n_of(0.15)] * _exp_env(n_of(0.15), sr, 0.035)
    kit["hat_open"] = hat[: n_of(0.9)] * _exp_env(n_of(0.9), sr, 0.28)
    for name, f0 in (("tom_low", 90.0), ("tom_mid", 130.0), ("tom_high", 180.0)):
        n = n_of(0.6)
        kit[name] = _sweep(n, sr, f0, f0 * 1.6, 0.04) * _exp_env(n, sr, 0.2)
    n = n_of(2.5)
    t = np.arange(n) / sr
    metal = sum(np.sign(np.sin(2 * np.pi * f * t)) for f in (296, 421, 587, 803, 1047, 1379))
    crash = _one_pole_hp(metal * 0.3 + noise(2.5), sr, 3500)
    kit["crash"] = crash * _exp_env(n, sr, 0.7)
    n = n_of(1.5)
    ride = _band(metal[:n] + 0.3 * noise(1.5), sr, 3000, 12000)
    kit["ride"] = ride * _exp_env(n, sr, 0.5)
    for name, x in kit.items():
        x = x.copy()
        fade = min(x.size, n_of(0.005))  # no click at the end of a one-shot
        x[-fade:] *= np.linspace(1, 0, fade)
        kit[name] = (x / max(np.abs(x).max(), 1e-9)).astype(np.float32)
    return kit


def piece_for_note(note: int) -> str | None:
    """The kit piece a GM drum note plays (nearest listed note; None outside 27..87)."""
    if note in GM_DRUMS:
        return GM_DRUMS[note]
    if note < 27 or note > 87:
        return None
    nearest = min(GM_DRUMS, key=lambda k: (abs(k - note), k))
    return GM_DRUMS[nearest]


#: Mix level and stereo position of each piece (pan -1 left .. +1 right, drummer's view).
PIECE_MIX = {
    "kick": (1.0, 0.0),
    "snare": (0.8, 0.05),
    "rim": (0.5, 0.05),
    "clap": (0.6, 0.0),
    "hat_closed": (0.35, 0.3),
    "hat_pedal": (0.3, 0.3),
    "hat_open": (0.35, 0.3),
    "tom_low": (0.7, 0.35),
    "tom_mid": (0.7, 0.0),
    "tom_high": (0.7, -0.25),
    "crash": (0.4, -0.4),
    "ride": (0.35, 0.45),
}
