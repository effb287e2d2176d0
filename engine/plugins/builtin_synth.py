"""Quanta's built-in instrument: a polyphonic wavetable synth and a GM drum kit.

It makes sound on a fresh machine with no plugins and no files: tables and drum sounds are
computed with numpy at start-up. Voice state lives in preallocated numpy arrays kept compact
(active voices first); MIDI events only touch a few scalars. The per-sample work is one
compiled pass over all voices (:mod:`engine.plugins.synth_kernels`, numba; see there why),
with the envelope in closed form (a function of each voice's age).

A note-on at sample offset ``o`` gives its voice an age of ``-o`` at the block start; the
closed-form envelope is zero for negative ages, so the note starts on its exact sample. Pitch
bend is applied per block (not per sample). A voice stolen while it sounded earlier in the same
block loses that block's head (only happens with all 64 voices busy).

Channel 10 (index 9) plays the drum kit. ``fixed_program`` makes every channel use one program
and ignores program changes (what ``--instrument builtin:pad`` asks for); otherwise General
MIDI program changes choose the nearest built-in program.
"""

from __future__ import annotations

import numpy as np

from engine.plugins.base import KIND_INSTRUMENT, Instrument, Parameter, PluginInfo
from engine.plugins.builtin_drums import (
    CHOKED_BY,
    PIECE_MIX,
    piece_for_note,
    synthesize_kit,
)
from engine.plugins.builtin_programs import (
    N_BANDS,
    PROGRAM_NAMES,
    PROGRAMS,
    TABLE_SIZE,
    band_of,
    build_tables,
    gm_to_program,
    program_by_name,
)
from engine.plugins.synth_kernels import render_drums, render_voices, warm_up

DRUM_CHANNEL = 9
NOT_RELEASED = -1e18
_SILENT = 1e-3  # envelope level below which a voice is freed (-60 dB; voices peak at -10 dBFS)
_TABLE_CACHE: dict[int, np.ndarray] = {}
_KIT_CACHE: dict[int, tuple[np.ndarray, dict[str, tuple[int, int]]]] = {}


def _tables(sample_rate: int) -> np.ndarray:
    if sample_rate not in _TABLE_CACHE:
        _TABLE_CACHE[sample_rate] = build_tables(sample_rate)
    return _TABLE_CACHE[sample_rate]


def _kit(sample_rate: int) -> tuple[np.ndarray, dict[str, tuple[int, int]]]:
    """One flat sample bank per rate and each piece's (start, length) in it."""
    if sample_rate not in _KIT_CACHE:
        pieces = synthesize_kit(sample_rate)
        where: dict[str, tuple[int, int]] = {}
        pos = 0
        for name, x in pieces.items():
            where[name] = (pos, x.size)
            pos += x.size
        bank = np.concatenate(list(pieces.values())).astype(np.float64)
        _KIT_CACHE[sample_rate] = (bank, where)
    return _KIT_CACHE[sample_rate]


def _pan_gains(pan01: float) -> tuple[float, float]:
    a = pan01 * np.pi / 2
    return float(np.cos(a)), float(np.sin(a))


