"""Standard MIDI Files in and out of the song model, lossless and fast.

Reading keeps everything: every event's tick and position in its track (``seq``), running
status and "note-on velocity 0" note-offs (flags), sysex and every meta event (payload
bytes). Loading then saving an unchanged file gives the same bytes whenever the source used
the shortest variable-length numbers (the only form this writer produces). Type 0, 1 and 2
files keep their format number.

What is not events is kept too (:mod:`engine.model.smf_container`), because the SMF spec's "readers
may skip unknown chunks" would lose a vendor's data on the first save: foreign chunks (e.g.
Yamaha XF's ``XFIH``/``XFKM``) go back where they were among the tracks; header bytes beyond
the six defined ones, bytes after the last chunk and bytes a track chunk holds after its
end-of-track event (``Track.smf_tail``) are written back verbatim, and so are an end-of-track
event carrying data bytes, a track with no end-of-track at all (``Track.smf_end``; it gets one
once something in it is added or moved) and a header whose track count disagrees with the
track chunks (``FileExtras.track_count``: a file saying 18 with 19 chunks still says 18, until
a track is added or removed); a RIFF ``RMID`` file is
read and saved as RMID again (:func:`save_song` lets the file name choose the container). A
cut-off foreign chunk before the last promised track is an error naming the chunk; after it,
its bytes are kept as trailing bytes and the file opens.

SMPTE time division (-24/-25/-29/-30 fps × ticks per frame) is read: ``Song.smpte`` keeps
it for saving and the song gets ``ppq = fps × ticks_per_frame`` (30 × for 29, the 29.97
drop-frame rate) with a fixed tempo of one second per quarter (1.001 s for 29), so a tick
lasts exactly as long as SMPTE says and tempo events (kept) do not change timing.

Note pairing: note-ons and note-offs of the same channel and pitch pair first-in-first-out
(the oldest sounding note ends first, like Logic and Cubase import). A note still sounding
at end of track ends at ``max(end of track, start + 1)`` and is flagged
``NOTE_NO_OFF_EVENT`` (no off is written back). An off with nothing sounding, and a note-on
whose off comes on the same tick (a zero-length note), stay plain events, so every NOTE row
has ``end > start`` and those bytes still round-trip.

Write order: a note counts as unmoved while its ``on_seq``/``off_seq`` are set (>= 0); such
events and all plain events are written by ``(tick, seq)``, exactly as in the source. Code
that moves a note's start or end must set the matching seq to -1 (:func:`forget_moved` does
that by comparing with the original notes). On one tick, moved or new note-offs are written
first and moved or new note-ons last, so a re-struck note is never cut by the off of the
note before it, and a program change on that tick reaches the synth before the new note.

Running status: an event read with it is written with it again when the previous channel
status written is the same; new events use it only when the track used it anywhere, and
never straight after a meta or sysex event. New note-offs are "note-on, velocity 0" when
most of the track's note-offs were (and the release velocity is 0), else 0x8n with their
release velocity. Edited values are made valid on the way out: ticks below 0 become 0, an
end not after its start becomes start + 1, data bytes are capped at 127, and a note-on
velocity of 0 (which would read as a note-off) becomes 1.

Heavy lifting runs in numba kernels (:mod:`engine.smf.smf_read`, :mod:`engine.smf.smf_write`); the
Python code here works per chunk, never per event.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np

from engine.atomic_write import atomic_write_bytes, is_disk_full
from engine.errors import (
    MidiFileError,
    display_path,
    missing_file_message,
    write_failure_message,
)
from engine.model.notes import (
    EVENT_DTYPE,
    NOTE_DTYPE,
    NOTE_NO_OFF_EVENT,
)
from engine.model.smf_container import (
    NO_EXTRAS,
    ChunkRun,
    FileExtras,
    RiffWrapper,
    SmpteDivision,
    unwrap_rmid,
    wrap_rmid,
)
from engine.model.song import Song, Track
from engine.smf import smf_read as rd
from engine.smf import smf_write as wr

DEFAULT_MAX_MIDI_MB = 64  # worst case (dense 2-byte events): ~850 MB peak while reading
MAX_MIDI_MB_ENV = "QUANTA_MAX_MIDI_MB"

_ERROR_TEXT = {
    rd.ERR_TRUNCATED: "an event runs past the end of the track",
    rd.ERR_LONG_VLQ: "a variable-length number is longer than 4 bytes",
    rd.ERR_NO_STATUS: "a data byte comes with no running status",
    rd.ERR_DATA_BYTE: "a status byte interrupts a channel message",
}


# -- reading ------------------------------------------------------------------------------


def max_file_mb() -> float:
    """The largest MIDI file Quanta reads, in MB (env ``QUANTA_MAX_MIDI_MB``, default 64)."""
    raw = os.environ.get(MAX_MIDI_MB_ENV, "").strip()
    try:
        mb = float(raw) if raw else DEFAULT_MAX_MIDI_MB
    except ValueError:
        mb = DEFAULT_MAX_MIDI_MB
    return mb if mb > 0 else DEFAULT_MAX_MIDI_MB


def _size_text(size: int) -> str:
    return f"{size / 1048576:.1f} MB" if size >= 104858 else f"{size} bytes"


def _check_size(name: str, size: int) -> None:
    mb = max_file_mb()
    if size > mb * 1048576:
        raise MidiFileError(
            f"{name}: file is {_size_text(size)}, larger than the {mb:g} MB limit "
            f"for MIDI files (set {MAX_MIDI_MB_ENV} to raise it)"
        )


def load_song(path: str | os.PathLike) -> Song:
    """Read a MIDI file; any problem becomes a one-line :class:`MidiFileError`.

    The size is checked before reading and only that many bytes are read, so a huge file, a
    device such as /dev/zero or a file still growing can't hang or exhaust memory.
    """
    path = Path(path)
    name = path.name or str(path)
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise MidiFileError(f"{name}: is a folder, not a MIDI file")
        if not stat.S_ISREG(info.st_mode):
            raise MidiFileError(f"{name}: is not a regular file")
        _check_size(name, info.st_size)
        with path.open("rb") as fh:
            data = fh.read(info.st_size)  # never more than was checked, even if it grows
    except FileNotFoundError:
        raise MidiFileError(missing_file_message(path)) from None
    except PermissionError:
        raise MidiFileError(f"{name}: permission denied") from None
    except OSError as exc:
        raise MidiFileError(f"{name}: cannot read ({exc.strerror or exc})") from None
    return load_song_bytes(data, name=name)


def load_song_bytes(data: bytes, name: str = "untitled.mid") -> Song:
    """Parse MIDI file bytes into a :class:`Song` (``name`` is used in error messages).

    A RIFF ``RMID`` file is unwrapped first (its envelope is kept for saving); byte positions
    in errors inside it count from the start of its MIDI data, as the message says.
    """
    _check_size(name, len(data))
    riff = None
    if data[:4] == b"RIFF":
        data, riff = unwrap_rmid(bytes(data), name)
        name = f"{name}: RMID data"
    buf = np.frombuffer(data, dtype=np.uint8)
    if buf.size == 0:
        raise MidiFileError(f"{name}: file is empty (0 bytes)")
    if bytes(buf[:4]) == b"MThd" and buf.size < 14:
        raise MidiFileError(f"{name}: header chunk is truncated ({buf.size} bytes in the file)")
    if buf.size < 14 or bytes(buf[:4]) != b"MThd":
        raise MidiFileError(f"{name}: not a MIDI file ({_describe_start(bytes(buf[:16]))})")
    kinds, starts, lengths, short, too_many, walked = rd.walk_chunks(buf)
    if too_many:
        raise MidiFileError(
            f"{name}: more than {rd.MAX_TRACKS} track chunks (a MIDI header counts at most "
            f"{rd.MAX_TRACKS}; damaged file?)"
        )
    hdr_len = int(lengths[0])
    if hdr_len < 6:
        raise MidiFileError(f"{name}: header chunk is {hdr_len} bytes, needs 6")
    h = int(starts[0])
    fmt = int(buf[h]) << 8 | int(buf[h + 1])
    ntrks = int(buf[h + 2]) << 8 | int(buf[h + 3])
    division = int(buf[h + 4]) << 8 | int(buf[h + 5])
    if fmt > 2:
        raise MidiFileError(f"{name}: unknown MIDI file format {fmt} (only 0, 1 and 2 exist)")
    smpte = _smpte(name, division)
    if division == 0:
        raise MidiFileError(f"{name}: header says 0 ticks per quarter note")
    song = Song(ppq=smpte.ppq if smpte else division, format=fmt, tracks=[], smpte=smpte)
    runs: list[ChunkRun] = []
    for c in range(1, kinds.size):
        kind = int(kinds[c])
        start, length = int(starts[c]), int(lengths[c])
        if kind == rd.CHUNK_RUN:
            runs.append(ChunkRun(len(song.tracks), bytes(buf[start : start + length])))
            continue
        number = len(song.tracks) + 1
        complete = len(song.tracks) >= ntrks
        if complete and (kind == rd.CHUNK_GARBAGE or (short and kind != rd.CHUNK_MTRK)):
            break  # junk or padding after the last promised track: kept as trailing bytes
        if kind == rd.CHUNK_GARBAGE:
            raise MidiFileError(
                f"{name}: damaged chunk header at byte {start - 8} "
                f"(after {number - 1} of {ntrks} tracks)"
            )
        if short and c == kinds.size - 1:
            present = buf.size - start
            if kind == rd.CHUNK_MTRK:
                what = f"track {number}"
            else:
                what = f"chunk {bytes(buf[start - 8 : start - 4]).decode('latin-1')!r}"
            raise MidiFileError(
                f"{name}: {what} is truncated at byte {buf.size} "
                f"(chunk says {length} bytes, {present} present)"
            )
        if kind == rd.CHUNK_MTRK:
            song.tracks.append(_read_track(name, number, buf, start, start + length))
    if short and kinds.size == 1:
        raise MidiFileError(f"{name}: header chunk is truncated")
    if len(song.tracks) < ntrks:
        raise MidiFileError(
            f"{name}: file is truncated: header promises {ntrks} tracks, found {len(song.tracks)}"
        )
    extras = FileExtras(
        chunks=tuple(runs),
        header_tail=bytes(buf[h + 6 : h + hdr_len]),
        trailing=bytes(buf[walked:]),
        riff=riff,
        track_count=None if ntrks == len(song.tracks) else (ntrks, len(song.tracks)),
    )
    if extras != NO_EXTRAS:
        song.file_extras = extras
    return song


def _smpte(name: str, division: int) -> SmpteDivision | None:
    """The SMPTE division named by the header's division word, or None for PPQ timing."""
    if not division & 0x8000:
        return None
    try:
        return SmpteDivision.from_word(division)
    except MidiFileError as exc:
        raise MidiFileError(f"{name}: {exc}") from None


