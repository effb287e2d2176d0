"""Turning a plugin spec (``builtin:pad``, ``lv2:URI``, ``vst3:PATH``, ``sf2:PATH``) into a
running instrument or effect.

Third-party plugins are probed in a child process first (:mod:`engine.plugins.scan`), so a
plugin that hangs or crashes on load is reported and remembered instead of taking Quanta down.
``load_direct`` skips the probe: the child process itself uses it.
"""

from __future__ import annotations

import os

from engine.errors import DeviceError
from engine.plugins.base import KIND_EFFECT, KIND_INSTRUMENT, Effect, Instrument, Plugin
from engine.plugins.effects import make_stock, parse_spec

FORMATS = ("builtin", "lv2", "vst3", "sf2")


def split_spec(spec: str) -> tuple[str, str]:
    """``"lv2:http://x"`` → ``("lv2", "http://x")``; a bare ``"builtin"`` → ``("builtin", "")``."""
    fmt, _, ident = spec.partition(":")
    fmt = fmt.strip().lower()
    if fmt not in FORMATS:
        raise DeviceError(
            f"instrument {spec!r}: use builtin[:PROGRAM], lv2:URI, vst3:PATH or sf2[:PATH]"
        )
    return fmt, ident.strip()


def load_direct(fmt: str, ident: str, kind: str | None, sample_rate: int, max_block: int) -> Plugin:
    """Load in this process with no probe. ``kind`` None: whatever the plugin is."""
    if fmt == "builtin":
        return _load(fmt, ident, kind, sample_rate, max_block)
    from engine.plugins import fault_note

    with fault_note.noting(f"{fmt.upper()} plugin {ident} (while loading)"):
        return _load(fmt, ident, kind, sample_rate, max_block)


def _load(fmt: str, ident: str, kind: str | None, sample_rate: int, max_block: int) -> Plugin:
    if fmt == "builtin":
        from engine.plugins.builtin_synth import BuiltinSynth

        if kind == KIND_EFFECT:
            raise DeviceError("the built-in synth is an instrument, not an effect")
        return BuiltinSynth(sample_rate, max_block, program=ident or None)
    if fmt == "sf2":
        from engine.plugins.sf2 import SF2Instrument

        return SF2Instrument(ident or None, sample_rate, max_block)
    if fmt == "lv2":
        from engine.plugins import lv2, lv2_world

        actual = lv2_world.describe(ident)[0]["kind"]
        if kind is not None and kind != actual:
            raise DeviceError(f"LV2 plugin {ident} is an {actual}, not an {kind}")
        cls = lv2.LV2Instrument if actual == KIND_INSTRUMENT else lv2.LV2Effect
        return cls(ident, sample_rate, max_block)
    if fmt == "vst3":
        from engine.plugins import vst3

        path = os.path.expanduser(ident)
        if kind == KIND_INSTRUMENT:
            return vst3.VST3Instrument(path, sample_rate, max_block)
        if kind == KIND_EFFECT:
            return vst3.load_vst3_effect(path, sample_rate, max_block)
        try:
            return vst3.load_vst3_effect(path, sample_rate, max_block)
        except DeviceError as exc:
            if "is an instrument" in str(exc):
                return vst3.VST3Instrument(path, sample_rate, max_block)
            raise
    raise DeviceError(f"unknown plugin format {fmt!r}")


def _probe_first(fmt: str, ident: str, cache_path, timeout: float | None) -> None:
    if fmt in ("builtin",):
        return
    from engine.plugins.scan import ensure_loadable

    ensure_loadable(fmt, ident, cache_path=cache_path, timeout=timeout)


def load_instrument(
    spec: str,
    sample_rate: int = 48000,
    max_block: int = 1024,
    cache_path=None,
    probe: bool = True,
    timeout: float | None = None,
) -> Instrument:
    """An instrument from a spec; third-party plugins are probed in a child process first."""
    fmt, ident = split_spec(spec)
    if fmt == "vst3":
        ident = os.path.expanduser(ident)
    if probe and not (fmt == "sf2" and not ident):
        _probe_first(fmt, ident, cache_path, timeout)
    plugin = load_direct(fmt, ident, KIND_INSTRUMENT, sample_rate, max_block)
    assert isinstance(plugin, Instrument)
    return plugin


def load_effect(
    fmt: str,
    ident: str,
    sample_rate: int = 48000,
    max_block: int = 1024,
    cache_path=None,
    probe: bool = True,
    timeout: float | None = None,
) -> Effect:
    """A third-party effect (``lv2`` or ``vst3``), probed in a child process first."""
    if fmt == "vst3":
        ident = os.path.expanduser(ident)
    if probe:
        _probe_first(fmt, ident, cache_path, timeout)
    plugin = load_direct(fmt, ident, KIND_EFFECT, sample_rate, max_block)
    assert isinstance(plugin, Effect)
    return plugin


def make_effect(spec: str, sample_rate: int, max_block: int, **load_options) -> Effect:
    """An effect from a ``--effect`` spec: a stock name, ``vst3:PATH`` or ``lv2:URI``,
    each optionally followed by ``:k=v,...`` (for vst3/lv2 after the path: ``vst3:P:k=v``)."""
    kind, _, rest = spec.partition(":")
    kind = kind.strip().lower()
    if kind in ("vst3", "lv2"):
        ident, params = rest, {}
        if kind == "vst3" and ".vst3:" in rest:
            ident, _, ptext = rest.partition(".vst3:")
            ident += ".vst3"
            params = parse_spec("x:" + ptext)[1]
        elif kind == "lv2" and rest.count(":") > 1 and "=" in rest.rsplit(":", 1)[1]:
            ident, _, ptext = rest.rpartition(":")
            params = parse_spec("x:" + ptext)[1]
        fx = load_effect(kind, ident, sample_rate, max_block, **load_options)
        for k, v in params.items():
            fx.set_parameter(k, v)
        return fx
    name, params = parse_spec(spec)
    return make_stock(name, params, sample_rate, max_block)
