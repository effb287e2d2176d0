"""Quantizing a whole song: which notes to touch (filters) and keeping the file lossless.

Only notes move; every other event (CC, pitch bend, program, sysex, meta) keeps its tick
unless ``controllers`` is ``follow`` (then CC, bend and pressure move with their owner note,
engine.quantize.controllers), and tracks with no selected notes come back as exact copies. The
end-of-track tick (``end_tick``) is kept as well; the file writer puts the event at
``max(end_tick, last event)``, so it moves only when a quantized note (or a following
controller) now ends after it (no note is cut off, as in Logic and Cubase). A note whose start
(or end) moved loses its ``on_seq`` (or ``off_seq``) here, at song level, so the file writer
places the moved event musician-safe instead of at its old position in the source (see
engine.smf.midifile).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np

from engine.model.song import Song
from engine.quantize.controllers import follow_notes
from engine.quantize.core import QuantizeReport, quantize_notes
from engine.quantize.groove import resolve_groove
from engine.quantize.settings import QuantizeSettings


@dataclass(frozen=True)
class NoteFilter:
    """Which notes a quantize touches; ``None`` means "all" for each field.

    ``tracks`` are 0-based indexes into ``song.tracks``; ``channels`` are 0-based MIDI channels
    (0–15); ``pitches`` is an inclusive ``(low, high)`` pair of MIDI note numbers. A note is
    selected when it passes every given field.
    """

    tracks: Collection[int] | None = None
    channels: Collection[int] | None = None
    pitches: tuple[int, int] | None = None

    def track_selected(self, index: int) -> bool:
        return self.tracks is None or index in self.tracks

    def mask(self, notes: np.ndarray) -> np.ndarray:
        """The selected notes of one (selected) track."""
        sel = np.ones(notes.size, dtype=bool)
        if self.channels is not None:
            sel &= np.isin(notes["channel"], np.fromiter(self.channels, dtype=np.int64))
        if self.pitches is not None:
            lo, hi = self.pitches
            sel &= (notes["pitch"] >= lo) & (notes["pitch"] <= hi)
        return sel


def forget_moved_seqs(original: np.ndarray, quantized: np.ndarray, source: np.ndarray) -> None:
    """Set ``on_seq``/``off_seq`` to -1 (in place) where a note's start/end left its source."""
    src = original[source]
    quantized["on_seq"][quantized["start"] != src["start"]] = -1
    quantized["off_seq"][quantized["end"] != src["end"]] = -1


def quantize_song(
    song: Song, settings: QuantizeSettings, note_filter: NoteFilter | None = None
) -> tuple[Song, QuantizeReport]:
    """A quantized copy of ``song`` and the summed report of its tracks.

    The input song is never changed (non-destructive: the caller keeps the original).
    """
    note_filter = note_filter or NoteFilter()
    settings = resolve_groove(settings)
    tempo = song.tempo_map() if settings.humanize_ms > 0 else None
    report = QuantizeReport()
    out = song.with_tracks([])
    for index, track in enumerate(song.tracks):
        notes = track.notes
        if not notes.size:
            out.tracks.append(track.copy())
            continue
        if not note_filter.track_selected(index):
            report += QuantizeReport(total=notes.size, not_selected=notes.size)
            out.tracks.append(track.copy())
            continue
        res = quantize_notes(
            notes, settings, song.ppq, note_filter.mask(notes), tempo=tempo, stream=index
        )
        forget_moved_seqs(notes, res.notes, res.source)
        report += res.report
        new_track = track.with_notes(res.notes)
        if res.shift is not None:
            new_track.events = follow_notes(track.events, notes, res.shift)
        out.tracks.append(new_track)
    return out, report
