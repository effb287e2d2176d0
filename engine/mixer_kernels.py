"""The mixer's per-block arithmetic in one compiled pass each (numba, GIL kept).

A numpy statement on a (2, 256) block releases the GIL around its loop; in the audio callback
every release lets a busy Python thread in, and getting the GIL back costs up to a switch
interval. Doing gain, pan, metering and summing in one call avoids that and allocates nothing.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True)
def strip_to_bus(buf, n, gl, gr, peak, out, add):
    """Scale a strip by its gains, meter its peaks, and add it to ``out`` when ``add``."""
    pl = 0.0
    pr = 0.0
    for i in range(n):
        left = buf[0, i] * gl
        right = buf[1, i] * gr
        buf[0, i] = left
        buf[1, i] = right
        if abs(left) > pl:
            pl = abs(left)
        if abs(right) > pr:
            pr = abs(right)
        if add:
            out[0, i] += left
            out[1, i] += right
    peak[0] = pl
    peak[1] = pr


@numba.njit(cache=True)
def limit(buf, n, gain, recover, ceiling, peak_out):
    """Block-rate peak limiter (see :class:`engine.mixer.MasterLimiter`); returns the new gain.

    Meters the post-limiter peaks into ``peak_out``."""
    peak = 0.0
    for i in range(n):
        a = max(abs(buf[0, i]), abs(buf[1, i]))
        if a > peak:
            peak = a
    target = gain + (1.0 - gain) * recover
    if peak * target > ceiling:
        target = ceiling / peak
    pl = 0.0
    pr = 0.0
    for i in range(n):
        g = target if target < gain else gain + (target - gain) * (i / max(n - 1, 1))
        left = min(max(buf[0, i] * g, -ceiling), ceiling)
        right = min(max(buf[1, i] * g, -ceiling), ceiling)
        buf[0, i] = left
        buf[1, i] = right
        pl = max(pl, abs(left))
        pr = max(pr, abs(right))
    peak_out[0] = pl
    peak_out[1] = pr
    return target


@numba.njit(cache=True)
def interleave(buf, n, out):
    """Planar (2, n) → the stream's interleaved (n, 2) buffer."""
    for i in range(n):
        out[i, 0] = buf[0, i]
        out[i, 1] = buf[1, i]


def warm_up() -> None:
    """Compile (or load) every kernel for both buffer layouts used live: whole arrays and the
    ``buf[:, :frames]`` views the audio callback passes (numba compiles per layout, and a
    compile inside the first audio block was seconds of silence)."""
    p = np.zeros(2, np.float32)
    for b in (np.zeros((2, 4), np.float32), np.zeros((2, 8), np.float32)[:, :4]):
        strip_to_bus(b, 4, 1.0, 1.0, p, b.copy(), True)
        strip_to_bus(b, 4, 1.0, 1.0, p, b, True)
        limit(b, 4, 1.0, 0.1, 0.9, p)
        interleave(b, 4, np.zeros((4, 2), np.float32))
