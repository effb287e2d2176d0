"""LV2 hosting through our own ctypes binding to ``liblilv`` (Debian ``liblilv-0-0``).

lilv finds and describes plugins; running them goes straight through the plugin's
``LV2_Descriptor`` (lilv's ``lilv_instance_*`` helpers are inline C, so they are re-done here
from the struct layout). The host provides the features most instruments and effects need:

- ``urid:map`` (the callback object is kept alive as long as the host),
- ``options`` with the block-size bounds and sample rate (DPF plugins refuse to load without
  ``maxBlockLength``), plus ``buf-size:boundedBlockLength``,
- MIDI packed into the atom sequence input port, frame-stamped at each event's sample offset.

A plugin that requires any other feature is refused with a message naming it. ctypes releases
the GIL around ``run``, so a plugin's DSP does not stall Python threads. Loading untrusted
plugins should go through :mod:`engine.plugins.scan` first (child process + timeout).

Finding and describing plugins (the lilv binding and world) is :mod:`engine.plugins.lv2_world`.
"""

from __future__ import annotations

import ctypes as C
import struct

import numpy as np

from engine.errors import DeviceError
from engine.plugins.base import (
    KIND_EFFECT,
    KIND_INSTRUMENT,
    Effect,
    Instrument,
    Parameter,
    PluginInfo,
)
from engine.plugins.fpenv import preserved_fp_env
from engine.plugins.lv2_world import (
    _MAP_FN,
    _UNMAP_FN,
    ATOM,
    ATOM_CAPACITY,
    BUF_SIZE,
    MIDI_EVENT,
    OPTIONS,
    PARAM_SAMPLE_RATE,
    URID_MAP,
    _Feature,
    _Instance,
    _Option,
    _ports,
    _URIDMap,
    _URIDUnmap,
    describe,
    world,
)


class _Host:
    """Host-side feature data for one plugin instance; kept alive as long as the instance."""

    def __init__(self, sample_rate: int, max_block: int):
        self.urids: dict[bytes, int] = {}
        self._map_cb = _MAP_FN(self._map_uri)
        self._map_struct = _URIDMap(None, self._map_cb)
        self._unmap_cb = _UNMAP_FN(self._unmap_urid)
        self.unmap_struct = _URIDUnmap(None, self._unmap_cb)
        self._unmapped: dict[int, C.Array] = {}
        self._ints = (C.c_int32 * 3)(1, max_block, max_block)
        self._rate = C.c_float(float(sample_rate))
        u = self.urid
        opts = [
            (u(BUF_SIZE + "minBlockLength"), u(ATOM + "Int"), C.addressof(self._ints) + 0),
            (u(BUF_SIZE + "maxBlockLength"), u(ATOM + "Int"), C.addressof(self._ints) + 4),
            (u(BUF_SIZE + "nominalBlockLength"), u(ATOM + "Int"), C.addressof(self._ints) + 8),
            (u(PARAM_SAMPLE_RATE), u(ATOM + "Float"), C.addressof(self._rate)),
        ]
        self._options = (_Option * (len(opts) + 1))()
        for i, (key, typ, addr) in enumerate(opts):
            self._options[i] = _Option(0, 0, key, 4, typ, addr)  # context 0 = instance
        feats = [
            _Feature(URID_MAP.encode(), C.cast(C.pointer(self._map_struct), C.c_void_p)),
            _Feature(OPTIONS.encode(), C.cast(self._options, C.c_void_p)),
            _Feature((BUF_SIZE + "boundedBlockLength").encode(), None),
        ]
        self._feats = feats
        self.features = (C.POINTER(_Feature) * (len(feats) + 1))(
            *[C.pointer(f) for f in feats], None
        )

    def urid(self, uri: str) -> int:
        return self._map_uri(None, uri.encode())

    def _unmap_urid(self, _handle, urid: int):
        """``urid:unmap`` (lilv needs it to save state): the URI's bytes, kept alive here."""
        if urid not in self._unmapped:
            uri = next((u for u, i in self.urids.items() if i == urid), None)
            if uri is None:
                return None
            self._unmapped[urid] = C.create_string_buffer(uri)
        return C.addressof(self._unmapped[urid])

    def _map_uri(self, _handle, uri: bytes) -> int:
        if uri not in self.urids:
            self.urids[uri] = len(self.urids) + 1
        return self.urids[uri]


