"""Hosting an LV2 plugin's own UI (``ui:X11UI``) through the LV2 UI interface, on our ctypes
binding. No Qt here: the caller gives a native parent window id and drives :meth:`idle`.

What the host provides (the features the UI may ask for):

- ``ui:parent``: the X11 window the UI creates its own window in (a Qt widget's ``winId()``),
- ``ui:resize``: the UI tells the host its size (the caller's ``on_resize``),
- ``ui:idleInterface``: :meth:`LV2UIHost.idle`, called from the caller's event loop,
- ``urid:map`` and ``options`` (sample rate, block sizes): the *same* map and options the DSP
  instance got, so URIDs agree on both sides,
- the port-write function (UI → DSP) and ``port_event`` (DSP → UI) for control ports, through
  the instance's :class:`~engine.plugins.control_link.ControlLink`: lock-free rings applied at
  block boundaries, so the audio thread never waits for the GUI and the GUI never calls into
  the DSP instance.

Not provided: ``instance-access`` and ``data-access`` (they hand the UI the running DSP
instance, which the GUI must never touch, and Quanta runs each UI in a child process with
its own instance); a UI that requires them is refused with a message that says so, and the
generic sliders remain. None of the plugins installed here asks for them (Debian's
zam-plugins UIs require only options, idleInterface and urid:map; mda-lv2 has no UIs). Atom/event ports (patch messages) are not
carried yet: control ports only.
"""

from __future__ import annotations

import ctypes as C
import os
from collections.abc import Callable

from engine.errors import DeviceError
from engine.plugins.lv2_world import OPTIONS, URID_MAP, _Feature

UI = "http://lv2plug.in/ns/extensions/ui#"
X11UI = UI + "X11UI"
UI_PARENT = UI + "parent"
UI_RESIZE = UI + "resize"
UI_IDLE = UI + "idleInterface"
INSTANCE_ACCESS = "http://lv2plug.in/ns/ext/instance-access"
DATA_ACCESS = "http://lv2plug.in/ns/ext/data-access"
#: Features a UI may require here; anything else makes it unshowable (sliders remain).
SUPPORTED_UI_FEATURES = {
    URID_MAP,
    OPTIONS,
    UI_PARENT,
    UI_RESIZE,
    UI_IDLE,
    UI + "noUserResize",
    UI + "fixedSize",
}
FLOAT_PROTOCOL = 0  # port_protocol 0: ui:floatProtocol, one float

_WRITE_FN = C.CFUNCTYPE(None, C.c_void_p, C.c_uint32, C.c_uint32, C.c_uint32, C.c_void_p)
_RESIZE_FN = C.CFUNCTYPE(C.c_int, C.c_void_p, C.c_int, C.c_int)
_PORT_EVENT = C.CFUNCTYPE(None, C.c_void_p, C.c_uint32, C.c_uint32, C.c_uint32, C.c_void_p)
_EXT_DATA = C.CFUNCTYPE(C.c_void_p, C.c_char_p)
_IDLE_FN = C.CFUNCTYPE(C.c_int, C.c_void_p)
_CLEANUP = C.CFUNCTYPE(None, C.c_void_p)


class _UIDescriptor(C.Structure):
    _fields_ = [
        ("URI", C.c_char_p),
        ("instantiate", C.c_void_p),
        ("cleanup", _CLEANUP),
        ("port_event", C.c_void_p),
        ("extension_data", C.c_void_p),
    ]


_INSTANTIATE = C.CFUNCTYPE(
    C.c_void_p,
    C.POINTER(_UIDescriptor),
    C.c_char_p,
    C.c_char_p,
    _WRITE_FN,
    C.c_void_p,
    C.POINTER(C.c_void_p),
    C.POINTER(C.POINTER(_Feature)),
)


class _Resize(C.Structure):
    _fields_ = [("handle", C.c_void_p), ("ui_resize", _RESIZE_FN)]


class _IdleInterface(C.Structure):
    _fields_ = [("idle", _IDLE_FN)]


def choose_ui(desc: dict) -> dict:
    """The UI to show for a plugin description (from the discovery): an X11 UI whose
    required features we provide. One-line DeviceError otherwise, saying why."""
    name = desc.get("name") or desc.get("uri", "?")
    uis = desc.get("uis") or []
    x11 = [u for u in uis if X11UI in u.get("types", ())]
    if not x11:
        kinds = sorted({t.rsplit("#", 1)[-1] for u in uis for t in u.get("types", ())})
        if kinds:
            raise DeviceError(
                f"LV2 plugin {name} has no X11 UI (only {', '.join(kinds)}); "
                "use the generic sliders"
            )
        raise DeviceError(f"LV2 plugin {name} has no UI of its own; use the generic sliders")
    needs: set[str] = set()
    for ui in x11:
        missing = sorted(set(ui.get("required", ())) - SUPPORTED_UI_FEATURES)
        if not missing:
            return ui
        needs.update(missing)
    if INSTANCE_ACCESS in needs or DATA_ACCESS in needs:
        raise DeviceError(
            f"LV2 plugin {name}: its UI cannot be shown: it needs direct access to the "
            "running plugin (instance-access/data-access), and Quanta runs plugin UIs in "
            "their own process, apart from the instance that plays; use the generic sliders"
        )
    raise DeviceError(
        f"LV2 plugin {name}: its UI needs {missing[0]}, which Quanta does not provide; "
        "use the generic sliders"
    )


