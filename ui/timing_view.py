"""The timing view: how far each onset sits from the grid, before and after quantize.

Musicians read timing faster from a picture than from numbers. Two panes share one vertical
axis (offset from the nearest grid point, in percent of a grid step: negative = early/ahead,
positive = late/behind):
- left, a scatter over the clip's time, raw onsets in orange and quantized ones in teal, so a
  drummer's drag in bar 3 is visible where it happens;
- right, the two histograms, so "tighter" shows as a narrower, taller teal peak.

The offsets come from the quantizer's own ``nearest_grid`` (engine.quantize.analysis.grid_offsets
when available), so "0" means exactly where quantize would put a note.

With a groove, the axis is measured from the groove's straight *base* grid (its slots), and the
groove's points are drawn on it as short violet dashes, one per slot and repetition, at their
offset from the slot: at 100 % timing the teal dots sit on the dashes. (Past
``GROOVE_MARKS_LIMIT`` dashes, as on a long song zoomed out, only a line per distinct offset is
drawn across the histogram.)
"""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from engine.quantize import GrooveTemplate, QuantizeSettings
from ui.painting import safe_painter
from ui.theme import color

BINS = 41  #: histogram bins over -50..+50 % of a step (odd, so 0 has its own bin)
SCATTER_DOTS_LIMIT = 1500  #: above this many dots, the scatter is drawn as one image
#: The vertical axis's unit, longest first: the longest that fits the view's height is shown.
AXIS_UNITS = ("% of a grid step", "% of grid", "%")
AXIS_TITLE_W = 12  #: px of the left margin holding the rotated unit
AXIS_LEFT = 42  #: px left of the plot: the unit, then the +50 / 0 / −50 labels
GROOVE_MARKS_LIMIT = 4000  #: at most this many groove-point dashes in the scatter


def reference_settings(settings: QuantizeSettings) -> QuantizeSettings:
    """The grid offsets are measured on: the settings' own grid, or with a groove its
    straight base lattice (1/8T → a 1/8 triplet grid), unswung, from the same origin."""
    g = settings.groove
    if not isinstance(g, GrooveTemplate):
        return settings
    triplet = g.base.endswith("T")
    return replace(
        settings,
        groove=None,
        division=int(g.base[2:].rstrip("T")),
        grid_type="triplet" if triplet else "straight",
        tuplet=None,
        swing=50.0,
    )


def groove_marks(
    template: GrooveTemplate, origin: int, ppq: int, lo: float, hi: float
) -> tuple[np.ndarray, np.ndarray]:
    """(slot tick, offset in % of the base step) of every groove point in ``[lo, hi]``
    ticks, repetitions counted from the grid origin; empty past GROOVE_MARKS_LIMIT."""
    slots = template.slots()
    if not slots or hi < lo:
        return np.zeros(0), np.zeros(0)
    step = template.step
    pattern = float(template.length * ppq)
    k0 = int(np.floor((lo - origin) / pattern)) - 1
    k1 = int(np.ceil((hi - origin) / pattern)) + 1
    if (k1 - k0 + 1) * len(slots) > GROOVE_MARKS_LIMIT:
        return np.zeros(0), np.array([float(off / step * 100) for _j, off, _p in slots])
    base = np.array([float(Fraction(j) * step * ppq) for j, _off, _p in slots])
    pct = np.array([float(off / step * 100) for _j, off, _p in slots])
    reps = origin + np.arange(k0, k1 + 1, dtype=np.float64)[:, None] * pattern
    ticks = (reps + base[None, :]).ravel()
    pcts = np.broadcast_to(pct, (k1 - k0 + 1, pct.size)).ravel()
    keep = (ticks >= lo) & (ticks <= hi)
    return ticks[keep], pcts[keep]


def onset_offsets(starts: np.ndarray, settings: QuantizeSettings, ppq: int) -> np.ndarray:
    """Offsets of onsets from their nearest grid point, in percent of one grid step."""
    if not starts.size:
        return np.zeros(0)
    settings = reference_settings(settings)
    try:
        from engine.quantize import grid_offsets

        ticks = np.asarray(grid_offsets(starts, settings, ppq), dtype=np.float64)
    except ImportError:
        from engine.quantize import nearest_grid

        ticks = starts.astype(np.float64) - nearest_grid(starts, settings, ppq)
    return ticks / float(settings.grid_step(ppq)) * 100.0


def summary(offsets: np.ndarray) -> str:
    """Mean absolute offset, the figure musicians compare ("12 % off the grid on average")."""
    if not offsets.size:
        return "–"
    return f"{np.mean(np.abs(offsets)):.1f} %"


