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

Saves are atomic (temporary file in the same folder, fsync, rename), so a crash or a full disk
mid-save leaves the previous file intact. Loading is strict: every problem is a
:class:`ProjectError` naming the file and the field; a file from a newer Quanta is refused
with its version rather than half-read.
"""

from __future__ import annotations

import base64
import io
import json
import os
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.errors import QuantaError, missing_file_message, write_failure_message
from engine.model.notes import EVENT_DTYPE, NOTE_DTYPE
from engine.model.smf_container import NO_EXTRAS, ChunkRun, FileExtras, RiffWrapper, SmpteDivision
from engine.model.song import Song, Track
from engine.quantize.settings import QuantizeSettings

FORMAT_NAME = "quanta-project"
FORMAT_VERSION = 1
SUFFIX = ".quanta"

_JSON = "project.json"
_ARRAYS = "song.npz"
_MIDI = "song.mid"
_BYTES_KEY = "$bytes"  # how binary plugin state is written in JSON: {"$bytes": base64}


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
    if value is None or isinstance(value, bool | str):
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
            if not isinstance(k, str):
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
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as z:
        z.writestr(_JSON, doc)  # first, so `unzip -p x.quanta project.json` is cheap
        z.writestr(_ARRAYS, _arrays(project.song))
        if midi is not None:
            z.writestr(_MIDI, midi)
    return buf.getvalue()


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that readers see the old or the new file, never half.

    Writes a temporary file in the same folder (same filesystem, so the rename is atomic),
    fsyncs it, renames it over the target and fsyncs the folder so the rename survives a crash.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def save_project(project: Project, path: str | Path) -> None:
    """Write a project atomically. Raises ProjectError (one line) when it cannot be written."""
    data = project_to_bytes(project)
    try:
        atomic_write_bytes(path, data)
    except OSError as exc:
        raise ProjectError(write_failure_message(path, exc)) from None


# -- loading ------------------------------------------------------------------------------
def _need(d: dict, key: str, kind, where: str):
    if key not in d:
        raise ProjectError(f"{where}.{key} is missing")
    v = d[key]
    if kind is int and (isinstance(v, bool) or not isinstance(v, int)):
        raise ProjectError(f"{where}.{key}: {v!r} is not a whole number")
    if kind is not int and not isinstance(v, kind):
        raise ProjectError(f"{where}.{key}: {v!r} has the wrong type")
    return v


def _settings(d, where: str) -> QuantizeSettings | None:
    if d is None:
        return None
    if not isinstance(d, dict):
        raise ProjectError(f"{where}: expected quantize settings, got {d!r}")
    try:
        return QuantizeSettings.from_dict(d)
    except (QuantaError, TypeError, ValueError) as exc:
        raise ProjectError(f"{where}: {exc}") from None


def _array(npz, key: str, dtype: np.dtype, name: str) -> np.ndarray:
    if key not in npz.files:
        raise ProjectError(f"{_ARRAYS}: {key} is missing")
    try:
        a = npz[key]
    except ValueError as exc:  # e.g. object arrays, which we never write
        raise ProjectError(f"{_ARRAYS}: {key} cannot be read ({exc})") from None
    if a.dtype != dtype or a.ndim != 1:
        raise ProjectError(f"{_ARRAYS}: {key} has the wrong layout for {name}")
    return a.copy()


def _check_track(tr: Track, i: int) -> None:
    n = tr.notes
    if n.size and np.any(n["end"] <= n["start"]):
        raise ProjectError(f"tracks[{i}]: a note ends before it starts")
    if n.size and (np.any(n["pitch"] > 127) or np.any(n["channel"] > 15)):
        raise ProjectError(f"tracks[{i}]: a note has a pitch or channel out of MIDI range")
    if n.size and np.unique(n["id"]).size != n.size:
        raise ProjectError(f"tracks[{i}]: two notes share one id")
    ev = tr.events
    if ev.size and np.any(ev["offset"].astype(np.int64) + ev["length"] > tr.payload.size):
        raise ProjectError(f"tracks[{i}]: an event points past its payload")


def project_from_bytes(data: bytes, name: str = "project") -> Project:
    """Parse a project file held in memory; ``name`` is used in error messages."""
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise ProjectError(f"{name}: not a Quanta project (not a zip archive)") from None
    with z:
        try:
            doc = json.loads(z.read(_JSON).decode("utf-8"))
        except KeyError:
            raise ProjectError(f"{name}: not a Quanta project ({_JSON} is missing)") from None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ProjectError(f"{name}: {_JSON} is not valid JSON ({exc})") from None
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise ProjectError(f"{name}: damaged archive ({exc})") from None
        try:
            return _project(doc, z, name)
        except ProjectError as exc:
            msg = str(exc)
            raise ProjectError(msg if msg.startswith(name) else f"{name}: {msg}") from None


def _bytes_field(d: dict, key: str, where: str) -> bytes:
    if key not in d:
        return b""
    value = _decode(d[key], f"{where}.{key}")
    if not isinstance(value, bytes):
        raise ProjectError(f'{where}.{key}: expected binary data {{"{_BYTES_KEY}": ...}}')
    return value


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
    )
    return _smpte(d.get("smpte"), ppq), (NO_EXTRAS if extras == NO_EXTRAS else extras)


def _project(doc, z: zipfile.ZipFile, name: str) -> Project:
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
    smpte, file_extras = _midi_file(doc.get("midi_file"), ppq)
    try:
        npz = np.load(io.BytesIO(z.read(_ARRAYS)), allow_pickle=False)
    except KeyError:
        raise ProjectError(f"{_ARRAYS} is missing") from None
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise ProjectError(f"{_ARRAYS} is damaged ({exc})") from None
    tracks = []
    for i, td in enumerate(tracks_doc):
        where = f"tracks[{i}]"
        if not isinstance(td, dict):
            raise ProjectError(f"{where}: expected an object")
        extra = td.get("extra", {})
        if not isinstance(extra, dict):
            raise ProjectError(f"{where}.extra: expected an object")
        tr = Track(
            notes=_array(npz, f"t{i}_notes", NOTE_DTYPE, "notes"),
            events=_array(npz, f"t{i}_events", EVENT_DTYPE, "events"),
            payload=_array(npz, f"t{i}_payload", np.dtype(np.uint8), "payload"),
            end_tick=_need(td, "end_tick", int, where),
            smf_tail=_bytes_field(td, "smf_tail", where),
            quantize=_settings(td.get("quantize"), f"{where}.quantize"),
            extra=_decode(extra, f"{where}.extra"),
        )
        _check_track(tr, i)
        tracks.append(tr)
    if f"t{len(tracks)}_notes" in npz.files:
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
            or not 0 <= loop[0] < loop[1]
        ):
            raise ProjectError(f"transport.loop: {loop!r} is not [start, end] ticks, start < end")
        loop = (loop[0], loop[1])
    ui = doc.get("ui") or {}
    if not isinstance(ui, dict):
        raise ProjectError("ui: expected an object")
    current = doc.get("current_track", -1)
    if isinstance(current, bool) or not isinstance(current, int):
        raise ProjectError(f"current_track: {current!r} is not a whole number")
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
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ProjectError(missing_file_message(path)) from None
    except OSError as exc:
        raise ProjectError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return project_from_bytes(data, str(path))


def is_project_file(path: str | Path) -> bool:
    """True for a ``.quanta`` name or a zip holding ``project.json`` (used by Open)."""
    path = Path(path)
    if path.suffix.lower() == SUFFIX:
        return True
    try:
        with open(path, "rb") as f:
            if f.read(4) != b"PK\x03\x04":
                return False
        with zipfile.ZipFile(path) as z:
            return _JSON in z.namelist()
    except (OSError, zipfile.BadZipFile):
        return False
