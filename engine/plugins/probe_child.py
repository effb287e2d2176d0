"""The child process that probes plugins for :mod:`engine.plugins.scan`.

It runs apart (``python -m engine.plugins.probe_child --child``) so that a plugin that crashes
or hangs while loading takes down only this process; the parent reads its reports on stdout
(a private copy of it: whatever plugins print goes to a scratch file, read back to explain a
failure). The parent stamps the results (the child never searches for plugins itself: it is
told which LV2 bundles to load for each plugin).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time


def _loader_message(log_fd: int) -> str:
    """The last error line a plugin's library (or lilv) printed while it failed."""
    try:
        size = os.fstat(log_fd).st_size
        tail = os.pread(log_fd, 4096, max(0, size - 4096)).decode("utf-8", "replace")
    except OSError:
        return ""
    tail = tail.splitlines()
    for line in reversed(tail):
        if "error" in line.lower() and line.strip():
            text = line.strip()
            return text.split("error: ", 1)[-1] if "error: " in text else text
    return ""


def child_main() -> int:
    """Probe each plugin named on stdin; report ``{"begin": i}`` then the result per plugin."""
    request = json.loads(sys.stdin.read())
    out = os.fdopen(os.dup(1), "w", buffering=1)
    # What plugins print (to stdout or stderr) goes to an unlinked scratch file (nothing is
    # left behind if this process is killed), read back when a plugin fails.
    log = tempfile.TemporaryFile()
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    return _probe_each(request, out, log.fileno())


def _probe_each(request: dict, out, log: int) -> int:
    import numpy as np

    from engine.plugins import lv2_world
    from engine.plugins.base import Instrument, empty_block_events
    from engine.plugins.loader import load_direct

    lv2_world.remember_bundles(request.get("lv2_bundles", {}))
    for i, fmt, ident in request["items"]:
        print(json.dumps({"begin": i}), file=out, flush=True)
        os.ftruncate(log, 0)
        os.lseek(log, 0, os.SEEK_SET)  # fds 1 and 2 share this offset
        t0 = time.monotonic()
        res = {"fmt": fmt, "ident": ident, "ok": False}
        try:
            plugin = load_direct(fmt, ident, None, 48000, 256)
            buf = np.zeros((2, 256), dtype=np.float32)
            if isinstance(plugin, Instrument):
                ev = empty_block_events(2)
                ev[0] = (0, 0x90, 60, 100)
                plugin.process(ev[:1], buf)
            else:
                plugin.process(buf)
            res.update(ok=True, kind=plugin.info.kind, name=plugin.info.name)
            res.update(vendor=plugin.info.vendor)
            plugin.close()
        except Exception as exc:  # any failure of a foreign plugin is a probe result
            msg = " ".join(str(exc).split()) or type(exc).__name__
            detail = _loader_message(log)
            if detail and detail not in msg:
                msg = f"{msg} ({detail})"
            res["error"] = msg
        res["seconds"] = time.monotonic() - t0
        print(json.dumps({"done": i, **res}), file=out, flush=True)
    return 0


if __name__ == "__main__" and "--child" in sys.argv:
    sys.exit(child_main())
