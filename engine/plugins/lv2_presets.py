"""LV2 presets through lilv: list a plugin's presets, load one, save the current settings as a
user preset (a preset bundle other hosts such as Ardour, Carla and jalv see too).

Loading takes the preset's port values only (``lilv_state_emit_port_values``) and sends them
as an editor would: through the instance's control link when one is attached (applied by the
audio thread at the next block), straight into the control ports otherwise (not running).
The plugin's state-interface data is not restored, so the DSP instance is never called from
here. Saving reads the input control ports; lilv asks the instance for extra state only if
the plugin has a state interface (allowed concurrently with ``run`` by LV2).
"""

from __future__ import annotations

import ctypes as C
import os
import re

from engine.errors import DeviceError
from engine.plugins import lv2_world
from engine.plugins.lv2_discovery import search_path

_SET_VALUE = C.CFUNCTYPE(None, C.c_char_p, C.c_void_p, C.c_void_p, C.c_uint32, C.c_uint32)
_GET_VALUE = C.CFUNCTYPE(
    C.c_void_p, C.c_char_p, C.c_void_p, C.POINTER(C.c_uint32), C.POINTER(C.c_uint32)
)


def list_presets(plugin) -> list[tuple[str, str]]:
    """``(label, uri)`` of every preset for an LV2 plugin instance, sorted by label."""
    w = lv2_world.world()
    p = w.plugin(plugin.info.ident)
    label_node = w.lib.lilv_new_uri(w.ptr, lv2_world.RDFS_LABEL.encode())
    out = []
    try:
        for uri in lv2_world.preset_uris(w, p):
            node = w.lib.lilv_new_uri(w.ptr, uri.encode())
            w.lib.lilv_world_load_resource(w.ptr, node)
            label = w.string(w.lib.lilv_world_get(w.ptr, node, label_node, None), free=True)
            w.lib.lilv_node_free(node)
            out.append((label or uri.rsplit("#", 1)[-1].rsplit("/", 1)[-1], uri))
    finally:
        w.lib.lilv_node_free(label_node)
    return sorted(out, key=lambda x: x[0].lower())


def find_preset(plugin, name: str) -> str:
    """The URI of the preset called ``name`` (case-insensitive label, or its URI)."""
    presets = list_presets(plugin)
    for label, uri in presets:
        if name == uri or name.lower() == label.lower():
            return uri
    names = ", ".join(label for label, _ in presets) or "none"
    raise DeviceError(f"{plugin.info.name}: no preset named {name!r} (presets: {names})")


def load_preset(plugin, name: str) -> dict[str, float]:
    """Apply a preset's port values; what was set, by port symbol."""
    uri = find_preset(plugin, name)
    w = lv2_world.world()
    core = plugin.core
    node = w.lib.lilv_new_uri(w.ptr, uri.encode())
    state = w.lib.lilv_state_new_from_world(
        w.ptr, C.cast(C.pointer(core.host._map_struct), C.c_void_p), node
    )
    w.lib.lilv_node_free(node)
    if not state:
        raise DeviceError(f"{plugin.info.name}: preset {name!r} could not be read")
    # A preset file's numbers come back typed as written: 10 is an Int, 10.0 a Float.
    readers = {
        (core.host.urid(lv2_world.ATOM + "Float"), 4): C.c_float,
        (core.host.urid(lv2_world.ATOM + "Double"), 8): C.c_double,
        (core.host.urid(lv2_world.ATOM + "Int"), 4): C.c_int32,
        (core.host.urid(lv2_world.ATOM + "Long"), 8): C.c_int64,
        (core.host.urid(lv2_world.ATOM + "Bool"), 4): C.c_int32,
    }
    values: dict[str, float] = {}

    def set_value(symbol, _user, value, size, type_):
        reader = readers.get((type_, size))
        if reader is not None and value:
            values[symbol.decode()] = float(reader.from_address(value).value)

    callback = _SET_VALUE(set_value)
    try:
        w.lib.lilv_state_emit_port_values(state, C.cast(callback, C.c_void_p), None)
    finally:
        w.lib.lilv_state_free(state)
    link = plugin._link
    for symbol, value in values.items():
        index = core.params.get(symbol)
        if index is None:
            continue
        if link is not None:
            link.write(index, value)
        else:
            plugin.set_parameter(symbol, value)
    return values


def user_preset_dir() -> str:
    """Where user presets go: the first folder of the LV2 search path (``~/.lv2``)."""
    return search_path()[0]


def save_preset(plugin, label: str, folder: str | None = None) -> str:
    """Save the plugin's current input control values as a preset named ``label``; the path
    of the preset bundle written (``<folder>/<Plugin>_<label>.preset.lv2``)."""
    label = label.strip()
    if not label or any(ord(c) < 32 for c in label):
        raise DeviceError(f"preset name {label!r}: use a name of printable characters")
    w = lv2_world.world()
    core = plugin.core
    p = w.plugin(plugin.info.ident)

    def safe(text: str) -> str:
        return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "preset"

    folder = os.path.expanduser(folder or user_preset_dir())
    bundle = os.path.join(folder, f"{safe(plugin.info.name)}_{safe(label)}.preset.lv2")
    float_type = C.c_uint32(core.host.urid(lv2_world.ATOM + "Float"))
    values = {q.symbol.encode(): C.c_float(float(core.controls[q.index])) for q in core.ports
              if q.kind == "control" and q.is_input}  # fmt: skip

    def get_value(symbol, _user, size, type_):
        v = values.get(symbol)
        if v is None:
            return None
        size[0] = 4
        type_[0] = float_type.value
        return C.addressof(v)

    callback = _GET_VALUE(get_value)
    os.makedirs(bundle, exist_ok=True)
    state = w.lib.lilv_state_new_from_instance(
        p, core.ptr, C.cast(C.pointer(core.host._map_struct), C.c_void_p),
        None, None, None, bundle.encode(), C.cast(callback, C.c_void_p), None, 0, None,
    )  # fmt: skip
    if not state:
        raise DeviceError(f"{plugin.info.name}: could not take its state for a preset")
    try:
        w.lib.lilv_state_set_label(state, label.encode())
        rc = w.lib.lilv_state_save(
            w.ptr,
            C.cast(C.pointer(core.host._map_struct), C.c_void_p),
            C.cast(C.pointer(core.host.unmap_struct), C.c_void_p),
            state, None, bundle.encode(), f"{safe(label)}.ttl".encode(),
        )  # fmt: skip
    finally:
        w.lib.lilv_state_free(state)
    if rc != 0:
        raise DeviceError(f"{plugin.info.name}: could not save preset {label!r} in {bundle}")
    # This process sees it at once; other processes rediscover (the bundle stamps changed).
    w.bundles.discard(os.path.abspath(bundle))
    w.load_bundle(bundle)
    return bundle
