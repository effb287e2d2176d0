"""Groove files of every kind Quanta reads and writes: ``quanta-groove`` .json, Ableton .agr and
REAPER SWS .rgt (one entry point for the CLI, the store and the GUI).

:func:`read_groove_file` checks the file before reading a byte of it (a regular file, not over
the format's size limit), picks the format by extension (and sniffs the gzip magic or a JSON
``{`` for unknown ones), and returns a :class:`GrooveFile`. Every problem, whatever the file
holds, is a :class:`~engine.errors.GrooveError` whose one-line message starts with the file name.
:func:`groove_file_bytes` is the other way: a template as the bytes of a file of a given kind.
"""

from __future__ import annotations

import os
import stat
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from engine.errors import GrooveError
from engine.presets.groove_agr import MAX_AGR_BYTES, AgrAmounts, groove_from_agr, groove_to_agr
from engine.presets.groove_json import MAX_GROOVE_BYTES, groove_from_json, groove_to_json
from engine.presets.groove_rgt import MAX_RGT_BYTES, groove_from_rgt, groove_to_rgt
from engine.quantize import BASES, GrooveTemplate

KINDS = ("json", "agr", "rgt")
_LIMITS = {"json": MAX_GROOVE_BYTES, "agr": MAX_AGR_BYTES, "rgt": MAX_RGT_BYTES}
MAX_NAME_CHARS = 64


@dataclass(frozen=True)
class GrooveFile:
    """What a groove file gave: the template, its kind, and an .agr's groove pool amounts."""

    template: GrooveTemplate
    kind: str
    amounts: AgrAmounts | None = None


def kind_of(path: str | os.PathLike) -> str | None:
    """``json``, ``agr`` or ``rgt`` from the file name's extension, or None."""
    ext = Path(path).suffix.lower().lstrip(".")
    return ext if ext in KINDS else None


def name_from_filename(path: str | os.PathLike) -> str:
    """A groove name from a file name (Live and REAPER name grooves after their files)."""
    stem = unicodedata.normalize("NFC", Path(path).stem)
    stem = "".join(ch for ch in stem if unicodedata.category(ch)[0] != "C").strip()
    return stem[:MAX_NAME_CHARS].strip() or "Imported groove"


def _sniff(data: bytes) -> str | None:
    if data.startswith(b"\x1f\x8b") or data.lstrip().startswith(b"<"):
        return "agr"
    if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        return "json"
    if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith((b"Version:", b"Number of beats")):
        return "rgt"
    return None


def groove_from_bytes(
    data: bytes,
    origin: str,
    kind: str | None = None,
    name: str | None = None,
    base: str | None = None,
) -> GrooveFile:
    """Parse groove bytes; ``kind`` None sniffs the content. ``name`` names an .agr/.rgt (default:
    from ``origin``) or renames a .json; ``base`` is the .rgt base (default 1/16) and must match a
    .json/.agr's own base when given."""
    if base is not None and base not in BASES:
        raise GrooveError("--base", f"{base!r}; allowed: {', '.join(BASES)}")
    kind = kind or _sniff(data[:64])
    if kind is None:
        raise GrooveError(origin, "is not a groove file (.json, .agr or .rgt)")
    amounts = None
    label = name or name_from_filename(origin)
    if kind == "json":
        template = groove_from_json(data, origin)
    elif kind == "agr":
        template, amounts = groove_from_agr(data, origin, label)
    else:
        template = groove_from_rgt(data, origin, label, base or "1/16")
    if kind != "rgt" and base is not None and base != template.base:
        raise GrooveError(
            origin, f"its base is {template.base}; --base {base} applies to .rgt files only"
        )
    if name is not None and name != template.name:
        try:
            template = GrooveTemplate(
                name, template.base, template.length, template.points, template.description
            )
        except GrooveError as exc:
            raise GrooveError("--as", exc.detail) from None
    return GrooveFile(template, kind, amounts)


def read_groove_file(
    path: str | os.PathLike, name: str | None = None, base: str | None = None
) -> GrooveFile:
    """Read one groove file strictly (see the module docstring)."""
    p = Path(path)
    origin = p.name or str(p)
    kind = kind_of(p)
    limit = _LIMITS.get(kind or "", max(_LIMITS.values()))
    try:
        st = p.stat()
    except FileNotFoundError:
        raise GrooveError(str(p), "no such groove file") from None
    except OSError as exc:
        raise GrooveError(str(p), f"cannot read ({exc.strerror})") from None
    if not stat.S_ISREG(st.st_mode):
        raise GrooveError(origin, "is not a regular file")
    if st.st_size > limit:
        raise GrooveError(origin, f"is {st.st_size} bytes; a groove file is at most {limit}")
    try:
        with open(p, "rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise GrooveError(origin, f"cannot read ({exc.strerror})") from None
    if len(data) > limit:  # grew while we looked
        raise GrooveError(origin, f"is over {limit} bytes; a groove file is at most {limit}")
    return groove_from_bytes(data, origin, kind, name, base)


def groove_file_bytes(
    template: GrooveTemplate, kind: str, amounts: AgrAmounts | None = None, **options
) -> bytes:
    """The template as a file of ``kind``: ``json``, ``agr`` (``compress=True`` for gzip) or
    ``rgt`` (``version=0`` for positions only)."""
    if kind == "json":
        return groove_to_json(template).encode("utf-8")
    if kind == "agr":
        return groove_to_agr(template, amounts, compress=bool(options.get("compress", False)))
    if kind == "rgt":
        return groove_to_rgt(template, int(options.get("version", 1))).encode("utf-8")
    raise GrooveError("format", f"{kind!r}; allowed: .json, .agr, .rgt")
