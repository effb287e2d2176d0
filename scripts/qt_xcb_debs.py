#!/usr/bin/env python3
"""Print the Debian packages holding every system library Qt's xcb (X11) platform needs.

The list in ``scripts/setup`` (QT_XCB_DEBS) was made with this script and
``tests/test_gui_x11.py`` checks that it still covers what the installed PySide6 asks for.
Qt bundles its own libraries inside the wheel; what it does not bundle must come from the
system, and Qt names only the first missing one when the xcb plugin fails to load.

How: ``ldd`` (the whole dependency closure) of the xcb platform plugin, its GL integrations,
the compose/ibus input-method plugins and the QtCore/QtGui/QtWidgets modules Quanta imports;
libraries inside site-packages come with the wheels and are skipped; every other library found is
mapped to its package with ``dpkg -S``; a library that is not found is mapped by Debian's
library package naming rule (soname ``libfoo-bar.so.4`` → package ``libfoo-bar4``, with a
``-`` before the number when the name ends in a digit) and listed as missing.

    .venv/bin/python scripts/qt_xcb_debs.py            # packages, one a line
    .venv/bin/python scripts/qt_xcb_debs.py --missing  # only libraries ldd cannot find
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from app.display_check import package_by_name  # the same rule the window's check names


def qt_objects() -> list[Path]:
    """The shared objects Quanta loads to open a window on X11."""
    import PySide6

    root = Path(PySide6.__file__).parent
    plugins = root / "Qt" / "plugins"
    objects = [plugins / "platforms" / "libqxcb.so"]
    objects += sorted((plugins / "xcbglintegrations").glob("*.so"))
    # The virtual keyboard input context needs Qt modules PySide6-Essentials does not ship;
    # Qt skips it silently. Compose (dead keys) and ibus are what desktop users type through.
    for name in ("libcomposeplatforminputcontextplugin.so", "libibusplatforminputcontextplugin.so"):
        if (plugins / "platforminputcontexts" / name).exists():
            objects.append(plugins / "platforminputcontexts" / name)
    for module in ("QtCore", "QtGui", "QtWidgets"):
        objects += sorted(root.glob(f"{module}.*so"))
    return objects


def system_libraries(objects: list[Path]) -> dict[str, str | None]:
    """soname → resolved path (``None`` when ldd cannot find it); the libraries the wheels
    bring (Qt's own, shiboken's, under site-packages) are left out."""
    wheels = str(objects[0].parents[4])
    found: dict[str, str | None] = {}
    for obj in objects:
        out = subprocess.run(["ldd", str(obj)], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            m = re.match(r"\s*(\S+) => (not found|(\S+))", line)
            if not m:
                continue
            name, path = m.group(1), m.group(3)
            if path is not None and os.path.realpath(path).startswith(wheels):
                continue
            if found.get(name) is None:
                found[name] = path
    return found


def package_of(path: str) -> str | None:
    """The Debian package that installed ``path`` (either its own or its real name)."""
    for candidate in (path, os.path.realpath(path), "/usr" + path):
        res = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
        if res.returncode == 0:
            return res.stdout.split(":", 1)[0].split(",")[0].strip()
    return None


def main(argv: list[str]) -> int:
    libs = system_libraries(qt_objects())
    if "--missing" in argv:
        for name, path in sorted(libs.items()):
            if path is None:
                print(f"{name} (package {package_by_name(name)})")
        return 0
    packages = set()
    for name, path in libs.items():
        owner = package_of(path) if path else None
        packages.add(owner or package_by_name(name))
    print("\n".join(sorted(packages)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
