"""LV2 through our own ctypes binding to ``liblilv`` (Debian ``liblilv-0-0``): the library,
the world, and what lilv says about plugins (ports, features, UIs, presets, bundles).

Running a plugin is :mod:`engine.plugins.lv2` (the host side); this module only finds and
describes. The world in this process never loads every installed bundle
(``lilv_world_load_all`` would run any bundle's dynamic-manifest code here):
:mod:`engine.plugins.lv2_discovery` finds the plugins in child processes, and
:meth:`_World.plugin` loads only the bundles that describe the plugin asked for, all of which
the discovery read without harm. The feature structs (``urid:map``, ``options``) live here
too, as the plugin host and the UI host (:mod:`engine.plugins.lv2_ui`) both pass them.
"""

from __future__ import annotations

import ctypes as C
import ctypes.util
import os
import threading

from engine.errors import DeviceError
from engine.plugins.base import (
    KIND_EFFECT,
    KIND_INSTRUMENT,
)

LV2 = "http://lv2plug.in/ns/lv2core#"
ATOM = "http://lv2plug.in/ns/ext/atom#"
MIDI_EVENT = "http://lv2plug.in/ns/ext/midi#MidiEvent"
URID_MAP = "http://lv2plug.in/ns/ext/urid#map"
OPTIONS = "http://lv2plug.in/ns/ext/options#options"
BUF_SIZE = "http://lv2plug.in/ns/ext/buf-size#"
PARAM_SAMPLE_RATE = "http://lv2plug.in/ns/ext/parameters#sampleRate"
#: Features the host supplies; anything else a plugin requires makes it unloadable here.
SUPPORTED_FEATURES = {
    URID_MAP,
    OPTIONS,
    BUF_SIZE + "boundedBlockLength",
    BUF_SIZE + "powerOf2BlockLength",
    LV2 + "isLive",
    "http://lv2plug.in/ns/lv2core#hardRTCapable",
}
ATOM_CAPACITY = 16384


class _Feature(C.Structure):
    _fields_ = [("URI", C.c_char_p), ("data", C.c_void_p)]


_MAP_FN = C.CFUNCTYPE(C.c_uint32, C.c_void_p, C.c_char_p)


class _URIDMap(C.Structure):
    _fields_ = [("handle", C.c_void_p), ("map", _MAP_FN)]


_UNMAP_FN = C.CFUNCTYPE(C.c_void_p, C.c_void_p, C.c_uint32)


class _URIDUnmap(C.Structure):
    _fields_ = [("handle", C.c_void_p), ("unmap", _UNMAP_FN)]


class _Option(C.Structure):
    _fields_ = [
        ("context", C.c_int),
        ("subject", C.c_uint32),
        ("key", C.c_uint32),
        ("size", C.c_uint32),
        ("type", C.c_uint32),
        ("value", C.c_void_p),
    ]


_CONNECT = C.CFUNCTYPE(None, C.c_void_p, C.c_uint32, C.c_void_p)
_HANDLE_FN = C.CFUNCTYPE(None, C.c_void_p)
_RUN = C.CFUNCTYPE(None, C.c_void_p, C.c_uint32)


class _Descriptor(C.Structure):
    _fields_ = [
        ("URI", C.c_char_p),
        ("instantiate", C.c_void_p),
        ("connect_port", _CONNECT),
        ("activate", C.c_void_p),
        ("run", _RUN),
        ("deactivate", C.c_void_p),
        ("cleanup", _HANDLE_FN),
        ("extension_data", C.c_void_p),
    ]


class _Instance(C.Structure):  # lilv's LilvInstanceImpl
    _fields_ = [
        ("lv2_descriptor", C.POINTER(_Descriptor)),
        ("lv2_handle", C.c_void_p),
        ("pimpl", C.c_void_p),
    ]


_lib = None
_world = None
_world_lock = threading.Lock()


