"""The piano roll: keyboard, ruler, note canvas, velocity lane and scroll bars in one widget.

The main window creates ``PianoRoll(doc)`` and connects:
- ``audition(pitch, velocity)`` to the engine's preview output (velocity 0 = note off);
- ``locate(tick)`` to the transport; ``set_playhead(tick)`` from its state poll;
- ``quantizeRequested`` to the quantize panel's ``apply()`` (the Q key).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QScrollBar,
    QToolButton,
    QWidget,
)

from ui.pianoroll.canvas import NoteCanvas
from ui.pianoroll.drum_names import is_drum_track
from ui.pianoroll.keyboard import Keyboard
from ui.pianoroll.ruler import Ruler
from ui.pianoroll.velocity_lane import VelocityLane
from ui.pianoroll.viewport import RollViewport
from ui.quantize_preview import QuantizePreview
from ui.song_document import SongDocument

#: The horizontal scroll bar's range stays below this (Qt's scroll bars hold a 32-bit int).
SCROLL_MAX = 1 << 30


class PianoRoll(QWidget):
    audition = Signal(int, int)
    locate = Signal(int)
    quantizeRequested = Signal()

    def __init__(self, doc: SongDocument, preview: QuantizePreview | None = None, parent=None):
        super().__init__(parent)
        self.doc = doc
        self.preview = preview if preview is not None else QuantizePreview.for_document(doc)
        self.vp = RollViewport(doc.ppq, self)
        self.follow_playhead = True
        self.canvas = NoteCanvas(doc, self.vp, self.preview, self)
        self.keyboard = Keyboard(self.vp, self)
        self.ruler = Ruler(self.vp, self.canvas.bar_grid, self.canvas.song_maps, self)
        self.velocity_lane = VelocityLane(doc, self.vp, self)
        self.hbar = QScrollBar(Qt.Horizontal, self)
        self.vbar = QScrollBar(Qt.Vertical, self)
        vel_label = QLabel("Vel", self)
        vel_label.setObjectName("dim")
        vel_label.setAlignment(Qt.AlignRight | Qt.AlignTop)

        self.tool_buttons = self._make_tool_buttons()

        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(0)
        grid.addWidget(self.tool_buttons, 0, 0)
        grid.addWidget(self.ruler, 0, 1)
        grid.addWidget(self.keyboard, 1, 0)
        grid.addWidget(self.canvas, 1, 1)
        grid.addWidget(self.vbar, 1, 2)
        grid.addWidget(vel_label, 2, 0)
        grid.addWidget(self.velocity_lane, 2, 1)
        grid.addWidget(self.hbar, 3, 1)
        grid.setRowStretch(1, 1)
        grid.setColumnStretch(1, 1)

        self.canvas.audition.connect(self.audition)
        self.keyboard.audition.connect(self.audition)
        self.keyboard.pitchClicked.connect(self.canvas.select_pitch)
        doc.trackChanged.connect(self._track_meta_changed)
        self.canvas.quantizeRequested.connect(self.quantizeRequested)
        self.canvas.toolRequested.connect(self.set_tool)
        self.ruler.locate.connect(self._locate)
        self.ruler.loopDragged.connect(self._show_loop_drag)
        self.ruler.loopChosen.connect(self._loop_chosen)
        self.ruler.loopDragEnded.connect(self._loop_changed)
        doc.loopChanged.connect(self._loop_changed)
        self.vp.changed.connect(self._sync_scrollbars)
        self.hbar.valueChanged.connect(self._hbar_moved)
        self.vbar.valueChanged.connect(lambda v: self._syncing or self.vp.scroll_to(top_px=v))
        doc.songReplaced.connect(self._forget_length)
        doc.notesChanged.connect(self._forget_length)
        doc.trackChanged.connect(self._forget_length)
        doc.songReplaced.connect(self.zoom_to_fit)
        doc.notesChanged.connect(self._update_drums)
        doc.currentTrackChanged.connect(self._current_track_changed)
        self._syncing = False
        self._scroll_unit = 1.0  #: ticks per horizontal scroll bar step (see _sync_scrollbars)
        self._length: int | None = None  #: the song's length in ticks, until an edit
        self._scroll_end = 0.0  #: the tick the horizontal scroll bar's end shows at the right
        self.setFocusProxy(self.canvas)
        self._update_drums()
        self.resize(900, 500)

    # Bound methods, not lambdas, for document signals: Qt drops them when this widget goes,
    # while the document may live on.
    def _track_meta_changed(self, _index: int) -> None:
        self.ruler.update()

    def _current_track_changed(self, _index: int) -> None:
        self._update_drums()
        self.zoom_to_fit()

    def _update_drums(self, *_args) -> None:
        """A channel-10 track gets GM drum names on the keyboard (re-checked after edits)."""
        self.keyboard.set_drums(is_drum_track(self.doc.track()))

    # -- loop range ---------------------------------------------------------------------
    def _show_loop_drag(self, start: int, end: int) -> None:
        self.canvas.loop_shade = (start, end)
        self.canvas.update()

    def _loop_chosen(self, start: int, end: int, action: str = "set") -> None:
        from ui.commands import LoopCommand

        if self.doc.loop != (start, end):
            self.doc.push(LoopCommand(self.doc, (start, end), action))

    def _loop_changed(self) -> None:
        self.ruler.set_loop(self.doc.loop)
        self.canvas.loop_shade = self.doc.loop
        self.canvas.update()

    def set_loop_enabled(self, on: bool) -> None:
        """Draw the loop range as active (yellow) or inactive (grey)."""
        self.ruler.set_loop(self.doc.loop, on)
        self.canvas.loop_enabled = bool(on)
        self.canvas.update()

    # -- view --------------------------------------------------------------------------
    def _sync_scrollbars(self) -> None:
        self._syncing = True
        vp = self.vp
        end = max(self.song_length(), vp.visible_ticks()[1]) + vp.ppq * 8
        # One step is one pixel at this zoom, unless the song is too long for that to fit a
        # scroll bar's int: then a step is as many ticks as it takes (2^28-tick silences).
        unit = self._scroll_unit = max(vp.ticks_per_px, end / SCROLL_MAX)
        self._scroll_end = end
        page = max(1, int(vp.width * vp.ticks_per_px / unit))
        self.hbar.setRange(0, max(0, int(end / unit) - page))
        self.hbar.setPageStep(page)
        self.hbar.setSingleStep(max(1, page // 20))
        self.hbar.setValue(min(self.hbar.maximum(), int(vp.left_tick / unit)))
        self.vbar.setRange(0, int(max(0, vp.content_height() - vp.height)))
        self.vbar.setPageStep(int(vp.height))
        self.vbar.setSingleStep(int(vp.key_height * 3))
        self.vbar.setValue(int(vp.top_px))
        self._syncing = False

    def _forget_length(self, *_args) -> None:
        self._length = None

    def song_length(self) -> int:
        """The song's length in ticks, kept between edits: scrolling a song of 20,000 tracks
        must not ask every track for its last tick on each step."""
        if self._length is None:
            self._length = self.doc.song.length_ticks()
        return self._length

    def _hbar_moved(self, value: int) -> None:
        if self._syncing:
            return
        if value >= self.hbar.maximum() > 0:  # the very end, whatever the step's rounding
            left = self._scroll_end - self.vp.width * self.vp.ticks_per_px
        else:
            left = value * self._scroll_unit
        self.vp.scroll_to(left_tick=left)

    def zoom_to_fit(self) -> None:
        """Show the whole current track: all of its time and its pitch range (plus margin)."""
        self.vp.allow_zoom_out(self.song_length())
        track = self.doc.track()
        if track is None or not track.notes.size:
            self.vp.fit_ticks(0, self.doc.ppq * 16)
            return
        n = track.notes
        self.vp.fit_ticks(0, int(n["end"].max()) + self.doc.ppq)
        lo, hi = int(n["pitch"].min()), int(n["pitch"].max())
        pad = max(2, (12 - (hi - lo)) // 2)
        self.vp.fit_pitches(max(0, lo - pad), min(127, hi + pad))

    def set_playhead(self, tick: int) -> None:
        """Move the playhead; with follow on, page the view along when it leaves the screen."""
        self.canvas.playhead = self.ruler.playhead = int(tick)
        t0, t1 = self.vp.visible_ticks()
        if self.follow_playhead and not (t0 <= tick < t1):
            self.vp.scroll_to(left_tick=tick - (t1 - t0) * 0.05)
        else:
            self.canvas.update()
            self.ruler.update()

    def _locate(self, tick: int) -> None:
        self.set_playhead(tick)
        self.locate.emit(tick)

    def keyPressEvent(self, event) -> None:
        """Keys sent to the roll itself (not its canvas) get the same DAW shortcuts."""
        if not self.canvas.handle_key(event):
            super().keyPressEvent(event)

    def _make_tool_buttons(self) -> QWidget:
        box = QWidget(self)
        box.setFixedSize(self.keyboard.width(), self.ruler.height())
        lay = QHBoxLayout(box)
        lay.setContentsMargins(2, 1, 2, 1)
        lay.setSpacing(2)
        self._tool_group = QButtonGroup(box)
        self._tools: dict[str, QToolButton] = {}
        for name, glyph, tip in (
            ("select", "\u2196", "Select tool (V): click, drag to move, drag edges to resize"),
            ("draw", "\u270e", "Draw tool (D): click or drag to draw notes on the grid"),
        ):
            b = QToolButton(box)
            b.setText(glyph)
            b.setToolTip(tip)
            b.setCheckable(True)
            b.setAutoRaise(True)
            b.setStyleSheet("padding: 0px 3px;")
            b.clicked.connect(lambda _=False, n=name: self.set_tool(n))
            self._tool_group.addButton(b)
            self._tools[name] = b
            lay.addWidget(b)
        self._tools["select"].setChecked(True)
        return box

    def set_tool(self, tool: str) -> None:
        """Choose the "select" or "draw" tool (the buttons at the top left, or V and D)."""
        self.canvas.tool = tool
        self._tools[tool].setChecked(True)
