"""What the plugin child processes (probe, LV2 discovery) share: their environment, a
line reader thread, and how a child's end is worded in messages."""

from __future__ import annotations

import os
import queue
import signal
from pathlib import Path


def child_env() -> dict:
    """The environment for a plugin child: Quanta importable, Qt without a display."""
    env = dict(os.environ)
    env["QT_QPA_PLATFORM"] = "offscreen"  # plugins that load Qt must not need a display
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    return env


def read_lines(stream, q: queue.Queue) -> None:
    """Thread body: every line of ``stream`` into ``q``, then ``None`` at its end."""
    for line in stream:
        q.put(line)
    q.put(None)


def exit_reason(code: int | None) -> str:
    """``-6`` → ``signal 6, SIGABRT``; ``3`` → ``exit code 3``."""
    if code is None:
        return "no answer"
    if code < 0:
        try:
            return f"signal {-code}, {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"
