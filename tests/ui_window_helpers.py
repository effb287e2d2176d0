"""Showing and closing a MainWindow in the UI tests, one way for every fixture."""

from __future__ import annotations

from collections.abc import Iterator


def show_window(qtbot, w):
    """Show ``w`` and wait until it is on screen (painting and layout have happened)."""
    w.show()
    qtbot.waitExposed(w)
    return w


def close_window(w) -> None:
    """Close ``w`` without the "save changes?" prompt a modified song would raise: the test
    is over, so its undo stack is marked clean first."""
    w.doc.undo_stack.setClean()
    w.close()
    w.deleteLater()


def shown_window(qtbot, w) -> Iterator:
    """Fixture body: yield ``w`` shown, then close it (see :func:`close_window`)."""
    show_window(qtbot, w)
    yield w
    close_window(w)
