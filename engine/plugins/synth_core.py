"""The built-in synth and drum kit as compiled code over flat arrays: events and rendering.

Why flat arrays: the whole instrument (voices, drum hits, channel state) lives in one float64
``state`` array and everything it reads (programs, wavetables, drum samples, GM maps) in one
float64 ``consts`` array per sample rate. Compiled code that knows only two addresses can then
play it: :class:`engine.plugins.builtin_synth.BuiltinSynth` calls these functions from Python,
and the GIL-free audio callback (:mod:`engine.audio.audio_native`) calls the very same functions
with no Python at all, so a song sounds identical rendered offline and played live.

Why numba and the maths: see the recurrences below. The envelope is closed-form (a function of
each voice's age): attack ramp × (sustain + (1 - sustain) × exponential decay), then an
exponential release from the level at the note-off; a band-limited table pair (dull, bright)
is crossfaded by the decay curve. A note-on at sample offset ``o`` gives its voice an age of
``-o`` at the block start and the envelope is zero for negative ages, so every note starts on
its exact sample. Active voices are kept first (0..k-1) so a block costs what is sounding.

Nothing here allocates, locks or raises: indices are kept in range by construction (the
``state`` layout below is checked when the Python side builds it).
"""

from __future__ import annotations

import math

import numba

NOT_RELEASED = -1e18
SILENT = 1e-3  # envelope level below which a voice is freed (-60 dB; voices peak at -10 dBFS)
DRUM_CHANNEL = 9

# -- state layout: scalars, then channels (NCF x 16), voices (NVF x maxv), drums (NDF x maxd)
S_K, S_DK, S_SERIAL, S_VOLUME, S_FIXED, S_MELODIC, S_DRUMS, S_MAXV, S_MAXD = range(9)
N_SCALARS = 16
CH_VOL, CH_EXPR, CH_PAN, CH_BEND, CH_SUS, CH_PROG = range(6)
NCF = 6
(V_CH, V_PITCH, V_PROG, V_BB, V_BD, V_PHASE, V_INC, V_AGE, V_REL, V_RLEV, V_A, V_INVD, V_S,
 V_INVR, V_AMP, V_BRIGHT, V_HELD, V_SERIAL, V_DONE) = range(19)  # fmt: skip
NVF = 19
D_START, D_LEN, D_POS, D_END, D_PIECE, D_GL, D_GR = range(7)
NDF = 7
OFF_CH = N_SCALARS
OFF_V = OFF_CH + NCF * 16

# -- consts layout: a header of offsets, then the sections it points at
(C_SR, C_TABLE_SIZE, C_NBANDS, C_BAND_HZ, C_NPROG, C_PROG, C_GM, C_NOTE_PIECE, C_NPIECE,
 C_PSTART, C_PLEN, C_PLEVEL, C_PGL, C_PGR, C_CHOKE, C_TAB, C_BANK) = range(17)  # fmt: skip
C_HEADER = 32
P_ATTACK, P_DECAY, P_SUSTAIN, P_RELEASE, P_GAIN, P_VCURVE, P_BRIGHT = range(7)
NPF = 7
DEFAULT_CH_VOLUME = (100 / 127) ** 2


def state_size(max_voices: int, max_drums: int) -> int:
    return OFF_V + NVF * max_voices + NDF * max_drums


@numba.njit(cache=True)
def views(st):
    """The channel, voice and drum tables of ``st`` as 2-D views (no copies)."""
    maxv = int(st[S_MAXV])
    maxd = int(st[S_MAXD])
    ch = st[OFF_CH : OFF_CH + NCF * 16].reshape((NCF, 16))
    vs = st[OFF_V : OFF_V + NVF * maxv].reshape((NVF, maxv))
    d0 = OFF_V + NVF * maxv
    ds = st[d0 : d0 + NDF * maxd].reshape((NDF, maxd))
    return ch, vs, ds


@numba.njit(cache=True)
def reset_channels(st):
    """GM defaults on all 16 channels (volume 100, centre, no bend, program as fixed)."""
    ch, _, _ = views(st)
    prog = st[S_FIXED] if st[S_FIXED] >= 0 else 0.0
    for c in range(16):
        ch[CH_VOL, c] = DEFAULT_CH_VOLUME
        ch[CH_EXPR, c] = 1.0
        ch[CH_PAN, c] = 0.5
        ch[CH_BEND, c] = 1.0
        ch[CH_SUS, c] = 0.0
        ch[CH_PROG, c] = prog


@numba.njit(cache=True)
def reset(st):
    """Silence every voice and hit at once and restore channel defaults."""
    st[S_K] = 0.0
    st[S_DK] = 0.0
    reset_channels(st)


