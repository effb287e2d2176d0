"""Quantize settings: the spec's fields, validated once, shared by every place that quantizes.

Units follow the spec: the grid as a division ``1/N``; ``offset`` in ticks; ``strength``,
``swing``, ``exclude_within`` and ``catch_within`` in percent (the ranges in percent of one
grid step ``G``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from fractions import Fraction

from engine.errors import SettingsError

DIVISIONS = (1, 2, 4, 8, 16, 32, 64, 128)
GRID_TYPES = ("straight", "triplet", "dotted", "tuplet")
ENDS_MODES = ("keep-length", "quantize-ends", "quantize-lengths", "keep-ends")
_TYPE_SUFFIX = {"straight": "", "triplet": "T", "dotted": "."}


def parse_division(text: str, field: str = "grid") -> int:
    """``"1/16"`` → 16. Accepts ``16`` too. Raises SettingsError naming ``field``."""
    s = str(text).strip()
    if s.startswith("1/"):
        s = s[2:]
    try:
        n = int(s)
    except ValueError:
        raise SettingsError(field, f"{text!r} is not a division; use 1/1, 1/2, ... 1/128") from None
    if n not in DIVISIONS:
        raise SettingsError(field, f"1/{n} is not allowed; use one of 1/1, 1/2, 1/4 ... 1/128")
    return n


def parse_grid_text(text: str, field: str = "length_grid") -> tuple[int, str]:
    """``"1/8"``, ``"1/8T"`` (triplet) or ``"1/8."`` (dotted) → ``(8, type)``."""
    s = str(text).strip()
    kind = "straight"
    if s[-1:] in ("T", "t"):
        kind, s = "triplet", s[:-1]
    elif s.endswith("."):
        kind, s = "dotted", s[:-1]
    return parse_division(s, field), kind


def step_ticks(ppq: int, division: int, grid_type: str = "straight", tuplet=None) -> Fraction:
    """Exact grid step in ticks (may be fractional): ``G = PPQ*4/N``, times the type's ratio."""
    g = Fraction(ppq * 4, division)
    if grid_type == "triplet":
        g *= Fraction(2, 3)
    elif grid_type == "dotted":
        g *= Fraction(3, 2)
    elif grid_type == "tuplet":
        n, m = tuplet
        g *= Fraction(m, n)
    return g


def _check_range(field: str, value, lo, hi, unit: str = "%") -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SettingsError(field, f"{value!r} is not a number; allowed {lo}–{hi} {unit}".rstrip())
    v = float(value)
    if not math.isfinite(v) or v < lo or v > hi:
        raise SettingsError(field, f"{value} is out of range; allowed {lo}–{hi} {unit}".rstrip())
    return v


