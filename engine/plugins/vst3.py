"""VST3 hosting through pedalboard's ``load_plugin`` (Linux: VST3 only).

pedalboard's loader runs in-process and some plugins hang in it (Debian's ZamVerb loops on
"samplerate mismatch"), so callers load a VST3 only after :mod:`engine.plugins.scan` has
probed it in a child process (see :func:`engine.plugins.loader.load_effect`). Instruments
stream with ``reset=False`` one block at a time, MIDI stamped in seconds within the block.
"""

from __future__ import annotations

import os

import numpy as np

from engine.errors import DeviceError
from engine.plugins.base import KIND_EFFECT, KIND_INSTRUMENT, Instrument, PluginInfo
from engine.plugins.effects import PedalboardEffect
from engine.plugins.fpenv import preserved_fp_env

VST3_DIRS = ("~/.vst3", "/usr/lib/vst3", "/usr/local/lib/vst3", "/usr/lib/x86_64-linux-gnu/vst3")


def find_vst3() -> list[str]:
    """Every ``*.vst3`` bundle in the standard Linux folders (sorted, no duplicates)."""
    found = []
    for d in VST3_DIRS:
        d = os.path.expanduser(d)
        if os.path.isdir(d):
            found += [os.path.join(d, n) for n in sorted(os.listdir(d)) if n.endswith(".vst3")]
    return sorted(set(found))


def _load(path: str):
    if not os.path.exists(path):
        raise DeviceError(f"VST3 plugin {path} does not exist")
    try:
        import pedalboard
    except ImportError:
        raise DeviceError("VST3 support needs the pedalboard package") from None
    try:
        with preserved_fp_env():
            return pedalboard.load_plugin(path)
    except (ImportError, RuntimeError, ValueError) as exc:
        why = load_error_text(str(exc), path) or type(exc).__name__
        raise DeviceError(f"VST3 plugin {os.path.basename(path)} failed to load: {why}") from None


def load_error_text(message: str, path: str) -> str:
    """pedalboard's loader error in one line: its "Failed to load plugin as VST3Plugin.
    Errors were:" header (the reasons follow on later lines) is dropped, the reasons are
    kept and joined, and the full path (the message names the plugin already) shortened."""
    reasons = []
    for line in message.splitlines():
        line = line.strip()
        if not line or line.endswith("Errors were:"):
            continue
        line = line.removeprefix("VST3Plugin:").strip()
        reasons.append(line.replace(path, os.path.basename(path)))
    return "; ".join(reasons)


def load_vst3(path: str):
    """The pedalboard plugin object for a VST3 (its editor, ``raw_state``); probe it first."""
    return _load(path)


def _info(plugin, path: str, kind: str) -> PluginInfo:
    name = getattr(plugin, "name", "") or os.path.basename(path)
    vendor = getattr(plugin, "manufacturer_name", "") or ""
    return PluginInfo(name, vendor, "vst3", kind, path)


def load_vst3_effect(path: str, sample_rate: int, max_block: int) -> PedalboardEffect:
    plugin = _load(path)
    if getattr(plugin, "is_instrument", False):
        raise DeviceError(f"VST3 plugin {os.path.basename(path)} is an instrument, not an effect")
    first = [plugin]

    def make():
        return first.pop() if first else _load(path)

    return PedalboardEffect(make, _info(plugin, path, KIND_EFFECT), sample_rate, max_block)


class VST3Instrument(Instrument):
    """A VST3 instrument streamed block by block (``reset=False``)."""

    handles_drums = False

    def __init__(self, path: str, sample_rate: int = 48000, max_block: int = 1024):
        self.sample_rate, self.max_block = sample_rate, max_block
        self.plugin = _load(path)
        if not getattr(self.plugin, "is_instrument", False):
            raise DeviceError(
                f"VST3 plugin {os.path.basename(path)} is an effect, not an instrument"
            )
        self.info = _info(self.plugin, path, KIND_INSTRUMENT)
        self.latency = int(getattr(self.plugin, "reported_latency_samples", 0) or 0)

    def process(self, events: np.ndarray, out: np.ndarray) -> None:
        n = out.shape[1]
        sr = self.sample_rate
        msgs = []
        for ev in events:
            status = int(ev["status"])
            size = 2 if (status & 0xF0) in (0xC0, 0xD0) else 3
            data = bytes((status, int(ev["data1"]), int(ev["data2"])))[:size]
            msgs.append((data, int(ev["offset"]) / sr))
        audio = self.plugin(
            msgs, duration=n / sr, sample_rate=sr, num_channels=2, buffer_size=n, reset=False
        )
        out[:, :] = audio[:, :n] if audio.shape[0] > 1 else audio[0, :n]

    def reset(self) -> None:
        self.plugin.reset()