def _load_lib():
    global _lib
    if _lib is not None:
        return _lib
    name = ctypes.util.find_library("lilv-0") or "liblilv-0.so.0"
    try:
        lib = C.CDLL(name)
    except OSError:
        raise DeviceError(
            "LV2 support needs liblilv (Debian/Ubuntu: apt install liblilv-0-0)"
        ) from None
    vp, cp, u32, b = C.c_void_p, C.c_char_p, C.c_uint32, C.c_bool
    sigs = {
        "lilv_world_new": ([], vp),
        "lilv_world_load_bundle": ([vp, vp], None),
        "lilv_world_get_all_plugins": ([vp], vp),
        "lilv_plugins_begin": ([vp], vp),
        "lilv_plugins_next": ([vp, vp], vp),
        "lilv_plugins_is_end": ([vp, vp], b),
        "lilv_plugins_get": ([vp, vp], vp),
        "lilv_plugins_get_by_uri": ([vp, vp], vp),
        "lilv_new_uri": ([vp, cp], vp),
        "lilv_node_free": ([vp], None),
        "lilv_node_as_string": ([vp], cp),
        "lilv_node_as_uri": ([vp], cp),
        "lilv_plugin_get_uri": ([vp], vp),
        "lilv_plugin_get_bundle_uri": ([vp], vp),
        "lilv_plugin_get_data_uris": ([vp], vp),
        "lilv_plugin_get_uis": ([vp], vp),
        "lilv_uis_begin": ([vp], vp),
        "lilv_uis_next": ([vp, vp], vp),
        "lilv_uis_is_end": ([vp, vp], b),
        "lilv_uis_get": ([vp, vp], vp),
        "lilv_uis_free": ([vp], None),
        "lilv_ui_get_uri": ([vp], vp),
        "lilv_ui_get_classes": ([vp], vp),
        "lilv_ui_get_binary_uri": ([vp], vp),
        "lilv_ui_get_bundle_uri": ([vp], vp),
        "lilv_world_find_nodes": ([vp, vp, vp, vp], vp),
        "lilv_world_load_resource": ([vp, vp], C.c_int),
        "lilv_plugin_get_related": ([vp, vp], vp),
        "lilv_world_get": ([vp, vp, vp, vp], vp),
        "lilv_state_new_from_world": ([vp, vp, vp], vp),
        "lilv_state_emit_port_values": ([vp, vp, vp], None),
        "lilv_state_new_from_instance": (
            [vp, vp, vp, cp, cp, cp, cp, vp, vp, u32, vp],
            vp,
        ),
        "lilv_state_set_label": ([vp, cp], None),
        "lilv_state_save": ([vp, vp, vp, vp, cp, cp, cp], C.c_int),
        "lilv_state_free": ([vp], None),
        "lilv_plugin_get_name": ([vp], vp),
        "lilv_plugin_get_author_name": ([vp], vp),
        "lilv_plugin_get_num_ports": ([vp], u32),
        "lilv_plugin_get_port_by_index": ([vp, u32], vp),
        "lilv_plugin_get_port_ranges_float": (
            [vp, C.POINTER(C.c_float), C.POINTER(C.c_float), C.POINTER(C.c_float)],
            None,
        ),
        "lilv_plugin_get_required_features": ([vp], vp),
        "lilv_plugin_has_latency": ([vp], b),
        "lilv_plugin_get_latency_port_index": ([vp], u32),
        "lilv_nodes_begin": ([vp], vp),
        "lilv_nodes_next": ([vp, vp], vp),
        "lilv_nodes_is_end": ([vp, vp], b),
        "lilv_nodes_get": ([vp, vp], vp),
        "lilv_nodes_free": ([vp], None),
        "lilv_port_is_a": ([vp, vp, vp], b),
        "lilv_port_has_property": ([vp, vp, vp], b),
        "lilv_port_supports_event": ([vp, vp, vp], b),
        "lilv_port_get_symbol": ([vp, vp], vp),
        "lilv_port_get_name": ([vp, vp], vp),
        "lilv_plugin_instantiate": ([vp, C.c_double, C.POINTER(C.POINTER(_Feature))], vp),
        "lilv_instance_free": ([vp], None),
    }
    for fname, (args, res) in sigs.items():
        f = getattr(lib, fname)
        f.argtypes = args
        f.restype = res
    _lib = lib
    return lib


def file_uri(path: str) -> str:
    """``/a b/x.lv2`` → ``file:///a%20b/x.lv2/``: a bundle URI as lilv wants it (slash-ended)."""
    from urllib.parse import quote

    return "file://" + quote(os.path.abspath(path).rstrip("/") + "/")


def uri_path(uri: str) -> str:
    """A ``file://`` URI back to a path (without a trailing slash); other URIs: ""."""
    from urllib.parse import unquote, urlparse

    u = urlparse(uri)
    return unquote(u.path).rstrip("/") if u.scheme == "file" else ""


