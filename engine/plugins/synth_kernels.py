"""The built-in synth's inner loops, compiled with numba.

Why numba: the numpy version (one array operation per step across all voices) met the
64-voice budget, but it costs ~40 numpy calls per block whatever the voice count, which made a
four-track live mix take ~2 ms of every 5.3 ms block and kept the GIL the whole time. One
compiled pass per block, with the envelope and phase advanced by recurrences instead of
``exp`` per sample, is ~10x cheaper and allocates nothing. numba is already a dependency of
Quanta (the MIDI file codec); ``cache=True`` keeps the compile to the first run.

The kernels keep the GIL (no ``nogil``): they run for microseconds, and releasing the GIL in
the audio callback lets a busy GUI thread take it, after which the callback waits a whole
switch interval to get it back (the convoy effect), once per release.

The maths is the closed-form envelope of :mod:`engine.plugins.builtin_synth`: attack ramp ×
(sustain + (1 - sustain) × exponential decay), then an exponential release from the level at
the note-off; a band-limited table pair (dull, bright) is crossfaded by the decay curve.
"""

from __future__ import annotations

import math

import numba
import numpy as np

NOT_RELEASED = -1e18


@numba.njit(cache=True)
def render_voices(
    k, n, tab, table_size, age, rel, rel_level, A, invD, S, invR, phase, base_inc, base_b,
    base_d, bright, amp, vch, ch_volume, ch_expr, ch_pan, ch_bend, gain, out, done, silent,
):  # fmt: skip
    """Add ``k`` voices × ``n`` samples into ``out`` (2, n) and advance them by ``n``.

    Channel volume, expression, pan and pitch bend apply per block. ``done[v]`` is set for
    voices that ended (released or fully decayed, below ``silent``); returns how many."""
    mask = table_size - 1
    n_done = 0
    for v in range(k):
        c = vch[v]
        level = gain * amp[v] * ch_volume[c] * ch_expr[c]
        angle = ch_pan[c] * (math.pi / 2)
        left = level * math.cos(angle)
        right = level * math.sin(angle)
        step = base_inc[v] * ch_bend[c]
        t0 = age[v]
        i0 = 0
        if t0 < 0:
            i0 = int(-t0)
        a = A[v]
        inv_d = invD[v]
        s_lvl = S[v]
        one_s = 1.0 - s_lvl
        decay_f = math.exp(-inv_d)
        released = rel[v] > NOT_RELEASED / 2
        release_f = math.exp(-invR[v])
        t = t0 + i0
        dn = math.exp(-max(t - a, 0.0) * inv_d)
        tr = rel[v] + i0
        g = rel_level[v] * math.exp(-max(tr, 0.0) * invR[v])
        ph = (phase[v] + step * i0) % table_size
        bd = base_d[v]
        bb = base_b[v]
        br = bright[v]
        env = 0.0
        for i in range(i0, n):
            if t < a:
                env = (t / a) * (s_lvl + one_s * dn)
            else:
                env = s_lvl + one_s * dn
            if released and tr >= 0.0:
                env = g
                g *= release_f
            j = int(ph)
            frac = ph - j
            j &= mask
            d0 = tab[bd + j]
            dull = d0 + (tab[bd + j + 1] - d0) * frac
            mix = br * dn
            if mix > 1e-4:
                b0 = tab[bb + j]
                dull += mix * (b0 + (tab[bb + j + 1] - b0) * frac - dull)
            x = dull * env
            out[0, i] += x * left
            out[1, i] += x * right
            ph += step
            if ph >= table_size:
                ph -= table_size
            if t + 1.0 > a:
                if t >= a:
                    dn *= decay_f
                else:
                    dn = math.exp(-(t + 1.0 - a) * inv_d)
            t += 1.0
            tr += 1.0
        phase[v] = (phase[v] + step * n) % table_size
        age[v] += n
        if released:
            rel[v] += n
        # A voice that starts in a later block (i0 >= n) is not silent yet.
        ended = released or (s_lvl == 0.0 and age[v] > a)
        done[v] = i0 < n and env < silent and ended
        if done[v]:
            n_done += 1
    return n_done


@numba.njit(cache=True)
def render_drums(k, n, bank, start, length, pos, end, gl, gr, gain, out):
    """Add ``k`` one-shot drum voices into ``out`` (2, n) from their sample positions."""
    for v in range(k):
        p0 = pos[v]
        lo = max(0, -p0)
        hi = min(n, end[v] - p0, length[v] - p0)
        base = start[v] + p0
        left = gl[v] * gain
        right = gr[v] * gain
        for i in range(lo, hi):
            x = bank[base + i]
            out[0, i] += x * left
            out[1, i] += x * right


def warm_up() -> None:
    """Compile (or load from cache) both kernels now, with the argument types the synth
    uses, rather than in the first audio block."""
    f = np.zeros(4)
    i = np.zeros(4, np.int64)
    o = np.zeros((2, 4), np.float32)
    tab = np.zeros(8, np.float32)
    done = np.zeros(4, np.bool_)
    # Both layouts: whole buffers (render) and ``buf[:, :frames]`` views (the audio callback).
    for out in (o, np.zeros((2, 8), np.float32)[:, :4]):
        render_voices(
            0, 4, tab, 4, f, f, f, f, f, f, f, f, f, i, i, f, f, i, f, f, f, f, 1.0, out, done, 1e-3
        )
        render_drums(0, 4, np.zeros(4), i, i, i, i, f, f, 1.0, out)