class _LV2Core:
    """One running LV2 instance with its port buffers connected."""

    def __init__(self, uri: str, sample_rate: int, max_block: int):
        w = world()
        self.w = w
        plugin = w.plugin(uri)
        desc = describe(uri)[0]
        if desc["problems"]:
            raise DeviceError(f"LV2 plugin {desc['name']} cannot be hosted: {desc['problems'][0]}")
        self.desc = desc
        self.ports = _ports(w, plugin)
        self.host = _Host(sample_rate, max_block)
        self.max_block = max_block
        with preserved_fp_env():
            ptr = w.lib.lilv_plugin_instantiate(plugin, float(sample_rate), self.host.features)
        if not ptr:
            raise DeviceError(f"LV2 plugin {desc['name']} failed to instantiate")
        self.ptr = ptr
        inst = C.cast(ptr, C.POINTER(_Instance)).contents
        self.handle = inst.lv2_handle
        self.d = inst.lv2_descriptor.contents
        self.controls = np.zeros(len(self.ports), dtype=np.float32)
        self.audio_in: list[np.ndarray] = []
        self.audio_out: list[np.ndarray] = []
        self.atom_in: np.ndarray | None = None
        self.atom_outs: list[np.ndarray] = []
        self.params: dict[str, int] = {}
        self.latency_port: int | None = None
        # Every buffer a port is connected to lives as long as the instance (a sidechain or a
        # non-MIDI atom input is connected to a buffer only this list holds).
        self._buffers: list[np.ndarray] = [self.controls]
        self.seq_urid = self.host.urid(ATOM + "Sequence")
        self.chunk_urid = self.host.urid(ATOM + "Chunk")
        self.midi_urid = self.host.urid(MIDI_EVENT)
        for p in self.ports:
            if p.kind == "control":
                self.controls[p.index] = p.default
                addr = self.controls.ctypes.data + 4 * p.index
                if p.is_input:
                    self.params[p.symbol] = p.index
                elif p.symbol == "latency":
                    self.latency_port = p.index
            elif p.kind in ("audio", "sidechain"):
                buf = np.zeros(max_block, dtype=np.float32)
                if p.kind == "audio":
                    (self.audio_in if p.is_input else self.audio_out).append(buf)
                self._buffers.append(buf)
                addr = buf.ctypes.data
            else:  # atom: inputs start as empty sequences, outputs as empty chunks
                buf = np.zeros(ATOM_CAPACITY // 8, dtype=np.int64).view(np.uint8)
                if p.is_input and p.midi and self.atom_in is None:
                    self.atom_in = buf
                elif not p.is_input:
                    self.atom_outs.append(buf)
                self._buffers.append(buf)
                addr = buf.ctypes.data
                self._prepare_atom(buf, out=not p.is_input)
            self.d.connect_port(self.handle, p.index, addr)
        if self.d.activate:
            with preserved_fp_env():
                C.CFUNCTYPE(None, C.c_void_p)(self.d.activate)(self.handle)
        self.active = True

    def _prepare_atom(self, buf: np.ndarray, out: bool) -> None:
        if out:  # an empty chunk the plugin may fill
            struct.pack_into("<II", buf, 0, ATOM_CAPACITY - 8, self.chunk_urid)
        else:  # an empty sequence, frame time units
            struct.pack_into("<IIII", buf, 0, 8, self.seq_urid, 0, 0)

    def write_midi(self, events: np.ndarray) -> None:
        buf = self.atom_in
        if buf is None:
            return
        pos = 16
        mt = self.midi_urid
        for ev in events:
            if pos + 24 > ATOM_CAPACITY:
                break
            status = int(ev["status"])
            size = 2 if (status & 0xF0) in (0xC0, 0xD0) else 3
            struct.pack_into(
                "<qIIBBB", buf, pos, int(ev["offset"]), size, mt, status,
                int(ev["data1"]), int(ev["data2"]),
            )  # fmt: skip
            pos += 16 + ((size + 7) & ~7)
        struct.pack_into("<I", buf, 0, pos - 8)

    def run(self, n: int) -> None:
        for buf in self.atom_outs:
            struct.pack_into("<I", buf, 0, ATOM_CAPACITY - 8)
        self.d.run(self.handle, n)
        if self.atom_in is not None:
            struct.pack_into("<I", self.atom_in, 0, 8)

    @property
    def latency(self) -> int:
        return int(self.controls[self.latency_port]) if self.latency_port is not None else 0

    def close(self) -> None:
        if self.ptr:
            if self.active and self.d.deactivate:
                C.CFUNCTYPE(None, C.c_void_p)(self.d.deactivate)(self.handle)
            self.w.lib.lilv_instance_free(self.ptr)
            self.ptr = None


class _LV2Params:
    core: _LV2Core
    _link = None

    def attach_link(self):
        """A :class:`ControlLink` between an editor and this instance's control ports (the
        same one on every call). Values cross in lock-free rings at block boundaries."""
        if self._link is None:
            from engine.plugins.control_link import ControlLink

            watched = [p.index for p in self.core.ports if p.kind == "control"]
            self._link = ControlLink(self.core.controls, watched)
        return self._link

    def _apply_link(self) -> None:
        if self._link.apply(self.core.controls):
            for c in getattr(self, "cores", ())[1:]:
                c.controls[:] = self.core.controls

    def parameters(self) -> list[Parameter]:
        return [
            Parameter(p.symbol, p.name, p.lo, p.hi, p.default, float(self.core.controls[p.index]))
            for p in self.core.ports
            if p.kind == "control" and p.is_input
        ]

    def set_parameter(self, ident: str, value: float) -> None:
        i = self.core.params.get(ident)
        if i is None:
            raise DeviceError(f"{self.info.name}: no parameter named {ident!r}")
        p = self.core.ports[i]
        self.core.controls[i] = float(np.clip(value, min(p.lo, p.hi), max(p.lo, p.hi)))

    @property
    def latency(self) -> int:  # type: ignore[override]
        return self.core.latency

    def close(self) -> None:
        self.core.close()


class LV2Instrument(_LV2Params, Instrument):
    """An LV2 instrument (MIDI atom input, audio outputs; mono output is copied to both)."""

    def __init__(self, uri: str, sample_rate: int = 48000, max_block: int = 1024):
        self.sample_rate, self.max_block = sample_rate, max_block
        self.core = _LV2Core(uri, sample_rate, max_block)
        d = self.core.desc
        if d["kind"] != KIND_INSTRUMENT:
            self.core.close()
            raise DeviceError(f"LV2 plugin {d['name']} is an effect, not an instrument")
        self.info = PluginInfo(d["name"], d["vendor"], "lv2", KIND_INSTRUMENT, uri)

    def process(self, events: np.ndarray, out: np.ndarray) -> None:
        n = out.shape[1]
        core = self.core
        if self._link is not None:
            self._apply_link()
        core.write_midi(events)
        core.run(n)
        if self._link is not None:
            self._link.publish(core.controls)
        outs = core.audio_out
        out[0] = outs[0][:n]
        out[1] = outs[1][:n] if len(outs) > 1 else outs[0][:n]


class LV2Effect(_LV2Params, Effect):
    """An LV2 effect. Mono plugins run as two instances (dual mono), as most hosts do."""

    def __init__(self, uri: str, sample_rate: int = 48000, max_block: int = 1024):
        self.sample_rate, self.max_block = sample_rate, max_block
        self.core = _LV2Core(uri, sample_rate, max_block)
        d = self.core.desc
        self.info = PluginInfo(d["name"], d["vendor"], "lv2", KIND_EFFECT, uri)
        self.cores = [self.core]
        if len(self.core.audio_in) < 2 and len(self.core.audio_out) < 2:
            self.cores.append(_LV2Core(uri, sample_rate, max_block))

    def set_parameter(self, ident: str, value: float) -> None:
        super().set_parameter(ident, value)
        for c in self.cores[1:]:
            c.controls[:] = self.core.controls

    def process(self, buf: np.ndarray) -> None:
        if self._link is None:
            self._process(buf)
            return
        self._apply_link()
        self._process(buf)
        self._link.publish(self.core.controls)

    def _process(self, buf: np.ndarray) -> None:
        n = buf.shape[1]
        if len(self.cores) == 2:
            for ch, core in enumerate(self.cores):
                if core.audio_in:
                    core.audio_in[0][:n] = buf[ch]
                core.run(n)
                buf[ch] = core.audio_out[0][:n]
            return
        core = self.core
        for ch, port in enumerate(core.audio_in[:2]):
            port[:n] = buf[ch]
        if len(core.audio_in) == 1:
            core.audio_in[0][:n] += buf[1]
            core.audio_in[0][:n] *= 0.5
        core.run(n)
        buf[0] = core.audio_out[0][:n]
        buf[1] = core.audio_out[1][:n] if len(core.audio_out) > 1 else core.audio_out[0][:n]

    def close(self) -> None:
        for c in self.cores:
            c.close()
