"""What the plugin child processes (probe, LV2 discovery, editors) share: their environment,
the JSON-lines protocol on stdout, a line reader thread, and how a child's end is worded in
messages."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path


def child_env() -> dict:
    """The environment for a plugin child: Quanta importable, Qt without a display."""
    env = dict(os.environ)
    env["QT_QPA_PLATFORM"] = "offscreen"  # plugins that load Qt must not need a display
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    return env


def protocol_writer() -> Callable[[dict], None]:
    """In the child: keep the real stdout for the protocol and point fd 1 at stderr, so
    whatever a plugin library prints cannot corrupt it. Returns ``say(msg)``, which writes
    ``msg`` as one JSON line and flushes it (the parent reads line by line)."""
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)

    def say(msg: dict) -> None:
        out.write(json.dumps(msg) + "\n")
        out.flush()

    return say


def spawn_child(module: str, *args: str, env: dict | None = None) -> tuple[subprocess.Popen, queue.Queue]:
    """Start ``python -m module *args`` in its own session (``env`` defaults to
    :func:`child_env`) with stdin open for requests, and read its stdout lines into the
    returned queue from a thread (``None`` once it ends), so the caller can wait on each
    answer with a timeout. The editors talk to their child this way for as long as it runs."""
    proc = subprocess.Popen(
        [sys.executable, "-m", module, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=child_env() if env is None else env,
        start_new_session=True,
    )
    q: queue.Queue = queue.Queue()
    threading.Thread(target=read_lines, args=(proc.stdout, q), daemon=True).start()
    return proc, q


def start_child(module: str, request: dict, *args: str) -> tuple[subprocess.Popen, queue.Queue]:
    """:func:`spawn_child` for a one-request child: ``request`` goes as JSON on stdin, which
    is then closed (the child reads to the end). A child that died before reading its
    request shows as an ended queue, not an exception."""
    proc, q = spawn_child(module, *args)
    assert proc.stdin
    try:
        proc.stdin.write(json.dumps(request))
        proc.stdin.close()
    except BrokenPipeError:
        pass
    return proc, q


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
