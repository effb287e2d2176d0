"""Quantize presets on disk and in chat: the JSON format, its strict loader, and a one-line text form.

A preset file is never trusted. It is refused above :data:`MAX_PRESET_BYTES` before any parsing,
must be UTF-8 JSON without duplicate keys or NaN, must name its ``format`` and ``version``, and
is checked against the JSON Schema shipped as ``presets/quanta-preset.schema.json`` (the same
file other tools can use) and then by :class:`QuantizeSettings` itself. Every rejection is a
:class:`PresetFieldError`: one line naming the preset, the field path (``settings.swing``), the
value and what is allowed.

Settings left out of a preset take the *format version 1* defaults (:data:`V1_DEFAULTS`), not
whatever the code's defaults are today: someone sharing "swing 58 on 1/16" writes just those two
keys, as a Logic user would expect, and the file keeps meaning the same thing forever. Unknown
keys are still rejected, so a typo (``"swnig"``) never passes silently.

Older versions are upgraded on load by the steps in :data:`UPGRADES`; a newer version is refused
with a message asking for a newer Quanta.

Version 2 (QUANTIZE_SPEC part 2) adds groove, pre_quantize, groove_velocity, groove_length,
humanize_ms, humanize_velocity, humanize_noise, humanize_seed, flam and controllers
(:data:`V2_DEFAULTS`, every one "off"). A version-1 file loads unchanged (upgrading adds the
"off" values) and may not use the new fields; a preset whose new fields are all off is saved as
version 1, so an older Quanta can still read it. ``groove`` is null, a groove *name* (looked up
in the groove store when the preset is applied) or an embedded ``quanta-groove`` document (so
one file carries everything); an embedded groove is checked as strictly as a groove file and
its errors name the path inside it (``settings.groove.points[2].velocity``).

One module (about 850 lines) on purpose: the strict loader, the writer and the text form share
one field table and one error vocabulary, so a field added to one side cannot be missed by the
other.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from engine.errors import PresetError, SettingsError, display_path
from engine.quantize.settings import PART2_DEFAULTS, QuantizeSettings

FORMAT = "quanta-preset"
VERSION = 2  #: the newest format version this build reads (and writes when part 2 is used)
#: Larger files are refused unread. An embedded groove of some 900 points still fits; a bigger
#: one belongs in the groove store, and the preset names it.
MAX_PRESET_BYTES = 64 * 1024
MAX_NAME_CHARS = 64
MAX_FILENAME_CHARS = 64  #: of the sanitised stem, before ``.json``
MAX_FILENAME_BYTES = 200  #: UTF-8 bytes of the stem; file systems allow 255 for the whole name
TEXT_PREFIX = "quanta-preset:v"
SCHEMA_FILE = "quanta-preset.schema.json"  #: shipped beside the factory presets
GROOVE_SCHEMA_FILE = "quanta-groove.schema.json"  #: shipped there too
#: The JSON Schemas in the factory preset folder: listing a preset folder skips exactly these
#: names (any case), so no preset may be saved under them.
SCHEMA_FILES = (SCHEMA_FILE, GROOVE_SCHEMA_FILE)

#: What a setting left out of a version-1 preset means. Frozen with the format: when the code's
#: defaults change, a new format version and an upgrade step must fill the old values in.
V1_DEFAULTS: dict[str, Any] = {
    "grid": "1/16",
    "grid_type": "straight",
    "tuplet": None,
    "offset": 0,
    "strength": 100,
    "swing": 50,
    "exclude_within": 0,
    "catch_within": None,
    "ends": "keep-length",
    "length_grid": None,
}
V1_KEYS = tuple(V1_DEFAULTS)
#: The settings version 2 adds, and what leaving one out means ("off"). Frozen with the format.
V2_DEFAULTS: dict[str, Any] = {
    "groove": None,
    "pre_quantize": 0,
    "groove_velocity": 0,
    "groove_length": 0,
    "humanize_ms": 0,
    "humanize_velocity": 0,
    "humanize_noise": "pink",
    "humanize_seed": 0,
    "flam": 0,
    "controllers": "stay",
}
assert set(V2_DEFAULTS) == set(PART2_DEFAULTS)
SETTINGS_KEYS = V1_KEYS + tuple(V2_DEFAULTS)
TOP_KEYS = ("format", "version", "name", "description", "author", "tags", "settings")

#: ``UPGRADES[n]`` turns a version-n document into version n+1 (a new dict; no I/O).
def _upgrade_1_to_2(doc: dict) -> dict:
    """Version 2 only adds settings whose defaults are "off": nothing to fill in."""
    return doc


UPGRADES: dict[int, Callable[[dict], dict]] = {1: _upgrade_1_to_2}

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
#: Text fields and what they may hold besides "no control characters, valid Unicode".
_TEXT_FIELDS = ("name", "description", "author")


class PresetFieldError(PresetError):
    """A preset was rejected; ``field`` is the path of the offending field (``settings.swing``)."""

    def __init__(self, origin: str, field: str, problem: str):
        where = f"{origin}: " if origin else ""
        super().__init__(f"{where}{field}: {problem}" if field else f"{where}{problem}")
        self.origin = origin
        self.field = field


@dataclass(frozen=True)
class Preset:
    """A named, validated set of quantize settings, and where it came from.

    ``source`` is ``"factory"``, ``"user"``, ``"file"`` (a file outside the preset folders) or
    ``"text"`` (the one-line text form); ``path`` is the file it was read from, if any.
    """

    name: str
    settings: QuantizeSettings = field(default_factory=QuantizeSettings)
    description: str = ""
    author: str | None = None
    tags: tuple[str, ...] = ()
    source: str = "file"
    path: Path | None = None

    def replace(self, **changes) -> Preset:
        return replace(self, **changes)


# -- schema ------------------------------------------------------------------------------------
@cache
def schema() -> dict:
    """The shipped JSON Schema for the current format version."""
    text = resources.files("presets").joinpath(SCHEMA_FILE).read_text("utf-8")
    return json.loads(text)


@cache
def _validator():
    from jsonschema import Draft202012Validator

    return Draft202012Validator(schema())


def _show(value: Any, limit: int = 40) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=True)
    except (TypeError, ValueError):
        text = repr(value)
    # Lone surrogates are shown escaped: a message must be printable and savable anywhere.
    text = _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


_UNITS = {
    "settings.strength": " %",
    "settings.swing": " %",
    "settings.exclude_within": " % of a grid step",
    "settings.catch_within": " % of a grid step",
    "settings.offset": " ticks",
}
_PATTERN_HELP = {
    "name": "must have a visible character and no control characters",
    "description": "must be one line without control characters",
    "author": "must be one line without control characters",
    "settings.tuplet": "write it as n:m with whole numbers 1–64, e.g. 5:4",
}
_ENUM_HELP = {
    "settings.length_grid": "null (the grid itself) or 1/1 … 1/128, optionally with T (triplet) "
    "or . (dotted), e.g. 1/8T",
}


def _key(key: Any) -> str:
    """A field name as a message shows it: quoted and escaped when it holds line breaks,
    control characters or lone surrogates (a message is one printable line)."""
    text = str(key)
    if _text_problem(text) is None and len(text) <= 40:
        return text
    return _show(text)


def _field_path(parts) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{_key(p)}" if out else _key(p))
    return out


def _allowed(path: str, sub: dict) -> str:
    """The allowed values of one schema property, in words."""
    if path in _ENUM_HELP:
        return _ENUM_HELP[path]
    if "enum" in sub:
        return ", ".join("null" if v is None else str(v) for v in sub["enum"])
    if "minimum" in sub and "maximum" in sub:
        lo, hi = sub["minimum"], sub["maximum"]
        kind = "whole number" if sub.get("type") == "integer" else "number"
        extra = " or null" if "null" in sub.get("type", ()) else ""
        return f"a {kind} {lo}–{hi}{_UNITS.get(path, '')}{extra}"
    types = sub.get("type")
    if types:
        words = {"string": "text", "array": "a list", "object": "an object of fields"}
        listed = [types] if isinstance(types, str) else types
        return " or ".join(words.get(t, t) for t in listed)
    return sub.get("description", "see the preset schema")


def _schema_problem(err) -> tuple[str, str]:
    """(field path, problem in words) for one jsonschema error."""
    path = _field_path(err.absolute_path)
    kind, value, sub = err.validator, err.instance, err.schema
    if kind == "required":
        missing = [k for k in err.validator_value if k not in value]
        names = ", ".join(err.validator_value)
        where = f"{path}." if path else ""
        return where + missing[0], f"missing; required: {names}"
    if kind == "additionalProperties":
        known = list(sub.get("properties", {}))
        extra = [k for k in value if k not in known]
        where = f"{path}." if path else ""
        return where + _key(extra[0]), f"unknown field; allowed: {', '.join(known)}"
    if kind == "const":
        return path, f"{_show(value)} is not allowed; must be {_show(err.validator_value)}"
    if kind == "enum":
        return path, f"{_show(value)} is not allowed; allowed: {_allowed(path, sub)}"
    if kind == "type":
        hint = f" ({_PATTERN_HELP[path]})" if path in _PATTERN_HELP else ""
        return path, f"{_show(value)} is {_json_type(value)}; allowed: {_allowed(path, sub)}{hint}"
    if kind in ("minimum", "maximum"):
        return path, f"{_show(value)} is out of range; allowed: {_allowed(path, sub)}"
    if kind == "minLength":
        return path, "is empty; needs at least one character"
    if kind == "maxLength":
        return path, f"is {len(value)} characters long; allowed at most {err.validator_value}"
    if kind == "pattern":
        if path.startswith("tags["):
            help_text = "a tag is one word of letters, digits, '-', '_', '+' or '.'"
        else:
            help_text = _PATTERN_HELP.get(path, f"must match {err.validator_value}")
        return path, f"{_show(value)}: {help_text}"
    if kind == "maxItems":
        return path, f"has {len(value)} entries; allowed at most {err.validator_value}"
    if kind == "uniqueItems":
        return path, "lists the same tag twice"
    return path, err.message


def _error_order(err) -> tuple:
    """Report the most basic problem first: top-level before nested, structure before values."""
    rank = {"required": 0, "additionalProperties": 1, "type": 2, "const": 3}
    return (len(err.absolute_path), rank.get(err.validator, 9), [str(p) for p in err.path])


def _whole(value: Any) -> Any:
    """JSON has one number type: ``1.0`` is the whole number 1 (JSON Schema agrees)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# -- document → Preset -------------------------------------------------------------------------
