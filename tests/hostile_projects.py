"""Damaged and hostile ``.quanta`` files for the project reader's fuzz test and long-run bench.

Every builder takes a ``random.Random`` so a case is reproducible from its seed; the same
builders feed ``tests/test_project_fuzz.py`` (bounded, via hypothesis) and
``bench/fuzz_project.py`` (thousands of cases). Classes, after the issue-14 campaign:
byte-level mutations of valid projects; zip-level lies (encrypted flag, unknown compression,
declared sizes, zip bombs, damaged deflate streams); JSON-level attacks (deep nesting, huge
numbers, NaN, lone surrogates, wrong types); array-level attacks (``.npy`` headers claiming
10^12 elements, wrong dtypes, object arrays, values MIDI cannot hold, gaps past 2^28 ticks).
"""

from __future__ import annotations

import io
import json
import random
import struct
import zipfile
import zlib

import numpy as np

from engine.demo import demo_song
from engine.model.notes import EVENT_DTYPE, NOTE_DTYPE, make_notes
from engine.model.song import Song, Track
from engine.project.project import Project, project_to_bytes

_SEEDS: list[bytes] = []


def seed_projects() -> list[bytes]:
    """A few valid projects to mutate (built once)."""
    if not _SEEDS:
        demo = demo_song()
        demo.tracks[1].extra.update(volume=0.5, pan=-0.25, mute=True)
        demo.tracks[2].extra["instrument"] = {"name": "x", "format": "stock", "state": b"\0\1"}
        _SEEDS.append(project_to_bytes(Project(demo, loop=(0, 1920), ui={"view": {"a": 1}})))
        small = Song(96, 0, [Track(notes=make_notes([0, 96], [48, 192], [60, 64]), end_tick=200)])
        _SEEDS.append(project_to_bytes(Project(small)))
    return _SEEDS


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


def build_zip(items: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=method) as z:
        for name, data in items.items():
            z.writestr(name, data)
    return buf.getvalue()


def npz(arrays: dict[str, bytes]) -> bytes:
    """An .npz from raw .npy member bytes (stored, as numpy writes it)."""
    return build_zip({f"{k}.npy": v for k, v in arrays.items()}, zipfile.ZIP_STORED)


def npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


def npy_header(descr: str, shape, fortran: bool = False, version: int = 1) -> bytes:
    text = f"{{'descr': {descr}, 'fortran_order': {fortran}, 'shape': {shape}, }}".encode()
    text += b" " * (63 - len(text) % 64) + b"\n"
    if version == 1:
        return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text
    return b"\x93NUMPY" + bytes((version, 0)) + struct.pack("<I", len(text)) + text


# -- byte-level mutations --------------------------------------------------------------------
def mutate_bytes(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    for _ in range(rng.choice((1, 1, 2, 4, 16))):
        op = rng.randrange(6)
        if not b:
            break
        i = rng.randrange(len(b))
        if op == 0:
            b[i] ^= 1 << rng.randrange(8)
        elif op == 1:
            b[i] = rng.choice((0, 0xFF, 0x7F, 0x80, rng.randrange(256)))
        elif op == 2:
            del b[i : i + rng.randrange(1, 64)]
        elif op == 3:
            b[i:i] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 16)))
        elif op == 4:
            b = b[: rng.randrange(len(b) + 1)]
        else:
            j = rng.randrange(len(b))
            n = rng.randrange(1, 32)
            b[i : i + n] = b[j : j + n]
    return bytes(b)


