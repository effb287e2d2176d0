"""Hostile preset files (JSON and the one-line text form) for the fuzz test and the bench.

Builders take a ``random.Random`` so every case is reproducible from its seed. Classes,
after the issue-14 campaign: lone UTF-16 surrogates (JSON escapes, text-form escapes, raw
bytes a non-UTF-8 argv becomes), non-ASCII digits (``v²``, ``swing=٥٨``), names ending in a
line break, names of the store's own files, deep nesting, huge numbers, NaN, duplicate
keys, oversize files, and byte-level mutations of valid presets in both forms.
"""

from __future__ import annotations

import json
import random

from engine.presets.preset_format import Preset, preset_to_json, preset_to_text
from engine.quantize.settings import QuantizeSettings

_VALID = [
    Preset("MPC 58", QuantizeSettings(swing=58), "swing 58", "me", ("swing", "mpc")),
    Preset("Tuplets 5:4", QuantizeSettings(grid_type="tuplet", tuplet=(5, 4)), "five"),
    Preset("Soft ends", QuantizeSettings(strength=70, ends="quantize-lengths", length_grid="1/8T")),
]
_WEIRD_TEXT = [
    "\ud800",
    "\udfff",
    "a\udc80b",
    "x\n",
    "x\r\n",
    "\n",
    "x\t",
    "\u0085",
    "\u2028",
    " ",
    "",
    "\x00",
    "²",
    "٥٨",
    "quanta-preset.schema",
    "QUANTA-PRESET.SCHEMA",
    "..",
    "CON",
    "a/b\\c",
    "\ufeff",
    "x" * 65,
    "é" * 64,
    "\U0001f3b9",
]
_WEIRD_NUMBERS = [
    "NaN",
    "Infinity",
    "-Infinity",
    "1e999",
    "-1e400",
    "1" + "0" * 5000,
    "1" + "0" * 30,
    "58.0000000000000000001",
    "-0",
    "0.5e1",
    "2147483648",
    "-2147483649",
    "1E2",
    "٥٨",
    "５８",
    "58²",
]


def valid_documents() -> list[dict]:
    return [json.loads(preset_to_json(p)) for p in _VALID]


def valid_texts() -> list[str]:
    return [preset_to_text(p) for p in _VALID]


