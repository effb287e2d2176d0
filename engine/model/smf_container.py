"""What a MIDI file holds besides its tracks: SMPTE timing, foreign chunks, an RMID wrapper.

The song model counts ticks per quarter note and keeps tracks as arrays; these small values
carry the rest, so that loading and saving an unchanged file gives back the same bytes:

- :class:`SmpteDivision` — a file timed in frames (the division word's top bit set). Its
  ticks have a fixed length in seconds; Quanta maps them onto a quarter note of a fixed
  tempo (see the class) so every part that converts ticks to seconds stays unchanged.
- :class:`ChunkRun` — chunks that are neither ``MThd`` nor ``MTrk`` (vendor data such as
  Yamaha XF's ``XFIH``/``XFKM``), kept verbatim with their place among the tracks. The SMF
  spec lets readers skip them; a musician expects them to survive an edit.
- :class:`RiffWrapper` — the RIFF ``RMID`` envelope (``.rmi`` files) around the MIDI data,
  with its other chunks (``LIST``/``INFO`` tags, ``DISP``), written back around the music.
- :class:`FileExtras` — the chunks, the wrapper, and stray bytes (header bytes beyond the
  six the spec defines, bytes after the last chunk) that are also written back.

None of this depends on numpy or Qt: it is plain, immutable data.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.errors import MidiFileError

#: SMPTE frame rates a division word can name: -24, -25, -29 (29.97 drop-frame), -30.
SMPTE_RATES = (24, 25, 29, 30)
#: Microseconds per quarter note of the fixed tempo SMPTE ticks are mapped to.
SMPTE_USEC_PER_QUARTER = 1_000_000
#: For -29 (30 drop-frame, really 30000/1001 frames a second) a quarter lasts 1.001 s.
SMPTE_DROP_FRAME_USEC_PER_QUARTER = 1_001_000


@dataclass(frozen=True)
class SmpteDivision:
    """SMPTE time division: ``fps`` frames a second (24, 25, 29 or 30) × ``ticks_per_frame``.

    Mapping onto the tick/quarter model: one quarter note is one second (``fps`` nominal ×
    ticks per frame ticks at 1,000,000 µs), so a tick lasts exactly ``1 / (fps ×
    ticks_per_frame)`` s. For ``29`` (29.97 drop-frame) the nominal rate is 30 and the
    quarter lasts 1,001,000 µs, which gives exactly ``30000/1001 × ticks_per_frame`` ticks a
    second. The SMF spec says tempo events do not change the timing of such a file, so Quanta
    keeps them as events but times the song by this fixed tempo alone.
    """

    fps: int
    ticks_per_frame: int

    def __post_init__(self) -> None:
        if self.fps not in SMPTE_RATES:
            raise MidiFileError(
                f"SMPTE time division names {self.fps} frames a second (only 24, 25, 29, 30 exist)"
            )
        if not 1 <= self.ticks_per_frame <= 255:
            raise MidiFileError(
                f"SMPTE time division has {self.ticks_per_frame} ticks per frame (1..255)"
            )

    @classmethod
    def from_word(cls, word: int) -> SmpteDivision:
        """From the header's 16-bit division word (top bit set; high byte = -fps)."""
        return cls(fps=256 - (word >> 8), ticks_per_frame=word & 0xFF)

    @property
    def word(self) -> int:
        """The header's division word, as written back on save."""
        return ((256 - self.fps) << 8) | self.ticks_per_frame

    @property
    def nominal_fps(self) -> int:
        return 30 if self.fps == 29 else self.fps

    @property
    def ppq(self) -> int:
        """Ticks per (fixed-tempo) quarter note: nominal fps × ticks per frame."""
        return self.nominal_fps * self.ticks_per_frame

    @property
    def usec_per_quarter(self) -> int:
        """The fixed tempo that makes ``ppq`` ticks last as long as SMPTE says."""
        if self.fps == 29:
            return SMPTE_DROP_FRAME_USEC_PER_QUARTER
        return SMPTE_USEC_PER_QUARTER

    @property
    def ticks_per_second(self) -> float:
        return self.ppq * 1e6 / self.usec_per_quarter

    def describe(self) -> str:
        """E.g. ``SMPTE 25 fps × 40 ticks per frame (1000 ticks a second)``."""
        rate = "29.97 drop-frame" if self.fps == 29 else str(self.fps)
        return (
            f"SMPTE {rate} fps × {self.ticks_per_frame} ticks per frame "
            f"({self.ticks_per_second:g} ticks a second)"
        )


@dataclass(frozen=True)
class ChunkRun:
    """One or more whole foreign chunks (id, length, body each), exactly as in the file.

    ``before_track`` is how many ``MTrk`` chunks came before them: 0 is between the header
    and the first track, ``len(tracks)`` is after the last. Saving writes them back there
    (a run whose place is beyond the song's last track is written after it).
    """

    before_track: int
    raw: bytes

    def is_well_formed(self) -> bool:
        """Whole chunks with printable ids, none of them a track: safe to write into a file."""
        pos = 0
        while pos < len(self.raw):
            cid = self.raw[pos : pos + 4]
            if pos + 8 > len(self.raw) or not _printable_id(cid) or cid == b"MTrk":
                return False
            pos += 8 + int.from_bytes(self.raw[pos + 4 : pos + 8], "big")
        return pos == len(self.raw) and pos > 0

    def chunks(self) -> list[tuple[str, bytes]]:
        """``(id, body)`` of each chunk in the run (ids decoded as Latin-1)."""
        out = []
        pos = 0
        while pos + 8 <= len(self.raw):
            size = int.from_bytes(self.raw[pos + 4 : pos + 8], "big")
            out.append(
                (self.raw[pos : pos + 4].decode("latin-1"), self.raw[pos + 8 : pos + 8 + size])
            )
            pos += 8 + size
        return out