def _describe_start(head: bytes) -> str:
    try:
        text = head.decode("ascii")
    except UnicodeDecodeError:
        return "it does not start with 'MThd'"
    if text.isprintable():
        return f"it starts with text {text[:8]!r}"
    return "it does not start with 'MThd'"


def _read_track(name: str, number: int, buf: np.ndarray, start: int, end: int) -> Track:
    """One MTrk chunk as a Track, with no per-event Python work and no per-event scratch.

    A counting pass (:func:`engine.smf.smf_read.read_track`) sizes the note, event and payload
    arrays exactly and finds the zero-length notes; the second pass writes every note and
    event straight into them. Reading peaks at the final track plus two int32 a note-on
    (see bench/bench_midi_memory.py).
    """
    err, pos, k, m, npay, end_tick, _, _, zero_len = rd.read_track(
        buf, start, end, False, _NO_BYTES, _NO_EVENTS, _NO_BYTES, _NO_NOTES
    )
    if err == rd.ERR_BAD_STATUS:
        problem = f"status byte 0x{int(buf[pos]):02X} cannot appear in a MIDI file"
        raise MidiFileError(f"{name}: track {number}: {problem} at byte {pos}")
    if err:
        raise MidiFileError(f"{name}: track {number}: {_ERROR_TEXT[err]} at byte {pos}")
    events = np.empty(m, dtype=EVENT_DTYPE)
    notes = np.empty(k, dtype=NOTE_DTYPE)
    payload = np.empty(npay, np.uint8)
    _, pos, _, _, _, end_tick, has_end, end_at, _ = rd.read_track(
        buf, start, end, True, zero_len, events, payload, notes
    )
    smf_end = b""
    if has_end:
        smf_end = bytes(buf[end_at:pos])
        if smf_end == wr.END_OF_TRACK:
            smf_end = None
    return Track(
        notes=notes,
        events=events,
        payload=payload,
        end_tick=int(end_tick),
        smf_tail=bytes(buf[pos:end]) if has_end else b"",
        smf_end=smf_end,
    )