def upgrade_document(doc: dict, origin: str = "") -> dict:
    """Bring a parsed preset document to :data:`VERSION`, or refuse a version we do not know."""
    version = _whole(doc.get("version"))
    if "version" not in doc:
        raise PresetFieldError(origin, "version", f"missing; this build reads versions 1–{VERSION}")
    if isinstance(version, bool) or not isinstance(version, int):
        raise PresetFieldError(
            origin, "version", f"{_show(version)} is not a whole number; allowed 1–{VERSION}"
        )
    if version > VERSION:
        raise PresetFieldError(
            origin,
            "version",
            f"{version} is newer than this Quanta understands (up to {VERSION}); "
            "update Quanta to load this preset",
        )
    if version < 1:
        raise PresetFieldError(origin, "version", f"{version} is out of range; allowed 1–{VERSION}")
    settings = doc.get("settings")
    if version == 1 and isinstance(settings, dict):
        for key in V2_DEFAULTS:
            if key in settings:
                raise PresetFieldError(
                    origin, f"settings.{key}", "needs preset version 2 (this file says version 1)"
                )
    while version < VERSION:
        doc = UPGRADES[version](dict(doc))
        version += 1
        doc["version"] = version
    return doc


def _check_tuplet(text: str | None, origin: str) -> None:
    """The schema checks the n:m shape; the numbers' range is named here with the text as typed."""
    if text is None:
        return
    n, m = (int(x) for x in text.split(":"))
    if not (1 <= n <= 64 and 1 <= m <= 64):
        raise PresetFieldError(
            origin,
            "settings.tuplet",
            f"{_show(text)} is out of range; n and m are whole numbers 1–64",
        )


