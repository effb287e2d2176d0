"""The read-only data of the built-in synth packed into one float64 array per sample rate.

Programs, the GM program map, the drum kit's note map, levels, pans and choke groups, the
wavetables and the drum samples: everything :mod:`engine.plugins.synth_core` reads, behind a
header of offsets (``C_*``), so compiled code reaches all of it through one address. Built once
per rate with numpy at start-up (no files) and shared by every synth at that rate.
"""

from __future__ import annotations

import numpy as np

from engine.plugins import synth_core as sc
from engine.plugins.builtin_drums import CHOKED_BY, PIECE_MIX, piece_for_note, synthesize_kit
from engine.plugins.builtin_programs import (
    BAND_BASE_HZ,
    N_BANDS,
    PROGRAMS,
    TABLE_SIZE,
    build_tables,
    gm_to_program,
)

_CACHE: dict[int, np.ndarray] = {}


def consts_for(sample_rate: int) -> np.ndarray:
    """The shared consts array for ``sample_rate`` (built on first use)."""
    sr = int(sample_rate)
    if sr not in _CACHE:
        _CACHE[sr] = _build(sr)
    return _CACHE[sr]


def _build(sr: int) -> np.ndarray:
    kit = synthesize_kit(sr)
    names = list(kit)
    npiece = len(names)
    progs = np.array(
        [
            (p.attack, p.decay, p.sustain, p.release, p.gain, p.velocity_curve, p.brightness)
            for p in PROGRAMS
        ],
        dtype=np.float64,
    ).reshape(-1)
    gm = np.array([gm_to_program(g) for g in range(128)], dtype=np.float64)
    note_piece = np.array(
        [names.index(p) if (p := piece_for_note(n)) is not None else -1 for n in range(128)],
        dtype=np.float64,
    )
    starts, lengths, pos = [], [], 0
    for x in kit.values():
        starts.append(pos)
        lengths.append(x.size)
        pos += x.size
    level = np.array([PIECE_MIX[n][0] for n in names], dtype=np.float64)
    angle = np.array([(PIECE_MIX[n][1] + 1) / 2 * np.pi / 2 for n in names])
    choke = np.zeros((npiece, npiece))
    for choked, by in CHOKED_BY.items():
        for b in by:
            choke[names.index(choked), names.index(b)] = 1.0
    tab = build_tables(sr).reshape(-1).astype(np.float64)
    bank = np.concatenate(list(kit.values())).astype(np.float64)
    sections = [
        (sc.C_PROG, progs),
        (sc.C_GM, gm),
        (sc.C_NOTE_PIECE, note_piece),
        (sc.C_PSTART, np.array(starts, dtype=np.float64)),
        (sc.C_PLEN, np.array(lengths, dtype=np.float64)),
        (sc.C_PLEVEL, level),
        (sc.C_PGL, np.cos(angle)),
        (sc.C_PGR, np.sin(angle)),
        (sc.C_CHOKE, choke.reshape(-1)),
        (sc.C_TAB, tab),
        # Drum samples last: a hit reads up to a block past its end only if mis-scheduled.
        (sc.C_BANK, bank),
    ]
    total = sc.C_HEADER + sum(a.size for _, a in sections)
    cs = np.zeros(total, dtype=np.float64)
    cs[sc.C_SR] = sr
    cs[sc.C_TABLE_SIZE] = TABLE_SIZE
    cs[sc.C_NBANDS] = N_BANDS
    cs[sc.C_BAND_HZ] = BAND_BASE_HZ
    cs[sc.C_NPROG] = len(PROGRAMS)
    cs[sc.C_NPIECE] = npiece
    at = sc.C_HEADER
    for field, arr in sections:
        cs[field] = at
        cs[at : at + arr.size] = arr
        at += arr.size
    return cs


_warm = False


def warm_up() -> None:
    """Compile (or load from the cache) every kernel with the argument types used live: whole
    buffers (offline render) and ``buf[:, :frames]`` views (the audio callback)."""
    global _warm
    if _warm:
        return
    _warm = True
    from engine.plugins.base import empty_block_events

    cs = consts_for(48000)
    st = np.zeros(sc.state_size(2, 2))
    st[sc.S_MAXV] = 2
    st[sc.S_MAXD] = 2
    st[sc.S_VOLUME] = 1.0
    st[sc.S_MELODIC] = st[sc.S_DRUMS] = 1.0
    st[sc.S_FIXED] = -1.0
    sc.reset(st)
    ev = empty_block_events(2)
    ev[0] = (0, 0x90, 60, 100)
    ev[1] = (1, 0x99, 36, 100)
    rows = np.zeros((2, 4))
    for out in (np.zeros((2, 4), np.float32), np.zeros((2, 8), np.float32)[:, :4]):
        sc.process_records(st, cs, ev, out)
        sc.process_rows(st, cs, rows, 0, out, 4)
    sc.reset(st)
