"""Drawing thousands of notes fast: numpy culling, then batched rects or a raster image.

Notes are sorted by start, so the ones that can touch the visible ticks are one contiguous slice
found with ``searchsorted`` (widened by the longest note, which may start off-screen). From there:

- few notes (zoomed in): one ``QPainter.drawRects`` call per velocity colour, with borders;
- many notes (zoomed out): each note's pixel span is accumulated per pitch row with
  ``np.bincount`` + ``cumsum`` (a difference array), coloured by mean velocity through a lookup
  table and blitted as one QImage. Cost is O(notes + pixels), independent of note lengths,
  which keeps a 100k-note track under a frame.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QPen

from ui.pianoroll.viewport import RollViewport
from ui.theme import color, velocity_color

#: Above this many visible notes the raster path is used.
VECTOR_LIMIT = 2500
_BUCKETS = 16


def _argb(c: QColor, alpha: int = 255) -> int:
    a = alpha / 255.0
    r, g, b = (round(v * a) for v in (c.red(), c.green(), c.blue()))  # premultiplied
    return (alpha << 24) | (r << 16) | (g << 8) | b


def _velocity_lut() -> np.ndarray:
    return np.array([_argb(velocity_color(max(1, v))) for v in range(128)], dtype=np.uint32)


_LUT: np.ndarray | None = None


class Columns:
    """The four note fields painting needs, as contiguous arrays.

    Gathering rows of a 32-byte structured array (``notes[idx]``) costs more than the whole
    raster pass at 100k notes; plain int64 columns gather and compute several times faster.
    Indexing with a field name gives a column, anything else gives the selected rows.
    """

    __slots__ = ("start", "end", "pitch", "velocity")

    def __init__(self, start, end, pitch, velocity):
        self.start, self.end, self.pitch, self.velocity = start, end, pitch, velocity

    @classmethod
    def of(cls, notes: np.ndarray) -> Columns:
        return cls(
            np.ascontiguousarray(notes["start"], dtype=np.int64),
            np.ascontiguousarray(notes["end"], dtype=np.int64),
            np.ascontiguousarray(notes["pitch"], dtype=np.int64),
            np.ascontiguousarray(notes["velocity"], dtype=np.int64),
        )

    @property
    def size(self) -> int:
        return int(self.start.size)

    def __getitem__(self, key):
        if isinstance(key, str):
            return getattr(self, key)
        return Columns(self.start[key], self.end[key], self.pitch[key], self.velocity[key])


def visible_slice(notes: np.ndarray, max_len: int, t0: float, t1: float) -> np.ndarray:
    """Indices of notes that overlap ticks ``[t0, t1)`` (notes sorted by start)."""
    starts = notes["start"]
    # Whole-tick keys (the first start >= x is the first start >= ceil(x)): a float key
    # would make numpy convert all the starts to float on every paint.
    i0 = int(np.searchsorted(starts, math.ceil(t0 - max_len), side="left"))
    i1 = int(np.searchsorted(starts, math.ceil(t1), side="left"))
    idx = np.arange(i0, i1)
    if idx.size:
        idx = idx[notes["end"][i0:i1] > t0]
    return idx


def cull(notes: np.ndarray, max_len: int, vp: RollViewport) -> np.ndarray:
    """Indices of the notes with any part on screen."""
    t0, t1 = vp.visible_ticks()
    idx = visible_slice(notes, max_len, t0, t1)
    lo, hi = vp.visible_pitches()
    if lo > 0 or hi < 127:
        p = notes["pitch"][idx]
        idx = idx[(p >= lo) & (p <= hi)]
    return idx


def cull_unsorted(notes, vp: RollViewport) -> np.ndarray:
    """Indices of the notes with any part on screen, for a few notes in any order (the ones
    being dragged: a resize can unsort them)."""
    t0, t1 = vp.visible_ticks()
    lo, hi = vp.visible_pitches()
    p = notes["pitch"]
    return np.flatnonzero((notes["start"] < t1) & (notes["end"] > t0) & (p >= lo) & (p <= hi))


def _rect_columns(notes: np.ndarray, vp: RollViewport):
    # Clipped to just outside the view: a note lasting 2^28 ticks, zoomed in, would otherwise
    # be a rectangle billions of pixels wide.
    x0 = np.clip((notes["start"] - vp.left_tick) / vp.ticks_per_px, -4.0, vp.width + 4.0)
    x1 = np.clip((notes["end"] - vp.left_tick) / vp.ticks_per_px, -4.0, vp.width + 4.0)
    y = (127 - notes["pitch"].astype(np.float64)) * vp.key_height - vp.top_px
    return x0, np.maximum(x1 - x0, 1.0), y


def _rects(x, y, w, h) -> list[QRectF]:
    return list(map(QRectF, x.tolist(), y.tolist(), w.tolist(), h.tolist()))


def paint_notes(
    painter: QPainter,
    vp: RollViewport,
    notes: np.ndarray,
    idx: np.ndarray,
    selected: np.ndarray,
    slot: int = 0,
) -> str:
    """Paint ``notes[idx]``; ``selected`` is a bool mask over ``notes``. Returns the path used
    (``"vector"`` or ``"raster"``), which tests and the benchmark report. ``slot`` picks the
    raster image, so a layer painted over another does not reuse its buffer."""
    if idx.size > VECTOR_LIMIT:
        _paint_raster(painter, vp, notes[idx], selected[idx], slot)
        return "raster"
    _paint_vector(painter, vp, notes[idx], selected[idx])
    return "vector"


def _paint_vector(painter: QPainter, vp: RollViewport, sub: np.ndarray, sel: np.ndarray) -> None:
    if not sub.size:
        return
    x, w, y = _rect_columns(sub, vp)
    h = np.full(x.shape, max(1.0, vp.key_height - 1.0))
    border = vp.key_height >= 5 and float(np.median(w)) >= 4
    painter.setPen(QPen(color("note_border"), 1) if border else Qt.NoPen)
    bucket = (sub["velocity"].astype(np.int64) * _BUCKETS) // 128
    for b in np.unique(bucket[~sel]):
        m = (bucket == b) & ~sel
        painter.setBrush(QBrush(velocity_color(int((b + 0.5) * 128 / _BUCKETS))))
        painter.drawRects(_rects(x[m], y[m], w[m], h[m]))
    if sel.any():
        painter.setBrush(QBrush(color("note_selected")))
        painter.drawRects(_rects(x[sel], y[sel], w[sel], h[sel]))


def _visible_rows(vp: RollViewport) -> tuple[int, int]:
    """(first, count) of the pitch rows on screen, counted from pitch 127 downwards."""
    lo, hi = vp.visible_pitches()
    return 127 - hi, hi - lo + 1


def raster_layer(vp: RollViewport, sub, weights: np.ndarray | None):
    r"""Per pitch-row pixel coverage of ``sub`` over the visible rows: ``(count, weight_sum)``
    arrays of shape (rows on screen, width). A difference array per row (two ``bincount``\s
    and a ``cumsum``), so long notes cost no more than short ones."""
    W = int(vp.width)
    first, nrows = _visible_rows(vp)
    x0 = np.floor((sub["start"] - vp.left_tick) / vp.ticks_per_px)
    x1 = np.ceil((sub["end"] - vp.left_tick) / vp.ticks_per_px)
    x0 = np.clip(x0, 0, W).astype(np.int64)
    x1 = np.clip(np.maximum(x1, x0 + 1), 0, W).astype(np.int64)
    row = np.clip(127 - first - sub["pitch"], 0, nrows - 1)
    n = nrows * (W + 1)
    i0, i1 = row * (W + 1) + x0, row * (W + 1) + x1
    cnt = np.bincount(i0, minlength=n) - np.bincount(i1, minlength=n)
    cnt = np.cumsum(cnt.reshape(nrows, W + 1), axis=1)[:, :W]
    if weights is None:
        return cnt, cnt
    ws = np.bincount(i0, weights, minlength=n) - np.bincount(i1, weights, minlength=n)
    ws = np.cumsum(ws.reshape(nrows, W + 1), axis=1)[:, :W]
    return cnt, ws


def _row_map(vp: RollViewport) -> np.ndarray:
    """For every screen pixel row: the visible pitch row it shows, or ``rows`` for a gap."""
    first, nrows = _visible_rows(vp)
    y = np.arange(int(vp.height), dtype=np.float64) + vp.top_px
    rows = (y // vp.key_height).astype(np.int64) - first
    if vp.key_height >= 4:  # one dark pixel between rows keeps adjacent pitches apart
        rows[(y % vp.key_height) >= vp.key_height - 1] = nrows
    return np.clip(rows, 0, nrows)


class _ImageCache:
    """One reusable QImage per size: a fresh 5 MB image costs ~4 ms in page faults alone."""

    def __init__(self):
        self.images: dict[tuple[int, int, int], tuple[QImage, np.ndarray]] = {}

    def get(self, w: int, h: int, slot: int) -> tuple[QImage, np.ndarray]:
        key = (w, h, slot)
        if key not in self.images:
            if len(self.images) > 8:
                self.images.clear()
            img = QImage(w, h, QImage.Format_ARGB32_Premultiplied)
            view = np.frombuffer(img.bits(), dtype=np.uint32).reshape(h, img.bytesPerLine() // 4)
            self.images[key] = (img, view[:, :w])
        return self.images[key]


_images = _ImageCache()


def _device_view(painter: QPainter, vp: RollViewport) -> tuple[RollViewport, float]:
    """Raster layers are computed in device pixels, so they stay sharp at 150 % or 200 %."""
    dpr = float(painter.device().devicePixelRatioF()) if painter.device() is not None else 1.0
    return (vp, 1.0) if dpr == 1.0 else (vp.scaled(dpr), dpr)


def _blit(
    painter: QPainter, rows_argb: np.ndarray, vp: RollViewport, slot: int = 0, dpr: float = 1.0
) -> None:
    full = np.vstack((rows_argb, np.zeros((1, rows_argb.shape[1]), np.uint32)))
    rows = _row_map(vp)
    img, dest = _images.get(full.shape[1], rows.size, slot)
    img.setDevicePixelRatio(dpr)
    if dest.flags.c_contiguous:
        np.take(full, rows, axis=0, out=dest)
    else:  # the image's lines are padded
        dest[:] = full[rows]
    painter.drawImage(0, 0, img)


def _paint_raster(painter: QPainter, vp: RollViewport, sub, sel: np.ndarray, slot: int = 0) -> None:
    global _LUT
    vp, dpr = _device_view(painter, vp)
    if _LUT is None:
        _LUT = _velocity_lut()
        _LUT[0] = 0  # "no note here": transparent
    cnt, vsum = raster_layer(vp, sub, sub["velocity"].astype(np.float64))
    vel = (vsum / np.maximum(cnt, 1)).astype(np.int64)  # mean velocity; 0 where empty
    rows = _LUT[vel]
    if sel.any():
        scnt, _ = raster_layer(vp, sub[sel], None)
        rows[scnt > 0] = _argb(color("note_selected"))
    _blit(painter, rows, vp, slot=slot, dpr=dpr)


def paint_ghosts(painter: QPainter, vp: RollViewport, ghosts: np.ndarray, max_len: int) -> None:
    """Outlines of where notes will land after quantize (the live preview)."""
    idx = cull(ghosts, max_len, vp)
    if not idx.size:
        return
    sub = ghosts[idx]
    if idx.size > VECTOR_LIMIT:
        dvp, dpr = _device_view(painter, vp)
        cnt, _ = raster_layer(dvp, sub, None)
        rows = np.where(cnt > 0, np.uint32(_argb(color("ghost"), 110)), np.uint32(0))
        _blit(painter, rows.astype(np.uint32), dvp, slot=1, dpr=dpr)
        return
    x, w, y = _rect_columns(sub, vp)
    h = np.full(x.shape, max(1.0, vp.key_height - 1.0))
    pen = QPen(color("ghost"), 1.2)
    pen.setCosmetic(True)
    painter.setPen(pen)
    painter.setBrush(Qt.NoBrush)
    painter.drawRects(_rects(x + 0.5, y + 0.5, w - 1, h - 1))