class _World:
    """A lilv world holding only the bundles loaded into it (never ``lilv_world_load_all``:
    see :mod:`engine.plugins.lv2_discovery`), plus the URI nodes we ask about."""

    def __init__(self):
        lib = _load_lib()
        self.lib = lib
        self.ptr = lib.lilv_world_new()
        self.plugins = lib.lilv_world_get_all_plugins(self.ptr)
        self.bundles: set[str] = set()
        self._lock = threading.RLock()
        self.nodes = {}
        for key, uri in {
            "input": LV2 + "InputPort",
            "output": LV2 + "OutputPort",
            "audio": LV2 + "AudioPort",
            "control": LV2 + "ControlPort",
            "cv": LV2 + "CVPort",
            "atom": ATOM + "AtomPort",
            "midi": MIDI_EVENT,
            "sidechain": LV2 + "isSideChain",
        }.items():
            self.nodes[key] = lib.lilv_new_uri(self.ptr, uri.encode())

    def load_bundle(self, path: str) -> None:
        """Read one bundle (its manifest; a dynamic manifest runs its code here)."""
        path = os.path.abspath(path)
        if path in self.bundles:
            return
        node = self.lib.lilv_new_uri(self.ptr, file_uri(path).encode())
        try:
            self.lib.lilv_world_load_bundle(self.ptr, node)
        finally:
            self.lib.lilv_node_free(node)
        self.bundles.add(path)

    def string(self, node, free: bool = False) -> str:
        if not node:
            return ""
        s = self.lib.lilv_node_as_string(node).decode("utf-8", "replace")
        if free:
            self.lib.lilv_node_free(node)
        return s

    def strings(self, nodes, free: bool = False) -> list[str]:
        """Every node of a ``LilvNodes`` collection as a string."""
        lib, out = self.lib, []
        if not nodes:
            return out
        it = lib.lilv_nodes_begin(nodes)
        while not lib.lilv_nodes_is_end(nodes, it):
            out.append(self.string(lib.lilv_nodes_get(nodes, it)))
            it = lib.lilv_nodes_next(nodes, it)
        if free:
            lib.lilv_nodes_free(nodes)
        return out

    def iter_plugins(self):
        lib = self.lib
        it = lib.lilv_plugins_begin(self.plugins)
        while not lib.lilv_plugins_is_end(self.plugins, it):
            yield lib.lilv_plugins_get(self.plugins, it)
            it = lib.lilv_plugins_next(self.plugins, it)

    def _find(self, uri: str):
        node = self.lib.lilv_new_uri(self.ptr, uri.encode())
        try:
            return self.lib.lilv_plugins_get_by_uri(self.plugins, node)
        finally:
            self.lib.lilv_node_free(node)

    def plugin(self, uri: str):
        """The plugin ``uri``, loading the bundles that describe it first (only those, and
        only bundles the discovery child read without harm)."""
        with self._lock:
            p = self._find(uri)
            if not p:
                bundles = _bundle_index.get(uri)
                if bundles is None:
                    from engine.plugins.lv2_discovery import bundles_for

                    bundles = bundles_for(uri)
                for b in bundles:
                    self.load_bundle(b)
                p = self._find(uri)
        if not p:
            raise DeviceError(f"LV2 plugin {uri} is not installed (see `quanta plugins`)")
        return p


#: plugin URI → bundles to load for it, as the discovery (or the parent process) told us.
_bundle_index: dict[str, list[str]] = {}


def remember_bundles(index: dict[str, list[str]]) -> None:
    """Tell this process which bundles describe which plugins (from a discovery)."""
    _bundle_index.update({u: list(b) for u, b in index.items()})


def world() -> _World:
    global _world
    with _world_lock:
        if _world is None:
            _world = _World()
        return _world


class _PortInfo:
    __slots__ = ("index", "symbol", "name", "kind", "is_input", "midi", "lo", "hi", "default")

    def __init__(self, index, symbol, name, kind, is_input, midi, lo, hi, default):
        self.index, self.symbol, self.name, self.kind = index, symbol, name, kind
        self.is_input, self.midi = is_input, midi
        self.lo, self.hi, self.default = lo, hi, default


def _ports(w: _World, plugin) -> list[_PortInfo]:
    lib, nd = w.lib, w.nodes
    n = lib.lilv_plugin_get_num_ports(plugin)
    lo, hi, de = (C.c_float * n)(), (C.c_float * n)(), (C.c_float * n)()
    lib.lilv_plugin_get_port_ranges_float(plugin, lo, hi, de)
    out = []
    for i in range(n):
        port = lib.lilv_plugin_get_port_by_index(plugin, i)
        kind = "other"
        for k in ("audio", "control", "atom", "cv"):
            if lib.lilv_port_is_a(plugin, port, nd[k]):
                kind = k
                break
        is_input = bool(lib.lilv_port_is_a(plugin, port, nd["input"]))
        if kind == "audio" and lib.lilv_port_has_property(plugin, port, nd["sidechain"]):
            kind = "sidechain"  # fed silence: Quanta has no sidechain routing
        midi = kind == "atom" and bool(lib.lilv_port_supports_event(plugin, port, nd["midi"]))
        symbol = w.string(lib.lilv_port_get_symbol(plugin, port))
        name = w.string(lib.lilv_port_get_name(plugin, port), free=True)

        def num(v, fallback):
            return fallback if v != v else float(v)  # NaN: no range given

        d = num(de[i], num(lo[i], 0.0))
        out.append(
            _PortInfo(i, symbol, name, kind, is_input, midi, num(lo[i], 0), num(hi[i], 1), d)
        )
    return out


