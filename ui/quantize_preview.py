"""The live quantize preview: where each note of the current track would land.

One preview per document, shared by the piano roll (ghost outlines) and the quantize panel's
timing view. It recomputes with the one quantizer (engine.quantize.core.quantize_notes) whenever
the panel's settings, the notes, the selection or the current track change — coalesced through a
0-ms single-shot timer, so a slider drag that fires ten valueChanged signals between two frames
costs one quantize, not ten.
"""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from engine.quantize import QuantizeSettings
from ui.song_document import SongDocument, sorted_notes


def quantize_for_preview(notes: np.ndarray, settings: QuantizeSettings, ppq: int, selected=None):
    """The quantizer's result for ``notes`` (None while the quantizer is not available)."""
    try:
        from engine.quantize import quantize_notes
    except ImportError:  # pragma: no cover - the quantizer lands separately
        return None
    return quantize_notes(notes, settings, ppq, selected=selected)


class QuantizePreview(QObject):
    """Ghost notes (sorted by start) for the current track under the panel's settings."""

    updated = Signal()

    def __init__(self, doc: SongDocument, parent=None):
        super().__init__(parent if parent is not None else doc)
        self.doc = doc
        self.ghosts: np.ndarray | None = None  #: quantized notes of the scope, sorted by start
        self.ghost_max_len = 0
        self.scope_mask: np.ndarray | None = None  #: which current-track notes are quantized
        self.result = None  #: the quantizer's full result (notes/source/report)
        self.error = ""  #: a one-line message when the settings cannot be applied
        self.last_ms = 0.0  #: time of the last quantize, for the benchmark
        self._ghost_cols = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.recompute)
        for sig in (
            doc.editSettingsChanged,
            doc.selectionChanged,
            doc.currentTrackChanged,
            doc.songReplaced,
            doc.previewChanged,
        ):
            sig.connect(self.schedule)
        doc.notesChanged.connect(self._notes_changed)
        self.schedule()

    @classmethod
    def for_document(cls, doc: SongDocument) -> QuantizePreview:
        """The document's one preview (created on first use)."""
        preview = getattr(doc, "_quantize_preview", None)
        if preview is None:
            preview = cls(doc)
            doc._quantize_preview = preview
        return preview

    def ghost_columns(self):
        """The ghosts as painting columns (built once per recompute)."""
        if self._ghost_cols is None and self.ghosts is not None:
            from ui.pianoroll.note_painter import Columns

            self._ghost_cols = Columns.of(self.ghosts)
        return self._ghost_cols

    def _notes_changed(self, index: int) -> None:
        if index == self.doc.current_index:
            self.schedule()

    def schedule(self, *_args) -> None:
        """Ask for a recompute on the next event-loop turn (many asks, one compute)."""
        if not self._timer.isActive():
            self._timer.start()

    def recompute(self) -> None:
        self._timer.stop()
        track = self.doc.track()
        self.ghosts = self.result = self.scope_mask = self._ghost_cols = None
        self.error = ""
        if track is None or not track.notes.size or not self.doc.preview_enabled:
            self.updated.emit()
            return
        t = time.perf_counter()
        sel = self.doc.selection_mask()
        selected = sel if sel.any() else None
        try:
            res = quantize_for_preview(track.notes, self.doc.edit_settings, self.doc.ppq, selected)
        except Exception as exc:  # a setting combination the quantizer rejects: say so
            self.error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            self.updated.emit()
            return
        if res is not None:
            self.result = res
            ghosts = res.notes
            if selected is not None:  # only the quantized notes get ghosts
                ghosts = ghosts[np.isin(ghosts["id"], track.notes["id"][selected])]
            ghosts = sorted_notes(ghosts)
            self.ghosts = ghosts
            self.ghost_max_len = int((ghosts["end"] - ghosts["start"]).max()) if ghosts.size else 0
            self.scope_mask = sel if selected is not None else np.ones(track.notes.size, bool)
        self.last_ms = (time.perf_counter() - t) * 1000
        self.updated.emit()
