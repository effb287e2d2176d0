"""Quanta's built-in instrument: a polyphonic wavetable synth and a GM drum kit.

It makes sound on a fresh machine with no plugins and no files: tables and drum sounds are
computed with numpy at start-up. All of an instance's state is one float64 array and all it
reads is one shared array per sample rate; the work (events and rendering) is compiled code in
:mod:`engine.plugins.synth_core`, which the GIL-free audio callback also calls directly, so the
synth sounds the same offline and live. This class is the Python face: parameters, state,
and the ``Instrument`` interface.

Channel 10 (index 9) plays the drum kit. ``fixed_program`` makes every channel use one program
and ignores program changes (what ``--instrument builtin:pad`` asks for); otherwise General
MIDI program changes choose the nearest built-in program. A voice stolen while it sounded
earlier in the same block loses that block's head (only with all 64 voices busy). Pitch bend
applies per block.
"""

from __future__ import annotations

import numpy as np

from engine.plugins import synth_core as sc
from engine.plugins.base import KIND_INSTRUMENT, Instrument, Parameter, PluginInfo
from engine.plugins.builtin_programs import PROGRAM_NAMES, PROGRAMS, gm_to_program, program_by_name
from engine.plugins.synth_consts import consts_for, warm_up


class BuiltinSynth(Instrument):
    """The embedded default instrument. ``voices`` melodic voices plus ``drum_voices`` hits."""

    handles_drums = True
    #: The GIL-free audio path can play this instrument itself (see engine.audio.audio_native).
    native = True

    def __init__(
        self,
        sample_rate: int = 48000,
        max_block: int = 1024,
        voices: int = 64,
        drum_voices: int = 32,
        program: str | int | None = None,
        melodic: bool = True,
        drums: bool = True,
    ):
        self.sample_rate = int(sample_rate)
        self.max_block = int(max_block)
        self.melodic = melodic
        self.drums = drums
        name = "Quanta Synth" if melodic else "Quanta Drums"
        self.info = PluginInfo(name, "Quanta", "builtin", KIND_INSTRUMENT, "builtin")
        warm_up()  # load the compiled kernels now, not in the first audio block
        self.consts = consts_for(self.sample_rate)
        self.state = np.zeros(sc.state_size(voices, drum_voices))
        st = self.state
        st[sc.S_MAXV] = voices
        st[sc.S_MAXD] = drum_voices
        st[sc.S_VOLUME] = 1.0
        st[sc.S_MELODIC] = 1.0 if melodic else 0.0
        st[sc.S_DRUMS] = 1.0 if drums else 0.0
        st[sc.S_FIXED] = -1.0
        if program is not None:
            fixed = program_by_name(program) if isinstance(program, str) else gm_to_program(program)
            st[sc.S_FIXED] = fixed
        sc.reset(st)
        self.max_voices = voices
        self.max_drums = drum_voices
        ch, vs, _ = sc.views(st)
        self._ch = ch
        self._vs = vs

    # -- views for tests and the UI -------------------------------------------------------
    @property
    def k(self) -> int:
        """Sounding melodic voices."""
        return int(self.state[sc.S_K])

    @property
    def dk(self) -> int:
        """Sounding drum hits."""
        return int(self.state[sc.S_DK])

    @property
    def v_pitch(self) -> np.ndarray:
        return self._vs[sc.V_PITCH].astype(np.int64)

    @property
    def v_prog(self) -> np.ndarray:
        return self._vs[sc.V_PROG].astype(np.int64)

    @property
    def fixed_program(self) -> int | None:
        f = int(self.state[sc.S_FIXED])
        return None if f < 0 else f

    @property
    def volume(self) -> float:
        return float(self.state[sc.S_VOLUME])

    @volume.setter
    def volume(self, value: float) -> None:
        self.state[sc.S_VOLUME] = float(np.clip(value, 0.0, 2.0))

    # -- Plugin interface -----------------------------------------------------------------
    def parameters(self) -> list[Parameter]:
        prog = self.fixed_program if self.fixed_program is not None else -1
        return [
            Parameter("volume", "Volume", 0.0, 2.0, 1.0, self.volume),
            Parameter("program", "Program (-1: follow MIDI)", -1, len(PROGRAMS) - 1, -1, prog),
        ]

    def set_parameter(self, ident: str, value: float) -> None:
        if ident == "volume":
            self.volume = value
        elif ident == "program":
            p = int(value)
            fixed = -1 if p < 0 else min(p, len(PROGRAMS) - 1)
            self.state[sc.S_FIXED] = fixed
            if fixed >= 0:
                self._ch[sc.CH_PROG, :] = fixed
        else:
            super().set_parameter(ident, value)

    def get_state(self) -> dict:
        prog = None if self.fixed_program is None else PROGRAM_NAMES[self.fixed_program]
        return {"volume": self.volume, "program": prog}

    def set_state(self, state: dict) -> None:
        self.volume = float(state.get("volume", 1.0))
        prog = state.get("program")
        self.set_parameter("program", -1 if prog is None else program_by_name(prog))

    def reset(self) -> None:
        sc.reset(self.state)

    @property
    def active_voices(self) -> int:
        return self.k + self.dk

    def process(self, events: np.ndarray, out: np.ndarray) -> None:
        sc.process_records(self.state, self.consts, events, out)

    def process_rows(self, rows: np.ndarray, count: int, out: np.ndarray) -> None:
        """The mixer's event form (float64 rows: offset, status, data1, data2)."""
        sc.process_rows(self.state, self.consts, rows, count, out, out.shape[1])

    def is_silent(self) -> bool:
        return self.state[sc.S_K] == 0 and self.state[sc.S_DK] == 0


class BuiltinDrumKit(BuiltinSynth):
    """Only the drum kit (channel 10): what the mixer adds when an instrument has no drums."""

    def __init__(self, sample_rate: int = 48000, max_block: int = 1024, drum_voices: int = 32):
        super().__init__(sample_rate, max_block, voices=1, drum_voices=drum_voices, melodic=False)