def describe(plugin_uri: str | None = None) -> list[dict]:
    """Installed LV2 plugins (or one) as dicts: uri, name, vendor, kind, ports, problems.

    All plugins come from the discovery child (:mod:`engine.plugins.lv2_discovery`); one
    plugin is read here, from its own bundles only."""
    if plugin_uri is None:
        from engine.plugins.lv2_discovery import discover

        return list(discover().plugins.values())
    w = world()
    return [describe_plugin(w, w.plugin(plugin_uri))]


def describe_plugin(w: _World, p) -> dict:
    """One plugin's description (reading it may run its bundle's dynamic-manifest code)."""
    uri = w.string(w.lib.lilv_plugin_get_uri(p))
    ports = _ports(w, p)
    audio_in = sum(1 for x in ports if x.kind == "audio" and x.is_input)
    audio_out = sum(1 for x in ports if x.kind == "audio" and not x.is_input)
    midi_in = any(x.midi and x.is_input for x in ports)
    kind = KIND_INSTRUMENT if midi_in and audio_out and not audio_in else KIND_EFFECT
    missing = sorted(set(_required_features(w, p)) - SUPPORTED_FEATURES)
    problems = [f"needs unsupported feature {f}" for f in missing]
    if not audio_out:
        problems.append("has no audio output")
    if any(x.kind in ("cv", "other") or (x.kind == "sidechain" and not x.is_input) for x in ports):
        problems.append("has CV or unknown ports")
    return {
        "uri": uri,
        "name": w.string(w.lib.lilv_plugin_get_name(p), free=True),
        "vendor": w.string(w.lib.lilv_plugin_get_author_name(p), free=True),
        "kind": kind,
        "audio_in": audio_in,
        "audio_out": audio_out,
        "problems": problems,
    }


def plugin_bundles(w: _World, p) -> list[str]:
    """The plugin's own bundle, then every other bundle holding a data file about it."""
    own = uri_path(w.string(w.lib.lilv_plugin_get_bundle_uri(p)))
    out = [own] if own else []
    for uri in w.strings(w.lib.lilv_plugin_get_data_uris(p)) + preset_uris(w, p):
        folder = os.path.dirname(uri_path(uri))
        if folder and folder not in out and folder in w.bundles:
            out.append(folder)
    return out


PSET = "http://lv2plug.in/ns/ext/presets#"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"


def preset_uris(w: _World, p) -> list[str]:
    """URIs of every preset that applies to the plugin (factory and user presets)."""
    cls = w.lib.lilv_new_uri(w.ptr, (PSET + "Preset").encode())
    try:
        return w.strings(w.lib.lilv_plugin_get_related(p, cls), free=True)
    finally:
        w.lib.lilv_node_free(cls)


def plugin_uis(w: _World, p) -> list[dict]:
    """The plugin's UIs: URI, types (e.g. ui:X11UI), binary and bundle paths."""
    lib = w.lib
    uis = lib.lilv_plugin_get_uis(p)
    out = []
    if not uis:
        return out
    it = lib.lilv_uis_begin(uis)
    while not lib.lilv_uis_is_end(uis, it):
        ui = lib.lilv_uis_get(uis, it)
        lib.lilv_world_load_resource(w.ptr, lib.lilv_ui_get_uri(ui))  # the UI's own .ttl
        pred = lib.lilv_new_uri(w.ptr, (LV2 + "requiredFeature").encode())
        required = w.strings(
            lib.lilv_world_find_nodes(w.ptr, lib.lilv_ui_get_uri(ui), pred, None), free=True
        )
        lib.lilv_node_free(pred)
        out.append(
            {
                "uri": w.string(lib.lilv_ui_get_uri(ui)),
                "required": required,
                "types": w.strings(lib.lilv_ui_get_classes(ui)),
                "binary": uri_path(w.string(lib.lilv_ui_get_binary_uri(ui))),
                "bundle": uri_path(w.string(lib.lilv_ui_get_bundle_uri(ui))),
            }
        )
        it = lib.lilv_uis_next(uis, it)
    lib.lilv_uis_free(uis)
    return out


def _required_features(w: _World, plugin) -> list[str]:
    return w.strings(w.lib.lilv_plugin_get_required_features(plugin), free=True)
