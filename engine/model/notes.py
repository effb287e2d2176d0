"""Note and event arrays: the data every part of Quanta works on.

Notes are numpy structured arrays so whole clips are quantized, drawn and scheduled without a
Python loop per note. Non-note events (CC, pitch bend, aftertouch, program, sysex, meta) live
in a second array per track so that saving a file gives back every event unchanged.

``on_seq``/``off_seq`` record where a note's events stood in the source track. Saving sorts
all events by ``(tick, seq)``, so events that were not moved come back in their original
order; new notes have ``on_seq = off_seq = -1`` and are placed after existing events at the
same tick.
"""

from __future__ import annotations

import numpy as np

#: Flag bits in ``NOTE_DTYPE['flags']``.
NOTE_OFF_IS_NOTE_ON_V0 = 1  #: the source ended this note with "note-on, velocity 0"
NOTE_NO_OFF_EVENT = 2  #: no note-off in the source: the note was still sounding at end of track
NOTE_ON_RUNNING = 4  #: the note-on was written with running status in the source
NOTE_OFF_RUNNING = 8  #: the note-off was written with running status in the source

NOTE_DTYPE = np.dtype(
    [
        ("start", np.int64),  # tick of the note-on
        ("end", np.int64),  # tick of the note-off; always > start
        ("pitch", np.uint8),
        ("velocity", np.uint8),  # note-on velocity, 1..127
        ("off_velocity", np.uint8),  # note-off (release) velocity, kept losslessly
        ("channel", np.uint8),  # 0..15
        ("flags", np.uint8),
        ("on_seq", np.int32),  # position of the note-on in the source track, -1 if new
        ("off_seq", np.int32),  # position of the note-off in the source track, -1 if new/none
        ("id", np.int32),  # stable identity within the track (for the editor and undo)
    ]
)

#: Flag bits in ``EVENT_DTYPE['flags']``.
EVENT_RUNNING = 1  #: written with running status in the source

#: Status bytes used for non-channel events in ``EVENT_DTYPE['status']``.
STATUS_SYSEX = 0xF0
STATUS_ESCAPE = 0xF7  #: "F7" sysex continuation / escaped bytes
STATUS_META = 0xFF

EVENT_DTYPE = np.dtype(
    [
        ("tick", np.int64),
        ("seq", np.int32),  # position in the source track (orders events on one tick)
        ("status", np.uint8),  # channel status byte (0x80..0xEF), 0xF0, 0xF7 or 0xFF
        ("data1", np.uint8),  # first data byte; for meta events: the meta type
        ("data2", np.uint8),  # second data byte (0 for two-byte messages)
        ("flags", np.uint8),
        ("offset", np.uint32),  # sysex/meta payload: start in Track.payload
        ("length", np.uint32),  # sysex/meta payload: byte count
    ]
)


def empty_notes(n: int = 0) -> np.ndarray:
    """A zeroed note array of length ``n`` (seq fields -1: new notes)."""
    notes = np.zeros(n, dtype=NOTE_DTYPE)
    notes["on_seq"] = -1
    notes["off_seq"] = -1
    return notes


def make_notes(
    starts, ends, pitches, velocities=100, channels=0, off_velocities=0, ids=None
) -> np.ndarray:
    """Build new notes from columns (scalars broadcast). Handy for tests and the editor."""
    starts = np.asarray(starts, dtype=np.int64)
    n = starts.shape[0]
    notes = empty_notes(n)
    notes["start"] = starts
    notes["end"] = np.broadcast_to(np.asarray(ends, dtype=np.int64), (n,))
    notes["pitch"] = np.broadcast_to(np.asarray(pitches), (n,))
    notes["velocity"] = np.broadcast_to(np.asarray(velocities), (n,))
    notes["off_velocity"] = np.broadcast_to(np.asarray(off_velocities), (n,))
    notes["channel"] = np.broadcast_to(np.asarray(channels), (n,))
    notes["id"] = np.arange(n, dtype=np.int32) if ids is None else ids
    if np.any(notes["end"] <= notes["start"]):
        raise ValueError("every note needs end > start")
    return notes


def empty_events(n: int = 0) -> np.ndarray:
    return np.zeros(n, dtype=EVENT_DTYPE)


def sort_notes(notes: np.ndarray) -> np.ndarray:
    """Notes in playing order: by start, then pitch, then channel (stable)."""
    order = np.lexsort((notes["channel"], notes["pitch"], notes["start"]))
    return notes[order]
