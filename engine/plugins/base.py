"""The one small interface every sound source and effect in Quanta implements.

Instruments take MIDI and write audio; effects process audio in place. Both expose parameters,
a JSON-able state, latency and a ``PluginInfo`` for the UI. Audio is planar stereo float32,
shape ``(2, frames)``: the layout pedalboard and LV2 ports use, so no transposes in the hot path.

MIDI arrives per block as a ``BLOCK_EVENT_DTYPE`` array (sample offset + three bytes), already
cut to the block and sorted by offset. The array is preallocated by the caller; plugins must not
keep a reference to it after ``process`` returns.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field

import numpy as np

#: One MIDI message inside a block: its sample offset and up to three bytes (sysex is not
#: delivered to instruments; a message's unused bytes are 0).
BLOCK_EVENT_DTYPE = np.dtype(
    [("offset", np.int32), ("status", np.uint8), ("data1", np.uint8), ("data2", np.uint8)]
)

KIND_INSTRUMENT = "instrument"
KIND_EFFECT = "effect"


@dataclass(frozen=True)
class PluginInfo:
    """What the UI and ``quanta plugins`` show: format is builtin, lv2, vst3, sf2 or stock."""

    name: str
    vendor: str
    format: str
    kind: str  # KIND_INSTRUMENT or KIND_EFFECT
    ident: str  # URI (lv2), path (vst3, sf2) or name (builtin, stock): enough to load it again

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Parameter:
    """A plugin parameter in its own units (LV2 ranges, pedalboard values, 0..1 otherwise)."""

    ident: str
    name: str
    minimum: float
    maximum: float
    default: float
    value: float = field(default=0.0)


def empty_block_events(capacity: int = 1024) -> np.ndarray:
    return np.zeros(capacity, dtype=BLOCK_EVENT_DTYPE)


class Plugin(ABC):
    """Common part of instruments and effects."""

    info: PluginInfo
    sample_rate: int
    max_block: int
    #: Samples the plugin delays its output by (reported to the mixer for compensation).
    latency: int = 0

    def parameters(self) -> list[Parameter]:
        return []

    def set_parameter(self, ident: str, value: float) -> None:
        from engine.errors import DeviceError

        raise DeviceError(f"{self.info.name}: no parameter named {ident!r}")

    def get_parameter(self, ident: str) -> float:
        for p in self.parameters():
            if p.ident == ident:
                return p.value
        from engine.errors import DeviceError

        raise DeviceError(f"{self.info.name}: no parameter named {ident!r}")

    def get_state(self) -> dict:
        """Everything needed to restore the sound later (JSON-able). Default: parameter values."""
        return {"parameters": {p.ident: p.value for p in self.parameters()}}

    def set_state(self, state: dict) -> None:
        for ident, value in state.get("parameters", {}).items():
            self.set_parameter(ident, float(value))

    def reset(self) -> None:
        """Silence everything (stop voices, clear tails) without forgetting parameters."""
        return None

    def close(self) -> None:
        """Free native resources. Safe to call twice."""
        return None


class Instrument(Plugin):
    """MIDI in, stereo audio out."""

    #: True when the instrument plays General MIDI drums on channel 10 itself; otherwise the
    #: mixer sends channel-10 notes to the built-in drum kit.
    handles_drums: bool = False

    @abstractmethod
    def process(self, events: np.ndarray, out: np.ndarray) -> None:
        """Render ``out.shape[1]`` frames into ``out`` (overwritten), applying ``events``."""

    def is_silent(self) -> bool:
        """True when processing without events would output only zeros (lets the mixer skip
        idle tracks). Plugins cannot tell, so the default is False."""
        return False


class Effect(Plugin):
    """Stereo audio in, stereo audio out."""

    @abstractmethod
    def process(self, buf: np.ndarray) -> None:
        """Process ``buf`` (2, frames) float32 in place."""
