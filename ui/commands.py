"""Undoable edits of a track's notes, each named as a musician would read it in Edit > Undo.

Note arrays are never changed in place once installed (every edit builds a new array). A step
keeps what its edit changed (ui.note_diff): the old rows and where they were, the new rows and
where they are. Rebuilding from those restores the exact bytes — ids, seq numbers, flags and
release velocities included — which per-field inverse operations easily get subtly wrong, and
a step costs memory in proportion to the notes it touched, not to the track. The new array is
computed (and sorted) once, in the constructor.

Commands go through :class:`ui.song_document.SongDocument`, never a Track directly, so every
view and the engine bridge hear about the change.
"""

from __future__ import annotations

import weakref

import numpy as np
from PySide6.QtGui import QUndoCommand

from engine.build import add_meta, tempo_bytes
from engine.model import META_TEMPO, NOTE_DTYPE, STATUS_META, Song, Track
from engine.quantize import QuantizeSettings
from ui.note_diff import splice
from ui.song_document import SongDocument, sorted_notes

MAX_TICK = 2**40


def _plural(n: int, word: str = "note") -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


class NotesCommand(QUndoCommand):
    """Swap a track's notes between two arrays (and the selection with them).

    The step keeps only what the edit changed (a :class:`ui.note_diff.NoteSplice`: a moved
    note costs a few hundred bytes on a 100k-note track); an edit that changed most notes keeps
    the two arrays. The new array is built (and sorted) once, here; the first redo installs it
    and drops it, later redos and undos rebuild from the track's current array, which is
    always the one this step left or found there.
    """

    def __init__(
        self,
        doc: SongDocument,
        track_index: int,
        new_notes: np.ndarray,
        text: str,
        new_selection=None,
    ):
        super().__init__(text)
        assert new_notes.dtype == NOTE_DTYPE
        # A weak reference: the document owns its undo stack, which owns this command. A strong
        # one made a cycle through Qt objects that the garbage collector tore down in an order
        # that crashed PySide (seen as a segfault at exit).
        self.doc = weakref.proxy(doc)
        self.index = track_index
        old = doc.song.tracks[track_index].notes
        new = sorted_notes(new_notes)
        self._splice = splice(old, new)
        self._old = old if self._splice is None else None
        self._new: np.ndarray | None = new  # dropped after the first redo when spliced
        self._sizes = (old.size, new.size)
        # The document replaces its selection array on every change and never writes into
        # it, so sharing it is safe and costs nothing per step.
        self.old_selection = doc.selection
        self.new_selection = self.old_selection if new_selection is None else new_selection

    @property
    def nbytes(self) -> int:
        """Memory this step holds on to (an upper bound: a step that keeps whole arrays shares
        them with its neighbours, so consecutive such steps cost about one array each)."""
        held = [self.old_selection, np.asarray(self.new_selection)]
        if self._splice is None:
            held += [self._old, self._new]
        elif self._new is not None:
            held.append(self._new)
        return sum(a.nbytes for a in held) + (self._splice.nbytes if self._splice else 0)

    def redo(self) -> None:
        if self._splice is None:
            notes = self._new
        elif self._new is not None:
            notes, self._new = self._new, None
        else:
            notes = self._splice.forward(self._current(self._sizes[0]))
        self.doc.replace_notes(self.index, notes)
        self._select(self.new_selection)

    def undo(self) -> None:
        if self._splice is None:
            notes = self._old
        else:
            notes = self._splice.backward(self._current(self._sizes[1]))
        self.doc.replace_notes(self.index, notes)
        self._select(self.old_selection)

    def _current(self, size: int) -> np.ndarray:
        notes = self.doc.song.tracks[self.index].notes
        if notes.size != size:  # a programming error: some edit bypassed the undo stack
            raise RuntimeError(f"undo: track {self.index} has {notes.size} notes, not {size}")
        return notes

    def _select(self, ids) -> None:
        if self.doc.current_index == self.index:
            self.doc.set_selection(ids)


def _ids_mask(notes: np.ndarray, ids) -> np.ndarray:
    return np.isin(notes["id"], np.asarray(ids, dtype=np.int32))


def _fresh_ids(notes: np.ndarray, n: int) -> np.ndarray:
    start = int(notes["id"].max()) + 1 if notes.size else 0
    return np.arange(start, start + n, dtype=np.int32)


