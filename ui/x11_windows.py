"""Finding a top-level X11 window another process owns (a VST3 editor's window), by the
owner's process id (``_NET_WM_PID``), so Qt can grab it: ``QScreen.grabWindow(window_id)``.
libX11 via ctypes."""

from __future__ import annotations

import ctypes as C
import ctypes.util
import os


def find_window(pid: int) -> int:
    """The id of the largest mapped top-level window of process ``pid`` (0 if none)."""
    name = ctypes.util.find_library("X11")
    if not name or not os.environ.get("DISPLAY"):
        return 0
    x = C.CDLL(name)
    x.XOpenDisplay.restype = C.c_void_p
    x.XOpenDisplay.argtypes = [C.c_char_p]
    x.XDefaultRootWindow.restype = C.c_ulong
    x.XDefaultRootWindow.argtypes = [C.c_void_p]
    x.XQueryTree.argtypes = (
        [C.c_void_p, C.c_ulong]
        + [C.POINTER(C.c_ulong)] * 2
        + [
            C.POINTER(C.POINTER(C.c_ulong)),
            C.POINTER(C.c_uint),
        ]
    )
    x.XFetchName.argtypes = [C.c_void_p, C.c_ulong, C.POINTER(C.c_char_p)]
    x.XFree.argtypes = [C.c_void_p]
    x.XInternAtom.argtypes = [C.c_void_p, C.c_char_p, C.c_int]
    x.XInternAtom.restype = C.c_ulong
    x.XGetWindowProperty.argtypes = [
        C.c_void_p, C.c_ulong, C.c_ulong, C.c_long, C.c_long, C.c_int, C.c_ulong,
        C.POINTER(C.c_ulong), C.POINTER(C.c_int), C.POINTER(C.c_ulong), C.POINTER(C.c_ulong),
        C.POINTER(C.c_void_p),
    ]  # fmt: skip
    x.XCloseDisplay.argtypes = [C.c_void_p]
    x.XGetWindowAttributes.argtypes = [C.c_void_p, C.c_ulong, C.c_void_p]
    display = x.XOpenDisplay(None)
    if not display:
        return 0
    try:
        return _search(x, display, x.XDefaultRootWindow(display), pid)
    finally:
        x.XCloseDisplay(display)


def _property(x, display, window: int, name: bytes) -> bytes:
    prop = x.XInternAtom(display, name, 0)
    actual, fmt = C.c_ulong(), C.c_int()
    count, after, data = C.c_ulong(), C.c_ulong(), C.c_void_p()
    status = x.XGetWindowProperty(
        display, window, prop, 0, 1024, 0, 0, C.byref(actual), C.byref(fmt), C.byref(count),
        C.byref(after), C.byref(data),
    )  # fmt: skip
    if status != 0 or not data.value:
        return b""
    try:  # format-32 items are C longs in Xlib's memory
        size = 8 if fmt.value == 32 else fmt.value // 8
        return C.string_at(data.value, count.value * size)
    finally:
        x.XFree(data)


class _Attributes(C.Structure):  # the start of XWindowAttributes, up to map_state
    _fields_ = [
        ("x", C.c_int), ("y", C.c_int), ("width", C.c_int), ("height", C.c_int),
        ("border_width", C.c_int), ("depth", C.c_int), ("visual", C.c_void_p),
        ("root", C.c_ulong), ("c_class", C.c_int), ("bit_gravity", C.c_int),
        ("win_gravity", C.c_int), ("backing_store", C.c_int), ("backing_planes", C.c_ulong),
        ("backing_pixel", C.c_ulong), ("save_under", C.c_int), ("colormap", C.c_ulong),
        ("map_installed", C.c_int), ("map_state", C.c_int), ("pad", C.c_char * 64),
    ]  # fmt: skip


def _search(x, display, root: int, pid: int) -> int:
    parent = C.c_ulong()
    children, count = C.POINTER(C.c_ulong)(), C.c_uint()
    if not x.XQueryTree(display, root, C.byref(C.c_ulong()), C.byref(parent),
                        C.byref(children), C.byref(count)):  # fmt: skip
        return 0
    best, best_area = 0, 0
    try:
        for i in range(count.value):
            w = children[i]
            raw = _property(x, display, w, b"_NET_WM_PID")
            if len(raw) < 4 or int.from_bytes(raw[:4], "little") != pid:
                continue
            attrs = _Attributes()
            if not x.XGetWindowAttributes(display, w, C.byref(attrs)):
                continue
            area = attrs.width * attrs.height
            if attrs.map_state == 2 and area > best_area:  # IsViewable
                best, best_area = w, area
    finally:
        if children:
            x.XFree(children)
    return best


_GEOMETRY: list = []  # [libX11, display]: one connection for the process, opened on first use


def window_size(window_id: int) -> tuple[int, int] | None:
    """The size of any X11 window (a plugin UI's own), None if unknown. Plain Xlib through
    ctypes, which lets other Python threads run during the round trip to the X server (a
    Qt call such as ``QWindow.fromWinId`` holds the GIL through it: the stand-in audio
    thread of ``quanta plugins ui`` came late)."""
    if not window_id or not os.environ.get("DISPLAY"):
        return None
    if not _GEOMETRY:
        name = ctypes.util.find_library("X11")
        if not name:
            return None
        x = C.CDLL(name)
        x.XOpenDisplay.restype = C.c_void_p
        x.XOpenDisplay.argtypes = [C.c_char_p]
        x.XGetGeometry.argtypes = [C.c_void_p, C.c_ulong, C.POINTER(C.c_ulong)] + [
            C.POINTER(C.c_int)] * 2 + [C.POINTER(C.c_uint)] * 4  # fmt: skip
        x.XSetErrorHandler.restype = C.c_void_p
        display = x.XOpenDisplay(None)
        if not display:
            return None
        _GEOMETRY[:] = [x, display]
    x, display = _GEOMETRY
    root, px, py = C.c_ulong(), C.c_int(), C.c_int()
    w, h, border, depth = C.c_uint(), C.c_uint(), C.c_uint(), C.c_uint()
    ok = x.XGetGeometry(display, window_id, C.byref(root), C.byref(px), C.byref(py),
                        C.byref(w), C.byref(h), C.byref(border), C.byref(depth))  # fmt: skip
    return (int(w.value), int(h.value)) if ok and w.value and h.value else None
