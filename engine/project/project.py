"""The Quanta project file (``.quanta``): a song plus everything a MIDI file cannot hold.

Format (documented for users and other tools in ``docs/project-format.md``): a zip archive with

- ``project.json`` — format name, version, PPQ, per-track settings (playback quantize,
  instrument, effects and their state, mixer values) and transport state (loop, metronome);
- ``song.npz`` — each track's note, event and payload arrays exactly as held in memory. This
  is the authoritative copy: a standard MIDI file cannot hold note ids (which the editor's
  selection and undo rely on) or a note's place among events when it was edited, so a project
  reopened from it is identical array for array;
- ``song.mid`` — the same music as a standard MIDI file, written when :mod:`engine.smf.midifile`
  is available, so any DAW (or ``unzip``) can get the music out without Quanta. It is never
  read back (and never RIFF-wrapped, so every tool reads it).

A song read from a MIDI file may carry what the file held besides its tracks (SMPTE timing,
foreign chunks, an RMID envelope: :mod:`engine.model.smf_container`); ``project.json`` keeps it in
an optional ``midi_file`` object, so exporting MIDI from a reopened project still gives the
source's bytes.

Saves are atomic (:mod:`engine.atomic_write`), so a crash or a full disk mid-save leaves the
previous file intact. Loading is strict and bounded: a project is outside data, so sizes are
checked before anything is inflated or allocated (:mod:`engine.project.archive`), and every
problem is a :class:`ProjectError` naming the file and the field; a file from a newer Quanta
is refused with its version rather than half-read. Values that could not be saved again, or
written as ``song.mid``, are refused on the way in, so whatever opens can be saved.

One module (about 800 lines) on purpose: every field of ``project.json`` is written and
checked here, each check next to the writer it mirrors, so a field the writer gains cannot go
unchecked on the way in; the container's size bounds are apart (:mod:`engine.project.archive`).
"""

from __future__ import annotations

import base64
import io
import json
import math
import os
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.atomic_write import atomic_write_bytes, save_error_text
from engine.errors import QuantaError, display_path, missing_file_message
from engine.model.notes import (
    EVENT_DTYPE,
    NOTE_DTYPE,
    STATUS_ESCAPE,
    STATUS_META,
    STATUS_SYSEX,
)
from engine.model.smf_container import NO_EXTRAS, ChunkRun, FileExtras, RiffWrapper, SmpteDivision
from engine.model.song import Song, Track
from engine.project.archive import (
    MAX_RATIO,
    RATIO_FREE_BYTES,
    ZIP_ERRORS,
    ArchiveError,
    Budget,
    open_zip,
    read_array,
    read_member,
)
from engine.quantize.settings import QuantizeSettings

FORMAT_NAME = "quanta-project"
FORMAT_VERSION = 1
SUFFIX = ".quanta"

_JSON = "project.json"
_ARRAYS = "song.npz"
_MIDI = "song.mid"
_BYTES_KEY = "$bytes"  # how binary plugin state is written in JSON: {"$bytes": base64}

#: Reading limits (a project is never trusted; see :mod:`engine.project.archive`).
MAX_PROJECT_MB_ENV = "QUANTA_MAX_PROJECT_MB"
DEFAULT_MAX_PROJECT_MB = 512  #: on disk, and unpacked in total
MAX_JSON_BYTES = 64 << 20  #: project.json (plugin states included)
MAX_JSON_DEPTH = 64  #: nesting of objects/lists in project.json
MAX_TRACKS = 0xFFFF  #: what a MIDI file's header can count
#: Ticks are exact in a float64 (the editor's view maths) below 2^53.
MAX_TICK = (1 << 53) - 1
#: The longest gap a MIDI file can hold between two events (a 4-byte variable-length number).
MAX_MIDI_DELTA = 0x0FFFFFFF
#: Longer gaps are saved as chains of such deltas; a song may need at most this many in all
#: (16 MB of MIDI data: a tiny hostile project must not make every save write gigabytes).
MAX_BRIDGED_DELTAS = 1 << 22


