"""The mixer's per-block arithmetic in compiled passes (numba, GIL kept), and the whole mix of
a mixer whose instruments are all built-in (:func:`mix_native`).

A numpy statement on a (2, 256) block releases the GIL around its loop; in the audio callback
every release lets a busy Python thread in, and getting the GIL back costs up to a switch
interval. Doing gain, pan, metering and summing in one call avoids that and allocates nothing.

:func:`mix_native` is the mixer of :mod:`engine.audio.mixer` written against flat arrays only, so
the GIL-free audio callback (:mod:`engine.audio.audio_native`) can run it with no Python at all;
``Mixer.process`` runs the same function when it can, so offline render and live playback
share it. The layout of the mixer's control array ``ctl`` is defined here (``M_*`` header,
then ``TF`` fields per track); the track table holds each track's synth state address.
"""

from __future__ import annotations

import math

import numba

from engine.audio.native_ptr import f64_ptr
from engine.plugins import synth_core as sc

# -- the mixer control array: header, then TF fields per track
M_NTRACKS, M_MASTER_GAIN, M_LIM_ON, M_LIM_GAIN, M_LIM_CEIL, M_LIM_RELEASE, M_SR = range(7)
M_PEAK_L, M_PEAK_R = 7, 8
M_HEADER = 16
T_GL, T_GR, T_AUDIBLE, T_PEAK_L, T_PEAK_R, T_DROPPED, T_EVN, T_KEVN = range(8)
TF = 8
# -- the track table (int64): synth state address and length, drum kit's (0 when none)
TT_STATE, TT_STATE_LEN, TT_KIT, TT_KIT_LEN = range(4)
TTF = 4
DRUM_CHANNEL = sc.DRUM_CHANNEL


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
def limit(buf, n, lim, peak_out):
    """Block-rate peak limiter (see :class:`engine.audio.mixer.MasterLimiter`).

    ``lim`` is (gain, ceiling, release seconds, sample rate); the new gain is stored back.
    Meters the post-limiter peaks into ``peak_out``."""
    gain = lim[0]
    ceiling = lim[1]
    recover = 1.0 - math.exp(-n / (lim[2] * lim[3]))
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
    lim[0] = target


@numba.njit(cache=True)
def peaks(buf, n, peak_out):
    pl = 0.0
    pr = 0.0
    for i in range(n):
        pl = max(pl, abs(buf[0, i]))
        pr = max(pr, abs(buf[1, i]))
    peak_out[0] = pl
    peak_out[1] = pr


@numba.njit(cache=True)
def delay_line(buf, n, line, pos):
    """Delay ``buf`` (2, n) in place by ``line.shape[1]`` samples (plugin delay compensation);
    ``line`` holds the delayed samples and ``pos[0]`` where the next one goes."""
    d = line.shape[1]
    p = pos[0]
    for i in range(n):
        left = buf[0, i]
        right = buf[1, i]
        buf[0, i] = line[0, p]
        buf[1, i] = line[1, p]
        line[0, p] = left
        line[1, p] = right
        p += 1
        if p == d:
            p = 0
    pos[0] = p


@numba.njit(cache=True)
def interleave(buf, n, out):
    """Planar (2, n) → the stream's interleaved (n, 2) buffer."""
    for i in range(n):
        out[i, 0] = buf[0, i]
        out[i, 1] = buf[1, i]


@numba.njit(cache=True)
def queue_event(ctl, table, ev, t, off, status, d1, d2):
    """Queue one message for track ``t``'s next block at sample ``off`` (callers queue in
    offset order). Channel-10 notes go to the track's drum kit when it has one; channel-10
    controllers reach both. Returns False when the block's event space is full (counted)."""
    row = M_HEADER + t * TF
    to_kit = table[t, TT_KIT] != 0 and (status & 0x0F) == DRUM_CHANNEL and status < 0xF0
    kind = status & 0xF0
    cap = ev.shape[2]
    ok = True
    for dest in range(2):
        if dest == 1 and not to_kit:
            break
        if dest == 0 and to_kit and (kind == 0x80 or kind == 0x90):
            continue
        field = T_EVN if dest == 0 else T_KEVN
        c = int(ctl[row + field])
        if c >= cap:
            ctl[row + T_DROPPED] += 1
            ok = False
            continue
        ev[t, dest, c, 0] = off
        ev[t, dest, c, 1] = status
        ev[t, dest, c, 2] = d1
        ev[t, dest, c, 3] = d2
        ctl[row + field] = c + 1
    return ok


@numba.njit(cache=True)
def _synth_state(table, t, which):
    return numba.carray(f64_ptr(table[t, which]), table[t, which + 1])


@numba.njit(cache=True)
def mix_native(ctl, table, cs, ev, bufs, dbuf, n, out):
    """Render ``n`` frames of the whole mixer into ``out`` (2, n): each track's built-in synth
    (and drum kit) with its queued events, volume/pan/mute/solo, meters, master gain and
    limiter. What ``Mixer.process`` does when every strip is built-in and has no effects."""
    for i in range(n):
        out[0, i] = 0.0
        out[1, i] = 0.0
    nt = int(ctl[M_NTRACKS])
    for t in range(nt):
        row = M_HEADER + t * TF
        st = _synth_state(table, t, TT_STATE)
        evn = int(ctl[row + T_EVN])
        kevn = int(ctl[row + T_KEVN])
        has_kit = table[t, TT_KIT] != 0
        idle = evn == 0 and st[sc.S_K] == 0 and st[sc.S_DK] == 0
        kst = _synth_state(table, t, TT_KIT) if has_kit else st
        if has_kit:
            idle = idle and kevn == 0 and kst[sc.S_K] == 0 and kst[sc.S_DK] == 0
        if idle:  # nothing to play and nothing ringing: skip the strip
            ctl[row + T_PEAK_L] = 0.0
            ctl[row + T_PEAK_R] = 0.0
            continue
        buf = bufs[t]
        sc.process_rows(st, cs, ev[t, 0], evn, buf, n)
        ctl[row + T_EVN] = 0
        if has_kit:
            sc.process_rows(kst, cs, ev[t, 1], kevn, dbuf, n)
            ctl[row + T_KEVN] = 0
            for i in range(n):
                buf[0, i] += dbuf[0, i]
                buf[1, i] += dbuf[1, i]
        strip_to_bus(
            buf, n, ctl[row + T_GL], ctl[row + T_GR], ctl[row + T_PEAK_L : row + T_PEAK_R + 1],
            out, ctl[row + T_AUDIBLE] != 0.0,
        )  # fmt: skip
    g = ctl[M_MASTER_GAIN]
    if g != 1.0:
        for i in range(n):
            out[0, i] *= g
            out[1, i] *= g
    if ctl[M_LIM_ON] != 0.0:
        limit(out, n, ctl[M_LIM_GAIN : M_LIM_GAIN + 4], ctl[M_PEAK_L : M_PEAK_R + 1])
    else:
        peaks(out, n, ctl[M_PEAK_L : M_PEAK_R + 1])
