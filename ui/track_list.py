"""The track list: name, channel, instrument, mute/solo and volume of every playable track.

Clicking a row shows that track in the piano roll. Mixer changes (mute, solo, volume) are
undoable like any DAW mixer move, and go through the SongDocument so the engine bridge hears
them; a volume drag merges into one undo step.

Pure conductor tracks (only tempo/meta events) are not listed: there is nothing to hear or
edit in them, and Logic/Cubase hide them the same way.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QUndoCommand
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QMenu,
    QSlider,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QWidget,
)

from engine.model import STATUS_META, Track
from ui.song_document import SongDocument
from ui.theme import COLORS

#: General MIDI program families (program // 8), for tracks without a plugin instrument.
GM_FAMILIES = (
    "Piano",
    "Chromatic Perc.",
    "Organ",
    "Guitar",
    "Bass",
    "Strings",
    "Ensemble",
    "Brass",
    "Reed",
    "Pipe",
    "Synth Lead",
    "Synth Pad",
    "Synth FX",
    "Ethnic",
    "Percussive",
    "Sound FX",
)
DEFAULT_VOLUME = 0.8
_VOLUME_MERGE_ID = 0x51A0

#: The dock's widest first-start width (20 % of the window, within these bounds; the window
#: then remembers what the user makes it); the list stays usable down to MIN_WIDTH.
DEFAULT_WIDTH = 300
#: Rows below the visible ones that get their widgets ahead of a scroll.
WIDGET_MARGIN_ROWS = 16
MIN_WIDTH = 220

COL_NAME, COL_CHANNEL, COL_INSTRUMENT, COL_MUTE, COL_SOLO, COL_VOLUME = range(6)
HEADERS = ("Track", "Ch", "Instrument", "M", "S", "Volume")


def is_listed(track: Track) -> bool:
    """A track is listed if it has notes or channel messages (something to play)."""
    if track.notes.size:
        return True
    return bool(track.events.size and (track.events["status"] < 0xF0).any())


def first_program(track: Track) -> int | None:
    ev = track.events
    idx = ((ev["status"] & 0xF0) == 0xC0) & (ev["status"] != STATUS_META)
    return int(ev["data1"][idx][0]) if idx.any() else None


def instrument_label(track: Track) -> str:
    """What the track sounds like: its plugin instrument, else its GM program or drum kit."""
    inst = track.extra.get("instrument")
    if isinstance(inst, dict) and inst.get("name"):
        return str(inst["name"])
    if isinstance(inst, str) and inst:
        return inst
    if track.notes.size and track.channels == [9]:
        return "GM Drums"
    prog = first_program(track)
    if prog is None:
        return "GM Piano (default)"
    return f"GM {prog + 1} · {GM_FAMILIES[prog // 8]}"


def track_volume(track: Track) -> float:
    v = track.extra.get("volume", DEFAULT_VOLUME)
    return float(v) if isinstance(v, int | float) else DEFAULT_VOLUME


class TrackExtraCommand(QUndoCommand):
    """Set one app-level track value (mute, solo, volume, instrument...) undoably."""

    def __init__(self, doc: SongDocument, index: int, key: str, value, text: str, merge=False):
        super().__init__(text)
        self.doc, self.index, self.key = doc, index, key
        extra = doc.song.tracks[index].extra
        self.had_old = key in extra
        self.old = extra.get(key)
        self.new = value
        self._merge = merge

    def id(self) -> int:
        return _VOLUME_MERGE_ID if self._merge else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, TrackExtraCommand) or (other.index, other.key) != (
            self.index,
            self.key,
        ):
            return False
        self.new = other.new
        return True

    def redo(self) -> None:
        self.doc.set_track_extra(self.index, self.key, self.new)

    def undo(self) -> None:
        if self.had_old:
            self.doc.set_track_extra(self.index, self.key, self.old)
        else:
            self.doc.song.tracks[self.index].extra.pop(self.key, None)
            self.doc.trackChanged.emit(self.index)


class TrackList(QTableWidget):
    """One row per playable track; the current row is the piano roll's track."""

    #: Double-clicking the instrument asks for the sound settings of that track ...
    instrumentRequested = Signal(int)
    #: ... or, when the track plays a plugin, for that plugin's editor.
    editorRequested = Signal(int)
    #: The editor of one of the track's effects (track, effect index), from the context menu.
    effectEditorRequested = Signal(int, int)
    #: Adds plugin actions (e.g. presets) to a track's context menu: ``f(track, menu)``.
    plugin_menus = None

    def __init__(self, document: SongDocument, parent: QWidget | None = None):
        super().__init__(0, len(HEADERS), parent)
        self.doc = document
        self.rows: list[int] = []  # row -> track index
        self._updating = False
        self.setHorizontalHeaderLabels(HEADERS)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(30)
        self.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.setSelectionMode(QAbstractItemView.SingleSelection)
        self.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.setShowGrid(False)
        self.setAlternatingRowColors(True)
        self.setFocusPolicy(Qt.StrongFocus)
        h = self.horizontalHeader()
        h.setMinimumSectionSize(24)
        # Name and instrument share what the dock leaves (elided, full text on hover), so
        # a narrow list leaves the piano roll the room it needs.
        h.setSectionResizeMode(COL_NAME, QHeaderView.Stretch)
        h.setSectionResizeMode(COL_INSTRUMENT, QHeaderView.Stretch)
        for col, width in (
            (COL_CHANNEL, 28),
            (COL_MUTE, 28),
            (COL_SOLO, 28),
            (COL_VOLUME, 58),
        ):
            h.setSectionResizeMode(col, QHeaderView.Interactive)
            self.setColumnWidth(col, width)
        h.setDefaultAlignment(Qt.AlignLeft | Qt.AlignVCenter)
        self.setTextElideMode(Qt.ElideRight)
        self.setWordWrap(False)
        self.setMinimumWidth(MIN_WIDTH)
        self.setToolTip("Tracks: click to edit in the piano roll; M mutes, S solos")
        self.itemSelectionChanged.connect(self._row_selected)
        self.verticalScrollBar().valueChanged.connect(self._ensure_widgets)
        self.cellDoubleClicked.connect(self._double_clicked)
        self.setContextMenuPolicy(Qt.CustomContextMenu)
        self.customContextMenuRequested.connect(self._context_menu)
        document.songReplaced.connect(self.rebuild)
        document.trackChanged.connect(self._refresh_track)
        document.notesChanged.connect(self._refresh_track)
        document.currentTrackChanged.connect(self._select_current)
        self.rebuild()

    # -- building -----------------------------------------------------------------------
    def rebuild(self) -> None:
        self._updating = True
        try:
            tracks = self.doc.song.tracks
            self.rows = [i for i, t in enumerate(tracks) if is_listed(t)]
            self.setRowCount(len(self.rows))
            for row, index in enumerate(self.rows):
                self._fill(row, index)
        finally:
            self._updating = False
        self._select_current(self.doc.current_index)

    def _fill(self, row: int, index: int) -> None:
        track = self.doc.song.tracks[index]
        name = track.name or f"Track {index}"
        item = QTableWidgetItem(name)
        item.setToolTip(f"{name}: {track.notes.size} notes")
        self.setItem(row, COL_NAME, item)
        chans = track.channels
        ch = QTableWidgetItem(
            "–" if not chans else str(chans[0] + 1) if len(chans) == 1 else "multi"
        )
        ch.setTextAlignment(Qt.AlignCenter)
        ch.setToolTip("MIDI channel (1–16)" + (f": {chans}" if len(chans) > 1 else ""))
        self.setItem(row, COL_CHANNEL, ch)
        inst = QTableWidgetItem(instrument_label(track))
        inst.setToolTip(  # the full name: a narrow list elides it
            f"{inst.text()}\nDouble-click to choose the instrument and edit its parameters"
        )
        self.setItem(row, COL_INSTRUMENT, inst)
        if self.cellWidget(row, COL_MUTE) is not None or row in self._widget_rows():
            self._fill_widgets(row, index)

    def _widget_rows(self) -> range:
        """Rows that get their buttons and slider now: those on screen and a margin. The
        rest get them when scrolled into view, so a file with thousands of tracks does not
        create thousands of widgets (about 3 ms and 80 kB each) before the window shows."""
        first = max(0, self.rowAt(0))
        last = self.rowAt(max(0, self.viewport().height() - 1))
        if last < 0:
            last = self.rowCount() - 1
        return range(first, min(self.rowCount(), max(last, first) + WIDGET_MARGIN_ROWS + 1))

    def _ensure_widgets(self, *_args) -> None:
        """Give the rows on screen their buttons and slider (after a scroll or resize)."""
        self._updating = True
        try:
            for row in self._widget_rows():
                if self.cellWidget(row, COL_MUTE) is None and row < len(self.rows):
                    self._fill_widgets(row, self.rows[row])
        finally:
            self._updating = False

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._ensure_widgets()

    def _fill_widgets(self, row: int, index: int) -> None:
        track = self.doc.song.tracks[index]
        for col, key, text, tip in (
            (COL_MUTE, "mute", "M", "Mute this track"),
            (COL_SOLO, "solo", "S", "Solo: hear only soloed tracks"),
        ):
            btn = self.cellWidget(row, col)
            if not isinstance(btn, QToolButton):
                btn = QToolButton()
                btn.setCheckable(True)
                btn.setText(text)
                btn.setToolTip(tip)
                btn.setObjectName(key)
                btn.setStyleSheet("padding: 0px;")  # the letter fits a narrow column
                btn.toggled.connect(lambda on, b=btn, k=key: self._toggle(b, k, on))
                self.setCellWidget(row, col, btn)
            btn.setProperty("track", index)
            btn.blockSignals(True)
            btn.setChecked(bool(track.extra.get(key, False)))
            btn.blockSignals(False)
        holder = self.cellWidget(row, COL_VOLUME)
        if holder is None:
            holder = QWidget()
            lay = QHBoxLayout(holder)
            lay.setContentsMargins(4, 0, 4, 0)
            slider = QSlider(Qt.Horizontal)
            slider.setRange(0, 100)
            slider.setObjectName("volume")
            # Brighter than the selected-row highlight, so the level stays readable there.
            slider.setStyleSheet(
                f"QSlider::sub-page:horizontal {{ background: {COLORS['accent']}; }}"
            )
            slider.valueChanged.connect(lambda v, s=slider: self._volume(s, v))
            lay.addWidget(slider)
            self.setCellWidget(row, COL_VOLUME, holder)
        slider = holder.findChild(QSlider)
        slider.setProperty("track", index)
        slider.blockSignals(True)
        slider.setValue(round(track_volume(track) * 100))
        slider.blockSignals(False)
        slider.setToolTip(f"Volume {round(track_volume(track) * 100)} %")

    def _refresh_track(self, index: int) -> None:
        if index in self.rows:
            self._updating = True
            try:
                self._fill(self.rows.index(index), index)
            finally:
                self._updating = False
        elif 0 <= index < len(self.doc.song.tracks) and is_listed(self.doc.song.tracks[index]):
            self.rebuild()

    # -- user actions ---------------------------------------------------------------------
    def _row_selected(self) -> None:
        if self._updating:
            return
        rows = self.selectionModel().selectedRows()
        if rows:
            self.doc.set_current_index(self.rows[rows[0].row()])

    def _select_current(self, index: int) -> None:
        if index in self.rows:
            row = self.rows.index(index)
            if self.currentRow() != row:
                self._updating = True
                self.selectRow(row)
                self._updating = False

    def _toggle(self, btn: QToolButton, key: str, on: bool) -> None:
        index = int(btn.property("track"))
        name = self.doc.song.tracks[index].name or f"Track {index}"
        verb = {"mute": ("Mute", "Unmute"), "solo": ("Solo", "Unsolo")}[key][0 if on else 1]
        self.doc.push(TrackExtraCommand(self.doc, index, key, bool(on), f"{verb} {name}"))

    def _volume(self, slider: QSlider, value: int) -> None:
        index = int(slider.property("track"))
        name = self.doc.song.tracks[index].name or f"Track {index}"
        self.doc.push(
            TrackExtraCommand(
                self.doc, index, "volume", value / 100.0, f"Volume of {name}", merge=True
            )
        )

    def _double_clicked(self, row: int, col: int) -> None:
        if col == COL_INSTRUMENT and 0 <= row < len(self.rows):
            index = self.rows[row]
            if self.has_plugin(index):
                self.editorRequested.emit(index)
            else:
                self.instrumentRequested.emit(index)

    def has_plugin(self, index: int) -> bool:
        """True when the track plays a plugin (not the default GM sound): it has an editor."""
        inst = self.doc.song.tracks[index].extra.get("instrument")
        return isinstance(inst, dict) and bool(inst.get("format"))

    def _context_menu(self, pos) -> None:
        row = self.rowAt(pos.y())
        if not 0 <= row < len(self.rows):
            return
        index = self.rows[row]
        self.context_menu(index).exec(self.viewport().mapToGlobal(pos))

    def context_menu(self, index: int) -> QMenu:
        """Editors of the track's instrument and of each of its effects, and its settings."""
        menu = QMenu(self)
        editor = menu.addAction("Plugin editor…", lambda: self.editorRequested.emit(index))
        editor.setEnabled(self.has_plugin(index))
        effects = self.doc.song.tracks[index].extra.get("effects") or []
        for i, fx in enumerate(effects):
            if isinstance(fx, dict) and fx.get("format"):
                name = str(fx.get("name") or fx.get("ident"))
                menu.addAction(
                    f"Effect editor: {name}…",
                    lambda i=i: self.effectEditorRequested.emit(index, i),
                )
        if self.plugin_menus is not None:
            self.plugin_menus(index, menu)
        menu.addSeparator()
        menu.addAction("Sound settings…", lambda: self.instrumentRequested.emit(index))
        return menu

    # -- for tests and the window ---------------------------------------------------------
    def _row_widgets(self, track_index: int) -> int:
        row = self.rows.index(track_index)
        if self.cellWidget(row, COL_MUTE) is None:
            self._fill_widgets(row, track_index)
        return row

    def button(self, track_index: int, key: str) -> QToolButton:
        col = COL_MUTE if key == "mute" else COL_SOLO
        return self.cellWidget(self._row_widgets(track_index), col)

    def volume_slider(self, track_index: int) -> QSlider:
        return self.cellWidget(self._row_widgets(track_index), COL_VOLUME).findChild(QSlider)
