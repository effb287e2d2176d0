"""The note area of the piano roll: painting plus mouse and keyboard editing.

Editing follows what Logic and Cubase users expect:
- click a note to select it (Shift toggles it in the selection), drag it to move it in time and
  pitch; the grabbed note's start snaps to the quantize grid (hold Alt to place freely);
- drag the left/right few pixels of a note to resize its start/end (also snapped);
- drag on empty space to rubber-band select (Shift adds to the selection);
- with the Draw tool (or a double-click on empty space) press-drag to draw a note: it starts on
  the grid point at or before the click and is one grid step long unless dragged longer;
- Delete, Ctrl+D duplicate, Ctrl+A select all, Ctrl+Shift+A select same pitch, Ctrl+C/X/V,
  arrows move by a grid step or transpose (Shift+Up/Down: an octave), Ctrl+Up/Down velocity
  ±8, Ctrl+wheel / Ctrl+= / Ctrl+- zoom, V/D select/draw tool.

Nothing here writes to a Track: every edit is a command pushed on the document's undo stack,
once, on release. While dragging, the track's notes are drawn as they are (minus the ones being
dragged) and the dragged notes are drawn on top at their new place, computed by the same
functions the command uses (ui.commands.clamp_move / resized). A mouse move costs the dragged
notes only: on a 100k-note track nothing is copied or re-sorted until the release.
"""

from __future__ import annotations

import math
import time

import numpy as np
from PySide6.QtCore import QLineF, QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QKeySequence, QPainter, QPen
from PySide6.QtWidgets import QWidget

from engine.model import make_notes
from ui import commands
from ui.painting import safe_painter
from ui.pianoroll.bars import BarGrid
from ui.pianoroll.grid_lines import grid_lines, snap, snap_floor
from ui.pianoroll.note_painter import Columns, cull, cull_unsorted, paint_ghosts, paint_notes
from ui.pianoroll.other_tracks import OtherTracksLayer
from ui.pianoroll.viewport import RollViewport
from ui.quantize_preview import QuantizePreview
from ui.song_document import SongDocument
from ui.theme import color

EDGE_PX = 5  #: how close to a note's end the pointer must be to resize instead of move
BLACK_KEYS = {1, 3, 6, 8, 10}
_clipboard: np.ndarray | None = None  # copied notes, shared by every piano roll in the app


def clipboard() -> np.ndarray | None:
    return _clipboard