def preset_from_document(doc: Any, origin: str = "", source: str = "file", path=None) -> Preset:
    """Validate a parsed JSON document strictly and build the :class:`Preset` it describes."""
    if not isinstance(doc, dict):
        raise PresetFieldError(origin, "", f"is {_json_type(doc)}, not a preset object")
    if doc.get("format") != FORMAT:
        if "format" not in doc:
            raise PresetFieldError(origin, "format", f"missing; a preset has format {FORMAT!r}")
        raise PresetFieldError(
            origin, "format", f"{_show(doc['format'])} is not allowed; must be {FORMAT!r}"
        )
    doc = upgrade_document(doc, origin)
    try:
        errors = sorted(_validator().iter_errors(doc), key=_error_order)
        if errors:
            where, problem = _schema_problem(errors[0])
    except RecursionError:
        raise PresetFieldError(origin, "", "is nested too deeply to be a preset") from None
    if errors:
        raise PresetFieldError(origin, where, problem)
    _check_texts(doc, origin)
    values = dict(V1_DEFAULTS)
    values.update(V2_DEFAULTS)
    values.update(doc["settings"])
    for key in ("offset", "flam", "humanize_seed"):
        values[key] = _whole(values[key])
    _check_tuplet(values["tuplet"], origin)
    try:
        settings = QuantizeSettings.from_dict(values)
    except SettingsError as exc:
        message = str(exc)
        prefix = f"{exc.field}: "
        problem = message[len(prefix) :] if message.startswith(prefix) else message
        name = {"division": "grid"}.get(exc.field, exc.field)
        raise PresetFieldError(origin, f"settings.{name}", problem) from None
    except (TypeError, ValueError, OverflowError) as exc:  # belt and braces: never a traceback
        raise PresetFieldError(origin, "settings", f"cannot be used: {exc}") from None
    return Preset(
        name=doc["name"],
        settings=settings,
        description=doc["description"],
        author=doc.get("author"),
        tags=tuple(doc.get("tags", ())),
        source=source,
        path=Path(path) if path is not None else None,
    )


