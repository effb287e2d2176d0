"""A private X server (Xvfb) for tests, and the two things a desktop does to a window.

Xvfb picks a free display number itself (``-displayfd``), so parallel test runs never share
one. Windows are looked at from outside the app (``xwininfo`` from x11-utils), and closed the
way a window manager closes them: a WM_DELETE_WINDOW client message (libX11 through ctypes).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import re
import select
import signal
import subprocess
import time

from tests import procs


class Xvfb:
    """An Xvfb server in its own process group; ``display`` is ``":N"`` once started."""

    def __init__(self, size: str = "1280x1024x24", keep: bool = False):
        self.size = size
        self.keep = keep  # a module-scoped server outlives single tests on purpose
        self.proc: subprocess.Popen | None = None
        self.display = ""

    def start(self, timeout: float = 20.0) -> None:
        read_fd, write_fd = os.pipe()
        self.proc = procs.spawn(
            ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", self.size, "-nolisten", "tcp"],
            keep=self.keep,
            pass_fds=(write_fd,),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(write_fd)
        try:
            number = b""
            deadline = time.monotonic() + timeout
            while not number.endswith(b"\n"):
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([read_fd], [], [], left)[0]:
                    raise RuntimeError(f"Xvfb did not report a display in {timeout:.0f} s")
                chunk = os.read(read_fd, 16)
                if not chunk:
                    raise RuntimeError(f"Xvfb exited ({self.proc.wait()}) before it was ready")
                number += chunk
        except BaseException:
            self.stop()
            raise
        finally:
            os.close(read_fd)
        self.display = f":{int(number)}"

    def stop(self) -> None:
        if self.proc is None:
            return
        kill_group(self.proc)
        self.proc = None


def kill_group(proc: subprocess.Popen, grace: float = 5.0) -> None:
    """SIGTERM the process group of ``proc`` (a session leader) so an X client or server can
    close cleanly; :func:`tests.procs.kill_group` SIGKILLs whatever is left after ``grace``."""
    procs.kill_group(proc, signal.SIGTERM, grace)


def top_windows(display: str) -> list[tuple[int, str]]:
    """``(window id, title)`` of every named child of the root window."""
    out = procs.run(
        ["xwininfo", "-display", display, "-root", "-children"],
        capture_output=True,
        text=True,
        timeout=10,
    ).stdout
    return [
        (int(m.group(1), 16), m.group(2))
        for m in re.finditer(r"^\s*(0x[0-9a-f]+) \"(.*)\":", out, re.MULTILINE)
    ]


def map_state(display: str, window: int) -> str:
    """``IsViewable``, ``IsUnMapped`` or ``IsUnviewable`` (``""`` when the window is gone)."""
    res = procs.run(
        ["xwininfo", "-display", display, "-id", hex(window)],
        capture_output=True,
        text=True,
        timeout=10,
    )
    m = re.search(r"Map State: (\w+)", res.stdout)
    return m.group(1) if m else ""


class _ClientMessage(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("serial", ctypes.c_ulong),
        ("send_event", ctypes.c_int),
        ("display", ctypes.c_void_p),
        ("window", ctypes.c_ulong),
        ("message_type", ctypes.c_ulong),
        ("format", ctypes.c_int),
        ("data", ctypes.c_long * 5),
    ]


class _XEvent(ctypes.Union):
    _fields_ = [("xclient", _ClientMessage), ("pad", ctypes.c_long * 24)]


def close_window(display: str, window: int) -> None:
    """Ask ``window`` to close as a window manager does (WM_PROTOCOLS / WM_DELETE_WINDOW)."""
    x11 = ctypes.CDLL(ctypes.util.find_library("X11") or "libX11.so.6")
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XInternAtom.restype = ctypes.c_ulong
    x11.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    x11.XSendEvent.argtypes = [
        ctypes.c_void_p,
        ctypes.c_ulong,
        ctypes.c_int,
        ctypes.c_long,
        ctypes.POINTER(_XEvent),
    ]
    x11.XFlush.argtypes = [ctypes.c_void_p]
    x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
    dpy = x11.XOpenDisplay(display.encode())
    if not dpy:
        raise RuntimeError(f"cannot open X display {display}")
    try:
        ev = _XEvent()
        ev.xclient.type = 33  # ClientMessage
        ev.xclient.window = window
        ev.xclient.message_type = x11.XInternAtom(dpy, b"WM_PROTOCOLS", 0)
        ev.xclient.format = 32
        ev.xclient.data[0] = x11.XInternAtom(dpy, b"WM_DELETE_WINDOW", 0)
        ev.xclient.data[1] = 0  # CurrentTime
        if not x11.XSendEvent(dpy, window, 0, 0, ctypes.byref(ev)):
            raise RuntimeError(f"cannot send WM_DELETE_WINDOW to {hex(window)}")
        x11.XFlush(dpy)
    finally:
        x11.XCloseDisplay(dpy)