class ProjectError(QuantaError):
    """A project could not be read or written; the message names the file and the field."""


@dataclass(eq=False)
class Project:
    """A song with its project-level state (the per-track state lives in ``Track.extra``)."""

    song: Song
    loop: tuple[int, int] | None = None  #: loop range in ticks (start < end)
    loop_enabled: bool = False
    metronome: bool = False
    #: The quantize panel's settings when the project was saved.
    edit_settings: QuantizeSettings | None = None
    current_track: int = -1
    #: Free-form app state (window layout, zoom); must be JSON-ready.
    ui: dict = field(default_factory=dict)


# -- JSON encoding of app values ------------------------------------------------------------
def _encode(value, where: str):
    """JSON-ready copy of ``value``; bytes (plugin state) become ``{"$bytes": base64}``."""
    if isinstance(value, str):
        if not _is_text(value):
            raise ProjectError(f"{where}: {value!r} is not valid Unicode text")
        return value
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float | np.integer | np.floating):
        v = value.item() if isinstance(value, np.generic) else value
        if isinstance(v, float) and not np.isfinite(v):
            raise ProjectError(f"{where}: {v} cannot be saved (not a finite number)")
        return v
    if isinstance(value, bytes | bytearray | memoryview):
        return {_BYTES_KEY: base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, list | tuple):
        return [_encode(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str) or not _is_text(k):
                raise ProjectError(f"{where}: key {k!r} is not text")
            out[k] = _encode(v, f"{where}.{k}")
        return out
    raise ProjectError(f"{where}: a {type(value).__name__} cannot be saved in a project")


def _decode(value, where: str):
    if isinstance(value, list):
        return [_decode(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        if set(value) == {_BYTES_KEY}:
            try:
                return base64.b64decode(value[_BYTES_KEY], validate=True)
            except (ValueError, TypeError):
                raise ProjectError(f"{where}: binary data is not valid base64") from None
        return {k: _decode(v, f"{where}.{k}") for k, v in value.items()}
    return value


# -- saving -------------------------------------------------------------------------------
def _arrays(song: Song) -> bytes:
    arrays = {}
    for i, tr in enumerate(song.tracks):
        arrays[f"t{i}_notes"] = np.ascontiguousarray(tr.notes)
        arrays[f"t{i}_events"] = np.ascontiguousarray(tr.events)
        arrays[f"t{i}_payload"] = np.ascontiguousarray(tr.payload)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _midi_bytes(song: Song) -> bytes | None:
    try:
        from engine.smf.midifile import song_to_bytes
    except ImportError:  # the MIDI file module is optional for projects
        return None
    return song_to_bytes(song, rmid=False)


def _midi_file_doc(song: Song) -> dict | None:
    """The ``midi_file`` object: only what the song carries, ``None`` when it is plain."""
    extras = song.file_extras
    out: dict = {}
    if song.smpte is not None:
        out["smpte"] = {"fps": song.smpte.fps, "ticks_per_frame": song.smpte.ticks_per_frame}
    if extras.chunks:
        out["chunks"] = [
            {"before_track": int(r.before_track), "raw": _encode(r.raw, "midi_file.chunks")}
            for r in extras.chunks
        ]
    if extras.header_tail:
        out["header_tail"] = _encode(extras.header_tail, "midi_file.header_tail")
    if extras.trailing:
        out["trailing"] = _encode(extras.trailing, "midi_file.trailing")
    if extras.track_count is not None:
        out["track_count"] = [int(n) for n in extras.track_count]
    if extras.riff is not None:
        out["rmid"] = {
            "before": _encode(extras.riff.before, "midi_file.rmid.before"),
            "after": _encode(extras.riff.after, "midi_file.rmid.after"),
        }
    return out or None


def _document(project: Project) -> dict:
    song = project.song
    tracks = []
    for i, tr in enumerate(song.tracks):
        tracks.append(
            {
                "name": tr.name,
                "end_tick": int(tr.end_tick),
                **({"smf_tail": _encode(tr.smf_tail, "smf_tail")} if tr.smf_tail else {}),
                **({"smf_end": _encode(tr.smf_end, "smf_end")} if tr.smf_end is not None else {}),
                "quantize": tr.quantize.to_dict(True) if tr.quantize is not None else None,
                "extra": _encode(tr.extra, f"tracks[{i}].extra"),
            }
        )
    loop = project.loop
    doc = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "ppq": int(song.ppq),
        "smf_format": int(song.format),
        "tracks": tracks,
        "transport": {
            "loop": [int(loop[0]), int(loop[1])] if loop else None,
            "loop_enabled": bool(project.loop_enabled),
            "metronome": bool(project.metronome),
        },
        "edit_settings": (
            project.edit_settings.to_dict(True) if project.edit_settings else None
        ),
        "current_track": int(project.current_track),
        "ui": _encode(project.ui, "ui"),
    }
    midi_file = _midi_file_doc(song)
    if midi_file is not None:
        doc["midi_file"] = midi_file
    return doc


def project_to_bytes(project: Project) -> bytes:
    """The whole project file in memory (what :func:`save_project` writes)."""
    doc = json.dumps(_document(project), indent=2, ensure_ascii=False).encode("utf-8")
    midi = _midi_bytes(project.song)
    members = [(_JSON, doc), (_ARRAYS, _arrays(project.song))]  # JSON first: cheap to peek at
    if midi is not None:
        members.append((_MIDI, midi))
    data = _zip(members, stored=set())
    # The reader refuses members that inflate more than MAX_RATIO times (zip bombs); a member
    # of ours that packs that well (megabytes of zeros in a plugin state) is stored instead,
    # so every project Quanta writes opens again.
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        too_packed = {
            i.filename
            for i in z.infolist()
            if i.filename != _MIDI
            and i.file_size > RATIO_FREE_BYTES
            and i.file_size > MAX_RATIO * max(i.compress_size, 1) // 2
        }
    return _zip(members, stored=too_packed) if too_packed else data


def _zip(members: list[tuple[str, bytes]], stored: set[str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as z:
        for name, data in members:
            z.writestr(name, data, compress_type=zipfile.ZIP_STORED if name in stored else None)
    return buf.getvalue()


def save_project(project: Project, path: str | Path) -> None:
    """Write a project atomically. Raises ProjectError (one line) when it cannot be written."""
    data = project_to_bytes(project)
    try:
        atomic_write_bytes(path, data)
    except OSError as exc:
        raise ProjectError(save_error_text(path, exc)) from None


# -- loading ------------------------------------------------------------------------------
def _need(d: dict, key: str, kind, where: str):
    if key not in d:
        raise ProjectError(f"{where}.{key} is missing")
    v = d[key]
    if kind is int and (isinstance(v, bool) or not isinstance(v, int)):
        raise ProjectError(f"{where}.{key}: {_short(v)} is not a whole number")
    if kind is int and not -MAX_TICK <= v <= MAX_TICK:
        raise ProjectError(f"{where}.{key}: {_short(v)} is out of range")
    if kind is not int and not isinstance(v, kind):
        raise ProjectError(f"{where}.{key}: {_short(v)} has the wrong type")
    return v


def _short(value, limit: int = 40) -> str:
    """``repr`` cut to one short line (a hostile value may be megabytes)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**30:
        return "a huge number"
    text = repr(value) if not isinstance(value, dict | list) else type(value).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _settings(d, where: str) -> QuantizeSettings | None:
    if d is None:
        return None
    if not isinstance(d, dict):
        raise ProjectError(f"{where}: expected quantize settings, got {_short(d)}")
    # The same strict checks as a preset's settings (ranges, types, combinations): a project
    # must not hold a setting no preset could, e.g. an offset the panel cannot show.
    from engine.presets.preset_format import FORMAT, VERSION, PresetError, preset_from_document

    doc = {"format": FORMAT, "version": VERSION, "name": "p", "description": "", "settings": d}
    try:
        settings = preset_from_document(doc).settings
        json.dumps(settings.to_dict(), allow_nan=False)  # what is read must save again
    except PresetError as exc:
        msg = str(exc)
        msg = msg[len("settings.") :] if msg.startswith("settings.") else msg
        raise ProjectError(f"{where}: {msg[:200]}") from None
    except (QuantaError, TypeError, ValueError, OverflowError) as exc:
        raise ProjectError(f"{where}: {str(exc)[:200]}") from None
    return settings


def _array(npz: zipfile.ZipFile, key: str, dtype: np.dtype, budget: Budget) -> np.ndarray:
    try:
        return read_array(npz, f"{key}.npy", dtype, budget.left, budget)
    except KeyError:
        raise ProjectError(f"{_ARRAYS}: {key} is missing") from None
    except ArchiveError as exc:
        raise ProjectError(f"{_ARRAYS}: {exc}") from None


_VALID_STATUS = np.zeros(256, dtype=bool)
_VALID_STATUS[0x80:0xF0] = True
_VALID_STATUS[[STATUS_SYSEX, STATUS_ESCAPE, STATUS_META]] = True


def _check_track(tr: Track, i: int) -> int:
    """Everything a MIDI file (``song.mid``) and the editor need, so what loads can save.
    Returns how many longest-possible MIDI deltas the track's length spans at most."""
    n = tr.notes
    where = f"tracks[{i}]"
    if n.size:
        if np.any(n["start"] < 0) or np.any(n["end"] > MAX_TICK):
            raise ProjectError(f"{where}: a note lies outside 0–{MAX_TICK} ticks")
        if np.any(n["end"] <= n["start"]):
            raise ProjectError(f"{where}: a note ends before it starts")
        if np.any(n["pitch"] > 127) or np.any(n["channel"] > 15):
            raise ProjectError(f"{where}: a note has a pitch or channel out of MIDI range")
        if np.any(n["velocity"] > 127) or np.any(n["off_velocity"] > 127):
            raise ProjectError(f"{where}: a note has a velocity out of MIDI range (0–127)")
        if np.unique(n["id"]).size != n.size:
            raise ProjectError(f"{where}: two notes share one id")
    ev = tr.events
    if ev.size:
        if np.any(ev["tick"] < 0) or np.any(ev["tick"] > MAX_TICK):
            raise ProjectError(f"{where}: an event lies outside 0–{MAX_TICK} ticks")
        if np.any(np.diff(ev["tick"]) < 0):
            raise ProjectError(f"{where}: events are not in time order")
        if not np.all(_VALID_STATUS[ev["status"]]):
            raise ProjectError(f"{where}: an event has a status byte a MIDI file cannot hold")
        channel = ev["status"] < 0xF0
        if np.any(channel & ((ev["data1"] > 127) | (ev["data2"] > 127))):
            raise ProjectError(f"{where}: an event has a data byte out of MIDI range (0–127)")
        if np.any(ev["offset"].astype(np.int64) + ev["length"] > tr.payload.size):
            raise ProjectError(f"{where}: an event points past its payload")
        if np.any(ev["length"] > MAX_MIDI_DELTA):
            raise ProjectError(f"{where}: an event's data is longer than MIDI allows")
    if not 0 <= tr.end_tick <= MAX_TICK:
        raise ProjectError(f"{where}.end_tick: {tr.end_tick} is out of range")
    # A gap longer than one MIDI delta is bridged on saving (a chain of deltas): a cost in
    # proportion to the silence, bounded for the whole song in _project.
    last = max(
        tr.end_tick,
        int(n["end"].max()) if n.size else 0,
        int(ev["tick"].max()) if ev.size else 0,
    )
    return last // MAX_MIDI_DELTA


_MIXER_RANGES = {"volume": (0.0, 1.0), "pan": (-1.0, 1.0)}


def _check_extra(extra: dict, where: str) -> None:
    """The app-level values Quanta itself reads (mixer, instrument, effects) must make sense."""
    for key, (lo, hi) in _MIXER_RANGES.items():
        if key in extra:
            v = extra[key]
            if isinstance(v, bool) or not isinstance(v, int | float) or not lo <= v <= hi:
                raise ProjectError(f"{where}.{key}: {_short(v)} is not a number {lo:g}…{hi:g}")
    for key in ("mute", "solo"):
        if key in extra and not isinstance(extra[key], bool):
            raise ProjectError(f"{where}.{key}: {_short(extra[key])} is not true or false")
    inst = extra.get("instrument")
    if inst is not None and not isinstance(inst, dict | str):
        raise ProjectError(f"{where}.instrument: expected an object, text or null")
    effects = extra.get("effects")
    if effects is not None and not (
        isinstance(effects, list) and all(isinstance(e, dict) for e in effects)
    ):
        raise ProjectError(f"{where}.effects: expected a list of objects")


def max_project_bytes() -> int:
    """The largest project read, on disk and unpacked (env ``QUANTA_MAX_PROJECT_MB``)."""
    raw = os.environ.get(MAX_PROJECT_MB_ENV, "").strip()
    try:
        mb = float(raw) if raw else DEFAULT_MAX_PROJECT_MB
    except ValueError:
        mb = DEFAULT_MAX_PROJECT_MB
    if not (math.isfinite(mb) and mb > 0):
        mb = DEFAULT_MAX_PROJECT_MB
    return int(min(mb, 1 << 20) * 1048576)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:20]} is too large for a number")
    return value


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a number a project may hold")


def _is_text(value: str) -> bool:
    """False for strings holding lone UTF-16 surrogates (JSON ``"\\ud800"``), which no
    UTF-8 file can hold: what loads must save."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_doc(doc) -> None:
    """Refuse nesting deeper than MAX_JSON_DEPTH and text that is not valid Unicode
    (iteratively: no recursion to exhaust)."""
    stack = [(doc, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if not _is_text(value):
                raise ProjectError(f"{_JSON} holds text with a lone UTF-16 surrogate")
            continue
        if isinstance(value, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise ProjectError(f"{_JSON} is nested deeper than {MAX_JSON_DEPTH} levels")
            if isinstance(value, dict):
                stack.extend((k, depth) for k in value)
                items = value.values()
            else:
                items = value
            stack.extend((v, depth + 1) for v in items if isinstance(v, dict | list | str))


def _parse_json(data: bytes):
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProjectError(f"{_JSON} is not UTF-8 text (byte {exc.start})") from None
    try:
        doc = json.loads(text, parse_float=_finite_float, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise ProjectError(f"{_JSON} is not valid JSON ({exc})") from None
    except ValueError as exc:  # NaN/Infinity, 1e999, integers of more than 4300 digits
        msg = str(exc).splitlines()[0][:100]
        raise ProjectError(f"{_JSON} is not valid JSON ({msg})") from None
    except RecursionError:
        raise ProjectError(f"{_JSON} is nested too deeply") from None
    _check_doc(doc)
    return doc


def project_from_bytes(data: bytes, name: str = "project") -> Project:
    """Parse a project file held in memory; ``name`` is used in error messages.

    Every problem, however the bytes are damaged, is one :class:`ProjectError` naming
    ``name``; sizes are checked before anything is inflated or allocated.
    """
    limit = max_project_bytes()
    try:
        if len(data) > limit:
            raise ProjectError(
                f"file is {len(data) // 1048576} MB, larger than the {limit // 1048576} MB "
                f"limit for projects (set {MAX_PROJECT_MB_ENV} to raise it)"
            )
        budget = Budget(limit)
        try:
            z = open_zip(data, "file")
        except ArchiveError:
            raise ProjectError("not a Quanta project (not a zip archive)") from None
        with z:
            try:
                raw = read_member(z, _JSON, MAX_JSON_BYTES, budget)
            except KeyError:
                raise ProjectError(f"not a Quanta project ({_JSON} is missing)") from None
            doc = _parse_json(raw)
            del raw
            return _project(doc, z, budget)
    except ArchiveError as exc:
        raise ProjectError(f"{name}: damaged project ({exc})") from None
    except ProjectError as exc:
        msg = str(exc)
        raise ProjectError(f"{name}: {msg}") from None


def _bytes_field(d: dict, key: str, where: str) -> bytes:
    if key not in d:
        return b""
    value = _decode(d[key], f"{where}.{key}")
    if not isinstance(value, bytes):
        raise ProjectError(f'{where}.{key}: expected binary data {{"{_BYTES_KEY}": ...}}')
    return value


def _smf_end(td: dict, where: str) -> bytes | None:
    """The track's kept end-of-track event (see ``Track.smf_end``): absent = a plain one,
    empty = the source track had none, else a whole ``FF 2F len data`` event, checked here so
    that what opens can be exported again."""
    if "smf_end" not in td:
        return None
    raw = _bytes_field(td, "smf_end", where)
    if not raw:
        return b""
    length, used = 0, 2
    for used in range(2, min(len(raw), 6)):
        length = (length << 7) | (raw[used] & 0x7F)
        if raw[used] < 0x80:
            break
    else:
        used = len(raw)
    if raw[:2] != b"\xff\x2f" or used >= len(raw) or len(raw) != used + 1 + length:
        raise ProjectError(f"{where}.smf_end: not one end-of-track meta event (FF 2F len data)")
    return raw


def _track_count(value) -> tuple[int, int] | None:
    """``midi_file.track_count``: ``[said, found]`` when the source header's track count
    disagreed with its track chunks (written back while the song has ``found`` tracks)."""
    if value is None:
        return None
    where = "midi_file.track_count"
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(type(n) is int and 0 <= n <= MAX_TRACKS for n in value)
    ):
        raise ProjectError(f"{where}: expected [said, found], two track counts 0–{MAX_TRACKS}")
    return value[0], value[1]


def _smpte(d, ppq: int) -> SmpteDivision | None:
    if d is None:
        return None
    where = "midi_file.smpte"
    if not isinstance(d, dict):
        raise ProjectError(f"{where}: expected an object")
    try:
        smpte = SmpteDivision(_need(d, "fps", int, where), _need(d, "ticks_per_frame", int, where))
    except QuantaError as exc:
        raise ProjectError(f"{where}: {exc}") from None
    if smpte.ppq != ppq:
        raise ProjectError(f"{where}: {smpte.describe()} needs ppq {smpte.ppq}, not {ppq}")
    return smpte


def _midi_file(d, ppq: int) -> tuple[SmpteDivision | None, FileExtras]:
    """SMPTE timing and file extras from the optional ``midi_file`` object."""
    if d is None:
        return None, NO_EXTRAS
    if not isinstance(d, dict):
        raise ProjectError("midi_file: expected an object")
    chunks_doc = d.get("chunks", [])
    if not isinstance(chunks_doc, list):
        raise ProjectError("midi_file.chunks: expected a list")
    runs = []
    for i, c in enumerate(chunks_doc):
        where = f"midi_file.chunks[{i}]"
        if not isinstance(c, dict):
            raise ProjectError(f"{where}: expected an object")
        before = _need(c, "before_track", int, where)
        if before < 0:
            raise ProjectError(f"{where}.before_track: {before} is negative")
        run = ChunkRun(before, _bytes_field(c, "raw", where))
        if not run.is_well_formed():
            raise ProjectError(f"{where}.raw: not whole MIDI file chunks")
        runs.append(run)
    rmid = d.get("rmid")
    riff = None
    if rmid is not None:
        if not isinstance(rmid, dict):
            raise ProjectError("midi_file.rmid: expected an object")
        riff = RiffWrapper(
            _bytes_field(rmid, "before", "midi_file.rmid"),
            _bytes_field(rmid, "after", "midi_file.rmid"),
        )
    extras = FileExtras(
        chunks=tuple(runs),
        header_tail=_bytes_field(d, "header_tail", "midi_file"),
        trailing=_bytes_field(d, "trailing", "midi_file"),
        riff=riff,
        track_count=_track_count(d.get("track_count")),
    )
    return _smpte(d.get("smpte"), ppq), (NO_EXTRAS if extras == NO_EXTRAS else extras)


def _check_midi_file(ppq, smf_format, n_tracks, smpte, extras) -> None:
    """The kept MIDI file extras (foreign chunks, header and trailing bytes, RIFF chunks) must
    give a MIDI file Quanta itself reads back: trailing bytes that look like a chunk header,
    say, would make every exported ``song.mid`` unreadable. Checked with the reader itself on
    a skeleton of empty tracks (same count, same extras), so it stays what the reader accepts.
    """
    if smpte is None and extras == NO_EXTRAS:
        return
    from engine.errors import MidiFileError
    from engine.smf.midifile import load_song_bytes, song_to_bytes

    skeleton = Song(
        ppq, smf_format, [Track() for _ in range(n_tracks)], smpte=smpte, file_extras=extras
    )
    try:
        for rmid in (False, True) if extras.riff is not None else (False,):
            load_song_bytes(song_to_bytes(skeleton, rmid=rmid), "song.mid")
    except MidiFileError as exc:
        raise ProjectError(f"midi_file: would not give a readable MIDI file ({exc})") from None


def _project(doc, z: zipfile.ZipFile, budget: Budget) -> Project:
    if not isinstance(doc, dict) or doc.get("format") != FORMAT_NAME:
        raise ProjectError("format: not a Quanta project")
    version = _need(doc, "version", int, "project")
    if version > FORMAT_VERSION:
        raise ProjectError(
            f"version {version} was saved by a newer Quanta; this one reads up to "
            f"version {FORMAT_VERSION} — update Quanta to open it"
        )
    if version < 1:
        raise ProjectError(f"version {version} is not a valid project version")
    ppq = _need(doc, "ppq", int, "project")
    if not 1 <= ppq <= 0x7FFF:
        raise ProjectError(f"ppq: {ppq} is out of range (1–32767)")
    smf_format = _need(doc, "smf_format", int, "project")
    if smf_format not in (0, 1, 2):
        raise ProjectError(f"smf_format: {smf_format} is not 0, 1 or 2")
    tracks_doc = _need(doc, "tracks", list, "project")
    if len(tracks_doc) > MAX_TRACKS:
        raise ProjectError(f"tracks: {len(tracks_doc)} tracks; a MIDI file holds {MAX_TRACKS}")
    smpte, file_extras = _midi_file(doc.get("midi_file"), ppq)
    try:
        packed = read_member(z, _ARRAYS, budget.left, budget)
    except KeyError:
        raise ProjectError(f"{_ARRAYS} is missing") from None
    npz = open_zip(packed, _ARRAYS)
    names = set(npz.namelist())
    tracks = []
    bridges = 0
    for i, td in enumerate(tracks_doc):
        where = f"tracks[{i}]"
        if not isinstance(td, dict):
            raise ProjectError(f"{where}: expected an object")
        extra = td.get("extra", {})
        if not isinstance(extra, dict):
            raise ProjectError(f"{where}.extra: expected an object")
        _check_extra(extra, f"{where}.extra")
        tr = Track(
            notes=_array(npz, f"t{i}_notes", NOTE_DTYPE, budget),
            events=_array(npz, f"t{i}_events", EVENT_DTYPE, budget),
            payload=_array(npz, f"t{i}_payload", np.dtype(np.uint8), budget),
            end_tick=_need(td, "end_tick", int, where),
            smf_tail=_bytes_field(td, "smf_tail", where),
            smf_end=_smf_end(td, where),
            quantize=_settings(td.get("quantize"), f"{where}.quantize"),
            extra=_decode(extra, f"{where}.extra"),
        )
        bridges += _check_track(tr, i)
        if bridges > MAX_BRIDGED_DELTAS:
            raise ProjectError(
                f"tracks: the song's silences are too long to save as a MIDI file (over "
                f"{MAX_BRIDGED_DELTAS} chained gaps of {MAX_MIDI_DELTA} ticks)"
            )
        tracks.append(tr)
    if f"t{len(tracks)}_notes.npy" in names:
        raise ProjectError(f"{_ARRAYS} holds more tracks than {_JSON} lists")
    transport = doc.get("transport") or {}
    if not isinstance(transport, dict):
        raise ProjectError("transport: expected an object")
    loop = transport.get("loop")
    if loop is not None:
        if (
            not isinstance(loop, list)
            or len(loop) != 2
            or not all(isinstance(x, int) and not isinstance(x, bool) for x in loop)
            or not 0 <= loop[0] < loop[1] <= MAX_TICK
        ):
            raise ProjectError(
                f"transport.loop: {_short(loop)} is not [start, end] ticks, start < end"
            )
        loop = (loop[0], loop[1])
    ui = doc.get("ui") or {}
    if not isinstance(ui, dict):
        raise ProjectError("ui: expected an object")
    current = doc.get("current_track", -1)
    if isinstance(current, bool) or not isinstance(current, int):
        raise ProjectError(f"current_track: {_short(current)} is not a whole number")
    _check_midi_file(ppq, smf_format, len(tracks), smpte, file_extras)
    return Project(
        song=Song(ppq, smf_format, tracks, smpte=smpte, file_extras=file_extras),
        loop=loop,
        loop_enabled=bool(transport.get("loop_enabled", False)),
        metronome=bool(transport.get("metronome", False)),
        edit_settings=_settings(doc.get("edit_settings"), "edit_settings"),
        current_track=current if -1 <= current < len(tracks) else -1,
        ui=_decode(ui, "ui"),
    )


def load_project(path: str | Path) -> Project:
    """Read a ``.quanta`` file. Raises ProjectError naming the file and the problem."""
    path = Path(path)
    shown = display_path(path)
    limit = max_project_bytes()
    try:
        st = path.stat()
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError
        if not stat.S_ISREG(st.st_mode):  # a FIFO or device would hang or never end
            raise ProjectError(f"{shown}: not a regular file")
        with open(path, "rb") as fh:
            if st.st_size > limit:
                raise ProjectError(
                    f"{shown}: file is {st.st_size // 1048576} MB, larger than the "
                    f"{limit // 1048576} MB limit for projects (set {MAX_PROJECT_MB_ENV} "
                    "to raise it)"
                )
            data = fh.read(limit + 1)
    except FileNotFoundError:
        raise ProjectError(missing_file_message(shown)) from None
    except IsADirectoryError:
        raise ProjectError(f"{shown}: is a folder, not a project") from None
    except OSError as exc:
        raise ProjectError(f"{shown}: cannot read ({exc.strerror or exc})") from None
    return project_from_bytes(data, shown)


def is_project_file(path: str | Path) -> bool:
    """True for a ``.quanta`` name or a zip holding ``project.json`` (used by Open)."""
    path = Path(path)
    if path.suffix.lower() == SUFFIX:
        return True
    try:
        if not path.is_file():  # never open a FIFO (it would block)
            return False
        with open(path, "rb") as f:
            if f.read(4) != b"PK\x03\x04":
                return False
        with zipfile.ZipFile(path) as z:
            return _JSON in z.namelist()
    except (OSError, *ZIP_ERRORS):
        return False