_NO_BYTES = np.empty(0, np.uint8)
_NO_EVENTS = np.empty(0, EVENT_DTYPE)
_NO_NOTES = np.empty(0, NOTE_DTYPE)


# -- writing ------------------------------------------------------------------------------

def song_to_bytes(song: Song, rmid: bool | None = None) -> bytes:
    """The song as Standard MIDI File bytes (see the module doc for the event order).

    What the source file held besides its tracks comes back where it was: its SMPTE
    division, foreign chunks, stray header and trailing bytes. ``rmid`` chooses the
    container: ``None`` keeps the source's (RIFF ``RMID`` if it was one), ``False`` writes a
    plain SMF, ``True`` an RMID file (with the source's RIFF chunks, if any).
    """
    division = _division_word(song)
    if int(song.format) not in (0, 1, 2):
        raise MidiFileError(f"cannot save: unknown MIDI file format {song.format}")
    if len(song.tracks) > rd.MAX_TRACKS:
        raise MidiFileError(
            f"cannot save: {len(song.tracks)} tracks (a MIDI file holds {rd.MAX_TRACKS})"
        )
    extras = song.file_extras
    runs: dict[int, list[bytes]] = {}
    for run in extras.chunks:
        runs.setdefault(min(run.before_track, len(song.tracks)), []).append(run.raw)
    parts = [
        b"MThd",
        (6 + len(extras.header_tail)).to_bytes(4, "big"),
        int(song.format).to_bytes(2, "big"),
        extras.header_track_count(len(song.tracks)).to_bytes(2, "big"),
        division.to_bytes(2, "big"),
        extras.header_tail,
    ]
    for number, track in enumerate(song.tracks, start=1):
        parts += runs.get(number - 1, ())
        body = _encode_track(track, number)
        parts += [b"MTrk", len(body).to_bytes(4, "big"), body]
    parts += runs.get(len(song.tracks), ())
    parts.append(extras.trailing)
    data = b"".join(parts)
    if rmid is None:
        rmid = extras.riff is not None
    if rmid:
        return wrap_rmid(data, extras.riff or RiffWrapper())
    return data


