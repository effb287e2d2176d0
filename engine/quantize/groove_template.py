"""The groove template model (QUANTIZE_SPEC part 2, "Groove templates").

A groove template says where, inside a repeating pattern, notes should fall, and optionally how
loud and how long they are. It is independent of PPQ: every position is in quarter-note beats.
This module holds only the immutable, validated model; applying a groove lives in
:mod:`engine.quantize.groove`, extraction in :mod:`engine.quantize.groove_extract`, and the file
formats (quanta-groove JSON files, ``.agr``, ``.rgt``) and the groove store are built on top of
:class:`GrooveTemplate` and :func:`template_from_document` / :meth:`GrooveTemplate.to_document`.

Stable API (other modules and the file formats build on it; keep it):

- :data:`BASES`: base label → step ``B`` in beats (exact :class:`~fractions.Fraction`).
- :class:`GroovePoint` ``(beat, velocity, length)``: ``beat`` and ``length`` in beats as exact
  fractions, ``velocity`` a float 1–127; ``velocity``/``length`` may be ``None``.
- :class:`GrooveTemplate` ``(name, base, length, points, description="")``: validated on
  construction; :attr:`~GrooveTemplate.step`, :attr:`~GrooveTemplate.slot_count`,
  :meth:`~GrooveTemplate.slot_of`, :meth:`~GrooveTemplate.slots`,
  :meth:`~GrooveTemplate.point_in_slot`, :meth:`~GrooveTemplate.to_document`.
- :func:`slot_of` ``(beat, base_step, slot_count)`` → ``(j, offset)``: the spec's slot mapping.
- :func:`exact_beats`: how numbers become exact beats (ints, fractions and decimal floats).
- :func:`template_from_document`: a ``quanta-groove`` document (a parsed JSON dict) → template.
- Every problem raises :class:`~engine.errors.GrooveError` with a one-line message naming the
  field (``points[3].velocity``) and what is allowed.
- A groove *name* (in settings or a preset) is turned into a template by the resolver the
  groove store installs with :func:`engine.quantize.groove.set_groove_resolver`.

Exactness. Positions are kept as :class:`~fractions.Fraction` so that the apply can work in the
grid's exact scaled integer units. A float read from JSON becomes the *simplest* fraction that
is the same float64 (``0.3333333333333333`` → ``1/3``, ``0.58`` → ``29/50``): a triplet position
written by another tool comes back as the triplet it meant, and a decimal as the decimal typed.

Decisions the spec leaves open (documented here and tested in tests/test_groove_template.py):

- A beat exactly halfway between two base points goes to the *later* slot: that is what
  ``j = floor(beat/B + 0.5)`` says, so its offset is ``-B/2`` (``|offset| <= B/2``).
- A beat in the last half step (``j = length/B``) wraps to slot 0 and keeps its negative offset:
  the point sits just before the next repetition's downbeat (a pushed downbeat).
- ``length`` is limited to :data:`MAX_LENGTH_BEATS` (64 bars of 4/4) so a template can never ask
  for millions of slots; Ableton and REAPER grooves are 1–16 bars.
- ``name`` must be 1–:data:`MAX_NAME_CHARS` characters without control characters; whether a
  name is safe as a file name is the store's business.
- Points are kept sorted by slot; the order they were given in does not matter.
"""

from __future__ import annotations

import json
import math
import unicodedata
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from engine.errors import GrooveError

FORMAT = "quanta-groove"
VERSION = 1

#: The base divisions a groove may use, and their step ``B`` in quarter-note beats.
BASES: dict[str, Fraction] = {
    "1/4": Fraction(1),
    "1/8": Fraction(1, 2),
    "1/8T": Fraction(1, 3),
    "1/16": Fraction(1, 4),
    "1/16T": Fraction(1, 6),
    "1/32": Fraction(1, 8),
    "1/32T": Fraction(1, 12),
}
MAX_LENGTH_BEATS = 256
MAX_NAME_CHARS = 64
MAX_DESCRIPTION_CHARS = 2000
#: Floats become the simplest fraction with at most this denominator that is the same float64.
_SIMPLE_DENOMINATOR = 100_000


def exact_beats(value: Any, field_name: str) -> Fraction:
    """An int, Fraction or finite float as an exact Fraction (see the module docstring)."""
    if isinstance(value, bool) or not isinstance(value, int | float | Fraction):
        raise GrooveError(field_name, f"{value!r} is not a number")
    if isinstance(value, int | Fraction):
        return Fraction(value)
    if not math.isfinite(value):
        raise GrooveError(field_name, f"{value!r} is not a finite number")
    simple = Fraction(value).limit_denominator(_SIMPLE_DENOMINATOR)
    if float(simple) == value:
        return simple
    return Fraction(repr(value))


