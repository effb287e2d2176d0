"""REAPER SWS groove files (``.rgt``), versions 0 and 1 (QUANTIZE_SPEC part 2, "Files").

The text form::

    Version: 1
    Number of beats in groove: 4
    Groove: 16 positions
    0.0000000000 1.0000000000
    0.2700000000 -1.0000000000
    ...

Each position line is ``position amplitude``: position in beats from the pattern start,
amplitude = velocity / 127, or −1 for "no velocity". Version 0 lines carry the position only. The
pattern length is the number of beats; the base is not in the file and is chosen on import
(default 1/16).

Strict reading: the three header lines in this order (a file without the ``Version`` line is
read as version 0, as the first SWS releases wrote it), exactly the announced number of position
lines (blank lines ignored), finite numbers only, a position in ``[0, beats)``, an amplitude of
−1 or in ``(0, 1]`` with a velocity of at least 1. Two positions in one base slot are an error
naming both (the template's rule). Velocities are read back to 6 decimals so that an exported
file round-trips exactly.
"""

from __future__ import annotations

import math
import re

from engine.errors import GrooveError
from engine.quantize import GroovePoint, GrooveTemplate, exact_beats

MAX_RGT_BYTES = 256 * 1024
MAX_POSITIONS = 3072  #: 256 beats of 1/32T
VERSIONS = (0, 1)

_VERSION = re.compile(r"Version:\s*(\S+)\Z")
_BEATS = re.compile(r"Number of beats in groove:\s*(\S+)\Z")
_COUNT = re.compile(r"Groove:\s*(\S+)\s+positions?\Z")


def _int(text: str, what: str, origin: str, lo: int, hi: int) -> int:
    if not re.fullmatch(r"[0-9]{1,6}", text):
        raise GrooveError(origin, f"{what} {text[:40]!r} is not a whole number")
    value = int(text)
    if not lo <= value <= hi:
        raise GrooveError(origin, f"{what} {value} is out of range; allowed {lo}–{hi}")
    return value


def _float(text: str, what: str, origin: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise GrooveError(origin, f"{what} {text[:40]!r} is not a number") from None
    if not math.isfinite(value):
        raise GrooveError(origin, f"{what} {text[:40]!r} is not a finite number")
    return value


def groove_from_rgt(data: bytes, origin: str, name: str, base: str = "1/16") -> GrooveTemplate:
    """Parse an .rgt into a template named ``name`` on the given base."""
    if len(data) > MAX_RGT_BYTES:
        raise GrooveError(origin, f"is {len(data)} bytes; an .rgt is at most {MAX_RGT_BYTES}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise GrooveError(origin, f"is not text (byte {exc.start})") from None
    lines = [(n, ln.strip()) for n, ln in enumerate(text.splitlines(), 1) if ln.strip()]
    if not lines:
        raise GrooveError(origin, "is empty; an .rgt starts with 'Version: 1'")
    version = 0
    m = _VERSION.match(lines[0][1])
    if m:
        version = _int(m.group(1), "Version", origin, 0, 99)
        if version not in VERSIONS:
            raise GrooveError(origin, f"Version {version} is not known; Quanta reads 0 and 1")
        lines = lines[1:]
    if not lines or not (m := _BEATS.match(lines[0][1])):
        raise GrooveError(origin, "needs the line 'Number of beats in groove: N'")
    beats = _int(m.group(1), "Number of beats in groove", origin, 1, 256)
    if len(lines) < 2 or not (m := _COUNT.match(lines[1][1])):
        raise GrooveError(origin, "needs the line 'Groove: M positions'")
    count = _int(m.group(1), "Groove positions", origin, 0, MAX_POSITIONS)
    body = lines[2:]
    if len(body) != count:
        raise GrooveError(
            origin, f"announces {count} positions but has {len(body)} position lines"
        )
    points = []
    for n, line in body:
        parts = line.split()
        want = 2 if version >= 1 else 1
        if len(parts) != want:
            shape = "'position amplitude'" if want == 2 else "'position'"
            raise GrooveError(origin, f"line {n}: {line[:40]!r} is not {shape}")
        pos = _float(parts[0], f"line {n}: position", origin)
        if not 0 <= pos < beats:
            raise GrooveError(
                origin, f"line {n}: position {pos:g} is outside the pattern [0, {beats})"
            )
        velocity = None
        if want == 2:
            amp = _float(parts[1], f"line {n}: amplitude", origin)
            if amp != -1:
                velocity = round(amp * 127, 6)
                if not 0 < amp <= 1 or velocity < 1:
                    raise GrooveError(
                        origin,
                        f"line {n}: amplitude {amp:g} is out of range; allowed -1 (none) or "
                        f"{1 / 127:.4f}–1",
                    )
        points.append(GroovePoint(exact_beats(pos, "position"), velocity, None))
    try:
        return GrooveTemplate(name, base, beats, tuple(points), f"Imported from {origin}")
    except GrooveError as exc:
        raise GrooveError(origin, str(exc)) from None


def groove_to_rgt(template: GrooveTemplate, version: int = 1) -> str:
    """The template as SWS groove text (version 1: with amplitudes; 0: positions only)."""
    if version not in VERSIONS:
        raise GrooveError("version", f"{version}; an .rgt is version 0 or 1")
    if template.length.denominator != 1:
        raise GrooveError(
            "length",
            f"{float(template.length):g} beats; an .rgt holds a whole number of beats",
        )
    lines = [f"Version: {version}"]
    lines += [
        f"Number of beats in groove: {int(template.length)}",
        f"Groove: {len(template.points)} positions",
    ]
    for p in template.points:
        pos = repr(float(p.beat))
        if version == 0:
            lines.append(pos)
        else:
            amp = -1.0 if p.velocity is None else p.velocity / 127
            lines.append(f"{pos} {amp!r}")
    return "\n".join(lines) + "\n"