def _division_word(song: Song) -> int:
    """The header's division word: the SMPTE one the song came with, else its PPQ."""
    if song.smpte is not None:
        if int(song.ppq) != song.smpte.ppq:
            raise MidiFileError(
                f"cannot save: {song.smpte.describe()} needs {song.smpte.ppq} ticks per "
                f"quarter, the song has {song.ppq}"
            )
        return song.smpte.word
    if not 1 <= int(song.ppq) <= 0x7FFF:
        raise MidiFileError(f"cannot save: {song.ppq} ticks per quarter is outside 1..32767")
    return int(song.ppq)


#: File name suffixes that choose the container on save (others keep the source's).
PLAIN_SUFFIXES = (".mid", ".midi", ".smf", ".kar")
RMID_SUFFIX = ".rmi"


def container_for(path: Path) -> bool | None:
    """``rmid`` for :func:`song_to_bytes` when saving to ``path``.

    The name decides, as in any Save As: ``.rmi`` is RMID; ``.mid``/``.midi``/``.smf``/``.kar``
    is a plain Standard MIDI File every DAW reads (an RMID source saved under such a name
    drops only its RIFF tags; music, chunks and timing stay). Any other name keeps the
    source's container, so an unchanged ``.rmi`` saves byte for byte.
    """
    suffix = path.suffix.lower()
    if suffix == RMID_SUFFIX:
        return True
    if suffix in PLAIN_SUFFIXES:
        return False
    return None


