"""Quantize settings: the spec's fields, validated once, shared by every place that quantizes.

Units follow the spec: the grid as a division ``1/N``; ``offset`` in ticks; ``strength``,
``swing``, ``exclude_within`` and ``catch_within`` in percent (the ranges in percent of one
grid step ``G``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from fractions import Fraction

from engine.errors import GrooveError, SettingsError
from engine.quantize.groove_template import GrooveTemplate, template_from_document

DIVISIONS = (1, 2, 4, 8, 16, 32, 64, 128)
GRID_TYPES = ("straight", "triplet", "dotted", "tuplet")
ENDS_MODES = ("keep-length", "quantize-ends", "quantize-lengths", "keep-ends")
NOISE_KINDS = ("pink", "white")
CONTROLLER_MODES = ("stay", "follow")
MAX_HUMANIZE_MS = 1000  #: a second of random timing is already far beyond any feel
MAX_SEED = 2**63 - 1
#: Part-2 fields and their "off" values: settings equal to these behave exactly as part 1.
PART2_DEFAULTS = {
    "groove": None,
    "pre_quantize": 0.0,
    "groove_velocity": 0.0,
    "groove_length": 0.0,
    "humanize_ms": 0.0,
    "humanize_velocity": 0.0,
    "humanize_noise": "pink",
    "humanize_seed": 0,
    "flam": 0,
    "controllers": "stay",
}
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
    # -- part 2 (groove, humanize, flam, controllers); every default is "off" --------------
    #: None, a GrooveTemplate, or a groove *name* still to be resolved by the groove store
    #: (:func:`engine.quantize.groove.resolve_groove`); with a groove, ``strength`` is the
    #: timing amount and the template's base replaces the grid's division and swing.
    groove: GrooveTemplate | str | None = None
    pre_quantize: float = 0.0  #: % toward the straight base lattice before the groove pull
    groove_velocity: float = 0.0  #: −100…100 % toward (negative: away from) point velocities
    groove_length: float = 0.0  #: 0–100 % toward the point lengths
    humanize_ms: float = 0.0  #: SD of the timing deviations in milliseconds (0 = off)
    humanize_velocity: float = 0.0  #: SD of the velocity deviations in velocity steps
    humanize_noise: str = "pink"  #: "pink" (1/f, like human playing) or "white"
    humanize_seed: int = 0  #: same seed + same input = same output, byte for byte
    flam: int = 0  #: ticks, −PPQ…PPQ: spread chords (rising pitch > 0, falling < 0)
    controllers: str = "stay"  #: "follow": CC/bend/pressure move with their owner note

    def __post_init__(self) -> None:
        self._check_part2()
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

    def _check_part2(self) -> None:
        g = self.groove
        if isinstance(g, dict):
            try:
                g = template_from_document(g)
            except GrooveError as e:
                raise SettingsError(f"groove.{e.field}", e.detail) from None
            object.__setattr__(self, "groove", g)
        elif g is not None and not isinstance(g, GrooveTemplate):
            if not isinstance(g, str) or not g.strip():
                raise SettingsError(
                    "groove", f"{g!r}; expected null, a groove name or a quanta-groove document"
                )
        object.__setattr__(
            self, "pre_quantize", _check_range("pre_quantize", self.pre_quantize, 0, 100)
        )
        object.__setattr__(
            self,
            "groove_velocity",
            _check_range("groove_velocity", self.groove_velocity, -100, 100),
        )
        object.__setattr__(
            self, "groove_length", _check_range("groove_length", self.groove_length, 0, 100)
        )
        object.__setattr__(
            self,
            "humanize_ms",
            _check_range("humanize_ms", self.humanize_ms, 0, MAX_HUMANIZE_MS, "ms"),
        )
        object.__setattr__(
            self,
            "humanize_velocity",
            _check_range("humanize_velocity", self.humanize_velocity, 0, 127, "velocity steps"),
        )
        if self.humanize_noise not in NOISE_KINDS:
            raise SettingsError(
                "humanize_noise", f"{self.humanize_noise!r}; allowed: {', '.join(NOISE_KINDS)}"
            )
        seed = self.humanize_seed
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
            raise SettingsError("humanize_seed", f"{seed!r}; allowed a whole number 0–2**63-1")
        if isinstance(self.flam, bool) or not isinstance(self.flam, int):
            raise SettingsError("flam", f"{self.flam!r} is not a whole number of ticks")
        if abs(self.flam) > 32768:
            raise SettingsError("flam", f"{self.flam} ticks; allowed −PPQ…PPQ")
        if self.controllers not in CONTROLLER_MODES:
            raise SettingsError(
                "controllers", f"{self.controllers!r}; allowed: {', '.join(CONTROLLER_MODES)}"
            )

    def check_flam(self, ppq: int) -> None:
        """``flam`` must lie in −PPQ…PPQ of the clip it is applied to."""
        if abs(self.flam) > ppq:
            raise SettingsError("flam", f"{self.flam} ticks; allowed −{ppq}…{ppq} (PPQ {ppq})")

    @property
    def uses_part2(self) -> bool:
        """True when any groove/humanize/flam/controllers field differs from "off"."""
        return any(getattr(self, k) != v for k, v in PART2_DEFAULTS.items())

    @property
    def humanizes(self) -> bool:
        return self.humanize_ms > 0 or self.humanize_velocity > 0

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

    def to_dict(self, drop_unused_part2: bool = False) -> dict:
        """The preset ``settings`` object (JSON-ready).

        ``drop_unused_part2`` leaves out the part-2 fields that are "off", so a file that uses
        none of them (a project) stays readable by a Quanta from before part 2.
        """
        groove = self.groove
        d = asdict(replace(self, groove=None))
        d["groove"] = groove.to_document() if isinstance(groove, GrooveTemplate) else groove
        d["grid"] = f"1/{d.pop('division')}"
        d["tuplet"] = f"{self.tuplet[0]}:{self.tuplet[1]}" if self.tuplet else None
        if drop_unused_part2:
            for key, off in PART2_DEFAULTS.items():
                if d[key] == off:
                    del d[key]
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