def _patch_central(data: bytes, rng: random.Random) -> bytes:
    """Lie in the zip headers: encrypted flag, compression method, sizes."""
    b = bytearray(data)
    sigs = [i for i in range(len(b) - 4) if b[i : i + 4] in (b"PK\x01\x02", b"PK\x03\x04")]
    for pos in rng.sample(sigs, k=min(len(sigs), rng.randrange(1, 3))):
        central = b[pos : pos + 4] == b"PK\x01\x02"
        flag_at, method_at = (pos + 8, pos + 10) if central else (pos + 6, pos + 8)
        size_at = pos + (24 if central else 22)
        what = rng.randrange(4)
        if what == 0:
            b[flag_at] |= 1  # "encrypted"
        elif what == 1:
            struct.pack_into("<H", b, method_at, rng.choice((1, 6, 12, 14, 93, 99, 0xFFFF)))
        elif what == 2:
            struct.pack_into("<I", b, size_at, rng.choice((0xFFFFFFFF, 2**31, 10**9, 0, 1)))
        else:
            struct.pack_into("<I", b, size_at - 4, rng.choice((0xFFFFFFFF, 0, 1, 7)))
    return bytes(b)


# -- structured hostile projects ---------------------------------------------------------
def _doc(rng: random.Random) -> tuple[dict, dict[str, bytes]]:
    m = members(rng.choice(seed_projects()))
    return json.loads(m["project.json"]), m


def _with(doc: dict, m: dict[str, bytes], **replace: bytes) -> bytes:
    items = dict(m)
    items["project.json"] = json.dumps(doc).encode() if doc is not None else m["project.json"]
    items.update(replace)
    return build_zip(items)


def _deep(depth: int, kind: str = "list"):
    return ("[" * depth + "]" * depth) if kind == "list" else ('{"a":' * depth + "1" + "}" * depth)