def save_song(song: Song, path: str | os.PathLike) -> None:
    """Write atomically: a temp file in the same folder, fsync, then rename over ``path``.

    A crash or full disk half-way leaves the old file untouched. The name's suffix picks
    plain SMF or RMID (:func:`container_for`).
    """
    path = Path(path)
    try:
        data = song_to_bytes(song, rmid=container_for(path))
    except MidiFileError as exc:
        raise MidiFileError(f"{path.name}: {exc}") from None
    try:
        atomic_write_bytes(path, data)
    except OSError as exc:
        if is_disk_full(exc):
            raise MidiFileError(f"disk full: could not write {display_path(path)}") from None
        raise MidiFileError(write_failure_message(path, exc, shown=path.name)) from None


def forget_moved(original: np.ndarray, edited: np.ndarray) -> np.ndarray:
    """A copy of ``edited`` whose moved notes lose their source positions.

    Notes are matched by ``id``; where the start changed ``on_seq`` becomes -1, where the end
    changed ``off_seq`` becomes -1, so saving places them musician-safe (see module doc).
    """
    out = edited.copy()
    order = np.argsort(original["id"], kind="stable")
    ids = original["id"][order]
    pos = np.searchsorted(ids, out["id"])
    pos = np.clip(pos, 0, max(ids.size - 1, 0))
    if ids.size == 0:
        found = np.zeros(out.size, dtype=bool)
    else:
        found = ids[pos] == out["id"]
    src = original[order][pos] if ids.size else out
    moved_on = ~found | (src["start"] != out["start"])
    moved_off = ~found | (src["end"] != out["end"])
    out["on_seq"] = np.where(moved_on, -1, out["on_seq"])
    out["off_seq"] = np.where(moved_off, -1, out["off_seq"])
    return out


def _encode_track(track: Track, number: int, small: bool | None = None) -> bytes:
    notes, events = track.notes, track.events
    write_end, end_event = _end_of_track(track, events, notes)
    payload = np.ascontiguousarray(track.payload, dtype=np.uint8)
    notes, events = np.ascontiguousarray(notes), np.ascontiguousarray(events)
    end = (np.int64(max(int(track.end_tick), 0)), np.frombuffer(end_event, np.uint8), write_end)
    if small is None:
        small = notes.size * 2 + events.size <= _SMALL_TRACK_ROWS
    if small:
        err, body = wr.encode_small_track(notes, events, payload, *end)
    else:
        err, tick, status, d1, d2, mode, poff, plen, group, rank = wr.track_rows(
            notes, events, payload
        )
        if not err:
            order = _write_order(tick, group, rank)
            err, body = wr.encode_track(
                tick[order], status[order], d1[order], d2[order], mode[order], poff[order],
                plen[order], payload, *end,
            )  # fmt: skip
    if err == wr.ERR_PAYLOAD_RANGE:
        raise MidiFileError(f"cannot save: track {number} has an event outside its payload")
    if err == wr.ERR_TOO_FAR:
        last = max(int(events["tick"].max(initial=0)), int(notes["end"].max(initial=0)))
        raise MidiFileError(
            f"cannot save: track {number} reaches tick {max(last, int(track.end_tick))}, "
            f"too far for a MIDI file (keep ticks below {wr.MAX_TICK})"
        )
    if err:
        raise MidiFileError(
            f"cannot save: track {number} has a sysex or meta event longer than "
            f"{wr.MAX_VLQ} bytes"
        )
    return body.tobytes() + track.smf_tail