class TimingView(QWidget):
    """Scatter + histogram of onset offsets, raw (before) vs quantized (after)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.before = np.zeros(0)
        self.after = np.zeros(0)
        self.before_t = np.zeros(0)
        self.after_t = np.zeros(0)
        self.span = (0, 1)
        self.groove: GrooveTemplate | None = None
        self.groove_t = np.zeros(0)  #: slot ticks of the groove's points shown
        self.groove_pct = np.zeros(0)  #: their offsets, % of the base step
        self.title = "Offset from grid"
        #: (text, rect) of every label the last paint drew (tests check the axis's unit).
        self.drawn_labels: list[tuple[str, QRectF]] = []
        self.setMinimumSize(240, 130)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Preferred)
        self.setToolTip(
            "How far each note starts from the grid, in % of a grid step (up = late, down = "
            "early).\nOrange: as played. Teal: after this quantize."
        )

    def set_data(
        self,
        before_starts: np.ndarray,
        after_starts: np.ndarray | None,
        settings: QuantizeSettings,
        ppq: int,
    ) -> None:
        """Show the raw onsets and (when a preview exists) the quantized ones."""
        self.before_t = before_starts.astype(np.float64)
        self.before = onset_offsets(before_starts, settings, ppq)
        if after_starts is None:
            self.after_t = self.after = np.zeros(0)
        else:
            self.after_t = after_starts.astype(np.float64)
            self.after = onset_offsets(after_starts, settings, ppq)
        both = np.concatenate((self.before_t, self.after_t))
        lo, hi = (float(both.min()), float(both.max())) if both.size else (0.0, 1.0)
        pad = max(1.0, (hi - lo) * 0.02)  # keep the first and last dots off the frame
        self.span = (lo - pad, hi + pad)
        g = settings.groove
        self.groove = g if isinstance(g, GrooveTemplate) else None
        if self.groove is not None and both.size:
            self.groove_t, self.groove_pct = groove_marks(self.groove, settings.offset, ppq, lo, hi)
            self.title = f"Offset from {self.groove.base} · groove {self.groove.name}"
        else:
            self.groove_t = self.groove_pct = np.zeros(0)
            self.title = "Offset from grid"
        self.update()

    def histograms(self) -> tuple[np.ndarray, np.ndarray]:
        edges = np.linspace(-50, 50, BINS + 1)
        hb = np.histogram(np.clip(self.before, -50, 50), edges)[0]
        ha = np.histogram(np.clip(self.after, -50, 50), edges)[0]
        return hb, ha

    def _paint_scatter_image(self, p: QPainter, area: QRectF, series) -> None:
        """Thousands of dots: 2x2-pixel dots set in a numpy image and drawn in one call, so a
        10k-note track redraws in a few milliseconds while a slider moves."""
        w, h = max(1, int(area.width()) + 2), max(1, int(area.height()) + 2)
        img = QImage(w, h, QImage.Format_ARGB32_Premultiplied)
        view = np.frombuffer(img.bits(), np.uint32).reshape(h, img.bytesPerLine() // 4)[:, :w]
        view[:] = 0
        for xs, ys, name in series:  # "after" last, on top
            c = color(name)
            argb = np.uint32((0xFF << 24) | (c.red() << 16) | (c.green() << 8) | c.blue())
            ix = np.clip((xs - area.left()).astype(np.int64), 0, w - 2)
            iy = np.clip((ys - area.top()).astype(np.int64), 0, h - 2)
            for dx, dy in ((0, 0), (1, 0), (0, 1), (1, 1)):
                view[iy + dy, ix + dx] = argb
        p.drawImage(QPointF(area.left(), area.top()), img)

    def _text(self, p: QPainter, rect: QRectF, flags, text: str) -> None:
        p.drawText(rect, flags, text)
        self.drawn_labels.append((text, rect))

    def _axis_title(self, p: QPainter, scatter: QRectF) -> None:
        """The axis unit, written bottom to top beside the axis; shortened when the view is
        too low for the whole phrase."""
        small = QFont(self.font())
        small.setPointSizeF(max(6.0, small.pointSizeF() * 0.8))
        p.save()
        p.setFont(small)
        p.setPen(color("text_dim"))
        fm = p.fontMetrics()
        text = next(
            (t for t in AXIS_UNITS if fm.horizontalAdvance(t) <= scatter.height()),
            AXIS_UNITS[-1],
        )
        p.translate(0, scatter.center().y())
        p.rotate(-90)
        box = QRectF(-scatter.height() / 2, 0, scatter.height(), AXIS_TITLE_W)
        p.drawText(box, Qt.AlignCenter, text)
        p.restore()
        # Where it landed on the widget (rotated): for tests and hit checks.
        self.drawn_labels.append(
            (
                text,
                QRectF(
                    0, scatter.center().y() - scatter.height() / 2, AXIS_TITLE_W, scatter.height()
                ),
            )
        )

    def _paint_groove(self, p: QPainter, scatter: QRectF, hist: QRectF, y_of) -> None:
        """The groove's points: a dash at each slot (scatter), a line per offset (histogram)."""
        if self.groove is None:
            return
        pen = QPen(color("groove"), 2)
        p.setPen(pen)
        for pct in np.unique(self.groove_pct).tolist():
            y = float(y_of(pct))
            p.drawLine(QPointF(hist.left(), y), QPointF(hist.right(), y))
        if not self.groove_t.size:
            return
        lo, hi = self.span
        xs = scatter.left() + (self.groove_t - lo) / (hi - lo) * scatter.width()
        ys = y_of(self.groove_pct)
        half = max(2.0, min(6.0, scatter.width() / max(1, xs.size) / 2))
        for x, y in zip(xs.tolist(), np.asarray(ys).tolist(), strict=True):
            p.drawLine(QPointF(x - half, y), QPointF(x + half, y))

    def paintEvent(self, event) -> None:
        with safe_painter(self) as p:
            self._paint(p)

    def _paint(self, p: QPainter) -> None:
        p.setRenderHint(QPainter.Antialiasing)
        p.fillRect(self.rect(), color("base"))
        w, h = self.width(), self.height()
        top, bottom = 26.0, h - 8.0
        hist_w = min(110.0, w * 0.3)
        scatter = QRectF(AXIS_LEFT, top, w - hist_w - AXIS_LEFT - 10, bottom - top)
        hist = QRectF(scatter.right() + 8, top, hist_w, bottom - top)

        def y_of(pct):
            return scatter.center().y() - np.clip(pct, -50, 50) / 50.0 * scatter.height() / 2

        # axes: 0 line, ±50 %, and the unit along the left edge (a rotated axis title, as on
        # a printed chart), so "+50" reads as half a grid step late.
        self.drawn_labels = []
        p.setPen(QPen(color("text_dim"), 1))
        # The title gives way to the legend: elided ("Offset from 1/16 · groove MPC…").
        fm = p.fontMetrics()
        legend = f"before {summary(self.before)}   after {summary(self.after)}"
        room = max(0, int(w - 8 - fm.horizontalAdvance(legend) - 12))
        title = fm.elidedText(self.title, Qt.ElideRight, room)
        self._text(p, QRectF(4, 0, w - 8, 16), Qt.AlignLeft | Qt.AlignVCenter, title)
        for pct, label in ((50, "+50"), (0, "0"), (-50, "−50")):
            y = float(y_of(pct))
            p.setPen(QPen(color("roll_bar_line" if pct == 0 else "roll_beat_line"), 1))
            p.drawLine(QPointF(scatter.left(), y), QPointF(hist.right(), y))
            p.setPen(color("text_dim"))
            self._text(
                p,
                QRectF(AXIS_TITLE_W, y - 7, AXIS_LEFT - AXIS_TITLE_W - 3, 14),
                Qt.AlignRight | Qt.AlignVCenter,
                label,
            )
        self._axis_title(p, scatter)
        self._paint_groove(p, scatter, hist, y_of)
        p.setPen(color("text_dim"))
        self._text(p, QRectF(4, 0, w - 8, 16), Qt.AlignRight | Qt.AlignVCenter, legend)

        lo, hi = self.span
        series = []
        for ts, offs, name in (
            (self.before_t, self.before, "before"),
            (self.after_t, self.after, "after"),
        ):
            if offs.size:
                xs = scatter.left() + (ts - lo) / (hi - lo) * scatter.width()
                series.append((xs, np.asarray(y_of(offs)), name))
        if sum(xs.size for xs, _, _ in series) > SCATTER_DOTS_LIMIT:
            self._paint_scatter_image(p, scatter, series)
        else:
            p.setPen(Qt.NoPen)
            for xs, ys, name in series:
                c = QColor(color(name))
                c.setAlpha(200)
                p.setBrush(c)
                for x, y in zip(xs.tolist(), ys.tolist(), strict=True):
                    p.drawEllipse(QPointF(x, y), 2.2, 2.2)

        hb, ha = self.histograms()
        peak = max(1, int(hb.max(initial=0)), int(ha.max(initial=0)))
        bin_h = hist.height() / BINS
        for counts, name in ((hb, "before"), (ha, "after")):
            c = QColor(color(name))
            c.setAlpha(150)
            p.setBrush(c)
            for i, n in enumerate(counts.tolist()):
                if n:
                    y = hist.bottom() - (i + 1) * bin_h
                    p.drawRect(QRectF(hist.left(), y, n / peak * hist.width(), bin_h * 0.9))