def _as_new(notes: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Copies of notes that are new to the track: fresh ids, no source positions or flags."""
    out = notes.copy()
    out["id"] = ids
    out["on_seq"] = -1
    out["off_seq"] = -1
    out["flags"] = 0
    return out


def add_notes(doc: SongDocument, track_index: int, new: np.ndarray) -> NotesCommand:
    """Add notes (drawn or recorded). They get fresh ids and become the selection."""
    notes = doc.song.tracks[track_index].notes
    ids = _fresh_ids(notes, new.size)
    added = _as_new(new, ids)
    text = "Draw note" if new.size == 1 else f"Add {_plural(new.size)}"
    return NotesCommand(doc, track_index, np.concatenate((notes, added)), text, ids)


def delete_notes(doc: SongDocument, track_index: int, ids) -> NotesCommand:
    notes = doc.song.tracks[track_index].notes
    mask = _ids_mask(notes, ids)
    text = f"Delete {_plural(int(mask.sum()))}"
    return NotesCommand(doc, track_index, notes[~mask], text, np.zeros(0, np.int32))


def clamp_move(starts: np.ndarray, pitches: np.ndarray, dtick: int, dpitch: int):
    """``(dtick, dpitch)`` limited so that no note of the group goes before tick 0 or outside
    MIDI pitch 0..127; the group is clamped as one, so it keeps its shape. The drag preview
    uses this too, so what is shown during a drag is what the release does."""
    if not starts.size:
        return int(dtick), int(dpitch)
    dtick = max(int(dtick), -int(starts.min()))
    dpitch = int(np.clip(int(dpitch), -int(pitches.min()), 127 - int(pitches.max())))
    return dtick, dpitch


def resized(starts: np.ndarray, ends: np.ndarray, dstart: int, dend: int, min_len: int = 1):
    """New ``(starts, ends)`` after moving starts and/or ends; each note keeps at least
    ``min_len`` ticks and no start goes before 0 (shared by the command and the preview)."""
    if dend:
        ends = np.maximum(ends + int(dend), starts + min_len)
    if dstart:
        starts = np.minimum(np.maximum(starts + int(dstart), 0), ends - min_len)
    return starts, ends


def move_notes(doc: SongDocument, track_index: int, ids, dtick: int, dpitch: int) -> NotesCommand:
    """Move notes in time and pitch. The whole group is clamped as one (keeps its shape):
    nothing goes before tick 0 or outside MIDI pitch 0..127."""
    notes = doc.song.tracks[track_index].notes.copy()
    mask = _ids_mask(notes, ids)
    sel = notes[mask]
    dtick, dpitch = clamp_move(sel["start"], sel["pitch"], dtick, dpitch)
    notes["start"][mask] += dtick
    notes["end"][mask] += dtick
    notes["pitch"][mask] = (notes["pitch"][mask].astype(np.int64) + dpitch).astype(np.uint8)
    n = int(mask.sum())
    if dtick == 0 and dpitch != 0:
        text = f"Transpose {_plural(n)} {dpitch:+d}"
    else:
        text = f"Move {_plural(n)}"
    return NotesCommand(doc, track_index, notes, text)


def transpose_notes(doc: SongDocument, track_index: int, ids, semitones: int) -> NotesCommand:
    return move_notes(doc, track_index, ids, 0, semitones)


def resize_notes(
    doc: SongDocument, track_index: int, ids, dstart: int = 0, dend: int = 0, min_len: int = 1
) -> NotesCommand:
    """Move the starts and/or ends of notes; each note keeps at least ``min_len`` ticks."""
    notes = doc.song.tracks[track_index].notes.copy()
    mask = _ids_mask(notes, ids)
    notes["start"][mask], notes["end"][mask] = resized(
        notes["start"][mask], notes["end"][mask], dstart, dend, min_len
    )
    which = "start" if dstart and not dend else "end" if dend and not dstart else "length"
    text = f"Resize {_plural(int(mask.sum()))} ({which})"
    return NotesCommand(doc, track_index, notes, text)


def set_velocity(
    doc: SongDocument, track_index: int, ids, velocity=None, delta: int = 0
) -> NotesCommand:
    """Set velocities (a value, or a per-note array aligned with the selected notes in array
    order) or change them by ``delta``; always kept in 1..127."""
    notes = doc.song.tracks[track_index].notes.copy()
    mask = _ids_mask(notes, ids)
    if velocity is not None:
        v = np.broadcast_to(np.asarray(velocity, dtype=np.int64), (int(mask.sum()),))
    else:
        v = notes["velocity"][mask].astype(np.int64) + int(delta)
    notes["velocity"][mask] = np.clip(v, 1, 127).astype(np.uint8)
    return NotesCommand(doc, track_index, notes, f"Velocity of {_plural(int(mask.sum()))}")


def duplicate_notes(doc: SongDocument, track_index: int, ids, offset: int | None = None):
    """Duplicate notes right after themselves (by default by the span they cover, like Ctrl+D in
    Cubase/Logic); the copies become the selection so Ctrl+D repeats the pattern."""
    notes = doc.song.tracks[track_index].notes
    sel = notes[_ids_mask(notes, ids)]
    if offset is None:
        offset = int(sel["end"].max() - sel["start"].min()) if sel.size else 0
    copies = _as_new(sel, _fresh_ids(notes, sel.size))
    copies["start"] += offset
    copies["end"] += offset
    text = f"Duplicate {_plural(sel.size)}"
    return NotesCommand(
        doc, track_index, np.concatenate((notes, copies)), text, copies["id"].copy()
    )


def paste_notes(doc: SongDocument, track_index: int, clip: np.ndarray, at_tick: int):
    """Paste clipboard notes (starts relative to the first) so the first lands on ``at_tick``."""
    notes = doc.song.tracks[track_index].notes
    pasted = _as_new(clip, _fresh_ids(notes, clip.size))
    if clip.size:
        shift = int(at_tick) - int(clip["start"].min())
        pasted["start"] += shift
        pasted["end"] += shift
    text = f"Paste {_plural(clip.size)}"
    return NotesCommand(
        doc, track_index, np.concatenate((notes, pasted)), text, pasted["id"].copy()
    )


def quantize_apply(
    doc: SongDocument, track_index: int, settings: QuantizeSettings, ids=None
) -> NotesCommand:
    """Destructive quantize of the selection (``ids``) or the whole track.

    Uses the one quantizer (engine.quantize.core), so the result is exactly the preview.
    Notes merged by the spec's same-start guard disappear from the array; undo brings them back.
    With ``controllers = follow`` the track's CC, bend and pressure events move with their
    notes in the same undo step.
    """
    from engine.quantize import quantize_notes

    track = doc.song.tracks[track_index]
    notes = track.notes
    selected = None if ids is None else _ids_mask(notes, ids)
    result = quantize_notes(notes, settings, doc.ppq, selected=selected)
    n = notes.size if selected is None else int(selected.sum())
    scope = "" if selected is None else " (selection)"
    text = f"Quantize {_plural(n)} to {quantize_target(settings)}"
    if settings.strength != 100:
        text += f" at {settings.strength:g} %"
    events = None
    if result.shift is not None:
        from engine.quantize import follow_notes

        moved = follow_notes(track.events, notes, result.shift)
        events = moved if moved is not track.events else None
    if events is None:
        return NotesCommand(doc, track_index, result.notes, text + scope)
    return NotesAndEventsCommand(doc, track_index, result.notes, events, text + scope)


def quantize_target(settings: QuantizeSettings) -> str:
    """What a quantize pulls to, as the undo text names it: ``1/16`` or ``groove “MPC 58”``."""
    g = settings.groove
    if g is None:
        return settings.grid_label
    name = g if isinstance(g, str) else g.name
    return f"groove “{name}”"


class NotesAndEventsCommand(NotesCommand):
    """A note edit that also replaces the track's other events (controllers that follow their
    notes): one undo step restores both arrays exactly."""

    def __init__(self, doc, track_index, new_notes, new_events, text):
        super().__init__(doc, track_index, new_notes, text)
        self.old_events = doc.song.tracks[track_index].events
        self.new_events = new_events

    def redo(self) -> None:
        self.doc.song.tracks[self.index].events = self.new_events
        super().redo()  # emits notesChanged: views and the engine pick up both

    def undo(self) -> None:
        self.doc.song.tracks[self.index].events = self.old_events
        super().undo()


class TrackQuantizeCommand(QUndoCommand):
    """Turn "play quantized" on/off or change its settings (non-destructive playback quantize)."""

    def __init__(self, doc: SongDocument, track_index: int, settings: QuantizeSettings | None):
        label = "off" if settings is None else quantize_target(settings)
        super().__init__(f"Play quantized: {label}")
        self.doc = weakref.proxy(doc)  # see NotesCommand: no cycle through the undo stack
        self.index = track_index
        self.old = doc.song.tracks[track_index].quantize
        self.new = settings

    def id(self) -> int:  # noqa: A003 - Qt's name
        return 0x5154  # "QT": consecutive playback-quantize changes merge

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt's name
        """Dragging a slider while "play quantized" is on is one undo step, not a hundred."""
        if not isinstance(other, TrackQuantizeCommand) or other.index != self.index:
            return False
        if (self.new is None) != (other.new is None):  # switching on/off stays its own step
            return False
        self.new = other.new
        label = "off" if self.new is None else quantize_target(self.new)
        self.setText(f"Play quantized: {label}")
        return True

    def redo(self) -> None:
        self.doc.set_track_quantize(self.index, self.new)

    def undo(self) -> None:
        self.doc.set_track_quantize(self.index, self.old)


def _bars_beats(doc: SongDocument, tick: int) -> str:
    bar, beat, _rest = doc.song.time_signatures().position(int(tick))
    return f"{bar}.{beat}"


class LoopCommand(QUndoCommand):
    """Set, move or resize the loop range (dragging in the ruler's loop strip), named by where
    it then runs, as "Move loop to 3.1 – 5.1"; None clears it."""

    _VERBS = {"set": "Set loop", "move": "Move loop to", "resize": "Resize loop to"}

    def __init__(self, doc: SongDocument, loop: tuple[int, int] | None, action: str = "set"):
        if loop is None:
            text = "Clear loop"
        else:
            where = f"{_bars_beats(doc, loop[0])} \u2013 {_bars_beats(doc, loop[1])}"
            text = f"{self._VERBS.get(action, 'Set loop')} {where}"
        super().__init__(text)
        self.doc = weakref.proxy(doc)  # see NotesCommand: no cycle through the undo stack
        self.old = doc.loop
        self.new = None if loop is None else (int(loop[0]), int(loop[1]))

    def redo(self) -> None:
        self.doc.set_loop(self.new)

    def undo(self) -> None:
        self.doc.set_loop(self.old)


class AddTracksCommand(QUndoCommand):
    """Add recorded takes as new tracks (undo removes them)."""

    def __init__(self, doc: SongDocument, tracks: list[Track], text: str):
        super().__init__(text)
        self.doc = weakref.proxy(doc)  # no cycle through the undo stack (ui.commands)
        self.tracks = tracks
        self.at = len(doc.song.tracks)

    def redo(self) -> None:
        self.doc.song.tracks[self.at : self.at] = self.tracks
        for i in range(self.at, self.at + len(self.tracks)):
            self.doc.trackChanged.emit(i)
        self.doc.set_current_index(self.at)

    def undo(self) -> None:
        if self.doc.current_index >= self.at:
            self.doc.set_current_index(max(0, self.at - 1))
        del self.doc.song.tracks[self.at : self.at + len(self.tracks)]
        self.doc.songReplaced.emit()  # indices past the end are gone: views rebuild


class SetTempoCommand(QUndoCommand):
    """Change the tempo in effect at a tick (the tempo event there, or a new one at 0)."""

    def __init__(self, doc: SongDocument, tick: int, bpm: float):
        super().__init__(f"Set tempo to {bpm:g} BPM")
        self.doc = weakref.proxy(doc)  # no cycle through the undo stack (ui.commands)
        self.index, self.event = self._find(doc.song, tick)
        track = doc.song.tracks[self.index]
        self.old = (track.events.copy(), track.payload.copy(), track.end_tick)
        edited = track.copy()
        if self.event is None:
            add_meta(edited, 0, META_TEMPO, tempo_bytes(bpm))
        else:
            off = int(edited.events["offset"][self.event])
            edited.payload[off : off + 3] = np.frombuffer(tempo_bytes(bpm), dtype=np.uint8)
        self.new = (edited.events, edited.payload, edited.end_tick)

    @staticmethod
    def _find(song: Song, tick: int) -> tuple[int, int | None]:
        best = (0, None, -1)
        for i, tr in enumerate(song.tracks):
            ev = tr.events
            idx = np.flatnonzero(
                (ev["status"] == STATUS_META)
                & (ev["data1"] == META_TEMPO)
                & (ev["length"] == 3)
                & (ev["tick"] <= tick)
            )
            for j in idx:
                if int(ev["tick"][j]) >= best[2]:
                    best = (i, int(j), int(ev["tick"][j]))
        return best[0], best[1]

    def _install(self, state) -> None:
        track = self.doc.song.tracks[self.index]
        track.events, track.payload, track.end_tick = state[0].copy(), state[1].copy(), state[2]
        self.doc.trackChanged.emit(self.index)

    def redo(self) -> None:
        self._install(self.new)

    def undo(self) -> None:
        self._install(self.old)