def hostile_json(rng: random.Random) -> bytes:
    doc, m = _doc(rng)
    track = doc["tracks"][0]
    choice = rng.randrange(16)
    raw = None
    if choice == 0:
        raw = json.dumps(doc).replace(
            '"ui": {', f'"ui": {{"deep": {_deep(rng.choice((70, 5000, 200000)))}, ', 1
        )
    elif choice == 1:
        raw = json.dumps(doc).replace(
            '"ui": {', f'"ui": {{"deep": {_deep(rng.choice((65, 3000)), "obj")}, ', 1
        )
    elif choice == 2:
        key = rng.choice(("end_tick", "ppq", "version", "smf_format"))
        target = track if key == "end_tick" else doc
        target[key] = rng.choice((10**30, -(10**20), 2**63, 2**64 + 1, -1, 2**53))
    elif choice == 3:
        raw = json.dumps(doc).replace(
            '"end_tick": ', '"end_tick": 1' + "0" * rng.choice((400, 5000)) + "+", 1
        )
        raw = raw.replace("+", "", 1)
    elif choice == 4:
        extra = track.setdefault("extra", {})
        key = rng.choice(("volume", "pan"))
        raw = json.dumps(doc).replace(
            '"extra": {',
            f'"extra": {{"{key}": {rng.choice(("NaN", "Infinity", "-Infinity", "1e999", "-1e400"))}, ',
            1,
        )
        extra.clear()
    elif choice == 5:
        track["extra"] = {
            rng.choice(("volume", "pan")): rng.choice((5, -3, 1e308, "loud", None, True, [1]))
        }
    elif choice == 6:
        track["extra"] = {rng.choice(("mute", "solo")): rng.choice((1, "yes", None))}
    elif choice == 7:
        track["extra"] = {
            rng.choice(("instrument", "effects")): rng.choice(
                (5, [1, 2], "x", {"a": 1}, [{"format": 1}])
            )
        }
    elif choice == 8:
        where = rng.choice(("name", "ui", "extra", "key"))
        s = rng.choice(("\\ud800", "\\udfff", "a\\udc80b"))
        base = json.dumps(doc)
        raw = {
            "name": base.replace('"name": "', f'"name": "{s}', 1),
            "ui": base.replace('"ui": {', f'"ui": {{"v": "{s}", ', 1),
            "extra": base.replace('"extra": {', f'"extra": {{"note": "{s}", ', 1),
            "key": base.replace('"ui": {', f'"ui": {{"{s}": 1, ', 1),
        }[where]
    elif choice == 9:
        doc["transport"]["loop"] = rng.choice(
            ([0, 10**40], [-5, 3], [5, 5], [0.5, 9], [True, 4], "x", [1, 2, 3])
        )
    elif choice == 10:
        track["quantize"] = rng.choice(
            (
                {"grid": "1/16", "offset": 10**40},
                {"grid": "1/16", "strength": 1e308},
                {"grid": "1/7"},
                {"grid": "1/16", "tuplet": "²:3", "grid_type": "tuplet"},
                {"grid": "1/16", "tuplet": [1, 2, 3], "grid_type": "tuplet"},
                {"grid": "1/16", "bogus": 1},
                {"grid": "1/16", "swing": "58"},
                {"grid": "1/16", "catch_within": -1},
                [1],
            )
        )
    elif choice == 11:
        doc["tracks"] = doc["tracks"] * rng.choice((2, 70000 // max(1, len(doc["tracks"]))))
    elif choice == 12:
        doc["midi_file"] = rng.choice(
            (
                {"smpte": {"fps": 25, "ticks_per_frame": 10**20}},
                {"smpte": {"fps": 7, "ticks_per_frame": 40}},
                {"chunks": [{"before_track": 10**30, "raw": {"$bytes": "QUJDRAAAAAA="}}]},
                {"chunks": [{"before_track": 0, "raw": {"$bytes": "not base64!"}}]},
                {"chunks": [{"before_track": 0, "raw": {"$bytes": "QUJD"}}]},
                {"header_tail": {"$bytes": "AAAA"}, "trailing": 5},
                {"trailing": {"$bytes": "TVRyawAAABA="}},  # "MTrk" + length 16, no body
                {"trailing": {"$bytes": "TVRoZAAAAAYAAQABAGA="}},  # a second MThd
                {"header_tail": {"$bytes": "TVRyaw=="}},
                {"rmid": {"before": {"$bytes": "TElTVAAAAAA="}, "after": {"$bytes": "ZGF0YQ=="}}},
                {"rmid": {"before": {"$bytes": ""}, "after": "x"}},
                [],
            )
        )
    elif choice == 13:
        raw = json.dumps(doc).encode("utf-8")[: rng.randrange(10, 200)].decode("utf-8", "ignore")
    elif choice == 14:
        return _with(doc, m, **{"project.json": b"\xff\xfe" + json.dumps(doc).encode("utf-16-le")})
    else:
        doc[rng.choice(("format", "tracks", "transport", "ui", "current_track"))] = rng.choice(
            (None, 5, "x", [], {}, 10**50, -2)
        )
    if raw is not None:
        return _with(None, m, **{"project.json": raw.encode("utf-8", "surrogatepass")})
    return _with(doc, m)


def _one_track_arrays(rng: random.Random, n: int = 4):
    notes = make_notes(
        np.arange(n) * 96, np.arange(n) * 96 + 48, 60 + np.arange(n) % 12, ids=np.arange(n)
    )
    events = np.zeros(2, EVENT_DTYPE)
    events["tick"] = [0, 10]
    events["status"] = [0xFF, 0xB0]
    events["data1"] = [0x03, 7]
    events["data2"] = [0, 100]
    events["length"] = [3, 0]
    events["seq"] = [0, 1]
    payload = np.frombuffer(b"abc", np.uint8).copy()
    return notes, events, payload


def hostile_arrays(rng: random.Random) -> bytes:
    """A valid project.json for one track with hostile ``song.npz`` contents."""
    doc = {
        "format": "quanta-project",
        "version": 1,
        "ppq": rng.choice((96, 480, 1)),
        "smf_format": 1,
        "tracks": [{"name": "t", "end_tick": rng.choice((0, 500, 2**28 + 10, 2**40)), "extra": {}}],
        "ui": {},
    }
    notes, events, payload = _one_track_arrays(rng)
    arrays = {"t0_notes": npy(notes), "t0_events": npy(events), "t0_payload": npy(payload)}
    key = rng.choice(list(arrays))
    choice = rng.randrange(12)
    if choice == 0:  # a header claiming 10^12 elements
        dt = {"t0_notes": NOTE_DTYPE, "t0_events": EVENT_DTYPE, "t0_payload": np.dtype(np.uint8)}[
            key
        ]
        arrays[key] = (
            npy_header(repr(np.lib.format.dtype_to_descr(dt)), f"({10**12},)") + b"\0" * 64
        )
    elif choice == 1:
        arrays[key] = (
            npy_header(
                rng.choice(("'|O'", "'<f8'", "'<i8'", "[('a', '<i4')]", "'bogus'", "'<U10'")),
                "(2,)",
            )
            + b"\0" * 16
        )
    elif choice == 2:
        arrays[key] = (
            npy_header(
                "'|u1'",
                rng.choice(("(2, 2)", "()", "(-1,)", "(2**70,)", "('a',)", "(True,)", "(1.5,)")),
                rng.random() < 0.3,
            )
            + b"\0" * 4
        )
    elif choice == 3:
        arrays[key] = arrays[key][: rng.randrange(len(arrays[key]))]
    elif choice == 4:
        arrays[key] = arrays[key] + b"\0" * rng.randrange(1, 40)
    elif choice == 5:
        arrays[key] = mutate_bytes(rng, arrays[key][:128]) + arrays[key][128:]
    elif choice == 6:  # values MIDI cannot hold
        field = rng.choice(("start", "end", "pitch", "velocity", "channel", "off_velocity", "id"))
        i = rng.randrange(notes.size)
        value = {
            "start": rng.choice((-1, -(2**62), 2**62, 2**28 * 3)),
            "end": rng.choice((0, 2**62, 2**31 + 5)),
            "pitch": rng.choice((128, 255)),
            "velocity": rng.choice((0, 128, 255)),
            "channel": rng.choice((16, 255)),
            "off_velocity": 200,
            "id": int(notes["id"][(i + 1) % notes.size]),
        }[field]
        notes[field][i] = value
        arrays["t0_notes"] = npy(notes)
    elif choice == 7:
        field = rng.choice(("tick", "status", "data1", "data2", "offset", "length"))
        i = rng.randrange(events.size)
        value = {
            "tick": rng.choice((-5, 2**40, 2**62)),
            "status": rng.choice((0x00, 0x7F, 0xF1, 0xF8, 0xFE)),
            "data1": 200,
            "data2": 255,
            "offset": 2**32 - 1,
            "length": rng.choice((2**32 - 1, 2**28 + 1, 100)),
        }[field]
        events[field][i] = value
        arrays["t0_events"] = npy(events)
    elif choice == 8:  # the gap MIDI cannot hold
        notes["start"] += rng.choice((2**28, 2**28 - 20, 2**35))
        notes["end"] += notes["start"][0]
        arrays["t0_notes"] = npy(notes)
    elif choice == 9:
        arrays = {k: v for k, v in arrays.items() if k != key}
    elif choice == 10:
        arrays["t1_notes"] = arrays["t0_notes"]
    else:
        arrays[key] = npy_header(
            repr(
                np.lib.format.dtype_to_descr(
                    NOTE_DTYPE
                    if key == "t0_notes"
                    else EVENT_DTYPE
                    if key == "t0_events"
                    else np.dtype(np.uint8)
                )
            ),
            "(1,)",
            version=rng.choice((2, 3, 9)),
        )
    packed = npz(arrays)
    if rng.random() < 0.2:  # the inner archive deflated, or lying about itself
        packed = build_zip({f"{k}.npy": v for k, v in arrays.items()})
        if rng.random() < 0.5:
            packed = _patch_central(packed, rng)
    return build_zip({"project.json": json.dumps(doc).encode(), "song.npz": packed})


def zip_bomb(rng: random.Random) -> bytes:
    """Small files that declare or inflate to far more than they hold."""
    doc, m = _doc(rng)
    choice = rng.randrange(3)
    if choice == 0:  # a real bomb: 64 MB of zeros in ~64 KB, as project.json or song.npz
        zeros = zlib.compressobj(9, zlib.DEFLATED, -15)
        body = zeros.compress(b"\0" * (64 << 20)) + zeros.flush()
        name = rng.choice(("project.json", "song.npz"))
        return _raw_member_zip({**m, name: None}, name, body, 64 << 20)
    if choice == 1:  # declares 4 GB, holds a few bytes
        name = rng.choice(("project.json", "song.npz"))
        body = zlib.compress(m[name])[2:-4]
        return _raw_member_zip(m, name, body, 0xFFFFFFFF)
    # an npy header inside a stored npz declaring 2 GB of notes (the outer zip is honest)
    notes_hdr = npy_header(repr(np.lib.format.dtype_to_descr(NOTE_DTYPE)), f"({(2 << 30) // 33},)")
    packed = npz(
        {
            "t0_notes": notes_hdr,
            "t0_events": npy(np.zeros(0, EVENT_DTYPE)),
            "t0_payload": npy(np.zeros(0, np.uint8)),
        }
    )
    doc["tracks"] = doc["tracks"][:1]
    return _with(doc, m, **{"song.npz": packed})


def _raw_member_zip(m: dict, name: str, deflated: bytes, declared: int) -> bytes:
    """A zip where ``name`` holds ``deflated`` and declares ``declared`` bytes unpacked."""
    items = {k: v for k, v in m.items() if k != name and v is not None}
    return _append_member(build_zip(items), name, deflated, declared)


def _append_member(base: bytes, name: str, deflated: bytes, declared: int) -> bytes:
    z = zipfile.ZipFile(io.BytesIO(base))
    entries = []
    out = bytearray()
    for info in z.infolist():
        local = len(out)
        raw_data = base[info.header_offset :]
        fname_len, extra_len = struct.unpack_from("<HH", raw_data, 26)
        total = 30 + fname_len + extra_len + info.compress_size
        out += raw_data[:total]
        entries.append((info, local))
    local = len(out)
    fname = name.encode()
    crc = 0
    out += struct.pack(
        "<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(deflated), declared, len(fname), 0
    )
    out += fname + deflated
    cd = bytearray()
    for info, off in entries:
        f = info.filename.encode()
        cd += (
            struct.pack(
                "<4sHHHHHHIIIHHHHHII",
                b"PK\x01\x02",
                20,
                20,
                0,
                info.compress_type,
                0,
                0,
                info.CRC,
                info.compress_size,
                info.file_size,
                len(f),
                0,
                0,
                0,
                0,
                0,
                off,
            )
            + f
        )
    cd += (
        struct.pack(
            "<4sHHHHHHIIIHHHHHII",
            b"PK\x01\x02",
            20,
            20,
            0,
            8,
            0,
            0,
            crc,
            len(deflated),
            declared,
            len(fname),
            0,
            0,
            0,
            0,
            0,
            local,
        )
        + fname
    )
    end = struct.pack(
        "<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(entries) + 1, len(entries) + 1, len(cd), len(out), 0
    )
    return bytes(out + cd + end)


def any_case(rng: random.Random) -> tuple[str, bytes]:
    """One hostile case and its class name."""
    kind = rng.choices(
        ("mutated", "zip-lies", "json", "arrays", "bomb"), weights=(40, 15, 20, 20, 5)
    )[0]
    if kind == "mutated":
        return kind, mutate_bytes(rng, rng.choice(seed_projects()))
    if kind == "zip-lies":
        return kind, _patch_central(rng.choice(seed_projects()), rng)
    if kind == "json":
        return kind, hostile_json(rng)
    if kind == "arrays":
        return kind, hostile_arrays(rng)
    return kind, zip_bomb(rng)