# -- events ----------------------------------------------------------------------------------
@numba.njit(cache=True)
def _band_of(cs, freq):
    f = max(freq, cs[C_BAND_HZ])
    b = int(math.floor(math.log2(f / cs[C_BAND_HZ])))
    return min(max(b, 0), int(cs[C_NBANDS]) - 1)


@numba.njit(cache=True)
def _env_at(vs, i, t):
    """The closed-form attack/decay/sustain level of voice ``i`` at age ``t`` samples."""
    if t < 0:
        return 0.0
    a = vs[V_A, i]
    att = min(t / a, 1.0)
    dn = math.exp(-max(t - a, 0.0) * vs[V_INVD, i])
    return att * (vs[V_S, i] + (1.0 - vs[V_S, i]) * dn)


@numba.njit(cache=True)
def _release(vs, i, off):
    if vs[V_REL, i] != NOT_RELEASED:
        return
    vs[V_RLEV, i] = _env_at(vs, i, vs[V_AGE, i] + off)
    vs[V_REL, i] = -off


@numba.njit(cache=True)
def _free_voice(st, vs):
    """A voice slot for a new note: a free one, else the quietest released, else the oldest."""
    k = int(st[S_K])
    if k < int(st[S_MAXV]):
        st[S_K] = k + 1
        return k
    best = -1
    for i in range(k):
        if vs[V_REL, i] != NOT_RELEASED and (best < 0 or vs[V_RLEV, i] < vs[V_RLEV, best]):
            best = i
    if best >= 0:
        return best
    best = 0
    for i in range(1, k):
        if vs[V_SERIAL, i] < vs[V_SERIAL, best]:
            best = i
    return best


@numba.njit(cache=True)
def _note_on(st, cs, ch, vs, off, c, pitch, vel):
    i = _free_voice(st, vs)
    prog_i = int(ch[CH_PROG, c])
    p = int(cs[C_PROG]) + prog_i * NPF
    sr = cs[C_SR]
    size = cs[C_TABLE_SIZE]
    nb = int(cs[C_NBANDS])
    freq = 440.0 * 2.0 ** ((pitch - 69) / 12.0)
    inc = freq * size / sr
    band = _band_of(cs, freq * 1.12)  # room for a 2-semitone bend up
    stride = int(size) + 1
    vs[V_CH, i] = c
    vs[V_PITCH, i] = pitch
    vs[V_PROG, i] = prog_i
    vs[V_BB, i] = ((prog_i * 2 + 0) * nb + band) * stride
    vs[V_BD, i] = ((prog_i * 2 + 1) * nb + band) * stride
    vs[V_INC, i] = inc
    vs[V_PHASE, i] = (-inc * off) % size
    vs[V_AGE, i] = -off
    vs[V_REL, i] = NOT_RELEASED
    vs[V_RLEV, i] = 0.0
    vs[V_A, i] = max(cs[p + P_ATTACK] * sr, 1.0)
    vs[V_INVD, i] = 1.0 / (cs[p + P_DECAY] * sr)
    vs[V_S, i] = cs[p + P_SUSTAIN]
    vs[V_INVR, i] = 1.0 / (cs[p + P_RELEASE] * sr)
    v = vel / 127.0
    vs[V_AMP, i] = 0.3 * cs[p + P_GAIN] * v ** cs[p + P_VCURVE]
    vs[V_BRIGHT, i] = cs[p + P_BRIGHT] * (0.35 + 0.65 * v)
    vs[V_HELD, i] = 0.0
    vs[V_SERIAL, i] = st[S_SERIAL]
    st[S_SERIAL] += 1.0


@numba.njit(cache=True)
def _note_off(st, ch, vs, off, c, pitch):
    for i in range(int(st[S_K])):
        if vs[V_CH, i] == c and vs[V_PITCH, i] == pitch and vs[V_REL, i] == NOT_RELEASED:
            if ch[CH_SUS, c] != 0.0:
                vs[V_HELD, i] = 1.0
            else:
                _release(vs, i, off)


