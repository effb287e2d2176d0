"""The ``quanta-groove`` JSON file (QUANTIZE_SPEC part 2, "Files"), read as strictly as presets.

A groove file is never trusted: it is refused above :data:`MAX_GROOVE_BYTES` unread, must be
UTF-8 JSON without duplicate keys, NaN, Infinity or numbers that overflow to infinity, is checked
against the JSON Schema shipped as ``presets/quanta-groove.schema.json`` (for other tools) and
then by :class:`~engine.quantize.GrooveTemplate` (two points in one slot, a beat outside the
pattern, ...). Every rejection is a :class:`~engine.errors.GrooveError` whose message starts with
the file name and names the field.
"""

from __future__ import annotations

import json
import math
from functools import cache
from importlib import resources

from engine.errors import GrooveError
from engine.presets.preset_format import GROOVE_SCHEMA_FILE as SCHEMA_FILE
from engine.quantize import GrooveTemplate, template_from_document

#: Larger files are refused unread (a 64-bar 1/32T groove with every slot used is ~70 kB).
MAX_GROOVE_BYTES = 1024 * 1024


class _Duplicate(Exception):
    pass


def _no_duplicates(pairs):
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise _Duplicate(key)
        seen[key] = value
    return seen


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is too large to be a number")
    return value


@cache
def groove_schema() -> dict:
    """The shipped JSON Schema of a ``quanta-groove`` document."""
    text = resources.files("presets").joinpath(SCHEMA_FILE).read_text("utf-8")
    return json.loads(text)


@cache
def _validator():
    from jsonschema import Draft202012Validator

    return Draft202012Validator(groove_schema())


def _path(err) -> str:
    out = ""
    for part in err.absolute_path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "groove"


def groove_from_json(data: bytes | str, origin: str) -> GrooveTemplate:
    """Parse and validate the bytes of a groove file; ``origin`` (the file name) starts every
    error message."""
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if len(raw) > MAX_GROOVE_BYTES:
        raise GrooveError(origin, f"is {len(raw)} bytes; a groove file is at most {MAX_GROOVE_BYTES}")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise GrooveError(origin, f"is not UTF-8 text (byte {exc.start})") from None
    try:
        doc = json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_constant=_refuse_constant,
            parse_float=_finite_float,
        )
    except _Duplicate as exc:
        raise GrooveError(origin, f"{exc}: appears twice; each field once") from None
    except json.JSONDecodeError as exc:
        raise GrooveError(
            origin, f"is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    except ValueError as exc:  # NaN, Infinity, 1e999, a 5000-digit integer
        raise GrooveError(origin, f"is not valid JSON ({exc})") from None
    except RecursionError:
        raise GrooveError(origin, "is nested too deeply to be a groove") from None
    return groove_from_document(doc, origin)


def groove_from_document(doc, origin: str) -> GrooveTemplate:
    """A parsed document → template: the model's field-named checks, then the shipped schema
    (so a file Quanta accepts is one any schema-driven tool accepts too)."""
    try:
        template = template_from_document(doc)
    except GrooveError as exc:
        raise GrooveError(origin, str(exc)) from None
    except RecursionError:
        raise GrooveError(origin, "is nested too deeply to be a groove") from None
    errors = sorted(_validator().iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        raise GrooveError(origin, f"{_path(errors[0])}: {errors[0].message[:200]}")
    return template


def groove_to_json(template: GrooveTemplate) -> str:
    """Pretty, stable JSON (two-space indent, trailing newline) for files people read and diff."""
    return json.dumps(template.to_document(), indent=2, ensure_ascii=False) + "\n"