class LV2UIHost:
    """One running LV2 UI for one LV2 plugin instance (:class:`LV2Effect`/`LV2Instrument`).

    ``parent_window`` is the native X11 window to embed in; ``on_resize(w, h)`` is called
    when the UI says its size; ``on_gesture(port, value)`` (optional) for each UI write.
    All methods run on the GUI thread."""

    def __init__(
        self,
        plugin,
        ui: dict,
        parent_window: int,
        on_resize: Callable[[int, int], None] | None = None,
        on_gesture: Callable[[int, float], None] | None = None,
    ):
        self.plugin = plugin
        self.ui = ui
        self.name = plugin.info.name
        self.link = plugin.attach_link()
        self.on_resize = on_resize
        self.on_gesture = on_gesture
        self.size = (0, 0)
        self.handle = None
        core = plugin.core
        self._ports = {p.index: p for p in core.ports if p.kind == "control"}
        self._lib = self._open(ui["binary"])
        self.desc = self._descriptor(ui["uri"])
        self._write_cb = _WRITE_FN(self._on_write)
        self._resize_cb = _RESIZE_FN(self._on_resize)
        self._resize = _Resize(None, self._resize_cb)
        host = core.host
        feats = [
            _Feature(URID_MAP.encode(), C.cast(C.pointer(host._map_struct), C.c_void_p)),
            _Feature(OPTIONS.encode(), C.cast(host._options, C.c_void_p)),
            _Feature(UI_PARENT.encode(), C.c_void_p(int(parent_window))),
            _Feature(UI_RESIZE.encode(), C.cast(C.pointer(self._resize), C.c_void_p)),
            _Feature(UI_IDLE.encode(), None),
        ]
        self._feats = feats
        self._features = (C.POINTER(_Feature) * (len(feats) + 1))(
            *[C.pointer(f) for f in feats], None
        )
        widget = C.c_void_p()
        instantiate = _INSTANTIATE(self.desc.instantiate)
        bundle = (os.path.abspath(ui["bundle"]).rstrip("/") + "/").encode()
        self.handle = instantiate(
            C.pointer(self.desc),
            plugin.info.ident.encode(),
            bundle,
            self._write_cb,
            None,
            C.byref(widget),
            self._features,
        )
        if not self.handle:
            raise DeviceError(f"LV2 plugin {self.name}: its UI failed to start")
        self.widget = widget.value or 0
        self._port_event = _PORT_EVENT(self.desc.port_event) if self.desc.port_event else None
        self._idle = None
        if self.desc.extension_data:
            ptr = _EXT_DATA(self.desc.extension_data)(UI_IDLE.encode())
            if ptr:
                self._idle = C.cast(ptr, C.POINTER(_IdleInterface)).contents.idle
        for index in self._ports:  # the UI starts showing the current values
            self.port_event(index, float(core.controls[index]))

    def _open(self, path: str):
        if not os.path.isfile(path):
            raise DeviceError(f"LV2 plugin {self.name}: its UI binary {path} is missing")
        try:
            return C.CDLL(path, mode=os.RTLD_NOW | os.RTLD_LOCAL)
        except OSError as exc:
            reason = str(exc).replace(f"{path}: ", "")
            raise DeviceError(
                f"LV2 plugin {self.name}: its UI binary {path} cannot be loaded ({reason})"
            ) from None

    def _descriptor(self, uri: str) -> _UIDescriptor:
        try:
            get = self._lib.lv2ui_descriptor
        except AttributeError:
            raise DeviceError(
                f"LV2 plugin {self.name}: {self.ui['binary']} is not an LV2 UI library"
            ) from None
        get.argtypes = [C.c_uint32]
        get.restype = C.POINTER(_UIDescriptor)
        for i in range(256):
            d = get(i)
            if not d:
                break
            if d.contents.URI and d.contents.URI.decode("utf-8", "replace") == uri:
                return d.contents
        raise DeviceError(f"LV2 plugin {self.name}: its UI library does not provide <{uri}>")

    # -- callbacks from the UI (GUI thread) -------------------------------------------------
    def _on_write(self, _controller, port: int, size: int, protocol: int, buf) -> None:
        if protocol != FLOAT_PROTOCOL or size != 4 or not buf or port not in self._ports:
            return  # atom/event messages are not carried (control ports only)
        value = C.c_float.from_address(buf).value
        self.write(port, value)

    def _on_resize(self, _handle, width: int, height: int) -> int:
        self.size = (int(width), int(height))
        if self.on_resize:
            self.on_resize(int(width), int(height))
        return 0

    # -- the host's side --------------------------------------------------------------------
    def write(self, port: int, value: float) -> None:
        """What the UI's port-write function does: queue the value for the audio thread."""
        p = self._ports.get(port)
        if p is None or not p.is_input:
            return
        lo, hi = min(p.lo, p.hi), max(p.lo, p.hi)
        value = min(max(float(value), lo), hi)
        self.link.write(port, value)
        if self.on_gesture:
            self.on_gesture(port, value)

    def port_event(self, port: int, value: float) -> None:
        if self._port_event is not None and self.handle:
            v = C.c_float(value)
            self._port_event(self.handle, port, 4, FLOAT_PROTOCOL, C.byref(v))

    def idle(self) -> bool:
        """Deliver the DSP's published values, then let the UI run; False once it asks to
        be closed."""
        if not self.handle:
            return False
        for port, value in self.link.changes().items():
            self.port_event(port, value)
        if self._idle is not None:
            return self._idle(self.handle) == 0
        return True

    def close(self) -> None:
        if self.handle:
            self.desc.cleanup(self.handle)
            self.handle = None
