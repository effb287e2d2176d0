"""SoundFont (SF2) instruments through pyfluidsynth and Debian's ``libfluidsynth3``.

The synth renders with ``fluid_synth_write_float`` straight into preallocated float32 buffers
(pyfluidsynth's ``get_samples`` allocates per call). A block is rendered in pieces split at
each event's sample offset; FluidSynth itself then starts the note at its next internal
64-sample boundary (≤ 1.3 ms late at 48 kHz), a limit of the library. FluidSynth plays GM drums on
channel 10 itself (bank 128), so ``handles_drums`` is true.
"""

from __future__ import annotations

import ctypes as C
import os
import stat

import numpy as np

from engine.errors import DeviceError
from engine.plugins.base import KIND_INSTRUMENT, Instrument, Parameter, PluginInfo

SOUNDFONT_DIRS = (
    "~/.local/share/soundfonts",
    "~/.local/share/sounds/sf2",
    "/usr/share/soundfonts",
    "/usr/share/sounds/sf2",
    "/usr/local/share/soundfonts",
)


def find_soundfonts() -> list[str]:
    """SF2 files in the usual user and system folders (symlinks resolved, no duplicates)."""
    seen: dict[str, str] = {}
    for d in SOUNDFONT_DIRS:
        d = os.path.expanduser(d)
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            path = os.path.join(d, name)
            if name.lower().endswith(".sf2") and os.path.isfile(path):
                seen.setdefault(os.path.realpath(path), path)
    return sorted(seen.values())


def _fluidsynth():
    try:
        import contextlib
        import io

        # pyfluidsynth prints "'fluidsynth' was found at ..." on import; that must not end up
        # in `quanta plugins --json` or any other output.
        with contextlib.redirect_stdout(io.StringIO()):
            import fluidsynth
    except (ImportError, OSError):
        raise DeviceError(
            "SoundFont support needs pyfluidsynth and libfluidsynth "
            "(pip install pyfluidsynth; apt install libfluidsynth3)"
        ) from None
    return fluidsynth


def fluidsynth_available() -> bool:
    try:
        _fluidsynth()
    except DeviceError:
        return False
    return True


def _check_regular_file(path: str) -> None:
    """A SoundFont must be a regular file: a FIFO would block the open for ever and a device
    such as /dev/zero would be read without end, so neither is ever opened."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise DeviceError(f"SoundFont {path} does not exist") from None
    except OSError as exc:
        raise DeviceError(f"SoundFont {path} cannot be read: {exc.strerror}") from None
    if stat.S_ISDIR(mode):
        raise DeviceError(f"SoundFont {path} is a folder, not an .sf2 file")
    if not stat.S_ISREG(mode):
        if stat.S_ISFIFO(mode):
            what = "a FIFO"
        elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            what = "a device"
        else:
            what = "a socket" if stat.S_ISSOCK(mode) else "special"
        raise DeviceError(f"SoundFont {path} is not a regular file ({what})")


class SF2Instrument(Instrument):
    """A SoundFont played by FluidSynth; ``path=None`` picks the first system SoundFont."""

    handles_drums = True

    def __init__(
        self,
        path: str | None = None,
        sample_rate: int = 48000,
        max_block: int = 1024,
        gain: float = 0.5,
        polyphony: int = 64,
    ):
        fs = _fluidsynth()
        if path is None:
            found = find_soundfonts()
            if not found:
                raise DeviceError(
                    "no SoundFont found; pass sf2:PATH or install one "
                    "(e.g. apt install timgm6mb-soundfont)"
                )
            path = found[0]
        _check_regular_file(path)
        self.sample_rate, self.max_block = sample_rate, max_block
        self.synth = fs.Synth(gain=gain, samplerate=sample_rate)
        self.synth.setting("synth.polyphony", polyphony)
        self.synth.setting("synth.reverb.active", 0)
        self.synth.setting("synth.chorus.active", 0)
        self.sfid = self.synth.sfload(path)
        if self.sfid == -1:
            self.synth.delete()
            raise DeviceError(f"SoundFont {path} could not be read (not a valid SF2 file?)")
        for ch in range(16):
            self.synth.program_select(ch, self.sfid, 128 if ch == 9 else 0, 0)
        self.path = path
        self.gain = gain
        name = os.path.splitext(os.path.basename(path))[0]
        self.info = PluginInfo(name, "FluidSynth", "sf2", KIND_INSTRUMENT, path)
        self._write = fs._fl.fluid_synth_write_float
        self._write.argtypes = [C.c_void_p, C.c_int] + [C.c_void_p, C.c_int, C.c_int] * 2
        self._write.restype = C.c_int
        self._ptr = self.synth.synth

    def parameters(self) -> list[Parameter]:
        return [Parameter("gain", "Gain", 0.0, 10.0, 0.5, self.gain)]

    def set_parameter(self, ident: str, value: float) -> None:
        if ident != "gain":
            super().set_parameter(ident, value)
        self.gain = float(value)
        self.synth.setting("synth.gain", self.gain)

    def get_state(self) -> dict:
        return {"path": self.path, "gain": self.gain}

    def _send(self, status: int, d1: int, d2: int) -> None:
        s, ch = self.synth, status & 0x0F
        kind = status & 0xF0
        if kind == 0x90:
            s.noteon(ch, d1, d2) if d2 else s.noteoff(ch, d1)
        elif kind == 0x80:
            s.noteoff(ch, d1)
        elif kind == 0xB0:
            s.cc(ch, d1, d2)
        elif kind == 0xC0:
            s.program_change(ch, d1)
        elif kind == 0xE0:
            s.pitch_bend(ch, ((d2 << 7) | d1) - 8192)

    def _render(self, out: np.ndarray, start: int, stop: int) -> None:
        if stop <= start:
            return
        left = out[0].ctypes.data + 4 * start
        right = out[1].ctypes.data + 4 * start
        self._write(self._ptr, stop - start, left, 0, 1, right, 0, 1)

    def process(self, events: np.ndarray, out: np.ndarray) -> None:
        n = out.shape[1]
        pos = 0
        for ev in events:
            off = min(int(ev["offset"]), n)
            self._render(out, pos, off)
            pos = max(pos, off)
            self._send(int(ev["status"]), int(ev["data1"]), int(ev["data2"]))
        self._render(out, pos, n)

    def reset(self) -> None:
        for ch in range(16):
            self.synth.cc(ch, 120, 0)

    def close(self) -> None:
        if getattr(self, "synth", None) is not None:
            self.synth.delete()
            self.synth = None
