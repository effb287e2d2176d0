"""The other tracks' notes, drawn faintly behind the current track's (as Logic and Cubase
can), so a bass line can be lined up with the kick or a chord with the melody.

They are only a picture: never hit-tested, selected or edited. The cost is that of what is on
screen: the other tracks' notes are merged and sorted by start, so the visible ones are one
``searchsorted`` slice (widened by the longest note); past
:data:`~ui.pianoroll.note_painter.VECTOR_LIMIT` visible notes they are rasterised into one
image, as the current track's are.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QPainter

from engine.model import make_notes
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
    """Paints every track but the current one, faintly, for the visible range only.

    The other tracks' notes are merged into one start-sorted set of columns, rebuilt only
    when the current track or another track's notes array changes (editing the current
    track does not rebuild it): a song with thousands of tracks costs one slice per paint,
    not one per track.
    """

    def __init__(self, doc: SongDocument):
        self.doc = doc
        self._key: tuple | None = None
        self._merged: Columns | None = None
        self._longest = 0
        self.last_count = 0  #: notes drawn by the last paint (tests, benchmarks)

    def forget(self) -> None:
        """Drop the merged notes (a new song)."""
        self._key = self._merged = None

    def _others(self) -> tuple[Columns, int]:
        current = self.doc.current_index
        arrays = [t.notes for i, t in enumerate(self.doc.song.tracks) if i != current]
        old = self._key
        if (
            old is None
            or old[0] != current
            or len(old[1]) != len(arrays)
            or any(a is not b for a, b in zip(old[1], arrays, strict=True))
        ):
            notes = [a for a in arrays if a.size]
            if notes:
                start = np.concatenate([a["start"] for a in notes]).astype(np.int64)
                order = np.argsort(start, kind="stable")
                merged = Columns(
                    start[order],
                    np.concatenate([a["end"] for a in notes]).astype(np.int64)[order],
                    np.concatenate([a["pitch"] for a in notes]).astype(np.int64)[order],
                    np.concatenate([a["velocity"] for a in notes]).astype(np.int64)[order],
                )
                self._longest = int((merged.end - merged.start).max())
            else:
                merged = Columns.of(make_notes([], [], []))
                self._longest = 0
            self._merged = merged
            self._key = (current, arrays)
        return self._merged, self._longest

    def paint(self, p: QPainter, vp: RollViewport) -> None:
        cols, longest = self._others()
        idx = cull(cols, longest, vp) if cols.size else np.zeros(0, np.int64)
        self.last_count = int(idx.size)
        if not idx.size:
            return
        sub = cols[idx]
        if idx.size > VECTOR_LIMIT:
            self._paint_raster(p, vp, sub)
        else:
            self._paint_vector(p, vp, sub)

    @staticmethod
    def _paint_vector(p: QPainter, vp: RollViewport, sub: Columns) -> None:
        c = QColor(color("note_other"))
        c.setAlpha(ALPHA)
        p.setPen(Qt.NoPen)
        p.setBrush(QBrush(c))
        x, w, y = _rect_columns(sub, vp)
        p.drawRects(_rects(x, y, w, np.full(x.shape, max(1.0, vp.key_height - 1.0))))

    @staticmethod
    def _paint_raster(p: QPainter, vp: RollViewport, sub: Columns) -> None:
        dvp, dpr = _device_view(p, vp)
        cnt, _ = raster_layer(dvp, sub, None)
        argb = np.uint32(_argb(color("note_other"), ALPHA))
        rows = np.where(cnt > 0, argb, np.uint32(0)).astype(np.uint32)
        _blit(p, rows, dvp, slot=_SLOT, dpr=dpr)
