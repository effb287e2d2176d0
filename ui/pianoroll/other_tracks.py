"""The other tracks' notes, drawn faintly behind the current track's (as Logic and Cubase
can), so a bass line can be lined up with the kick or a chord with the melody.

They are only a picture: never hit-tested, selected or edited. The cost is that of what is on
screen: each track's notes are sorted by start, so its visible notes are one ``searchsorted``
slice (widened by its longest note); past :data:`~ui.pianoroll.note_painter.VECTOR_LIMIT`
visible notes they are rasterised into one image, as the current track's are.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QPainter

from ui.pianoroll.note_painter import (
    VECTOR_LIMIT,
    Columns,
    _argb,
    _blit,
    _device_view,
    _rect_columns,
    _rects,
    cull,
    raster_layer,
)
from ui.pianoroll.viewport import RollViewport
from ui.song_document import SongDocument
from ui.theme import color

ALPHA = 64  #: opacity (of 255) of another track's note: visible, never mistaken for one's own
_SLOT = 3  #: raster image slot (0: notes, 1: quantize ghosts, 2: dragged notes)


class OtherTracksLayer:
    """Paints every track but the current one, faintly, for the visible range only."""

    def __init__(self, doc: SongDocument):
        self.doc = doc
        self._cache: dict[int, tuple[np.ndarray, Columns, int]] = {}
        self.last_count = 0  #: notes drawn by the last paint (tests, benchmarks)

    def forget(self) -> None:
        """Drop cached columns (a new song)."""
        self._cache.clear()

    def _columns(self, index: int, notes: np.ndarray) -> tuple[Columns, int]:
        hit = self._cache.get(index)
        if hit is None or hit[0] is not notes:  # edits replace a track's array
            longest = int((notes["end"] - notes["start"]).max()) if notes.size else 0
            hit = (notes, Columns.of(notes), longest)
            self._cache[index] = hit
        return hit[1], hit[2]

    def paint(self, p: QPainter, vp: RollViewport) -> None:
        current = self.doc.current_index
        layers = []
        for i, track in enumerate(self.doc.song.tracks):
            if i == current or not track.notes.size:
                continue
            cols, longest = self._columns(i, track.notes)
            idx = cull(cols, longest, vp)
            if idx.size:
                layers.append(cols[idx])
        self.last_count = sum(c.size for c in layers)
        if not layers:
            return
        if self.last_count > VECTOR_LIMIT:
            self._paint_raster(p, vp, layers)
        else:
            self._paint_vector(p, vp, layers)

    @staticmethod
    def _paint_vector(p: QPainter, vp: RollViewport, layers: list[Columns]) -> None:
        c = QColor(color("note_other"))
        c.setAlpha(ALPHA)
        p.setPen(Qt.NoPen)
        p.setBrush(QBrush(c))
        h = max(1.0, vp.key_height - 1.0)
        for sub in layers:
            x, w, y = _rect_columns(sub, vp)
            p.drawRects(_rects(x, y, w, np.full(x.shape, h)))

    @staticmethod
    def _paint_raster(p: QPainter, vp: RollViewport, layers: list[Columns]) -> None:
        dvp, dpr = _device_view(p, vp)
        covered = None
        for sub in layers:
            cnt, _ = raster_layer(dvp, sub, None)
            covered = cnt > 0 if covered is None else covered | (cnt > 0)
        argb = np.uint32(_argb(color("note_other"), ALPHA))
        rows = np.where(covered, argb, np.uint32(0)).astype(np.uint32)
        _blit(p, rows, dvp, slot=_SLOT, dpr=dpr)