class NoteCanvas(QWidget):
    """Paints one track's notes and edits them through the document's undo stack."""

    #: A note should sound (pitch, velocity) / stop (pitch, 0): clicking a note auditions it.
    audition = Signal(int, int)
    #: The user pressed Q: the quantize panel applies its settings.
    quantizeRequested = Signal()
    #: V (select/pointer) or D (draw) was pressed.
    toolRequested = Signal(str)

    def __init__(
        self, doc: SongDocument, vp: RollViewport, preview: QuantizePreview | None, parent=None
    ):
        super().__init__(parent)
        self.doc = doc
        self.vp = vp
        self.preview = preview
        self.tool = "select"  #: "select" or "draw"
        self.playhead = 0  #: tick; paste lands here
        #: The loop range shaded behind the notes (ticks), and whether looping is on.
        self.loop_shade: tuple[int, int] | None = None
        self.loop_enabled = False
        self.draw_velocity = 100
        self.last_paint_ms = 0.0
        self.last_paint_path = ""
        self._max_len = 0
        self._cols: Columns | None = None  # painting columns of the track's notes
        self._sel_mask: np.ndarray | None = None  # cached selection mask
        self._bars: BarGrid | None = None
        self._maps = None  # (TempoMap, TimeSignatureMap), rebuilt with the bar grid
        self._maps_key = None  # what they were built from (see bar_grid)
        self._drag: dict | None = None
        #: The notes being dragged or drawn, at their new place (drawn over the track's notes).
        self.overlay: Columns | None = None
        self._overlay_hides_selection = False  # moved notes: hide them at their old place
        #: The other tracks' notes, drawn faintly behind this one's (View menu toggles it).
        self.other_tracks = OtherTracksLayer(doc)
        self.show_other_tracks = True
        self.setFocusPolicy(Qt.StrongFocus)
        self.setMouseTracking(True)
        self.setAttribute(Qt.WA_OpaquePaintEvent)
        self.setMinimumSize(200, 120)
        vp.changed.connect(self.update)
        doc.notesChanged.connect(self._notes_changed)
        doc.songReplaced.connect(self._song_replaced)
        doc.currentTrackChanged.connect(self._notes_changed)
        doc.selectionChanged.connect(self._selection_changed)
        doc.trackChanged.connect(self._meta_changed)  # tempo / time signature edits
        doc.editSettingsChanged.connect(self.update)
        if preview is not None:
            preview.updated.connect(self.update)
        self._song_replaced()

    # -- model helpers ------------------------------------------------------------------
    @property
    def notes(self) -> np.ndarray:
        track = self.doc.track()
        return track.notes if track is not None else make_notes([], [], [])

    def _notes_changed(self, *_args) -> None:
        n = self.notes
        self._max_len = int((n["end"] - n["start"]).max()) if n.size else 0
        self._cols = None
        self._sel_mask = None
        self.update()

    def _meta_changed(self, *_args) -> None:
        self.update()  # the bar grid sees for itself whether the events changed

    def _selection_changed(self) -> None:
        self._sel_mask = None
        self.update()

    def _song_replaced(self) -> None:
        self.vp.ppq = self.doc.ppq
        self.other_tracks.forget()
        self._notes_changed()

    def set_show_other_tracks(self, on: bool) -> None:
        """Draw the other tracks' notes faintly behind this track's (or not)."""
        self.show_other_tracks = bool(on)
        self.update()

    def bar_grid(self) -> BarGrid:
        # Rebuilt only when some track's events array was replaced (edits replace arrays):
        # a song with 20,000 time signatures costs its scan once, not on every signal.
        song = self.doc.song
        key = (song.ppq, song.smpte, [t.events for t in song.tracks])
        old = self._maps_key
        same = (
            old is not None
            and old[:2] == key[:2]
            and len(old[2]) == len(key[2])
            and all(a is b for a, b in zip(old[2], key[2], strict=True))
        )
        if self._bars is None or not same:  # closed form: costs the signatures, not the length
            sigs = song.time_signatures()
            self._bars = BarGrid.build(sigs)
            self._maps = (song.tempo_map(), sigs)
            self._maps_key = key
        return self._bars

    def song_maps(self):
        """(TempoMap, TimeSignatureMap) of the song, cached with the bar grid."""
        self.bar_grid()
        return self._maps

    def _grid_step(self) -> int:
        return max(1, round(float(self.doc.edit_settings.grid_step(self.doc.ppq))))

    def _snap(self, tick: float, free: bool) -> int:
        return (
            max(0, int(math.floor(tick + 0.5)))
            if free
            else snap(self.doc.edit_settings, self.doc.ppq, tick)
        )

    def note_at(self, pos: QPointF) -> int:
        """Index (in the track's array) of the note under ``pos``, or -1."""
        notes = self.notes
        if not notes.size:
            return -1
        tick = self.vp.x_to_tick(pos.x())
        pitch = self.vp.y_to_pitch(pos.y())
        slack = EDGE_PX * self.vp.ticks_per_px / 2  # tiny notes stay clickable
        i0 = int(np.searchsorted(notes["start"], tick - self._max_len - slack, side="left"))
        i1 = int(np.searchsorted(notes["start"], tick + slack, side="right"))
        sub = notes[i0:i1]
        hit = np.flatnonzero(
            (sub["pitch"] == pitch)
            & (sub["start"] - slack <= tick)
            & (np.maximum(sub["end"], sub["start"] + 2 * slack) > tick)
        )
        return i0 + int(hit[-1]) if hit.size else -1

    def _edge(self, index: int, x: float) -> str:
        n = self.notes[index]
        x0, x1 = self.vp.tick_to_x(int(n["start"])), self.vp.tick_to_x(int(n["end"]))
        if x1 - x0 < 3 * EDGE_PX:  # too small to have handles: always move
            return "move"
        if x >= x1 - EDGE_PX:
            return "resize_end"
        if x <= x0 + EDGE_PX:
            return "resize_start"
        return "move"

    # -- painting -------------------------------------------------------------------------
    def resizeEvent(self, event) -> None:
        self.vp.set_size(self.width(), self.height())
        super().resizeEvent(event)

    def paintEvent(self, event) -> None:
        with safe_painter(self) as p:
            self._paint(p)

    def _paint(self, p: QPainter) -> None:
        t = time.perf_counter()
        self._paint_background(p)
        self._paint_loop(p)
        self._paint_grid(p)
        if self.show_other_tracks:
            self.other_tracks.paint(p, self.vp)
        notes = self.notes
        if self._cols is None:
            self._cols = Columns.of(notes)
        if self._sel_mask is None:
            self._sel_mask = self.doc.selection_mask()
        cols, max_len, sel = self._cols, self._max_len, self._sel_mask
        overlay = self.overlay
        if notes.size:
            idx = cull(cols, max_len, self.vp)
            if sel.size != notes.size:
                sel = np.zeros(notes.size, bool)
            if overlay is not None and self._overlay_hides_selection:
                idx = idx[~sel[idx]]
            self.last_paint_path = paint_notes(p, self.vp, cols, idx, sel)
        if overlay is not None and overlay.size:
            on = np.ones(overlay.size, dtype=bool)
            paint_notes(p, self.vp, overlay, cull_unsorted(overlay, self.vp), on, slot=2)
        if self.preview is not None and self.preview.ghosts is not None and self._drag is None:
            # Drawn on top: an outline that sits right on its note says "already on the grid".
            paint_ghosts(p, self.vp, self.preview.ghost_columns(), self.preview.ghost_max_len)
        self._paint_overlay(p)
        self.last_paint_ms = (time.perf_counter() - t) * 1000

    def _paint_background(self, p: QPainter) -> None:
        vp = self.vp
        p.fillRect(self.rect(), color("roll_white_key_row"))
        lo, hi = vp.visible_pitches()
        black = color("roll_black_key_row")
        octave = QPen(color("roll_octave_line"), 1)
        p.setPen(octave)
        for pitch in range(lo, hi + 1):
            y = vp.pitch_top_y(pitch)
            if pitch % 12 in BLACK_KEYS:
                p.fillRect(QRectF(0, y, self.width(), vp.key_height), black)
            if pitch % 12 == 0 and vp.key_height >= 4:  # line under each C
                p.drawLine(
                    QLineF(0, y + vp.key_height - 0.5, self.width(), y + vp.key_height - 0.5)
                )

    def _paint_loop(self, p: QPainter) -> None:
        """The loop range as a tint over the rows (stronger while looping is on), so the part
        that will repeat is visible where the notes are."""
        if self.loop_shade is None:
            return
        x0, x1 = (float(self.vp.tick_to_x(t)) for t in self.loop_shade)
        if x1 < 0 or x0 > self.width():
            return
        tint = QColor(color("loop" if self.loop_enabled else "loop_off"))
        tint.setAlpha(26 if self.loop_enabled else 14)
        x0, x1 = max(x0, -2.0), min(x1, self.width() + 2.0)  # a long range far zoomed in
        p.fillRect(QRectF(x0, 0, x1 - x0, self.height()), tint)

    def _lines(self, p: QPainter, ticks, pen: QPen) -> None:
        if len(ticks) == 0:
            return
        # One line per pixel column: thousands of time signatures on screen draw no more.
        xs = np.unique(np.floor(self.vp.tick_to_x(np.asarray(ticks, dtype=np.float64)))) + 0.5
        h = float(self.height())
        p.setPen(pen)
        p.drawLines([QLineF(x, 0, x, h) for x in xs.tolist()])

    def _paint_grid(self, p: QPainter) -> None:
        vp = self.vp
        t0, t1 = vp.visible_ticks()
        settings = self.doc.edit_settings
        g = float(settings.grid_step(self.doc.ppq))
        if g / vp.ticks_per_px >= 5:  # grid lines only where they are far enough apart to read
            pts = grid_lines(settings, self.doc.ppq, t0, t1)
            if settings.swing != 50:
                k = np.rint((pts - settings.offset) / g).astype(np.int64)
                swung = (k % 2) == 1  # swung points sit off the straight lattice
                self._lines(p, pts[~swung], QPen(color("roll_grid_line"), 1))
                self._lines(p, pts[swung], QPen(color("roll_swing_line"), 1))
            else:
                self._lines(p, pts, QPen(color("roll_grid_line"), 1))
        bars = self.bar_grid()
        if self.doc.ppq / vp.ticks_per_px >= 6:
            self._lines(p, bars.beats_in(t0, t1), QPen(color("roll_beat_line"), 1))
        # Zoomed far out, every 2nd/4th/8th... bar (lines at least 6 px apart), as the ruler.
        bar_ticks, _numbers = bars.bars_in(t0, t1, vp.ticks_per_px, 6)
        self._lines(p, bar_ticks, QPen(color("roll_bar_line"), 1))

    def _paint_overlay(self, p: QPainter) -> None:
        d = self._drag
        if d is not None and d["mode"] == "rubber":
            r = QRectF(d["press"], d["pos"]).normalized()
            band = color("rubber_band")
            fill = QColor(band)
            fill.setAlpha(40)
            p.setPen(QPen(band, 1))
            p.setBrush(fill)
            p.drawRect(r)
        x = self.vp.tick_to_x(self.playhead)
        if 0 <= x <= self.width():
            p.setPen(QPen(color("playhead"), 1.5))
            p.drawLine(QLineF(x, 0, x, self.height()))

    # -- mouse ----------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:
        if event.button() != Qt.LeftButton:
            return
        pos = event.position()
        shift = bool(event.modifiers() & Qt.ShiftModifier)
        i = self.note_at(pos)
        self._drag = {"press": pos, "pos": pos, "moved": False}
        if i < 0:
            if self.tool == "draw":
                self._begin_draw(pos, event.modifiers())
            else:
                self._drag.update(mode="rubber", base=self.doc.selection.copy() if shift else None)
            return
        note = self.notes[i]
        nid = int(note["id"])
        selected = bool(np.isin(nid, self.doc.selection))
        if shift:
            sel = self.doc.selection
            new = sel[sel != nid] if selected else np.append(sel, nid)
            self.doc.set_selection(new)
            self._drag = None
            return
        if not selected:
            self.doc.set_selection([nid])
        self.audition.emit(int(note["pitch"]), int(note["velocity"]))
        self._drag.update(
            mode=self._edge(i, pos.x()),
            anchor_start=int(note["start"]),
            anchor_end=int(note["end"]),
            anchor_pitch=int(note["pitch"]),
            auditioned=int(note["pitch"]),
        )

    def mouseDoubleClickEvent(self, event) -> None:
        """A double-click on empty space draws a one-grid-step note right away (any tool)."""
        if event.button() != Qt.LeftButton or self.note_at(event.position()) >= 0:
            return
        ti = self.doc.current_index
        if ti < 0:
            return
        pos = event.position()
        tick = self.vp.x_to_tick(pos.x())
        if event.modifiers() & Qt.AltModifier:
            start = max(0, int(tick))
        else:
            start = snap_floor(self.doc.edit_settings, self.doc.ppq, tick)
        pitch = self.vp.y_to_pitch(pos.y())
        new = make_notes([start], [start + self._grid_step()], [pitch], self.draw_velocity)
        self._drag = self.overlay = None
        self.doc.push(commands.add_notes(self.doc, ti, new))

    def _begin_draw(self, pos: QPointF, mods) -> None:
        free = bool(mods & Qt.AltModifier)
        tick = self.vp.x_to_tick(pos.x())
        start = (
            max(0, int(tick)) if free else snap_floor(self.doc.edit_settings, self.doc.ppq, tick)
        )
        pitch = self.vp.y_to_pitch(pos.y())
        self._drag.update(mode="draw", start=start, end=start + self._grid_step(), pitch=pitch)
        self.audition.emit(pitch, self.draw_velocity)
        self._show_draw()

    def mouseMoveEvent(self, event) -> None:
        d = self._drag
        if d is None:
            self._update_cursor(event.position())
            return
        pos = event.position()
        d["pos"] = pos
        if (pos - d["press"]).manhattanLength() >= 3:
            d["moved"] = True
        free = bool(event.modifiers() & Qt.AltModifier)
        mode = d.get("mode")
        if mode == "rubber":
            self.update()
        elif mode == "draw":
            end = self._snap(self.vp.x_to_tick(pos.x()), free)
            d["end"] = max(end, d["start"] + (1 if free else self._grid_step()))
            self._show_draw()
        elif mode in ("move", "resize_end", "resize_start") and d["moved"]:
            self._show_edit(self._edit_delta(d, pos, free))

    def _edit_delta(self, d: dict, pos: QPointF, free: bool) -> tuple[int, int]:
        raw = (pos.x() - d["press"].x()) * self.vp.ticks_per_px
        if d["mode"] == "move":
            dt = self._snap(d["anchor_start"] + raw, free) - d["anchor_start"]
            dp = self.vp.y_to_pitch(pos.y()) - self.vp.y_to_pitch(d["press"].y())
            if dp != d.get("dp", 0):
                self.audition.emit(d["anchor_pitch"] + dp, 100)
            return dt, dp
        key = "anchor_end" if d["mode"] == "resize_end" else "anchor_start"
        return self._snap(d[key] + raw, free) - d[key], 0

    def _make_edit(self, mode: str, dt: int, dp: int):
        ids = self.doc.selection
        ti = self.doc.current_index
        if mode == "move":
            return commands.move_notes(self.doc, ti, ids, dt, dp)
        if mode == "resize_end":
            return commands.resize_notes(self.doc, ti, ids, dend=dt)
        return commands.resize_notes(self.doc, ti, ids, dstart=dt)

    def _show_edit(self, delta: tuple[int, int]) -> None:
        """Draw the dragged notes where the release would put them (nothing is pushed)."""
        d = self._drag
        d["delta"] = delta
        d["dp"] = delta[1]
        base = d.get("base")
        if base is None:  # the selection's notes, gathered once per drag
            if self._sel_mask is None:
                self._sel_mask = self.doc.selection_mask()
            base = d["base"] = Columns.of(self.notes[self._sel_mask])
        dt, dp = delta
        if d["mode"] == "move":
            dt, dp = commands.clamp_move(base.start, base.pitch, dt, dp)
            moved = Columns(base.start + dt, base.end + dt, base.pitch + dp, base.velocity)
        else:
            ds, de = (dt, 0) if d["mode"] == "resize_start" else (0, dt)
            start, end = commands.resized(base.start, base.end, ds, de)
            moved = Columns(start, end, base.pitch, base.velocity)
        self._set_overlay(moved, hides_selection=True)

    def _show_draw(self) -> None:
        d = self._drag
        new = Columns.of(make_notes([d["start"]], [d["end"]], [d["pitch"]], self.draw_velocity))
        self._set_overlay(new, hides_selection=False)

    def _set_overlay(self, notes: Columns, hides_selection: bool) -> None:
        self.overlay = notes
        self._overlay_hides_selection = hides_selection
        self.update()

    def mouseReleaseEvent(self, event) -> None:
        d = self._drag
        self._drag = None
        self.overlay = None
        if d is None or event.button() != Qt.LeftButton:
            return
        mode = d.get("mode")
        ti = self.doc.current_index
        if d.get("auditioned") is not None or mode == "draw":
            self.audition.emit(d.get("auditioned", d.get("pitch", 0)), 0)
        if mode == "rubber":
            self._finish_rubber(d)
        elif mode == "draw" and ti >= 0:
            new = make_notes([d["start"]], [d["end"]], [d["pitch"]], self.draw_velocity)
            self.doc.push(commands.add_notes(self.doc, ti, new))
        elif mode in ("move", "resize_end", "resize_start") and d["moved"]:
            dt, dp = self._edit_delta(d, event.position(), bool(event.modifiers() & Qt.AltModifier))
            if dt or dp:
                self.doc.push(self._make_edit(mode, dt, dp))
        self.update()

    def _finish_rubber(self, d: dict) -> None:
        r = QRectF(d["press"], d["pos"]).normalized()
        notes = self.notes
        if not d["moved"]:
            if d["base"] is None:
                self.doc.clear_selection()
            return
        t0, t1 = self.vp.x_to_tick(r.left()), self.vp.x_to_tick(r.right())
        p_hi, p_lo = self.vp.y_to_pitch(r.top()), self.vp.y_to_pitch(r.bottom())
        m = (
            (notes["start"] < t1)
            & (notes["end"] > t0)
            & (notes["pitch"] >= p_lo)
            & (notes["pitch"] <= p_hi)
        )
        ids = notes["id"][m]
        if d["base"] is not None:
            ids = np.union1d(d["base"], ids)
        self.doc.set_selection(ids)

    def _update_cursor(self, pos: QPointF) -> None:
        i = self.note_at(pos)
        if i < 0:
            self.setCursor(Qt.CrossCursor if self.tool == "draw" else Qt.ArrowCursor)
        elif self._edge(i, pos.x()) == "move":
            self.setCursor(Qt.SizeAllCursor)
        else:
            self.setCursor(Qt.SizeHorCursor)

    def wheelEvent(self, event) -> None:
        mods = event.modifiers()
        delta = event.angleDelta().y() or event.angleDelta().x()
        steps = delta / 120.0
        if mods & Qt.ControlModifier and mods & Qt.ShiftModifier:
            self.vp.zoom_y(1.15**steps, event.position().y())
        elif mods & Qt.ControlModifier:
            self.vp.zoom_x(1.25**steps, event.position().x())
        elif mods & Qt.ShiftModifier or event.angleDelta().x():
            self.vp.scroll_to(left_tick=self.vp.left_tick - steps * 60 * self.vp.ticks_per_px)
        else:
            self.vp.scroll_to(top_px=self.vp.top_px - steps * 3 * self.vp.key_height)
        event.accept()

    # -- keyboard -------------------------------------------------------------------------
    def keyPressEvent(self, event) -> None:
        if not self.handle_key(event):
            super().keyPressEvent(event)

    def handle_key(self, event) -> bool:
        """DAW shortcuts for the roll. Returns False for keys it does not handle."""
        key, mods = event.key(), event.modifiers()
        ctrl = bool(mods & Qt.ControlModifier)
        shift = bool(mods & Qt.ShiftModifier)
        ti = self.doc.current_index
        ids = self.doc.selection
        if ti < 0 and key not in (Qt.Key_D, Qt.Key_V):
            return False
        if ctrl and shift and key == Qt.Key_A:
            self.select_same_pitch()
        elif event.matches(QKeySequence.SelectAll):
            self.doc.select_all()
        elif key in (Qt.Key_Delete, Qt.Key_Backspace) and ids.size:
            self.doc.push(commands.delete_notes(self.doc, ti, ids))
        elif ctrl and key == Qt.Key_D and ids.size:
            self.doc.push(commands.duplicate_notes(self.doc, ti, ids))
        elif event.matches(QKeySequence.Copy):
            self.copy()
        elif event.matches(QKeySequence.Cut) and ids.size:
            self.copy()
            cmd = commands.delete_notes(self.doc, ti, ids)
            cmd.setText(cmd.text().replace("Delete", "Cut"))
            self.doc.push(cmd)
        elif event.matches(QKeySequence.Paste):
            self.paste()
        elif key in (Qt.Key_Up, Qt.Key_Down) and ids.size and ctrl:
            step = 8 if key == Qt.Key_Up else -8
            self.doc.push(commands.set_velocity(self.doc, ti, ids, delta=step))
        elif key in (Qt.Key_Up, Qt.Key_Down) and ids.size and not ctrl:
            semis = (12 if shift else 1) * (1 if key == Qt.Key_Up else -1)
            self.doc.push(commands.transpose_notes(self.doc, ti, ids, semis))
        elif key in (Qt.Key_Left, Qt.Key_Right) and ids.size and not ctrl:
            step = self._grid_step() * (1 if key == Qt.Key_Right else -1)
            self.doc.push(commands.move_notes(self.doc, ti, ids, step, 0))
        elif ctrl and key in (Qt.Key_Plus, Qt.Key_Equal):
            self.vp.zoom_x(1.5)
        elif ctrl and key == Qt.Key_Minus:
            self.vp.zoom_x(1 / 1.5)
        elif key == Qt.Key_Q and not ctrl:
            self.quantizeRequested.emit()
        elif key == Qt.Key_D and not ctrl:
            self.toolRequested.emit("draw")
        elif key == Qt.Key_V and not ctrl:
            self.toolRequested.emit("select")
        elif key == Qt.Key_Escape:
            self.doc.clear_selection()
        else:
            return False
        event.accept()
        return True

    def select_pitch(self, pitch: int, add: bool = False) -> None:
        """Select every note of ``pitch`` (a click on the keyboard, as in Logic)."""
        n = self.notes
        ids = n["id"][n["pitch"] == pitch]
        self.doc.set_selection(np.union1d(self.doc.selection, ids) if add else ids)

    def select_same_pitch(self) -> None:
        """Ctrl+Shift+A: extend the selection to every note sharing a pitch with it."""
        n = self.notes
        pitches = np.unique(n["pitch"][self.doc.selection_mask()])
        self.doc.set_selection(n["id"][np.isin(n["pitch"], pitches)])

    def copy(self) -> None:
        global _clipboard
        m = self.doc.selection_mask()
        if m.any():
            _clipboard = self.notes[m].copy()

    def paste(self, at_tick: int | None = None) -> None:
        if _clipboard is None or not _clipboard.size or self.doc.current_index < 0:
            return
        tick = self.playhead if at_tick is None else at_tick
        self.doc.push(commands.paste_notes(self.doc, self.doc.current_index, _clipboard, tick))

    def visible_rect_for(self, index: int) -> QRect:
        """Screen rectangle of note ``index`` (tests click on it)."""
        n = self.notes[index]
        x0 = self.vp.tick_to_x(int(n["start"]))
        x1 = self.vp.tick_to_x(int(n["end"]))
        y = self.vp.pitch_top_y(int(n["pitch"]))
        return QRectF(x0, y, max(1.0, x1 - x0), self.vp.key_height - 1).toRect()