def slot_of(beat: Fraction, base_step: Fraction, slot_count: int) -> tuple[int, Fraction]:
    """The spec's slot mapping: ``j = floor(beat/B + 1/2)``, wrapping ``j = slot_count`` to 0.

    Returns ``(j, offset)`` with ``offset = beat - j_unwrapped * B`` (so a wrapped point has a
    negative offset: it lies just before the next repetition's slot 0).
    """
    j = math.floor(Fraction(beat) / base_step + Fraction(1, 2))
    offset = Fraction(beat) - j * base_step
    return (0 if j == slot_count else j), offset


@dataclass(frozen=True)
class GroovePoint:
    """One point: where in the pattern (``beat``), and optionally how loud and how long."""

    beat: Fraction
    velocity: float | None = None  #: 1–127, may be fractional; None = keep the note's
    length: Fraction | None = None  #: note length in beats, > 0; None = the ends rule

    def __post_init__(self) -> None:
        object.__setattr__(self, "beat", exact_beats(self.beat, "beat"))
        if self.velocity is not None:
            v = self.velocity
            if isinstance(v, bool) or not isinstance(v, int | float | Fraction):
                raise GrooveError("velocity", f"{v!r} is not a number; allowed 1–127 or null")
            v = float(v)
            if not math.isfinite(v) or v < 1 or v > 127:
                raise GrooveError("velocity", f"{self.velocity} is out of range; allowed 1–127")
            object.__setattr__(self, "velocity", v)
        if self.length is not None:
            ln = exact_beats(self.length, "length")
            if ln <= 0:
                raise GrooveError("length", f"{self.length} beats; a length must be > 0 or null")
            object.__setattr__(self, "length", ln)


def _fmt(x: Fraction) -> str:
    return f"{float(x):g}"


def _check_text(value: Any, field_name: str, limit: int, empty_ok: bool) -> str:
    if not isinstance(value, str):
        raise GrooveError(field_name, f"{value!r} is not text")
    if not empty_ok and not value.strip():
        raise GrooveError(field_name, "must not be empty")
    if len(value) > limit:
        raise GrooveError(field_name, f"{len(value)} characters; at most {limit}")
    allowed_controls = "\n\t" if field_name == "description" else ""
    for ch in value:
        if unicodedata.category(ch) == "Cc" and ch not in allowed_controls:
            raise GrooveError(field_name, f"contains the control character {ch!r}")
    return value


@dataclass(frozen=True)
class GrooveTemplate:
    """A validated, immutable groove template.

    ``points`` may be given as :class:`GroovePoint` objects or as mappings with the keys
    ``beat``, ``velocity`` and ``length``; they are stored as a tuple of points sorted by slot.
    """

    name: str
    base: str
    length: Fraction
    points: tuple[GroovePoint, ...] = field(default_factory=tuple)
    description: str = ""

    def __post_init__(self) -> None:
        _check_text(self.name, "name", MAX_NAME_CHARS, empty_ok=False)
        _check_text(self.description, "description", MAX_DESCRIPTION_CHARS, empty_ok=True)
        if not isinstance(self.base, str) or self.base not in BASES:
            raise GrooveError("base", f"{self.base!r}; allowed: {', '.join(BASES)}")
        step = BASES[self.base]
        length = exact_beats(self.length, "length")
        if length <= 0 or length > MAX_LENGTH_BEATS:
            raise GrooveError("length", f"{self.length} beats; allowed > 0 to {MAX_LENGTH_BEATS}")
        if (length / step).denominator != 1:
            raise GrooveError(
                "length",
                f"{_fmt(length)} beats is not a whole number of {self.base} steps "
                f"({_fmt(step)} beat each)",
            )
        object.__setattr__(self, "length", length)
        count = int(length / step)
        if not isinstance(self.points, list | tuple):
            raise GrooveError("points", f"{type(self.points).__name__}; expected a list")
        by_slot: dict[int, tuple[Fraction, GroovePoint]] = {}
        for i, raw in enumerate(self.points):
            where = f"points[{i}]"
            p = _point(raw, where)
            if p.beat < 0 or p.beat >= length:
                raise GrooveError(
                    f"{where}.beat", f"{_fmt(p.beat)} is outside the pattern [0, {_fmt(length)})"
                )
            j, offset = slot_of(p.beat, step, count)
            if j in by_slot:
                other = by_slot[j][1].beat
                raise GrooveError(
                    "points",
                    f"beats {_fmt(other)} and {_fmt(p.beat)} fall in one {self.base} slot "
                    f"(slot {j}); keep one of them",
                )
            by_slot[j] = (offset, p)
        ordered = tuple(by_slot[j][1] for j in sorted(by_slot))
        object.__setattr__(self, "points", ordered)
        object.__setattr__(self, "_offsets", {j: by_slot[j][0] for j in by_slot})

    # -- derived values -----------------------------------------------------------------
    @property
    def step(self) -> Fraction:
        """``B``: the base step in beats."""
        return BASES[self.base]

    @property
    def slot_count(self) -> int:
        """How many base steps the pattern has (``length / B``)."""
        return int(self.length / self.step)

    def slot_of(self, beat: Fraction | float) -> tuple[int, Fraction]:
        """``(j, offset)`` for a beat inside the pattern (see :func:`slot_of`)."""
        return slot_of(exact_beats(beat, "beat"), self.step, self.slot_count)

    def slots(self) -> list[tuple[int, Fraction, GroovePoint]]:
        """``(slot, offset in beats, point)`` for every slot holding a point, by slot."""
        offs = self._offsets  # type: ignore[attr-defined]
        return [(j, offs[j], p) for p in self.points for j in [self.slot_of(p.beat)[0]]]

    def point_in_slot(self, j: int) -> GroovePoint | None:
        """The point of slot ``j`` (0 ≤ j < slot_count), or None when the slot is empty."""
        for slot, _off, p in self.slots():
            if slot == j:
                return p
        return None

    def with_points(self, points) -> GrooveTemplate:
        """The same template with other points (validated again)."""
        return GrooveTemplate(self.name, self.base, self.length, tuple(points), self.description)

    def to_document(self) -> dict:
        """The ``quanta-groove`` JSON document (numbers as floats, JSON-ready)."""

        def num(x: Fraction) -> int | float:
            return int(x) if x.denominator == 1 else float(x)

        return {
            "format": FORMAT,
            "version": VERSION,
            "name": self.name,
            "description": self.description,
            "base": self.base,
            "length": num(self.length),
            "points": [
                {
                    "beat": num(p.beat),
                    "velocity": (
                        None
                        if p.velocity is None
                        else (int(p.velocity) if p.velocity.is_integer() else p.velocity)
                    ),
                    "length": None if p.length is None else num(p.length),
                }
                for p in self.points
            ],
        }


