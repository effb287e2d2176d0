"""Xvfb for the plugin-UI tests: a context manager over :class:`tests.x11_tools.Xvfb`, and
the environment for a child that opens windows there with Qt's xcb platform."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.x11_tools import Xvfb


@contextmanager
def xvfb(size: str = "1280x800x24") -> Iterator[str]:
    """A private X server for the block; yields its display (``":N"``)."""
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (scripts/setup --dev installs it)")
    server = Xvfb(size, keep=True)  # module fixtures hold it across tests; stopped below
    server.start()
    try:
        yield server.display
    finally:
        server.stop()


def x11_env(display: str, **extra: str) -> dict[str, str]:
    """The environment for a child that opens windows on ``display`` with Qt's xcb."""
    env = {k: v for k, v in os.environ.items() if k != "WAYLAND_DISPLAY"}
    env.update(DISPLAY=display, QT_QPA_PLATFORM="xcb", **extra)
    return env
