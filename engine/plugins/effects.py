"""Quanta's stock effects (pedalboard's built-ins) and the wrapper for any pedalboard plugin.

pedalboard processes a block with ``reset=False`` so reverb and delay tails carry across
blocks; it returns a new array per call (an allocation we cannot avoid with pedalboard), and it
releases the GIL while it runs. Plugins that only take mono input run as two instances.

``make_effect("reverb:room_size=0.8,wet_level=0.3")`` is what ``--effect`` accepts.
"""

from __future__ import annotations

import numpy as np

from engine.errors import DeviceError
from engine.plugins.base import KIND_EFFECT, Effect, Parameter, PluginInfo

#: Stock effect names → pedalboard class names.
STOCK = {
    "reverb": "Reverb",
    "delay": "Delay",
    "chorus": "Chorus",
    "compressor": "Compressor",
    "limiter": "Limiter",
    "highpass": "HighpassFilter",
    "lowpass": "LowpassFilter",
    "gain": "Gain",
    "phaser": "Phaser",
    "distortion": "Distortion",
    "ladder": "LadderFilter",
    "noisegate": "NoiseGate",
}


def _pedalboard():
    try:
        import pedalboard
    except ImportError:
        raise DeviceError("effects need the pedalboard package (pip install pedalboard)") from None
    return pedalboard


def parse_spec(spec: str) -> tuple[str, dict[str, float]]:
    """``"name:k=v,k2=v2"`` → ``("name", {"k": v, ...})``; values must be numbers."""
    name, _, rest = spec.partition(":")
    params: dict[str, float] = {}
    for item in filter(None, (s.strip() for s in rest.split(","))):
        key, eq, value = item.partition("=")
        if not eq:
            raise DeviceError(f"effect {name}: {item!r} is not key=value")
        try:
            params[key.strip()] = float(value)
        except ValueError:
            raise DeviceError(f"effect {name}: {key}={value!r} is not a number") from None
    return name.strip().lower(), params


class PedalboardEffect(Effect):
    """Any pedalboard plugin (stock effect or VST3) as a Quanta effect."""

    def __init__(self, make, info: PluginInfo, sample_rate: int, max_block: int):
        self.sample_rate, self.max_block = sample_rate, max_block
        self.info = info
        self._make = make
        self.plugin = make()
        self._mono: list | None = None
        probe = np.zeros((2, 32), dtype=np.float32)
        try:
            self.plugin.process(probe, sample_rate, buffer_size=max_block, reset=True)
        except (ValueError, RuntimeError):  # a mono-only plugin: run one instance per side
            self._mono = [self.plugin, make()]
        self.latency = int(getattr(self.plugin, "reported_latency_samples", 0) or 0)

    def _names(self) -> list[str]:
        params = getattr(self.plugin, "parameters", None)
        if params is not None:
            return list(params.keys())
        return [
            n
            for n in dir(self.plugin)
            if not n.startswith("_")
            and isinstance(getattr(self.plugin, n, None), int | float)
            and not isinstance(getattr(self.plugin, n), bool)
        ]

    def parameters(self) -> list[Parameter]:
        out = []
        for name in self._names():
            v = getattr(self.plugin, name, None)
            if isinstance(v, int | float) and not isinstance(v, bool):
                out.append(Parameter(name, name, float("-inf"), float("inf"), float(v), float(v)))
        return out

    def set_parameter(self, ident: str, value: float) -> None:
        if ident not in self._names():
            raise DeviceError(
                f"{self.info.name}: no parameter {ident!r}; it has {', '.join(self._names())}"
            )
        for p in self._mono or [self.plugin]:
            try:
                setattr(p, ident, value)
            except (ValueError, TypeError) as exc:
                raise DeviceError(f"{self.info.name}: {ident}={value}: {exc}") from None

    def get_state(self) -> dict:
        raw = getattr(self.plugin, "raw_state", None)
        state = super().get_state()
        if isinstance(raw, bytes):
            import base64

            state["raw_state"] = base64.b64encode(raw).decode()
        return state

    def set_state(self, state: dict) -> None:
        """The plugin's own state blob first, then parameter values (some plugins, e.g. DPF
        ones, keep parameters outside the blob)."""
        if "raw_state" in state:
            import base64

            for p in self._mono or [self.plugin]:
                p.raw_state = base64.b64decode(state["raw_state"])
        for ident, value in state.get("parameters", {}).items():
            try:
                self.set_parameter(ident, float(value))
            except DeviceError:
                pass  # read-only meters (gain reduction, output level) cannot be set

    def reset(self) -> None:
        for p in self._mono or [self.plugin]:
            p.reset()

    def process(self, buf: np.ndarray) -> None:
        n = buf.shape[1]
        sr = self.sample_rate
        if self._mono is None:
            buf[:] = self.plugin.process(buf, sr, buffer_size=n, reset=False)
        else:
            for ch, p in enumerate(self._mono):
                buf[ch] = p.process(buf[ch : ch + 1], sr, buffer_size=n, reset=False)[0]


def stock_names() -> list[str]:
    return sorted(STOCK)


def make_stock(name: str, params: dict[str, float], sample_rate: int, max_block: int) -> Effect:
    if name not in STOCK:
        raise DeviceError(f"no stock effect {name!r}; use one of {', '.join(stock_names())}")
    cls = getattr(_pedalboard(), STOCK[name])
    info = PluginInfo(name, "Quanta (pedalboard)", "stock", KIND_EFFECT, name)
    fx = PedalboardEffect(cls, info, sample_rate, max_block)
    for k, v in params.items():
        fx.set_parameter(k, v)
    return fx
