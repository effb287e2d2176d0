"""Hypothesis strategies for groove files: valid documents mutated at the byte, token and field
level, shared by tests/test_groove_fuzz.py (bounded, in CI) and bench/fuzz_grooves.py (long run)."""

from __future__ import annotations

import gzip
import json

from hypothesis import strategies as st

from engine.presets import groove_file_bytes
from engine.quantize import BASES, GroovePoint, GrooveTemplate

NUMBERS = st.one_of(
    st.integers(-5, 300),
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.sampled_from([0, 0.5, 1 / 3, 127, 127.5, 1e308, -0.0, 2**70]),
)


@st.composite
def templates(draw) -> GrooveTemplate:
    base = draw(st.sampled_from(sorted(BASES)))
    step = BASES[base]
    slots = draw(st.integers(1, 32))
    points = []
    for j in sorted(draw(st.sets(st.integers(0, slots - 1), max_size=slots))):
        off = draw(st.integers(-47, 47)) * step / 96  # strictly inside the slot
        beat = j * step + off
        if beat < 0:
            beat += slots * step
        vel = draw(st.one_of(st.none(), st.integers(1, 127)))
        ln = draw(st.one_of(st.none(), st.integers(1, 192).map(lambda n: n * step / 8)))
        points.append(GroovePoint(beat, vel, ln))
    return GrooveTemplate("Fuzz", base, slots * step, tuple(points))


def _mutate_bytes(data: bytes, draw) -> bytes:
    ops = draw(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 1 << 20), st.binary(max_size=8)), max_size=6))
    b = bytearray(data)
    for op, pos, chunk in ops:
        pos = pos % (len(b) + 1)
        if op == 0:
            b[pos:pos] = chunk
        elif op == 1:
            del b[pos : pos + len(chunk) + 1]
        elif op == 2 and b:
            b[pos % len(b)] ^= 1 + (len(chunk) % 255)
        else:
            b = b[:pos]
    return bytes(b)


def _mutate_doc(doc: dict, draw) -> dict:
    doc = json.loads(json.dumps(doc))
    target = draw(st.sampled_from(["name", "base", "length", "version", "format", "points", "point", "extra"]))
    value = draw(st.one_of(NUMBERS, st.text(max_size=70), st.none(), st.lists(NUMBERS, max_size=3), st.booleans()))
    if target == "point" and doc["points"]:
        p = doc["points"][draw(st.integers(0, len(doc["points"]) - 1))]
        p[draw(st.sampled_from(["beat", "velocity", "length", "other"]))] = value
    elif target == "extra":
        doc[draw(st.text(max_size=8))] = value
    else:
        doc[target] = value
    return doc


@st.composite
def json_files(draw) -> bytes:
    t = draw(templates())
    doc = t.to_document()
    kind = draw(st.integers(0, 2))
    if kind == 0:
        return json.dumps(_mutate_doc(doc, draw), allow_nan=True).encode()
    raw = groove_file_bytes(t, "json")
    return raw if kind == 1 else _mutate_bytes(raw, draw)


@st.composite
def agr_files(draw) -> bytes:
    t = draw(templates().filter(lambda t: t.base != "1/32T"))
    raw = groove_file_bytes(t, "agr")
    if draw(st.booleans()):
        raw = _mutate_bytes(raw, draw)
    if draw(st.booleans()):
        raw = gzip.compress(raw, mtime=0)
        if draw(st.booleans()):
            raw = _mutate_bytes(raw, draw)
    return raw


@st.composite
def rgt_files(draw) -> bytes:
    t = draw(templates().filter(lambda t: t.length.denominator == 1))
    raw = groove_file_bytes(t, "rgt", version=draw(st.sampled_from([0, 1])))
    if draw(st.booleans()):
        text = raw.decode()
        lines = text.splitlines()
        if lines:
            i = draw(st.integers(0, len(lines) - 1))
            lines[i] = draw(st.sampled_from([
                "nan 1", "1e999", "-0.5 1", "0.1 2", "x", "", "Groove: 999999 positions",
                "Number of beats in groove: 0", "0.25 0", "Version: 7",
            ]))  # fmt: skip
        raw = "\n".join(lines).encode()
    if draw(st.booleans()):
        raw = _mutate_bytes(raw, draw)
    return raw


READERS = {"json": json_files, "agr": agr_files, "rgt": rgt_files}