#: Up to this many rows a track is saved in one compiled call (calls cost more than the
#: sort); bigger ones are sorted by numpy, whose stable sort of int64 keys is the fastest.
_SMALL_TRACK_ROWS = 4096


def _write_order(tick: np.ndarray, group: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """Indexes sorted by (tick, group, rank): one packed int64 key when it fits, else lexsort."""
    if tick.size == 0:
        return np.zeros(0, np.int64)
    if int(tick.max()) < (1 << 31) and 0 <= int(rank.min()) and int(rank.max()) < (1 << 30):
        key = (tick << 32) | (group.astype(np.int64) << 30) | rank
        return np.argsort(key, kind="stable")
    return np.lexsort((rank, group, tick))


def _end_of_track(track: Track, events: np.ndarray, notes: np.ndarray) -> tuple[bool, bytes]:
    """Whether to write an end-of-track event, and its bytes after the delta.

    The source's own end-of-track comes back as it was (data bytes too). A source track that
    had none stays without one while nothing in it was added or moved and nothing lies
    after its last event; any such edit gets it a proper ``FF 2F 00``.
    """
    if track.smf_end is None:
        return True, wr.END_OF_TRACK
    if track.smf_end:
        return True, track.smf_end
    no_off = (notes["flags"] & NOTE_NO_OFF_EVENT) != 0
    unchanged = bool(
        np.all(events["seq"] >= 0)
        and np.all(notes["on_seq"] >= 0)
        and np.all((notes["off_seq"] >= 0) | no_off)
    )
    last = max(
        int(events["tick"].max(initial=0)),
        int(notes["start"].max(initial=0)),
        int(notes["end"][~no_off].max(initial=0)),
    )
    if unchanged and int(track.end_tick) <= last:
        return False, b""
    return True, wr.END_OF_TRACK


# -- summary ------------------------------------------------------------------------------


def song_info(song: Song) -> dict:
    """Facts about a song for ``quanta info`` and the engine's log (plain ints and strings)."""
    tempo = song.tempo_map()
    length = song.length_ticks()
    return {
        "format": int(song.format),
        "ppq": int(song.ppq),
        "smpte": song.smpte.describe() if song.smpte is not None else None,
        "tracks": len(song.tracks),
        "notes": song.note_count(),
        "events": sum(int(t.events.size) for t in song.tracks),
        "length_ticks": int(length),
        "length_seconds": float(tempo.tick_to_seconds(length)),
        "track_names": [t.name for t in song.tracks],
        "channels": sorted({c for t in song.tracks for c in t.channels}),
    }


def warm_up() -> None:
    """Compile (or load from numba's cache) every kernel by reading and writing a tiny song.

    The first use in a fresh install costs a few seconds of compiling; the app can call this
    from a background thread at start-up so that opening the first file is instant.
    """
    tiny = bytes.fromhex(
        "4d546864000000060001000101e0"  # MThd, type 1, 1 track, 480 PPQ
        "4d54726b00000015"  # MTrk, 21 bytes
        "00ff030141"
        "00903c40"
        "10803c00"
        "00f00100"
        "00ff2f00"
    )
    song = load_song_bytes(tiny, name="warm-up.mid")
    song_to_bytes(song)  # the small-track path
    _encode_track(song.tracks[0], 1, small=False)  # and the one for big tracks
