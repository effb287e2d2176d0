"""The child process that probes plugins for :mod:`engine.plugins.scan`.

It runs apart (``python -m engine.plugins.probe_child --child``) so that a plugin that crashes
or hangs while loading takes down only this process; the parent reads its reports on stdout.
"""

from __future__ import annotations

import json
import sys
import time

from engine.plugins.scan import _stamp


def child_main() -> int:
    """Probe each plugin named on stdin; report ``{"begin": i}`` then the result per plugin."""
    import numpy as np

    from engine.plugins.base import Instrument, empty_block_events
    from engine.plugins.loader import load_direct

    items = json.loads(sys.stdin.read())
    out = sys.stdout
    for i, fmt, ident in items:
        print(json.dumps({"begin": i}), file=out, flush=True)
        t0 = time.monotonic()
        res = {"fmt": fmt, "ident": ident, "ok": False, "stamp": _stamp(fmt, ident)}
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
            res["error"] = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        res["seconds"] = time.monotonic() - t0
        print(json.dumps({"done": i, **res}), file=out, flush=True)
    return 0


if __name__ == "__main__" and "--child" in sys.argv:
    sys.exit(child_main())