@numba.njit(cache=True)
def _drum_on(st, cs, ch, ds, off, note, vel):
    piece = int(cs[int(cs[C_NOTE_PIECE]) + note])
    if piece < 0:
        return
    npiece = int(cs[C_NPIECE])
    choke = int(cs[C_CHOKE])
    dk = int(st[S_DK])
    for j in range(dk):  # a closed hat cuts an open one off at this sample
        if cs[choke + int(ds[D_PIECE, j]) * npiece + piece] != 0.0:
            ds[D_END, j] = min(ds[D_END, j], ds[D_POS, j] + off)
    if dk < int(st[S_MAXD]):
        j = dk
        st[S_DK] = dk + 1
    else:  # all hits busy: steal the one furthest along
        j = 0
        for m in range(1, dk):
            if ds[D_POS, m] > ds[D_POS, j]:
                j = m
    length = cs[int(cs[C_PLEN]) + piece]
    v = (vel / 127.0) ** 1.5 * cs[int(cs[C_PLEVEL]) + piece] * 0.6
    v *= ch[CH_VOL, DRUM_CHANNEL] / DEFAULT_CH_VOLUME
    ds[D_START, j] = cs[int(cs[C_PSTART]) + piece]
    ds[D_LEN, j] = length
    ds[D_POS, j] = -off
    ds[D_END, j] = length
    ds[D_PIECE, j] = piece
    ds[D_GL, j] = v * cs[int(cs[C_PGL]) + piece]
    ds[D_GR, j] = v * cs[int(cs[C_PGR]) + piece]


@numba.njit(cache=True)
def _keep_voices(st, vs, drop_channel):
    """Drop voices marked done (or, with ``drop_channel`` >= 0, every voice on that channel),
    keeping the rest first and in order."""
    k = int(st[S_K])
    m = 0
    for i in range(k):
        gone = vs[V_DONE, i] != 0.0 or (drop_channel >= 0 and vs[V_CH, i] == drop_channel)
        if gone:
            continue
        if m != i:
            for f in range(NVF):
                vs[f, m] = vs[f, i]
        m += 1
    st[S_K] = m


@numba.njit(cache=True)
def _control(st, ch, vs, off, c, cc, val):
    if cc == 7:
        ch[CH_VOL, c] = (val / 127.0) ** 2
    elif cc == 11:
        ch[CH_EXPR, c] = (val / 127.0) ** 2
    elif cc == 10:
        ch[CH_PAN, c] = val / 127.0
    elif cc == 64:
        down = val >= 64
        ch[CH_SUS, c] = 1.0 if down else 0.0
        if not down:
            for i in range(int(st[S_K])):
                if vs[V_HELD, i] != 0.0 and vs[V_CH, i] == c:
                    vs[V_HELD, i] = 0.0
                    _release(vs, i, off)
    elif cc == 120:  # all sound off
        for i in range(int(st[S_K])):
            vs[V_DONE, i] = 0.0
        _keep_voices(st, vs, c)
        if c == DRUM_CHANNEL:
            st[S_DK] = 0.0
    elif cc == 123:  # all notes off
        for i in range(int(st[S_K])):
            if vs[V_CH, i] == c and vs[V_REL, i] == NOT_RELEASED:
                _release(vs, i, off)
    elif cc == 121:  # reset all controllers
        ch[CH_VOL, c] = DEFAULT_CH_VOLUME
        ch[CH_EXPR, c] = 1.0
        ch[CH_PAN, c] = 0.5
        ch[CH_BEND, c] = 1.0


@numba.njit(cache=True)
def event(st, cs, off, status, d1, d2):
    """Apply one MIDI message at sample ``off`` of the coming block."""
    ch, vs, ds = views(st)
    kind = status & 0xF0
    c = status & 0x0F
    if kind == 0x90 and d2 > 0:
        if c == DRUM_CHANNEL:
            if st[S_DRUMS] != 0.0:
                _drum_on(st, cs, ch, ds, off, d1, d2)
        elif st[S_MELODIC] != 0.0:
            _note_on(st, cs, ch, vs, off, c, d1, d2)
    elif kind == 0x80 or kind == 0x90:
        if c != DRUM_CHANNEL and st[S_MELODIC] != 0.0:
            _note_off(st, ch, vs, off, c, d1)
    elif kind == 0xB0:
        _control(st, ch, vs, off, c, d1, d2)
    elif kind == 0xC0:
        if st[S_FIXED] < 0:
            ch[CH_PROG, c] = cs[int(cs[C_GM]) + d1]
    elif kind == 0xE0:
        semis = (((d2 << 7) | d1) - 8192) / 8192.0 * 2.0
        ch[CH_BEND, c] = 2.0 ** (semis / 12.0)