@dataclass(frozen=True)
class QuantizeSettings:
    """Every setting of one quantize. Immutable; use :meth:`replace` to vary one field."""

    division: int = 16  #: the grid is 1/division of a whole note
    grid_type: str = "straight"  #: straight, triplet (×2/3), dotted (×3/2) or tuplet (×m/n)
    tuplet: tuple[int, int] | None = None  #: (n, m): n notes in the time of m; for "tuplet"
    offset: int = 0  #: ticks; shifts the grid's origin
    strength: float = 100.0  #: % of the way to the grid point
    swing: float = 50.0  #: MPC/Logic swing ratio, 50 (straight) – 75
    exclude_within: float = 0.0  #: % of G: notes this close to the grid are left alone
    catch_within: float | None = None  #: % of G: only notes this close are quantized
    ends: str = "keep-length"
    length_grid: str | None = None  #: for quantize-lengths: "1/8", "1/8T", "1/8."; None = grid

    def __post_init__(self) -> None:
        if self.division not in DIVISIONS:
            raise SettingsError("grid", f"1/{self.division} is not allowed; use 1/1 … 1/128")
        if self.grid_type not in GRID_TYPES:
            raise SettingsError(
                "grid_type", f"{self.grid_type!r}; allowed: {', '.join(GRID_TYPES)}"
            )
        if self.grid_type == "tuplet":
            t = self.tuplet
            if (
                not isinstance(t, tuple | list)
                or len(t) != 2
                or not all(
                    isinstance(x, int) and not isinstance(x, bool) and 1 <= x <= 64 for x in t
                )
            ):
                raise SettingsError("tuplet", f"{t!r}; needs n:m with whole numbers 1–64")
            object.__setattr__(self, "tuplet", (int(t[0]), int(t[1])))
        elif self.tuplet is not None:
            raise SettingsError(
                "tuplet", f"only used with grid_type 'tuplet', not {self.grid_type!r}"
            )
        if isinstance(self.offset, bool) or not isinstance(self.offset, int):
            raise SettingsError("offset", f"{self.offset!r} is not a whole number of ticks")
        object.__setattr__(self, "strength", _check_range("strength", self.strength, 0, 100))
        object.__setattr__(self, "swing", _check_range("swing", self.swing, 50, 75))
        object.__setattr__(
            self, "exclude_within", _check_range("exclude_within", self.exclude_within, 0, 50)
        )
        if self.catch_within is not None:
            object.__setattr__(
                self, "catch_within", _check_range("catch_within", self.catch_within, 0, 100)
            )
        if self.ends not in ENDS_MODES:
            raise SettingsError("ends", f"{self.ends!r}; allowed: {', '.join(ENDS_MODES)}")
        if self.swing != 50 and self.grid_type != "straight":
            raise SettingsError(
                "swing",
                f"swing {self.swing:g} % needs a straight grid, not {self.grid_type}; "
                "set swing to 50 or the grid type to straight",
            )
        if self.length_grid is not None:
            parse_grid_text(self.length_grid, "length_grid")

    # -- derived values -----------------------------------------------------------------
    def grid_step(self, ppq: int) -> Fraction:
        """G in ticks, exactly."""
        return step_ticks(ppq, self.division, self.grid_type, self.tuplet)

    def length_step(self, ppq: int) -> Fraction:
        """L in ticks for ``quantize-lengths`` (the grid's own G when no length grid is set)."""
        if self.length_grid is None:
            return self.grid_step(ppq)
        n, kind = parse_grid_text(self.length_grid)
        return step_ticks(ppq, n, kind)

    @property
    def grid_label(self) -> str:
        """How a musician names the grid: ``1/16``, ``1/8T``, ``1/8.``, ``1/16 5:4``."""
        if self.grid_type == "tuplet":
            return f"1/{self.division} {self.tuplet[0]}:{self.tuplet[1]}"
        return f"1/{self.division}{_TYPE_SUFFIX[self.grid_type]}"

    def replace(self, **changes) -> QuantizeSettings:
        return replace(self, **changes)

    def to_dict(self) -> dict:
        """The preset ``settings`` object (JSON-ready)."""
        d = asdict(self)
        d["grid"] = f"1/{d.pop('division')}"
        d["tuplet"] = f"{self.tuplet[0]}:{self.tuplet[1]}" if self.tuplet else None
        return d

    @classmethod
    def from_dict(cls, d: dict) -> QuantizeSettings:
        """Inverse of :meth:`to_dict` (lenient about missing keys; strict checks live in presets)."""
        d = dict(d)
        kw = {}
        if "grid" in d:
            kw["division"] = parse_division(d.pop("grid"))
        t = d.pop("tuplet", None)
        if isinstance(t, str):
            try:
                n, m = (int(x) for x in t.split(":"))
            except ValueError:
                raise SettingsError("tuplet", f"{t!r}; write it as n:m, e.g. 5:4") from None
            kw["tuplet"] = (n, m)
        elif t is not None:
            kw["tuplet"] = tuple(t)
        kw.update(d)
        return cls(**kw)