class BuiltinSynth(Instrument):
    """The embedded default instrument. ``voices`` melodic voices plus ``drum_voices`` hits."""

    handles_drums = True

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
        self.fixed_program: int | None = None
        if program is not None:
            self.fixed_program = (
                program_by_name(program) if isinstance(program, str) else gm_to_program(program)
            )
        self.volume = 1.0
        self._tab = _tables(self.sample_rate).reshape(-1)
        self._bank, self._pieces = _kit(self.sample_rate)
        self._piece_names = list(self._pieces)
        self._alloc_voices(voices)
        self._alloc_drums(drum_voices)
        self._alloc_channels()
        warm_up()

    # -- allocation ----------------------------------------------------------------------
    def _alloc_voices(self, n: int) -> None:
        self.max_voices = n
        self.k = 0  # active voices are 0..k-1
        z = np.zeros
        self.v_ch = z(n, np.int64)
        self.v_pitch = z(n, np.int64)
        self.v_prog = z(n, np.int64)
        self.v_base_b = z(n, np.int64)
        self.v_base_d = z(n, np.int64)
        self.v_phase = z(n)
        self.v_inc = z(n)
        self.v_age = z(n)
        self.v_rel = np.full(n, NOT_RELEASED)
        self.v_rel_level = z(n)
        self.v_A = np.ones(n)
        self.v_invD = z(n)
        self.v_S = z(n)
        self.v_invR = z(n)
        self.v_oneS = z(n)
        self.v_amp = z(n)
        self.v_bright = z(n)
        self.v_held = z(n, bool)
        self.v_serial = z(n, np.int64)
        self._serial = 0
        self._done = z(n, bool)

    def _alloc_drums(self, n: int) -> None:
        self.max_drums = n
        self.dk = 0
        z = np.zeros
        self.d_start = z(n, np.int64)
        self.d_len = z(n, np.int64)
        self.d_pos = z(n, np.int64)
        self.d_end = z(n, np.int64)
        self.d_piece = z(n, np.int64)
        self.d_gl = z(n)
        self.d_gr = z(n)

    def _alloc_channels(self) -> None:
        self.ch_volume = np.full(16, (100 / 127) ** 2)
        self.ch_expr = np.ones(16)
        self.ch_pan = np.full(16, 0.5)
        self.ch_bend = np.ones(16)
        self.ch_sustain = np.zeros(16, bool)
        default = self.fixed_program if self.fixed_program is not None else 0
        self.ch_program = np.full(16, default, np.int64)

    # -- Plugin interface -----------------------------------------------------------------
    def parameters(self) -> list[Parameter]:
        prog = self.fixed_program if self.fixed_program is not None else -1
        return [
            Parameter("volume", "Volume", 0.0, 2.0, 1.0, self.volume),
            Parameter("program", "Program (-1: follow MIDI)", -1, len(PROGRAMS) - 1, -1, prog),
        ]

    def set_parameter(self, ident: str, value: float) -> None:
        if ident == "volume":
            self.volume = float(np.clip(value, 0.0, 2.0))
        elif ident == "program":
            p = int(value)
            self.fixed_program = None if p < 0 else min(p, len(PROGRAMS) - 1)
            if self.fixed_program is not None:
                self.ch_program[:] = self.fixed_program
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
        self.k = 0
        self.dk = 0
        self._alloc_channels()

    @property
    def active_voices(self) -> int:
        return self.k + self.dk

    # -- MIDI -------------------------------------------------------------------------------
    def process(self, events: np.ndarray, out: np.ndarray) -> None:
        n = out.shape[1]
        for ev in events:
            self._handle(int(ev["offset"]), int(ev["status"]), int(ev["data1"]), int(ev["data2"]))
        out.fill(0.0)
        if self.k:
            self._render_voices(n, out)
        if self.dk:
            self._render_drums(n, out)

    def _handle(self, off: int, status: int, d1: int, d2: int) -> None:
        kind, ch = status & 0xF0, status & 0x0F
        if kind == 0x90 and d2 > 0:
            if ch == DRUM_CHANNEL:
                if self.drums:
                    self._drum_on(off, d1, d2)
            elif self.melodic:
                self._note_on(off, ch, d1, d2)
        elif kind == 0x80 or kind == 0x90:
            if ch != DRUM_CHANNEL and self.melodic:
                self._note_off(off, ch, d1)
        elif kind == 0xB0:
            self._control(off, ch, d1, d2)
        elif kind == 0xC0:
            if self.fixed_program is None:
                self.ch_program[ch] = gm_to_program(d1)
        elif kind == 0xE0:
            semis = ((d2 << 7 | d1) - 8192) / 8192 * 2.0
            self.ch_bend[ch] = 2.0 ** (semis / 12)

    def _control(self, off: int, ch: int, cc: int, val: int) -> None:
        if cc == 7:
            self.ch_volume[ch] = (val / 127) ** 2
        elif cc == 11:
            self.ch_expr[ch] = (val / 127) ** 2
        elif cc == 10:
            self.ch_pan[ch] = val / 127
        elif cc == 64:
            down = val >= 64
            self.ch_sustain[ch] = down
            if not down:
                for i in np.flatnonzero(self.v_held[: self.k] & (self.v_ch[: self.k] == ch)):
                    self.v_held[i] = False
                    self._release(int(i), off)
        elif cc in (120, 123):  # all sound off / all notes off
            if cc == 120:
                keep = self.v_ch[: self.k] != ch
                self._keep_voices(keep)
                if ch == DRUM_CHANNEL:
                    self.dk = 0
            else:
                for i in np.flatnonzero(self.v_rel[: self.k] == NOT_RELEASED):
                    if self.v_ch[i] == ch:
                        self._release(int(i), off)
        elif cc == 121:
            self.ch_volume[ch] = (100 / 127) ** 2
            self.ch_expr[ch] = 1.0
            self.ch_pan[ch] = 0.5
            self.ch_bend[ch] = 1.0

    def _note_on(self, off: int, ch: int, pitch: int, vel: int) -> None:
        i = self._free_voice()
        prog_i = int(self.ch_program[ch])
        prog = PROGRAMS[prog_i]
        sr = self.sample_rate
        freq = 440.0 * 2.0 ** ((pitch - 69) / 12)
        inc = freq * TABLE_SIZE / sr
        band = band_of(freq * 1.12)  # room for a 2-semitone bend up
        stride = TABLE_SIZE + 1
        self.v_ch[i] = ch
        self.v_pitch[i] = pitch
        self.v_prog[i] = prog_i
        self.v_base_b[i] = ((prog_i * 2 + 0) * N_BANDS + band) * stride
        self.v_base_d[i] = ((prog_i * 2 + 1) * N_BANDS + band) * stride
        self.v_inc[i] = inc
        self.v_phase[i] = (-inc * off) % TABLE_SIZE
        self.v_age[i] = -off
        self.v_rel[i] = NOT_RELEASED
        self.v_A[i] = max(prog.attack * sr, 1.0)
        self.v_invD[i] = 1.0 / (prog.decay * sr)
        self.v_S[i] = prog.sustain
        self.v_oneS[i] = 1.0 - prog.sustain
        self.v_invR[i] = 1.0 / (prog.release * sr)
        v = vel / 127
        self.v_amp[i] = 0.3 * prog.gain * v**prog.velocity_curve
        self.v_bright[i] = prog.brightness * (0.35 + 0.65 * v)
        self.v_held[i] = False
        self.v_serial[i] = self._serial
        self._serial += 1

    def _free_voice(self) -> int:
        if self.k < self.max_voices:
            self.k += 1
            return self.k - 1
        released = np.flatnonzero(self.v_rel[: self.k] != NOT_RELEASED)
        if released.size:  # the quietest released voice
            return int(released[np.argmin(self.v_rel_level[released])])
        return int(np.argmin(self.v_serial[: self.k]))  # the oldest

    def _env_at(self, i: int, t: float) -> float:
        """The closed-form attack/decay/sustain level of voice ``i`` at age ``t`` samples."""
        if t < 0:
            return 0.0
        att = min(t / self.v_A[i], 1.0)
        dn = np.exp(-max(t - self.v_A[i], 0.0) * self.v_invD[i])
        return float(att * (self.v_S[i] + self.v_oneS[i] * dn))

    def _release(self, i: int, off: int) -> None:
        if self.v_rel[i] != NOT_RELEASED:
            return
        self.v_rel_level[i] = self._env_at(i, self.v_age[i] + off)
        self.v_rel[i] = -off

    def _note_off(self, off: int, ch: int, pitch: int) -> None:
        k = self.k
        hits = np.flatnonzero(
            (self.v_ch[:k] == ch) & (self.v_pitch[:k] == pitch) & (self.v_rel[:k] == NOT_RELEASED)
        )
        for i in hits:
            if self.ch_sustain[ch]:
                self.v_held[i] = True
            else:
                self._release(int(i), off)

    def _drum_on(self, off: int, note: int, vel: int) -> None:
        piece = piece_for_note(note)
        if piece is None:
            return
        for choked, by in CHOKED_BY.items():
            if piece in by:
                idx = self._piece_names.index(choked)
                for j in np.flatnonzero(self.d_piece[: self.dk] == idx):
                    self.d_end[j] = min(self.d_end[j], self.d_pos[j] + off)
        if self.dk < self.max_drums:
            j = self.dk
            self.dk += 1
        else:
            j = int(np.argmax(self.d_pos[: self.dk]))
        start, length = self._pieces[piece]
        level, pan = PIECE_MIX[piece]
        gl, gr = _pan_gains((pan + 1) / 2)
        v = (vel / 127) ** 1.5 * level * 0.6 * self.ch_volume[DRUM_CHANNEL] / (100 / 127) ** 2
        self.d_start[j] = start
        self.d_len[j] = length
        self.d_pos[j] = -off
        self.d_end[j] = length
        self.d_piece[j] = self._piece_names.index(piece)
        self.d_gl[j] = v * gl
        self.d_gr[j] = v * gr

    # -- rendering --------------------------------------------------------------------------
    def _render_voices(self, n: int, out: np.ndarray) -> None:
        k = self.k
        done = self._done[:k]
        n_done = render_voices(
            k, n, self._tab, TABLE_SIZE, self.v_age, self.v_rel, self.v_rel_level, self.v_A,
            self.v_invD, self.v_S, self.v_invR, self.v_phase, self.v_inc, self.v_base_b,
            self.v_base_d, self.v_bright, self.v_amp, self.v_ch, self.ch_volume, self.ch_expr,
            self.ch_pan, self.ch_bend, self.volume, out, done, _SILENT,
        )  # fmt: skip
        if n_done:
            self._keep_voices(~done)

    def is_silent(self) -> bool:
        return self.k == 0 and self.dk == 0

    def _keep_voices(self, keep: np.ndarray) -> None:
        """Compact the voice arrays to the voices in ``keep`` (a mask over the active ones)."""
        idx = np.flatnonzero(keep)
        m = idx.size
        for arr in (
            self.v_ch,
            self.v_pitch,
            self.v_prog,
            self.v_base_b,
            self.v_base_d,
            self.v_phase,
            self.v_inc,
            self.v_age,
            self.v_rel,
            self.v_rel_level,
            self.v_A,
            self.v_invD,
            self.v_S,
            self.v_oneS,
            self.v_invR,
            self.v_amp,
            self.v_bright,
            self.v_held,
            self.v_serial,
        ):
            arr[:m] = arr[idx]
        self.k = m

    def _render_drums(self, n: int, out: np.ndarray) -> None:
        k = self.dk
        render_drums(
            k, n, self._bank, self.d_start, self.d_len, self.d_pos, self.d_end, self.d_gl,
            self.d_gr, self.volume, out,
        )  # fmt: skip
        self.d_pos[:k] += n
        done = self.d_pos[:k] >= np.minimum(self.d_end[:k], self.d_len[:k])
        if done.any():
            idx = np.flatnonzero(~done)
            m = idx.size
            for arr in (
                self.d_start,
                self.d_len,
                self.d_pos,
                self.d_end,
                self.d_piece,
                self.d_gl,
                self.d_gr,
            ):
                arr[:m] = arr[idx]
            self.dk = m


class BuiltinDrumKit(BuiltinSynth):
    """Only the drum kit (channel 10): what the mixer adds when an instrument has no drums."""

    def __init__(self, sample_rate: int = 48000, max_block: int = 1024, drum_voices: int = 32):
        super().__init__(sample_rate, max_block, voices=1, drum_voices=drum_voices, melodic=False)