def mutate(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    for _ in range(rng.choice((1, 1, 2, 3, 8))):
        if not b:
            break
        i = rng.randrange(len(b))
        op = rng.randrange(5)
        if op == 0:
            b[i] ^= 1 << rng.randrange(8)
        elif op == 1:
            b[i] = rng.choice(b'0123456789{}[]":,\\ \n=\x00\xff\xc2\xb2')
        elif op == 2:
            del b[i : i + rng.randrange(1, 8)]
        elif op == 3:
            b[i:i] = rng.choice(
                (b"\\ud800", b"\xb2", b"\xc2\xb2", b"\n", b"[" * 50, b'"', b"\\", b"\xed\xa0\x80")
            )
        else:
            j = rng.randrange(len(b))
            b[i:i] = b[j : j + rng.randrange(1, 16)]
    return bytes(b)


def _json_with(rng: random.Random, doc: dict, raw_value: str) -> bytes:
    """``doc`` as JSON with one value replaced by raw JSON text (for NaN, huge numbers…)."""
    text = json.dumps(doc)
    key = rng.choice(list(doc["settings"]) or ["swing"])
    marker = '"__RAW__"'
    if key in doc["settings"]:
        doc = json.loads(text)
        doc["settings"][key] = "__RAW__"
        return json.dumps(doc).replace(marker, raw_value, 1).encode("utf-8", "surrogatepass")
    return text.encode()


def hostile_json(rng: random.Random) -> bytes:
    doc = rng.choice(valid_documents())
    choice = rng.randrange(9)
    if choice == 0:  # weird text in a text field, as a JSON escape or raw
        field = rng.choice(("name", "description", "author"))
        doc[field] = rng.choice(("", "My ")) + rng.choice(_WEIRD_TEXT)
        escape = rng.random() < 0.5
        return json.dumps(doc, ensure_ascii=escape).encode("utf-8", "surrogatepass")
    if choice == 1:
        doc["tags"] = [rng.choice(_WEIRD_TEXT) for _ in range(rng.randrange(1, 3))]
        return json.dumps(doc, ensure_ascii=rng.random() < 0.5).encode("utf-8", "surrogatepass")
    if choice == 2:
        return _json_with(rng, doc, rng.choice(_WEIRD_NUMBERS))
    if choice == 3:
        depth = rng.choice((50, 1000, 100000))
        return (
            json.dumps(doc)
            .replace('"settings": {', f'"deep": {"[" * depth}{"]" * depth}, "settings": {{', 1)
            .encode()
        )
    if choice == 4:
        text = json.dumps(doc)
        return text.replace('"name":', '"name": "dup", "name":', 1).encode()
    if choice == 5:
        doc["version"] = rng.choice((2, 0, -1, 1.5, "1", "²", 10**40, True, None))
        return json.dumps(doc).encode()
    if choice == 6:
        return json.dumps(doc).encode() + b" " * rng.choice((10, 70000))
    if choice == 7:
        doc["settings"]["tuplet"] = rng.choice(("5:4\n", "²:3", "5:٤", "99:99", "0:1", "5:4:3"))
        doc["settings"]["grid_type"] = "tuplet"
        return json.dumps(doc).encode()
    return mutate(rng, json.dumps(doc, indent=rng.choice((None, 2))).encode())


def hostile_text(rng: random.Random) -> bytes:
    text = rng.choice(valid_texts())
    choice = rng.randrange(7)
    if choice == 0:
        return text.replace(
            "quanta-preset:v1",
            rng.choice(
                (
                    "quanta-preset:v²",
                    "quanta-preset:v١",
                    "quanta-preset:v" + "9" * 5000,
                    "quanta-preset:v",
                    "quanta-preset:v01",
                    "quanta-preset:v2",
                )
            ),
            1,
        ).encode("utf-8")
    if choice == 1:
        weird = rng.choice(_WEIRD_TEXT)
        escaped = json.dumps(weird)  # a JSON string: \ud800 written as an escape
        key = rng.choice(("name", "description", "author", "tag"))
        return f"{text} {key}={escaped}".replace(f" {key}=", f" {key}=", 1).encode("utf-8")
    if choice == 2:
        key = rng.choice(("swing", "strength", "offset", "catch_within", "exclude_within"))
        base = " ".join(w for w in text.split(" ") if not w.startswith(f"{key}="))
        return f"{base} {key}={rng.choice(_WEIRD_NUMBERS)}".encode()
    if choice == 3:  # raw bytes a non-UTF-8 argv or file holds
        return text.encode() + rng.choice(
            (b' name="\xff"', b" \xed\xa0\x80", b"\xc2", b" tag=\xb2")
        )
    if choice == 4:
        return (
            rng.choice((b"\xef\xbb\xbf", b"  \n", b""))
            + text.encode()
            + rng.choice((b"\n", b"\r\n", b"\n\n junk", b""))
        )
    if choice == 5:
        return (text + " tag=x" * rng.choice((20, 5000))).encode()
    return mutate(rng, text.encode("utf-8"))


def any_case(rng: random.Random) -> tuple[str, bytes]:
    kind = rng.choice(("json", "text", "mutated-json", "mutated-text"))
    if kind == "json":
        return kind, hostile_json(rng)
    if kind == "text":
        return kind, hostile_text(rng)
    if kind == "mutated-json":
        return kind, mutate(rng, preset_to_json(rng.choice(_VALID)).encode())
    return kind, mutate(rng, rng.choice(valid_texts()).encode())