def _text_problem(value: str) -> str | None:
    """Why ``value`` cannot be a preset's text, or None.

    A lone UTF-16 surrogate (JSON ``"\\ud800"``, or a non-UTF-8 command-line argument that
    Python decoded with ``surrogateescape``) is not Unicode text: it cannot be written to a
    UTF-8 file, so it would pass validation and then crash saving.
    """
    if _SURROGATE.search(value):
        return "contains a lone UTF-16 surrogate (not valid Unicode text)"
    if _CONTROL.search(value):
        return "contains control characters (line breaks, tabs, …)"
    return None


def _reserved_problem(name: str) -> str | None:
    """A name whose file would be one of the preset folder's schema files is saved where the
    loader never looks (it skips those files) and would vanish: such names are refused
    everywhere. Any other name, ``My quanta-preset.schema`` too, is an ordinary preset."""
    filename = preset_filename(name).casefold()
    for schema in SCHEMA_FILES:
        if filename == schema.casefold():
            return f"is reserved (its file would be the preset folder's {schema}); choose another"
    return None


def _check_texts(doc: dict, origin: str) -> None:
    """Checks the schema's patterns cannot express portably (see :func:`_text_problem`)."""
    for key in _TEXT_FIELDS:
        value = doc.get(key)
        if isinstance(value, str):
            problem = _text_problem(value) or (_reserved_problem(value) if key == "name" else None)
            if problem:
                raise PresetFieldError(origin, key, f"{_show(value)} {problem}")
    for i, tag in enumerate(doc.get("tags", ())):
        problem = _text_problem(tag) if isinstance(tag, str) else None
        if problem:
            raise PresetFieldError(origin, f"tags[{i}]", f"{_show(tag)} {problem}")


class _DuplicateKey(Exception):
    pass


