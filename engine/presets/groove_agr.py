"""Ableton groove files (``.agr``): XML, plain or gzip-compressed (QUANTIZE_SPEC part 2, "Files").

Mapping (the spec's; paths from the root ``Ableton`` element):

- points: ``Groove/Clip/Value/MidiClip/Notes/KeyTracks/KeyTrack/Notes/MidiNoteEvent`` with
  ``Time`` (beats, from the clip start ``CurrentStart``), ``Velocity`` and ``Duration`` (beats);
- pattern length: ``CurrentEnd - CurrentStart`` (the ``Value`` attributes under ``MidiClip``);
- base: ``Groove/Grid@Value`` 0 = 1/4, 1 = 1/8, 2 = 1/8T, 3 = 1/16, 4 = 1/16T, 5 = 1/32;
- amounts: ``TimingAmount`` (→ strength), ``QuantizationAmount`` (→ pre_quantize),
  ``VelocityAmount`` (→ groove_velocity), ``RandomAmount`` (→ humanize); see
  :class:`AgrAmounts`.

Several notes in one slot (a drum groove has kick and hat on one step): the one nearest the base
point counts, a tie goes to the earlier; notes at one time are one onset with the highest
velocity and the longest duration (as extraction treats a chord).

Decisions where Ableton's format is open: the groove's name is the file's name (Live shows the
file name in the groove pool); a note before ``CurrentStart`` or at/after ``CurrentEnd`` is an
error naming its time (it is outside the pattern); ``Velocity`` must be 1–127 and ``Duration``
> 0; a note Live has switched off (``IsEnabled="false"``) is not part of the groove. On export
a point without a velocity is written at velocity 100 and one without a length with one base
step (Live needs both); 1/32T has no ``Grid`` value and cannot be exported.

Safety: gzip input is inflated in bounded steps and refused past :data:`MAX_XML_BYTES` (a gzip
bomb never reaches memory); the XML goes through :mod:`engine.presets.safe_xml` (no DOCTYPE, no
entities, bounded depth and element count).
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from fractions import Fraction
from xml.sax.saxutils import quoteattr

from engine.errors import GrooveError
from engine.presets.safe_xml import Element, XmlRefused, parse
from engine.quantize import BASES, GroovePoint, GrooveTemplate, exact_beats, slot_of

GZIP_MAGIC = b"\x1f\x8b"
MAX_AGR_BYTES = 1024 * 1024  #: the file on disk (Live's own grooves are 5–60 kB)
MAX_XML_BYTES = 8 * 1024 * 1024  #: after gzip inflation
MAX_NOTES = 20_000

GRID_BASES = ("1/4", "1/8", "1/8T", "1/16", "1/16T", "1/32")
POINTS_PATH = "Clip/Value/MidiClip/Notes/KeyTracks/KeyTrack/Notes/MidiNoteEvent"
CLIP_PATH = "Clip/Value/MidiClip"
DEFAULT_EXPORT_VELOCITY = 100
#: RandomAmount 100 % as humanize: a 20 ms standard deviation (a loose but musical player).
RANDOM_FULL_SCALE_MS = 20.0


@dataclass(frozen=True)
class AgrAmounts:
    """The groove pool amounts a ``.agr`` carries, in percent as Live shows them.

    :meth:`settings_fields` turns them into Quanta's quantize fields: timing → ``strength``,
    quantization → ``pre_quantize``, velocity → ``groove_velocity``, random →
    ``humanize_ms`` (100 % = :data:`RANDOM_FULL_SCALE_MS`).
    """

    timing: float = 100.0
    quantization: float = 0.0
    random: float = 0.0
    velocity: float = 0.0

    def settings_fields(self) -> dict[str, float]:
        return {
            "strength": self.timing,
            "pre_quantize": self.quantization,
            "groove_velocity": self.velocity,
            "humanize_ms": self.random / 100.0 * RANDOM_FULL_SCALE_MS,
        }


#: (XML element, AgrAmounts field, lowest, highest) as Live's groove pool allows them.
_AMOUNTS = (
    ("TimingAmount", "timing", 0.0, 100.0),
    ("QuantizationAmount", "quantization", 0.0, 100.0),
    ("RandomAmount", "random", 0.0, 100.0),
    ("VelocityAmount", "velocity", -100.0, 100.0),
)


def inflate(data: bytes, origin: str) -> bytes:
    """The XML bytes of an .agr: gzip (bytes 1F 8B) inflated with a hard output limit."""
    if not data.startswith(GZIP_MAGIC):
        return data
    out = bytearray()
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    chunk = data
    try:
        while chunk:
            out += d.decompress(chunk, MAX_XML_BYTES + 1 - len(out))
            if len(out) > MAX_XML_BYTES:
                raise GrooveError(
                    origin, f"inflates to more than {MAX_XML_BYTES} bytes (a gzip bomb?); refused"
                )
            chunk = d.unconsumed_tail
        out += d.flush()
    except zlib.error as exc:
        raise GrooveError(origin, f"is damaged gzip data ({exc})") from None
    if not d.eof:
        raise GrooveError(origin, "is cut short (the gzip data ends early)")
    return bytes(out)


def _number(node: Element | None, attr: str, where: str, origin: str) -> Fraction:
    if node is None:
        raise GrooveError(origin, f"{where} is missing")
    text = node.attrs.get(attr)
    if text is None:
        raise GrooveError(origin, f"{where} has no {attr} attribute")
    try:
        value = float(text)
    except ValueError:
        raise GrooveError(origin, f"{where} {attr}={text[:40]!r} is not a number") from None
    if not math.isfinite(value):
        raise GrooveError(origin, f"{where} {attr}={text[:40]!r} is not a finite number")
    return exact_beats(value, where)


@dataclass(frozen=True)
class _Onset:
    time: Fraction
    velocity: float
    duration: Fraction


def _onsets(clip: Element, start: Fraction, length: Fraction, origin: str) -> list[_Onset]:
    notes = clip.find_all(POINTS_PATH.removeprefix(CLIP_PATH + "/"))
    if len(notes) > MAX_NOTES:
        raise GrooveError(origin, f"has {len(notes)} notes; a groove has at most {MAX_NOTES}")
    by_time: dict[Fraction, _Onset] = {}
    for i, n in enumerate(notes):
        where = f"MidiNoteEvent {i + 1}"
        if n.attrs.get("IsEnabled", "true") == "false":
            continue
        t = _number(n, "Time", where, origin) - start
        if t < 0 or t >= length:
            raise GrooveError(
                origin,
                f"{where} at beat {float(t + start):g} is outside the pattern "
                f"[{float(start):g}, {float(start + length):g})",
            )
        v = float(_number(n, "Velocity", where, origin))
        if not 1 <= v <= 127:
            raise GrooveError(origin, f"{where} Velocity {v:g} is out of range; allowed 1–127")
        dur = _number(n, "Duration", where, origin)
        if dur <= 0:
            raise GrooveError(origin, f"{where} Duration {float(dur):g} must be > 0")
        old = by_time.get(t)
        if old is not None:
            v, dur = max(v, old.velocity), max(dur, old.duration)
        by_time[t] = _Onset(t, v, dur)
    return sorted(by_time.values(), key=lambda o: o.time)


def groove_from_agr(data: bytes, origin: str, name: str) -> tuple[GrooveTemplate, AgrAmounts]:
    """Parse an .agr (plain or gzip bytes) into a template named ``name`` and its amounts."""
    if len(data) > MAX_AGR_BYTES:
        raise GrooveError(origin, f"is {len(data)} bytes; an .agr is at most {MAX_AGR_BYTES}")
    xml = inflate(data, origin)
    try:
        root = parse(xml)
    except XmlRefused as exc:
        raise GrooveError(origin, str(exc)) from None
    groove = root.child("Groove") if root.tag == "Ableton" else None
    if groove is None:
        raise GrooveError(origin, "is not an Ableton groove (no Ableton/Groove element)")
    grid = groove.child("Grid")
    code = _number(grid, "Value", "Groove/Grid", origin)
    if code.denominator != 1 or not 0 <= code < len(GRID_BASES):
        raise GrooveError(
            origin, f"Groove/Grid Value {float(code):g} is not a base; allowed 0–{len(GRID_BASES) - 1}"
        )
    base = GRID_BASES[int(code)]
    clip = groove.find(CLIP_PATH)
    if clip is None:
        raise GrooveError(origin, "has no Groove/Clip/Value/MidiClip")
    start = _number(clip.child("CurrentStart"), "Value", "MidiClip/CurrentStart", origin)
    end = _number(clip.child("CurrentEnd"), "Value", "MidiClip/CurrentEnd", origin)
    length = end - start
    if length <= 0:
        raise GrooveError(origin, f"the clip is {float(length):g} beats long; it must be > 0")
    step = BASES[base]
    if (length / step).denominator != 1 or length > 256:
        raise GrooveError(
            origin, f"the clip is {float(length):g} beats; a groove is a whole number of {base} "
            "steps, at most 256 beats"
        )
    count = int(length / step)
    chosen: dict[int, tuple[Fraction, _Onset]] = {}
    for o in _onsets(clip, start, length, origin):
        j, off = slot_of(o.time, step, count)
        held = chosen.get(j)
        if held is None or abs(off) < abs(held[0]):  # later onsets come later: a tie keeps the earlier
            chosen[j] = (off, o)
    points = [
        GroovePoint(o.time, o.velocity, o.duration) for _, (_, o) in sorted(chosen.items())
    ]
    amounts = {}
    for tag, fld, lo, hi in _AMOUNTS:
        node = groove.child(tag)
        if node is None:
            continue
        value = float(_number(node, "Value", f"Groove/{tag}", origin))
        if not lo <= value <= hi:
            raise GrooveError(origin, f"Groove/{tag} {value:g} is out of range; allowed {lo:g}–{hi:g}")
        amounts[fld] = value
    try:
        template = GrooveTemplate(name, base, length, tuple(points), f"Imported from {origin}")
    except GrooveError as exc:
        raise GrooveError(origin, str(exc)) from None
    return template, AgrAmounts(**amounts)


def _num(x: Fraction | float) -> str:
    f = float(x)
    return str(int(f)) if f.is_integer() else repr(f)


def groove_to_agr(
    template: GrooveTemplate, amounts: AgrAmounts | None = None, compress: bool = False
) -> bytes:
    """The template as an .agr Live can load (``compress``: gzip, as Live writes them)."""
    if template.base not in GRID_BASES:
        raise GrooveError(
            "base", f"{template.base} has no Ableton Grid value; allowed {', '.join(GRID_BASES)}"
        )
    a = amounts or AgrAmounts()
    events = "".join(
        f'\t\t\t\t\t\t\t\t\t<MidiNoteEvent Time="{_num(p.beat)}" '
        f'Duration="{_num(p.length if p.length is not None else template.step)}" '
        f'Velocity="{_num(p.velocity if p.velocity is not None else DEFAULT_EXPORT_VELOCITY)}" '
        f'OffVelocity="64" IsEnabled="true" />\n'
        for p in template.points
    )
    length = _num(template.length)
    name = quoteattr(template.name)
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Ableton MajorVersion="5" MinorVersion="11.0_433" Creator="Quanta">\n'
        "\t<Groove>\n"
        "\t\t<Clip>\n"
        "\t\t\t<Value>\n"
        '\t\t\t\t<MidiClip Id="0" Time="0">\n'
        '\t\t\t\t\t<CurrentStart Value="0" />\n'
        f'\t\t\t\t\t<CurrentEnd Value="{length}" />\n'
        "\t\t\t\t\t<Loop>\n"
        '\t\t\t\t\t\t<LoopStart Value="0" />\n'
        f'\t\t\t\t\t\t<LoopEnd Value="{length}" />\n'
        '\t\t\t\t\t\t<LoopOn Value="true" />\n'
        "\t\t\t\t\t</Loop>\n"
        f"\t\t\t\t\t<Name Value={name} />\n"
        "\t\t\t\t\t<Notes>\n"
        "\t\t\t\t\t\t<KeyTracks>\n"
        '\t\t\t\t\t\t\t<KeyTrack Id="0">\n'
        "\t\t\t\t\t\t\t\t<Notes>\n"
        f"{events}"
        "\t\t\t\t\t\t\t\t</Notes>\n"
        '\t\t\t\t\t\t\t\t<MidiKey Value="60" />\n'
        "\t\t\t\t\t\t\t</KeyTrack>\n"
        "\t\t\t\t\t\t</KeyTracks>\n"
        "\t\t\t\t\t</Notes>\n"
        "\t\t\t\t</MidiClip>\n"
        "\t\t\t</Value>\n"
        "\t\t</Clip>\n"
        f'\t\t<Grid Value="{GRID_BASES.index(template.base)}" />\n'
        f'\t\t<TimingAmount Value="{_num(a.timing)}" />\n'
        f'\t\t<QuantizationAmount Value="{_num(a.quantization)}" />\n'
        f'\t\t<RandomAmount Value="{_num(a.random)}" />\n'
        f'\t\t<VelocityAmount Value="{_num(a.velocity)}" />\n'
        "\t</Groove>\n"
        "</Ableton>\n"
    )
    raw = text.encode("utf-8")
    if not compress:
        return raw
    import gzip

    return gzip.compress(raw, mtime=0)
