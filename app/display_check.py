"""Before the window opens on Linux: is there a display, and can Qt's X11 plugin load?

Qt aborts the whole process (exit 134, a core dump) when its platform plugin cannot load,
naming only the first library it missed, and when there is no display at all. Both are
checked here first so the musician gets one line saying what is missing and how to get it.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from engine.errors import QuantaError


def package_by_name(soname: str) -> str:
    """Debian's naming rule for a library package: libxcb-icccm.so.4 → libxcb-icccm4,
    libxkbcommon-x11.so.0 → libxkbcommon-x11-0 (a ``-`` when the name ends in a digit)."""
    m = re.fullmatch(r"(.+?)\.so\.(\d+).*", soname)
    if not m:
        return soname
    base, major = m.group(1).lower().replace("_", "-"), m.group(2)
    return f"{base}-{major}" if base[-1].isdigit() else f"{base}{major}"


def xcb_plugin() -> Path | None:
    """PySide6's X11 platform plugin (``None`` if this PySide6 has none)."""
    import PySide6

    path = Path(PySide6.__file__).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    return path if path.exists() else None


def missing_library(plugin: Path) -> str | None:
    """The first shared library ``plugin`` needs that the system lacks, or ``None``."""
    import ctypes

    try:
        ctypes.CDLL(str(plugin))
    except OSError as exc:
        return missing_from_error(str(exc)) or str(exc)
    return None


def all_missing(plugin: Path, first: str) -> list[str]:
    """Every library ``ldd`` cannot find for ``plugin`` (the loader stops at the first), so
    that one message names them all; just ``first`` when ldd cannot tell."""
    import subprocess

    try:
        out = subprocess.run(
            ["ldd", str(plugin)], capture_output=True, text=True, timeout=30
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return [first]
    found = re.findall(r"^\s*(\S+) => not found", out, re.MULTILINE)
    names = list(dict.fromkeys(found))
    return names if first in names else [first, *names]


def missing_from_error(message: str) -> str | None:
    """``libfoo.so.1`` from the loader's "libfoo.so.1: cannot open shared object file"."""
    m = re.search(r"([\w.+-]+\.so(?:\.\d+)*): cannot open shared object file", message)
    return m.group(1) if m else None


def missing_library_message(libraries: list[str]) -> str:
    names = ", ".join(libraries)
    packages = " ".join(dict.fromkeys(package_by_name(lib) for lib in libraries))
    what = "library" if len(libraries) == 1 else "libraries"
    verb = "is" if len(libraries) == 1 else "are"
    return (
        f"the window cannot open: the system {what} {names} that Qt's X11 plugin needs "
        f"{verb} missing (Debian/Ubuntu: apt-get install {packages}, or run scripts/setup as "
        "root, which installs them all)"
    )


def check_display() -> None:
    """Raise a one-line QuantaError when the window cannot open on this Linux desktop."""
    if not sys.platform.startswith("linux"):
        return
    platform = os.environ.get("QT_QPA_PLATFORM", "").strip()
    if platform and not platform.startswith("xcb"):
        return  # offscreen, wayland, vnc…: Qt's own choice, nothing to check here
    if not platform and os.environ.get("WAYLAND_DISPLAY"):
        return  # Qt picks the wayland plugin (or xcb through XWayland) by itself
    if not os.environ.get("DISPLAY"):
        raise QuantaError(
            "no desktop display to open the window on (DISPLAY is not set): start Quanta "
            "from a desktop session, or use --screenshot PATH to render the window to a PNG"
        )
    plugin = xcb_plugin()
    library = missing_library(plugin) if plugin is not None else None
    if library is not None:
        raise QuantaError(missing_library_message(all_missing(plugin, library)))
