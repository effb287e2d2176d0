"""The built-in synth's programs: band-limited wavetables and envelopes, plus the GM mapping.

Each program is a pair of additive spectra, "bright" (heard at the attack and at high
velocity) and "dull" (what the note decays to). Tables are built per octave with only the
partials below Nyquist for the highest note of that octave, so every oscillator is
band-limited by construction and a voice costs one table lookup per sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TABLE_SIZE = 2048
#: Octave bands: band b holds notes whose fundamental is below 27.5 Hz * 2**(b+1).
N_BANDS = 11
BAND_BASE_HZ = 27.5


@dataclass(frozen=True)
class Program:
    name: str
    bright: tuple[float, ...]  # partial amplitudes, harmonic 1, 2, 3, ...
    dull: tuple[float, ...]
    attack: float  # seconds, linear
    decay: float  # seconds, exponential time constant toward sustain
    sustain: float  # 0..1
    release: float  # seconds, exponential time constant
    velocity_curve: float  # amplitude = (velocity/127) ** curve
    brightness: float  # how much of the bright table a full-velocity attack gets, 0..1
    gain: float = 1.0


def _saw(n: int, rolloff: float = 1.0) -> tuple[float, ...]:
    return tuple(1.0 / (k**rolloff) for k in range(1, n + 1))


def _piano(n: int, tilt: float) -> tuple[float, ...]:
    # A struck string: strong low partials, a dip at the 7th-ish (hammer position), tilt decay.
    return tuple((1.0 / k**tilt) * (0.35 if k % 7 == 0 else 1.0) for k in range(1, n + 1))


PROGRAMS: tuple[Program, ...] = (
    Program("piano", _piano(40, 1.1), _piano(12, 2.2), 0.002, 0.9, 0.0, 0.25, 1.6, 0.9, 1.0),
    Program(
        "e-piano",
        (1.0, 0.15, 0.05, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.22, 0.12),
        (1.0, 0.08),
        0.001,
        1.4,
        0.0,
        0.35,
        1.5,
        0.8,
        1.1,
    ),
    Program(
        "organ",
        (1.0, 0.8, 0.6, 0.5, 0.0, 0.4, 0.0, 0.35, 0.0, 0.0, 0.0, 0.2),
        (1.0, 0.8, 0.6, 0.5, 0.0, 0.4, 0.0, 0.35, 0.0, 0.0, 0.0, 0.2),
        0.006,
        1.0,
        1.0,
        0.05,
        0.3,
        0.0,
        0.55,
    ),
    Program("bass", _saw(24, 1.3), _saw(6, 2.0), 0.003, 0.5, 0.45, 0.08, 1.2, 0.7, 1.3),
    Program("pad", _saw(48, 1.0), _saw(10, 1.6), 0.35, 2.5, 0.7, 0.9, 0.8, 0.3, 0.6),
)
PROGRAM_NAMES = tuple(p.name for p in PROGRAMS)


def gm_to_program(gm: int) -> int:
    """The built-in program nearest a General MIDI program (0-127), by GM family.

    Pianos, guitars and ethnic plucks → piano; electric pianos and chromatic percussion →
    e-piano; organs, brass, reeds, pipes and leads (sustained, bright) → organ; basses → bass;
    strings, ensembles, pads and effects → pad.
    """
    gm = int(gm) & 0x7F
    if gm in (4, 5) or 8 <= gm <= 15 or 112 <= gm <= 119:
        return PROGRAM_NAMES.index("e-piano")
    if gm <= 7 or 24 <= gm <= 31 or 104 <= gm <= 111:
        return PROGRAM_NAMES.index("piano")
    if 16 <= gm <= 23 or 56 <= gm <= 87:
        return PROGRAM_NAMES.index("organ")
    if 32 <= gm <= 39:
        return PROGRAM_NAMES.index("bass")
    return PROGRAM_NAMES.index("pad")


def program_by_name(name: str) -> int:
    """Index of a built-in program by name or GM number (``"pad"``, ``"e-piano"``, ``"33"``)."""
    key = name.strip().lower()
    if key.isdigit():
        return gm_to_program(int(key))
    aliases = {"epiano": "e-piano", "ep": "e-piano", "keys": "e-piano", "strings": "pad"}
    key = aliases.get(key, key)
    if key not in PROGRAM_NAMES:
        from engine.errors import DeviceError

        raise DeviceError(
            f"built-in synth has no program {name!r}; use one of {', '.join(PROGRAM_NAMES)} "
            "or a General MIDI number 0-127"
        )
    return PROGRAM_NAMES.index(key)


def _table(spectrum: tuple[float, ...], max_harmonic: int) -> np.ndarray:
    phase = np.arange(TABLE_SIZE) * (2 * np.pi / TABLE_SIZE)
    wave = np.zeros(TABLE_SIZE)
    for k, a in enumerate(spectrum[:max_harmonic], start=1):
        if a:
            wave += a * np.sin(k * phase)
    return wave


def build_tables(sample_rate: int) -> np.ndarray:
    """Tables shaped (programs, 2 (bright, dull), bands, TABLE_SIZE + 1), float32, peak-normalised.

    The extra sample wraps around so linear interpolation needs no modulo.
    """
    out = np.zeros((len(PROGRAMS), 2, N_BANDS, TABLE_SIZE + 1), dtype=np.float32)
    nyquist = sample_rate / 2
    for p, prog in enumerate(PROGRAMS):
        # One normalisation per program (from the fullest table) so bands match in loudness.
        full = _table(prog.bright, len(prog.bright))
        norm = 1.0 / max(np.abs(full).max(), 1e-9)
        for b in range(N_BANDS):
            top_hz = BAND_BASE_HZ * 2 ** (b + 1)
            max_h = max(1, int(nyquist * 0.95 // top_hz))
            for s, spectrum in enumerate((prog.bright, prog.dull)):
                t = _table(spectrum, max_h) * norm
                out[p, s, b, :TABLE_SIZE] = t
                out[p, s, b, TABLE_SIZE] = t[0]
    return out


def band_of(freq_hz: float) -> int:
    b = int(np.floor(np.log2(max(freq_hz, BAND_BASE_HZ) / BAND_BASE_HZ)))
    return min(max(b, 0), N_BANDS - 1)