@dataclass(frozen=True)
class RiffWrapper:
    """The RIFF ``RMID`` envelope: the chunks before and after its ``data`` chunk, verbatim.

    ``after`` excludes the pad byte RIFF puts after an odd-sized ``data`` chunk: saving adds
    one when the new MIDI data has an odd size. The RIFF size is computed on save.
    """

    before: bytes = b""
    after: bytes = b""


@dataclass(frozen=True)
class FileExtras:
    """Everything of a MIDI file that is not header fields or track events, kept verbatim."""

    chunks: tuple[ChunkRun, ...] = ()
    #: Bytes of the ``MThd`` chunk beyond the six the spec defines (its length said more).
    header_tail: bytes = b""
    #: Bytes after the last chunk (padding, a cut-off chunk after the last track).
    trailing: bytes = b""
    riff: RiffWrapper | None = None
    #: ``(said, found)`` when the header's track count disagreed with the track chunks read
    #: (a real file says 18 with 19 chunks); saving writes ``said`` again while the song
    #: still has ``found`` tracks, the true count once tracks are added or removed.
    track_count: tuple[int, int] | None = None

    def header_track_count(self, ntracks: int) -> int:
        """The track count to write in the header of a song with ``ntracks`` tracks."""
        if self.track_count is not None and self.track_count[1] == ntracks:
            return self.track_count[0]
        return ntracks

    def runs_before(self, track: int) -> list[bytes]:
        """Raw bytes of the runs to write just before track ``track`` (0-based)."""
        return [r.raw for r in self.chunks if r.before_track == track]

    def runs_after(self, ntracks: int) -> list[bytes]:
        """Raw bytes of the runs to write after the last of ``ntracks`` tracks."""
        return [r.raw for r in self.chunks if r.before_track >= ntracks]

    def chunk_ids(self) -> list[str]:
        """The ids of every foreign chunk, in file order (for ``quanta info``)."""
        return [cid for run in self.chunks for cid, _ in run.chunks()]


NO_EXTRAS = FileExtras()


# -- the RMID envelope ------------------------------------------------------------------------


def _le32(data: bytes, pos: int) -> int:
    return int.from_bytes(data[pos : pos + 4], "little")


def _printable_id(cid: bytes) -> bool:
    return len(cid) == 4 and all(0x20 <= b <= 0x7E for b in cid)


def unwrap_rmid(data: bytes, name: str) -> tuple[bytes, RiffWrapper]:
    """The MIDI file inside a RIFF ``RMID`` file, and the envelope to write it back in.

    Lenient as players are: the RIFF size may disagree with the file (the chunks are walked
    to the end of the file). Refused, in one line naming the problem: another RIFF type
    (e.g. a WAV file), a damaged or cut-off chunk header before the music, a missing or
    truncated ``data`` chunk.
    """
    if len(data) < 12:
        raise MidiFileError(f"{name}: RIFF header is truncated ({len(data)} bytes in the file)")
    form = data[8:12]
    if form != b"RMID":
        kind = form.decode("latin-1") if _printable_id(form) else form.hex()
        what = "WAV audio" if form == b"WAVE" else f"a RIFF file of type {kind!r}"
        raise MidiFileError(f"{name}: not a MIDI file (it is {what}, not RIFF MIDI 'RMID')")
    pos = 12
    while True:
        if pos + 8 > len(data):
            raise MidiFileError(f"{name}: RMID file has no 'data' chunk holding the MIDI music")
        cid = data[pos : pos + 4]
        size = _le32(data, pos + 4)
        if not _printable_id(cid):
            raise MidiFileError(f"{name}: damaged RIFF chunk header at byte {pos}")
        body = pos + 8
        if cid != b"data" and body + size > len(data):
            raise MidiFileError(
                f"{name}: RIFF chunk {cid.decode('latin-1')!r} is truncated at byte {len(data)} "
                "before the MIDI data"
            )
        if cid == b"data":
            if body + size > len(data):
                raise MidiFileError(
                    f"{name}: RMID 'data' chunk is truncated at byte {len(data)} "
                    f"(chunk says {size} bytes, {len(data) - body} present)"
                )
            end = body + size
            if size % 2 and end < len(data) and data[end] == 0:
                end += 1  # RIFF's pad byte; written again on save when needed
            wrapper = RiffWrapper(before=data[12:pos], after=data[end:])
            return data[body : body + size], wrapper
        pos = body + size + (size % 2)


def wrap_rmid(smf: bytes, wrapper: RiffWrapper) -> bytes:
    """``smf`` inside the RIFF ``RMID`` envelope it was read from."""
    pad = b"\x00" if len(smf) % 2 else b""
    content = b"".join(
        (b"RMID", wrapper.before, b"data", len(smf).to_bytes(4, "little"), smf, pad, wrapper.after)
    )
    if len(content) > 0xFFFFFFFF:
        raise MidiFileError("cannot save: the song is too big for a RIFF (RMID) file")
    return b"RIFF" + len(content).to_bytes(4, "little") + content