def _key(key: Any) -> str:
    """A key as it can appear in a one-line message (quoted and escaped unless plain)."""
    text = str(key)
    if text.isidentifier() and text.isascii():
        return text
    return json.dumps(text, ensure_ascii=True)


def _point(raw: Any, where: str) -> GroovePoint:
    if isinstance(raw, GroovePoint):
        return raw
    if not isinstance(raw, dict):
        raise GrooveError(where, f"{type(raw).__name__}; a point is an object {{beat, velocity, length}}")
    unknown = set(raw) - {"beat", "velocity", "length"}
    if unknown:
        raise GrooveError(
            where, f"unknown field {_key(sorted(map(str, unknown))[0])}; allowed: beat, velocity, length"
        )
    if "beat" not in raw:
        raise GrooveError(f"{where}.beat", "missing")
    try:
        return GroovePoint(raw["beat"], raw.get("velocity"), raw.get("length"))
    except GrooveError as e:
        raise GrooveError(f"{where}.{e.field}", e.detail) from None


DOCUMENT_KEYS = ("format", "version", "name", "description", "base", "length", "points")


def template_from_document(doc: Any) -> GrooveTemplate:
    """A parsed ``quanta-groove`` document → template, strictly: unknown keys, a wrong
    ``format`` or a newer ``version`` are errors naming the field. (Reading the file itself,
    size limits and JSON pitfalls belong to the file-format module.)"""
    if not isinstance(doc, dict):
        raise GrooveError("groove", f"{type(doc).__name__}; expected a quanta-groove object")
    unknown = set(doc) - set(DOCUMENT_KEYS)
    if unknown:
        raise GrooveError(
            _key(sorted(map(str, unknown))[0]), f"unknown field; allowed: {', '.join(DOCUMENT_KEYS)}"
        )
    if doc.get("format") != FORMAT:
        raise GrooveError("format", f"{doc.get('format')!r}; expected {FORMAT!r}")
    v = doc.get("version")
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise GrooveError("version", f"{v!r}; expected {VERSION}")
    if v > VERSION:
        raise GrooveError("version", f"{v} is newer than this Quanta reads ({VERSION}); update Quanta")
    for key in ("name", "base", "length", "points"):
        if key not in doc:
            raise GrooveError(key, "missing")
    return GrooveTemplate(
        name=doc["name"],
        base=doc["base"],
        length=doc["length"],
        points=tuple(doc["points"]) if isinstance(doc["points"], list) else doc["points"],
        description=doc.get("description", ""),
    )