# -- rendering -------------------------------------------------------------------------------
@numba.njit(cache=True)
def _render_voices(st, cs, ch, vs, n, out):
    """Add the active voices × ``n`` samples into ``out`` (2, n), advance them, and free the
    ones that ended. Channel volume, expression, pan and bend apply per block."""
    size = cs[C_TABLE_SIZE]
    mask = int(size) - 1
    tab = int(cs[C_TAB])
    gain = st[S_VOLUME]
    k = int(st[S_K])
    n_done = 0
    for v in range(k):
        c = int(vs[V_CH, v])
        level = gain * vs[V_AMP, v] * ch[CH_VOL, c] * ch[CH_EXPR, c]
        angle = ch[CH_PAN, c] * (math.pi / 2)
        left = level * math.cos(angle)
        right = level * math.sin(angle)
        step = vs[V_INC, v] * ch[CH_BEND, c]
        t0 = vs[V_AGE, v]
        i0 = 0
        if t0 < 0:
            i0 = int(-t0)
        a = vs[V_A, v]
        inv_d = vs[V_INVD, v]
        s_lvl = vs[V_S, v]
        one_s = 1.0 - s_lvl
        decay_f = math.exp(-inv_d)
        rel = vs[V_REL, v]
        released = rel > NOT_RELEASED / 2
        release_f = math.exp(-vs[V_INVR, v])
        t = t0 + i0
        dn = math.exp(-max(t - a, 0.0) * inv_d)
        tr = rel + i0
        g = vs[V_RLEV, v] * math.exp(-max(tr, 0.0) * vs[V_INVR, v])
        phase = vs[V_PHASE, v]
        ph = (phase + step * i0) % size
        bd = tab + int(vs[V_BD, v])
        bb = tab + int(vs[V_BB, v])
        br = vs[V_BRIGHT, v]
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
            d0 = cs[bd + j]
            dull = d0 + (cs[bd + j + 1] - d0) * frac
            mix = br * dn
            if mix > 1e-4:
                b0 = cs[bb + j]
                dull += mix * (b0 + (cs[bb + j + 1] - b0) * frac - dull)
            x = dull * env
            out[0, i] += x * left
            out[1, i] += x * right
            ph += step
            if ph >= size:
                ph -= size
            if t + 1.0 > a:
                if t >= a:
                    dn *= decay_f
                else:
                    dn = math.exp(-(t + 1.0 - a) * inv_d)
            t += 1.0
            tr += 1.0
        vs[V_PHASE, v] = (phase + step * n) % size
        vs[V_AGE, v] = t0 + n
        if released:
            vs[V_REL, v] = rel + n
        # A voice that starts in a later block (i0 >= n) is not silent yet.
        ended = released or (s_lvl == 0.0 and t0 + n > a)
        done = i0 < n and env < SILENT and ended
        vs[V_DONE, v] = 1.0 if done else 0.0
        if done:
            n_done += 1
    if n_done:
        _keep_voices(st, vs, -1)


@numba.njit(cache=True)
def _render_drums(st, cs, ds, n, out):
    """Add the sounding drum hits into ``out`` (2, n) and drop the finished ones."""
    bank = int(cs[C_BANK])
    gain = st[S_VOLUME]
    dk = int(st[S_DK])
    m = 0
    for v in range(dk):
        p0 = int(ds[D_POS, v])
        length = int(ds[D_LEN, v])
        end = int(ds[D_END, v])
        lo = max(0, -p0)
        hi = min(n, end - p0, length - p0)
        base = bank + int(ds[D_START, v]) + p0
        left = ds[D_GL, v] * gain
        right = ds[D_GR, v] * gain
        for i in range(lo, hi):
            x = cs[base + i]
            out[0, i] += x * left
            out[1, i] += x * right
        p = p0 + n
        if p >= min(end, length):
            continue  # finished: not kept
        ds[D_POS, v] = p
        if m != v:
            for f in range(NDF):
                ds[f, m] = ds[f, v]
        m += 1
    st[S_DK] = m


@numba.njit(cache=True)
def render(st, cs, n, out):
    """Overwrite ``out[:, :n]`` with the next ``n`` samples."""
    for i in range(n):
        out[0, i] = 0.0
        out[1, i] = 0.0
    ch, vs, ds = views(st)
    if st[S_K] > 0:
        _render_voices(st, cs, ch, vs, n, out)
    if st[S_DK] > 0:
        _render_drums(st, cs, ds, n, out)


@numba.njit(cache=True)
def process_records(st, cs, events, out):
    """Apply a block's ``BLOCK_EVENT_DTYPE`` events (sorted by offset), then render the block."""
    for i in range(events.shape[0]):
        e = events[i]
        event(st, cs, int(e["offset"]), int(e["status"]), int(e["data1"]), int(e["data2"]))
    render(st, cs, out.shape[1], out)


@numba.njit(cache=True)
def process_rows(st, cs, rows, count, out, n):
    """The mixer's form: events as float64 rows (offset, status, data1, data2)."""
    for i in range(count):
        event(st, cs, int(rows[i, 0]), int(rows[i, 1]), int(rows[i, 2]), int(rows[i, 3]))
    render(st, cs, n, out)
