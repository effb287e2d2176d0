"""Exception-safe painting for every widget's ``paintEvent``.

A Python exception escaping ``paintEvent`` leaves its QPainter active; Qt then ends the
backing store's paint with a painter still open and crashes (a hostile MIDI file with a tempo
of 0 did exactly that). Every paint goes through :func:`safe_painter` instead: the painter is
ended whatever happens, and an exception is logged once per place (not once per frame, which
would flood the log at the repaint rate) and counted, so the window stays up and tests can see
that a paint failed.
"""

from __future__ import annotations

import logging
import traceback
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from PySide6.QtGui import QPaintDevice, QPainter

log = logging.getLogger("quanta.ui.paint")

#: How many paints failed, by where they failed ("Ruler: ZeroDivisionError at ruler.py:135").
paint_failures: Counter[str] = Counter()


def _where(owner: str, exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    last = frames[-1] if frames else None
    at = f" at {last.filename.rsplit('/', 1)[-1]}:{last.lineno}" if last else ""
    return f"{owner}: {type(exc).__name__}{at}"


@contextmanager
def safe_painter(device: QPaintDevice, owner: str | None = None) -> Iterator[QPainter]:
    """``with safe_painter(self) as p:`` — a QPainter on ``device`` that is always ended; an
    exception raised while painting is logged once per place and swallowed (the frame is left
    as far as it got)."""
    painter = QPainter(device)
    try:
        yield painter
    except Exception as exc:  # a paint must never take the window down
        key = _where(owner or type(device).__name__, exc)
        paint_failures[key] += 1
        if paint_failures[key] == 1:
            log.error("painting failed (shown once): %s", key, exc_info=exc)
    finally:
        if painter.isActive():
            painter.end()