def _no_duplicates(pairs):
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateKey(key)
        seen[key] = value
    return seen


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def _preset_text(raw: bytes, origin: str) -> str:
    """The text of a preset file, either form: the size is checked before decoding, so a
    huge file is refused without being read as text; a UTF-8 BOM is dropped."""
    if len(raw) > MAX_PRESET_BYTES:
        raise PresetFieldError(
            origin, "", f"is {len(raw)} bytes; a preset is at most {MAX_PRESET_BYTES} bytes"
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PresetFieldError(origin, "", f"is not UTF-8 text (byte {exc.start})") from None
    return text


def preset_from_json(data: bytes | str, origin: str = "", source: str = "file", path=None):
    """Parse and validate the bytes of a preset file (size-checked first, never trusted)."""
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    text = _preset_text(raw, origin)
    try:
        doc = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_refuse_constant)
    except _DuplicateKey as exc:
        raise PresetFieldError(origin, _key(exc.args[0]), "appears twice; each field once") from None
    except json.JSONDecodeError as exc:
        raise PresetFieldError(
            origin, "", f"is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    except ValueError as exc:  # NaN/Infinity, huge numbers
        raise PresetFieldError(origin, "", f"is not valid JSON ({exc})") from None
    except RecursionError:
        raise PresetFieldError(origin, "", "is nested too deeply to be a preset") from None
    return preset_from_document(doc, origin, source, path)


def preset_from_bytes(data: bytes, origin: str = "", source: str = "file", path=None) -> Preset:
    """A preset from a file's bytes: the JSON format, or the one-line text form (a file or
    paste holding what ``presets export --text`` printed)."""
    raw = bytes(data)
    head = raw[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(TEXT_PREFIX.encode("ascii")):
        text = _preset_text(raw, origin)
        doc = document_from_text(text, origin)
        return preset_from_document(doc, origin, source, path)
    return preset_from_json(raw, origin, source, path)


def display_name(path: str | os.PathLike) -> str:
    """A file name fit for a one-line message (see :func:`engine.errors.display_path`)."""
    return display_path(path)


def read_preset_file(path: str | os.PathLike, source: str = "file") -> Preset:
    """Read one preset file (JSON or the one-line text form): refuse non-files and oversize
    files before reading a byte."""
    p = Path(path)
    origin = display_name(p.name or str(p))
    try:
        st = p.stat()
    except FileNotFoundError:
        raise PresetError(f"{display_name(p)}: no such preset file") from None
    except OSError as exc:
        raise PresetError(f"{display_name(p)}: cannot read ({exc.strerror})") from None
    if not stat.S_ISREG(st.st_mode):  # a FIFO or device would hang or never end
        raise PresetError(f"{display_name(p)}: not a regular file")
    if st.st_size > MAX_PRESET_BYTES:
        raise PresetFieldError(
            origin, "", f"is {st.st_size} bytes; a preset is at most {MAX_PRESET_BYTES} bytes"
        )
    try:
        with open(p, "rb") as fh:
            data = fh.read(MAX_PRESET_BYTES + 1)
    except OSError as exc:
        raise PresetError(f"{display_name(p)}: cannot read ({exc.strerror})") from None
    return preset_from_bytes(data, origin, source, p)


# -- Preset → document / file ------------------------------------------------------------------
def _plain_number(value: float | int) -> int | float:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def preset_to_document(preset: Preset) -> dict:
    """The JSON document of a preset, every setting written out (a file is self-explaining)."""
    doc: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "name": preset.name,
        "description": preset.description,
    }
    if preset.author is not None:
        doc["author"] = preset.author
    if preset.tags:
        doc["tags"] = list(preset.tags)
    settings = preset.settings.to_dict()
    keys = SETTINGS_KEYS if preset.settings.uses_part2 else V1_KEYS
    doc["version"] = 2 if preset.settings.uses_part2 else 1
    doc["settings"] = {
        k: _plain_number(v) if isinstance(v, float) else v
        for k, v in ((k, settings[k]) for k in keys)
    }
    return doc


def preset_to_json(preset: Preset) -> str:
    """Pretty, stable JSON (two-space indent, trailing newline) for files people read and diff."""
    return json.dumps(preset_to_document(preset), indent=2, ensure_ascii=False) + "\n"


# -- names -------------------------------------------------------------------------------------
def check_name(name: Any, origin: str = "", field: str = "name") -> str:
    """A preset name as the schema allows it: 1–64 characters, visible, no control characters."""
    if not isinstance(name, str):
        raise PresetFieldError(origin, field, f"{_show(name)} is {_json_type(name)}; needs text")
    if not name.strip():
        raise PresetFieldError(origin, field, "is blank; needs a visible character")
    if len(name) > MAX_NAME_CHARS:
        raise PresetFieldError(
            origin, field, f"is {len(name)} characters long; allowed at most {MAX_NAME_CHARS}"
        )
    problem = _text_problem(name) or _reserved_problem(name)
    if problem:
        raise PresetFieldError(origin, field, f"{_show(name)} {problem}")
    return name


_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {
    f"{d}{i}" for d in ("COM", "LPT") for i in "123456789"
}
_UNSAFE_FILE_CHARS = re.compile(r'[\x00-\x1f\x7f-\x9f/\\<>:"|?*]')


def preset_filename(name: str) -> str:
    """A safe file name for a preset name, on every platform.

    Names may contain ``/`` ("1/16 swing 58"), so the name is never used as a path: path
    separators and characters Windows forbids become ``-``, control characters are dropped, runs
    of dots (no ``..``) and whitespace collapse, leading/trailing dots and spaces go, reserved
    device names get a ``_`` prefix, and the stem is capped at :data:`MAX_FILENAME_CHARS`
    characters and :data:`MAX_FILENAME_BYTES` bytes (room left for ``" (2).json"``).
    """
    s = unicodedata.normalize("NFC", str(name))
    s = re.sub(r"\s+", " ", s)  # tabs and line breaks are spaces, other controls go
    s = _CONTROL.sub("", _SURROGATE.sub("", s))
    s = _UNSAFE_FILE_CHARS.sub("-", s)
    s = re.sub(r"\.{2,}", ".", s)
    s = s.strip(" .")[:MAX_FILENAME_CHARS]
    while len(s.encode("utf-8")) > MAX_FILENAME_BYTES:
        s = s[:-1]
    s = s.strip(" .")
    if not s:
        s = "preset"
    if s.split(".")[0].upper() in _WINDOWS_RESERVED:
        s = "_" + s
    return s + ".json"


def same_name(a: str, b: str) -> bool:
    """Preset names compare like file names on macOS/Windows: case and Unicode form ignored."""
    return unicodedata.normalize("NFC", a).casefold() == unicodedata.normalize("NFC", b).casefold()


# -- one-line text form ------------------------------------------------------------------------
_BARE = re.compile(r"[A-Za-z0-9/._:+-]+")
_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
_VERSION = re.compile(r"[0-9]{1,6}")  # ASCII only: str.isdigit() accepts "²"
_OPEN_QUOTES = {'"': '"', "\u201c": "\u201d", "\u201e": "\u201c"}
_CLOSE_QUOTES = {'"', "\u201d", "\u201c"}
_TEXT_KEYS = ("name", "description", "author", "tag") + SETTINGS_KEYS
_NUMBER_KEYS = {
    "offset",
    "strength",
    "swing",
    "exclude_within",
    "catch_within",
    "pre_quantize",
    "groove_velocity",
    "groove_length",
    "humanize_ms",
    "humanize_velocity",
    "humanize_seed",
    "flam",
}
_INT_KEYS = {"offset", "humanize_seed", "flam"}
_NULLABLE_KEYS = {"tuplet", "catch_within", "length_grid", "groove"}
_KEY = re.compile(r"([A-Za-z_]+)=")


def _quote(value: str) -> str:
    if _BARE.fullmatch(value) and value != "null":
        return value
    text = json.dumps(value, ensure_ascii=False)
    for ch in ("\u201c", "\u201d", "\u201e", "\u2028", "\u2029"):
        text = text.replace(ch, f"\\u{ord(ch):04x}")
    return text


def _number_text(value: float | int) -> str:
    v = _plain_number(value)
    return str(v) if isinstance(v, int) else repr(v)


def preset_to_text(preset: Preset) -> str:
    """The one-line text form: ``quanta-preset:v1 name="MPC 58" description=… grid=1/16 swing=58``.

    Why readable ``key=value`` words and not base64 of the JSON: people paste presets into
    forums and chats, and a reader should see ``grid=1/16 swing=58`` before trusting it. The keys
    are exactly the JSON field names (``tag`` repeats, once per tag), so an error names the same
    field either way. Plain-word values stay bare; anything else is a JSON string in double
    quotes, so spaces, quotes, ``=`` and backslashes in a name are unambiguous. Forums "smarten"
    quotes, so “…” and „…“ also delimit a quoted value, and those characters are always written
    escaped (``\\u201c``) inside one. Line breaks a forum inserts between words or inside a quoted
    value read as one space (names and descriptions cannot hold line breaks anyway).

    Settings at their version-1 default are left out (except the grid), which keeps lines short;
    the ``v1`` in the prefix pins what those defaults are.
    """
    version = 2 if preset.settings.uses_part2 else 1
    words = [f"{TEXT_PREFIX}{version}", f"name={_quote(preset.name)}"]
    words.append(f"description={_quote(preset.description)}")
    if preset.author is not None:
        words.append(f"author={_quote(preset.author)}")
    words += [f"tag={_quote(t)}" for t in preset.tags]
    settings = preset.settings.to_dict()
    defaults = {**V1_DEFAULTS, **V2_DEFAULTS}
    for key in SETTINGS_KEYS:
        value = settings[key]
        if key != "grid" and value == defaults[key]:
            continue
        if isinstance(value, dict):  # an embedded groove: compact JSON in quotes
            text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
            words.append(f"{key}={_quote(text)}")
        elif value is None:
            words.append(f"{key}=null")
        elif key in _NUMBER_KEYS:
            words.append(f"{key}={_number_text(value)}")
        else:
            words.append(f"{key}={_quote(str(value))}")
    return " ".join(words)


def is_preset_text(text: str) -> bool:
    """True when ``text`` looks like the one-line text form (rather than a name or a path)."""
    return isinstance(text, str) and text.lstrip().startswith(TEXT_PREFIX)


def _read_quoted(text: str, i: int, origin: str, key: str) -> tuple[str, int]:
    """Read a quoted value starting at ``text[i]`` (an opening quote); return (value, next i)."""
    i += 1
    out = ['"']
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            out.append(text[i : i + 2])
            i += 2
            continue
        if ch in _CLOSE_QUOTES:
            out.append('"')
            try:
                return json.loads("".join(out)), i + 1
            except ValueError:
                raise PresetFieldError(
                    origin, key, "has a broken escape in its quoted value"
                ) from None
        if ch.isspace():
            j = i
            while j < len(text) and text[j].isspace():
                j += 1
            out.append(" " if "\n" in text[i:j] or "\r" in text[i:j] else text[i:j])
            i = j
            continue
        out.append(ch)
        i += 1
    raise PresetFieldError(origin, key, "has a quoted value that never ends")


def _typed(key: str, raw: str, quoted: bool):
    if not quoted and raw == "null" and key in _NULLABLE_KEYS:
        return None
    if not quoted and key in _NUMBER_KEYS and _NUMBER.fullmatch(raw):
        number = float(raw)
        if key in _INT_KEYS and re.fullmatch(r"[+-]?[0-9]{1,30}", raw):
            return int(raw)
        return _plain_number(number) if math.isfinite(number) else raw
    return raw


def document_from_text(text: str, origin: str = "text") -> dict:
    """Parse the one-line text form into a preset document (not yet validated)."""
    if len(text.encode("utf-8", "replace")) > MAX_PRESET_BYTES:
        raise PresetFieldError(origin, "", f"is longer than {MAX_PRESET_BYTES} bytes")
    text = text.strip()
    head = re.split(r"\s", text, maxsplit=1)[0]
    rest = text[len(head) :]
    version_text = head[len(TEXT_PREFIX) :]
    if not head.startswith(TEXT_PREFIX) or not _VERSION.fullmatch(version_text):
        raise PresetFieldError(
            origin, "", f"does not start with {TEXT_PREFIX}N (e.g. quanta-preset:v1)"
        )
    doc: dict[str, Any] = {"format": FORMAT, "version": int(version_text)}
    settings: dict[str, Any] = {}
    tags: list[str] = []
    i = 0
    while i < len(rest):
        if rest[i].isspace():
            i += 1
            continue
        m = _KEY.match(rest, i)
        if not m:
            word = rest[i:].split(maxsplit=1)[0]
            raise PresetFieldError(origin, "", f"expected key=value, found {_show(word)}")
        key, i = m.group(1), m.end()
        if key not in _TEXT_KEYS:
            raise PresetFieldError(origin, key, f"unknown field; allowed: {', '.join(_TEXT_KEYS)}")
        if i < len(rest) and rest[i] in _OPEN_QUOTES:
            value, i = _read_quoted(rest, i, origin, key)
            quoted = True
        else:
            end = i
            while end < len(rest) and not rest[end].isspace():
                end += 1
            value, i, quoted = rest[i:end], end, False
        if key == "tag":
            tags.append(value)
            continue
        target = settings if key in SETTINGS_KEYS else doc
        if key in target:
            raise PresetFieldError(origin, key, "appears twice; each field once")
        if key == "groove" and quoted and value.lstrip().startswith("{"):
            try:  # an embedded groove document (a groove name never starts with "{")
                target[key] = json.loads(
                    value, object_pairs_hook=_no_duplicates, parse_constant=_refuse_constant
                )
            except (ValueError, _DuplicateKey, RecursionError):
                raise PresetFieldError(origin, "settings.groove", "is not a valid groove document") from None
            continue
        target[key] = _typed(key, value, quoted)
    if tags:
        doc["tags"] = tags
    doc["settings"] = settings
    return doc


def preset_from_text(text: str, origin: str = "text", source: str = "text") -> Preset:
    """Parse and strictly validate the one-line text form (same checks as a file)."""
    return preset_from_document(document_from_text(text, origin), origin, source)


# -- in words ----------------------------------------------------------------------------------
_GRID_WORDS = {"straight": "straight", "triplet": "triplet", "dotted": "dotted"}
_LOGIC_SWING = {50: "A", 54: "B", 58: "C", 62: "D", 66: "E", 71: "F"}
_ENDS_WORDS = {
    "keep-length": "keep each note's length (the end moves with the start)",
    "quantize-ends": "quantize note ends on the same grid",
    "quantize-lengths": "quantize note lengths",
    "keep-ends": "leave note ends where they are; only starts move",
}


def describe_settings(s: QuantizeSettings) -> list[str]:
    """Every setting as a line a musician reads (for ``presets show`` and tooltips)."""
    if s.grid_type == "tuplet":
        grid = f"1/{s.division}, {s.tuplet[0]} notes in the time of {s.tuplet[1]}"
    else:
        grid = f"1/{s.division} {_GRID_WORDS[s.grid_type]}"
    lines = [f"Grid: {grid} ({s.grid_label})"]
    lines.append(
        f"Grid offset: {s.offset:+d} ticks" if s.offset else "Grid offset: none (starts at tick 0)"
    )
    lines.append(f"Strength: {s.strength:g} % of the way to the grid")
    if s.swing == 50:
        lines.append("Swing: 50 % (straight)")
    else:
        letter = _LOGIC_SWING.get(s.swing)
        like = f", like Logic's Swing {letter}" if letter else ""
        lines.append(f"Swing: {s.swing:g} % (off-beats pushed later{like})")
    if s.exclude_within:
        lines.append(f"Exclude within: notes within {s.exclude_within:g} % of a grid step stay put")
    else:
        lines.append("Exclude within: off (every note in range moves)")
    if s.catch_within is None:
        lines.append("Catch within: every note is caught")
    else:
        lines.append(f"Catch within: only notes within {s.catch_within:g} % of a grid step move")
    ends = _ENDS_WORDS[s.ends]
    if s.ends == "quantize-lengths":
        ends += f" to {s.length_grid or 'the grid'}"
    lines.append(f"Ends: {ends}")
    lines += _describe_part2(s)
    return lines


def _describe_part2(s: QuantizeSettings) -> list[str]:
    lines = []
    g = s.groove
    if g is not None:
        beats = f"{float(g.length):g} beat{'' if g.length == 1 else 's'}" if g and not isinstance(g, str) else ""
        name = g if isinstance(g, str) else f"{g.name} (embedded, {g.base}, {beats})"
        lines.append(f"Groove: {name}; timing {s.strength:g} %, pre-quantize {s.pre_quantize:g} %")
        lines.append(
            f"Groove velocity: {s.groove_velocity:g} %; groove length: {s.groove_length:g} %"
        )
    if s.humanizes:
        lines.append(
            f"Humanize: {s.humanize_ms:g} ms, {s.humanize_velocity:g} velocity steps "
            f"({s.humanize_noise} noise, seed {s.humanize_seed})"
        )
    if s.flam:
        order = "rising" if s.flam > 0 else "falling"
        lines.append(f"Flam: chords spread {abs(s.flam)} ticks per note, {order} pitch")
    if s.controllers == "follow":
        lines.append("Controllers: CC, pitch bend and pressure follow their notes")
    return lines
