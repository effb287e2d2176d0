"""The quantize panel (dock contents): every setting of the spec, presets, preview and Apply.

Each control says what it does in its tooltip, with its unit in the label or suffix. Changing a
control updates :attr:`SongDocument.edit_settings` at once; the shared
:class:`~ui.quantize_preview.QuantizePreview` recomputes on the next event-loop turn, so
dragging the strength slider moves the ghost outlines in the piano roll live.

- **Apply (Q)** quantizes the selection, or the whole track when nothing is selected (one undo
  step, named e.g. "Quantize 58 notes to 1/16").
- **Play quantized** sets the track's non-destructive playback quantize; while it is on, changes
  to the settings follow into playback and merge into a single undo step.
- Settings the quantizer rejects (swing on a triplet grid) are shown as a one-line message and
  leave the last valid settings in force.

About 650 lines: the widgets of every part-1 setting and the one settings object they build,
kept together so no control can drift from what Apply, the preview and playback use; the
groove part of the panel is its own widget (:mod:`ui.groove_pool`).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine.errors import QuantaError
from engine.quantize import DIVISIONS, ENDS_MODES, GRID_TYPES, QuantizeSettings
from ui import commands
from ui.groove_pool import GroovePool
from ui.quantize_preview import QuantizePreview
from ui.song_document import SongDocument
from ui.theme import COLORS
from ui.timing_view import TimingView

ENDS_LABELS = {
    "keep-length": "Keep length",
    "quantize-ends": "Quantize ends",
    "quantize-lengths": "Quantize lengths",
    "keep-ends": "Keep ends",
}
LENGTH_GRIDS = [None] + [f"1/{n}{s}" for n in DIVISIONS for s in ("", "T", ".")]


class _PercentSpin(QDoubleSpinBox):
    """Shows 80 % rather than 80.00 %, while still holding 66.67 % exactly."""

    def textFromValue(self, value: float) -> str:  # noqa: N802 - Qt's name
        return f"{value:.2f}".rstrip("0").rstrip(".")


class PercentControl(QWidget):
    """A slider and a spin box showing one value in percent, kept in step.

    The slider works in tenths so that swing 66.7 % (triplet feel) is reachable by mouse."""

    valueChanged = Signal(float)

    def __init__(self, lo: float, hi: float, value: float, tip: str, parent=None):
        super().__init__(parent)
        self.slider = QSlider(Qt.Horizontal, self)
        self.slider.setRange(round(lo * 10), round(hi * 10))
        self.slider.setPageStep(50)
        self.spin = _PercentSpin(self)
        self.spin.setRange(lo, hi)
        self.spin.setDecimals(2)  # presets may hold 66.67 %
        self.spin.setSuffix(" %")
        self.spin.setKeyboardTracking(False)
        self.spin.setFixedWidth(78)
        for w in (self, self.slider, self.spin):
            w.setToolTip(tip)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.slider, 1)
        lay.addWidget(self.spin)
        self.slider.valueChanged.connect(lambda v: self._set(v / 10.0, from_slider=True))
        self.spin.valueChanged.connect(lambda v: self._set(v, from_slider=False))
        self.set_value(value)

    def value(self) -> float:
        return round(self.spin.value(), 2)

    def set_value(self, v: float) -> None:
        """Set without emitting (loading a preset or a track's settings)."""
        for w, val in ((self.slider, round(v * 10)), (self.spin, v)):
            w.blockSignals(True)
            w.setValue(val)
            w.blockSignals(False)

    def _set(self, v: float, from_slider: bool) -> None:
        other, val = (self.spin, v) if from_slider else (self.slider, round(v * 10))
        other.blockSignals(True)
        other.setValue(val)
        other.blockSignals(False)
        self.valueChanged.emit(self.value())


class QuantizePanel(QWidget):
    """The quantize dock's widget. Give it the document (and optionally the piano roll's
    preview, which is shared per document anyway)."""

    applied = Signal(str)  #: the undo text of an Apply, for the status bar

    def __init__(self, doc: SongDocument, preview: QuantizePreview | None = None, parent=None):
        super().__init__(parent)
        self.doc = doc
        self.preview = preview if preview is not None else QuantizePreview.for_document(doc)
        self._loading = False
        self._build()
        # The Q shortcut belongs to the main window's Edit > Quantize (one owner, or Qt calls it
        # ambiguous and fires neither); this action is for menus and toolbars that want it.
        self.apply_action = QAction("Apply quantize", self)
        self.apply_action.setToolTip("Quantize the selected notes, or the whole track (Q)")
        self.apply_action.triggered.connect(self.apply)
        doc.currentTrackChanged.connect(self._track_changed)
        doc.trackChanged.connect(self._some_track_changed)
        doc.songReplaced.connect(self._track_changed)
        doc.editSettingsChanged.connect(self._edit_settings_changed)
        self.preview.updated.connect(self._preview_updated)
        self.refresh_presets()
        self.load_settings(doc.edit_settings)
        self._track_changed()

    # -- layout -----------------------------------------------------------------------------
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(8, 8, 8, 8)
        outer.setSpacing(8)
        # The settings scroll (with the groove pool they are taller than a laptop screen);
        # Apply, the status line and the timing view stay in sight below them.
        controls = QWidget(self)
        controls.setObjectName("quantize_controls")
        root = QVBoxLayout(controls)
        root.setContentsMargins(0, 0, 4, 0)
        root.setSpacing(8)
        self.controls_scroll = QScrollArea(self)
        self.controls_scroll.setObjectName("quantize_scroll")
        self.controls_scroll.setWidgetResizable(True)
        self.controls_scroll.setFrameShape(QScrollArea.NoFrame)
        self.controls_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.controls_scroll.setWidget(controls)
        outer.addWidget(self.controls_scroll, 5)

        # Presets
        pre = QGroupBox("Preset", self)
        pl = QVBoxLayout(pre)
        self.preset_combo = QComboBox(pre)
        self.preset_combo.setToolTip("Load a factory or user preset into the controls below")
        self.preset_combo.activated.connect(self._preset_chosen)
        pl.addWidget(self.preset_combo)
        row = QHBoxLayout()
        self.save_btn = QPushButton("Save…", pre)
        self.save_btn.setToolTip("Save the current settings as a user preset")
        self.import_btn = QPushButton("Import…", pre)
        self.import_btn.setToolTip("Add a preset from a .json file to your user presets")
        self.export_btn = QPushButton("Export…", pre)
        self.export_btn.setToolTip("Write the chosen preset to a .json file to share it")
        self.delete_btn = QPushButton("Delete", pre)
        self.delete_btn.setToolTip("Delete the chosen user preset (factory presets stay)")
        for b, slot in (
            (self.save_btn, self.save_preset),
            (self.import_btn, self.import_preset),
            (self.export_btn, self.export_preset),
            (self.delete_btn, self.delete_preset),
        ):
            b.clicked.connect(lambda _=False, s=slot: s())
            row.addWidget(b)
        pl.addLayout(row)
        root.addWidget(pre)

        # Grid
        grid = QGroupBox("Grid", self)
        gf = QFormLayout(grid)
        self.division = QComboBox(grid)
        for n in DIVISIONS:
            self.division.addItem(f"1/{n}", n)
        self.division.setToolTip("Grid step as a note value: notes are pulled to multiples of it")
        self.grid_type = QComboBox(grid)
        for t in GRID_TYPES:
            self.grid_type.addItem(t.capitalize(), t)
        self.grid_type.setToolTip(
            "Straight; Triplet (3 in the time of 2, step × 2/3); Dotted (step × 3/2);\n"
            "Tuplet n:m (n notes in the time of m)"
        )
        tup = QWidget(grid)
        tl = QHBoxLayout(tup)
        tl.setContentsMargins(0, 0, 0, 0)
        self.tuplet_n = QSpinBox(tup)
        self.tuplet_m = QSpinBox(tup)
        for s, v in ((self.tuplet_n, 5), (self.tuplet_m, 4)):
            s.setRange(1, 64)
            s.setValue(v)
            s.setToolTip("Tuplet n:m — n notes in the time of m grid steps (e.g. 5:4 quintuplets)")
        tl.addWidget(self.tuplet_n)
        tl.addWidget(QLabel(":", tup))
        tl.addWidget(self.tuplet_m)
        tl.addStretch(1)
        self.offset = QSpinBox(grid)
        self.offset.setRange(-100000, 100000)
        self.offset.setSuffix(" ticks")
        self.offset.setToolTip(
            "Shifts the whole grid later (or earlier, negative) by this many ticks"
        )
        gf.addRow("Grid", self.division)
        gf.addRow("Type", self.grid_type)
        gf.addRow("Tuplet", tup)
        gf.addRow("Offset", self.offset)
        root.addWidget(grid)

        # Feel
        feel = QGroupBox("Feel", self)
        ff = QFormLayout(feel)
        self.strength = PercentControl(
            0,
            100,
            100,
            "How far each note moves towards its grid point: 100 % = onto it, "
            "50 % = halfway (always measured from where it was played)",
        )
        self.swing = PercentControl(
            50,
            75,
            50,
            "Delays every second grid point (MPC/Logic swing): 50 % = straight, "
            "66.7 % ≈ triplet feel, up to 75 %. Needs a straight grid.",
        )
        self.exclude = PercentControl(
            0,
            50,
            0,
            "Safe zone, in % of a grid step: notes closer than this to the grid are "
            "left exactly where they are (keeps the feel of nearly-right notes)",
        )
        self.catch_on = QCheckBox("Only notes within", feel)
        self.catch_on.setToolTip("Quantize only notes this close to a grid point; others stay")
        self.catch = PercentControl(
            0,
            100,
            25,
            "Catch range, in % of a grid step: notes farther than this from the grid "
            "are left alone (so deliberate off-grid notes survive)",
        )
        self.strength_label = QLabel("Strength", feel)
        ff.addRow(self.strength_label, self.strength)
        ff.addRow("Swing", self.swing)
        ff.addRow("Exclude within", self.exclude)
        ff.addRow(self.catch_on, self.catch)
        root.addWidget(feel)

        # Ends
        ends = QGroupBox("Note ends", self)
        ef = QFormLayout(ends)
        self.ends = QComboBox(ends)
        for m in ENDS_MODES:
            self.ends.addItem(ENDS_LABELS[m], m)
        self.ends.setToolTip(
            "Keep length: the end moves with the start.\nQuantize ends: ends go to the grid too."
            "\nQuantize lengths: lengths become whole multiples of the length grid."
            "\nKeep ends: only starts move; ends stay put."
        )
        self.length_grid = QComboBox(ends)
        for g in LENGTH_GRIDS:
            self.length_grid.addItem("Same as grid" if g is None else g, g)
        self.length_grid.setToolTip("Step that lengths are rounded to (Quantize lengths only)")
        ef.addRow("Ends", self.ends)
        ef.addRow("Length grid", self.length_grid)
        root.addWidget(ends)

        # Groove pool, groove amounts, humanize, flam, controllers (its own module)
        self.groove_pool = GroovePool(self.doc, self)
        self.groove_pool.changed.connect(self._controls_changed)
        self.groove_pool.message.connect(lambda text, err: self._show_status(text, error=err))
        root.addWidget(self.groove_pool)

        # Actions
        self.preview_box = QCheckBox("Preview", self)
        self.preview_box.setChecked(True)
        self.preview_box.setToolTip("Show outlines in the piano roll where each note will land")
        self.play_quantized = QCheckBox("Play quantized", self)
        self.play_quantized.setToolTip(
            "Play this track through these settings without changing its notes (non-destructive)"
        )
        self.apply_btn = QPushButton("Apply  (Q)", self)
        self.apply_btn.setObjectName("primary")
        self.apply_btn.setToolTip("Quantize the selected notes, or the whole track (Q). Undoable.")
        arow = QHBoxLayout()
        arow.addWidget(self.preview_box)
        arow.addWidget(self.play_quantized)
        arow.addStretch(1)
        arow.addWidget(self.apply_btn)
        outer.addLayout(arow)
        self.status = QLabel("", self)
        self.status.setWordWrap(True)
        self.status.setObjectName("dim")
        outer.addWidget(self.status)
        self.timing = TimingView(self)
        self.timing.setMinimumHeight(160)
        outer.addWidget(self.timing, 2)

        for combo in (self.division, self.grid_type, self.ends, self.length_grid):
            combo.currentIndexChanged.connect(self._controls_changed)
        for spin in (self.tuplet_n, self.tuplet_m, self.offset):
            spin.valueChanged.connect(self._controls_changed)
        for pc in (self.strength, self.swing, self.exclude, self.catch):
            pc.valueChanged.connect(self._controls_changed)
        self.catch_on.toggled.connect(self._controls_changed)
        self.preview_box.toggled.connect(self.doc.set_preview_enabled)
        self.play_quantized.toggled.connect(self._play_quantized_toggled)
        self.apply_btn.clicked.connect(self.apply)

    # -- settings <-> controls ----------------------------------------------------------------
    def settings_from_controls(self) -> QuantizeSettings:
        """The controls as validated settings (raises SettingsError with a one-line message)."""
        gtype = self.grid_type.currentData()
        return QuantizeSettings(
            division=self.division.currentData(),
            grid_type=gtype,
            tuplet=(self.tuplet_n.value(), self.tuplet_m.value()) if gtype == "tuplet" else None,
            offset=self.offset.value(),
            strength=self.strength.value(),
            swing=self.swing.value(),
            exclude_within=self.exclude.value(),
            catch_within=self.catch.value() if self.catch_on.isChecked() else None,
            ends=self.ends.currentData(),
            length_grid=self.length_grid.currentData(),
            **self.groove_pool.fields(),
        )

    def load_settings(self, s: QuantizeSettings) -> None:
        """Show ``s`` in the controls and make it the document's edit settings."""
        self._loading = True
        try:
            self.division.setCurrentIndex(self.division.findData(s.division))
            self.grid_type.setCurrentIndex(self.grid_type.findData(s.grid_type))
            if s.tuplet:
                self.tuplet_n.setValue(s.tuplet[0])
                self.tuplet_m.setValue(s.tuplet[1])
            self.offset.setValue(s.offset)
            self.strength.set_value(s.strength)
            self.swing.set_value(s.swing)
            self.exclude.set_value(s.exclude_within)
            self.catch_on.setChecked(s.catch_within is not None)
            if s.catch_within is not None:
                self.catch.set_value(s.catch_within)
            self.ends.setCurrentIndex(self.ends.findData(s.ends))
            i = self.length_grid.findData(s.length_grid)
            self.length_grid.setCurrentIndex(max(0, i))
            self.groove_pool.set_fields(s)
        finally:
            self._loading = False
        self._controls_changed()

    def _controls_changed(self, *_args) -> None:
        if self._loading:
            return
        tuplet = self.grid_type.currentData() == "tuplet"
        self.tuplet_n.setEnabled(tuplet)
        self.tuplet_m.setEnabled(tuplet)
        self.catch.setEnabled(self.catch_on.isChecked())
        self.length_grid.setEnabled(self.ends.currentData() == "quantize-lengths")
        # A groove brings its own base grid: division, type and swing do not apply then.
        grid_free = self.groove_pool.current_groove() is None
        for w in (self.division, self.grid_type, self.swing):
            w.setEnabled(grid_free)
        # Under a groove, strength is the groove's timing amount (as Ableton names it).
        self.strength_label.setText("Strength" if grid_free else "Timing")
        try:
            s = self.settings_from_controls()
        except QuantaError as exc:
            self._show_status(str(exc), error=True)
            self.apply_btn.setEnabled(False)
            return
        self.apply_btn.setEnabled(True)
        self.doc.set_edit_settings(s)
        track = self.doc.track()
        if self.play_quantized.isChecked() and track is not None and track.quantize != s:
            self.doc.push(commands.TrackQuantizeCommand(self.doc, self.doc.current_index, s))

    def _edit_settings_changed(self) -> None:
        """Settings set from outside (a project opened, a track's playback settings): show
        them. The panel's own changes come back equal and are ignored."""
        if self._loading:
            return
        try:
            mine = self.settings_from_controls()
        except QuantaError:
            mine = None
        if mine != self.doc.edit_settings:
            self.load_settings(self.doc.edit_settings)

    def _show_status(self, text: str, error: bool = False) -> None:
        self.status.setStyleSheet(f"color: {COLORS['error']};" if error else "")
        self.status.setText(text)

    # -- track / preview ----------------------------------------------------------------------
    def _some_track_changed(self, index: int) -> None:
        if index == self.doc.current_index:
            self._track_changed()

    def _track_changed(self, *_args) -> None:
        track = self.doc.track()
        self.play_quantized.blockSignals(True)
        self.play_quantized.setChecked(track is not None and track.quantize is not None)
        self.play_quantized.blockSignals(False)
        self.play_quantized.setEnabled(track is not None)
        self.apply_btn.setEnabled(track is not None)
        if track is not None and track.quantize is not None:
            self.load_settings(track.quantize)

    def _preview_updated(self) -> None:
        pv = self.preview
        track = self.doc.track()
        if pv.error:
            self._show_status(pv.error, error=True)
        elif pv.result is not None:
            r = pv.result.report
            extra = []
            if r.merged:
                extra.append(f"{r.merged} merged")
            if r.trimmed:
                extra.append(f"{r.trimmed} trimmed")
            scope = (
                "selected"
                if track is not None
                and pv.scope_mask is not None
                and (pv.scope_mask.sum() < track.notes.size)
                else "in track"
            )
            tail = f" ({', '.join(extra)})" if extra else ""
            self._show_status(f"{r.moved} of {pv.scope_mask.sum()} notes {scope} move{tail}")
        else:
            self._show_status("")
        if track is None or not track.notes.size:
            self.timing.set_data(
                track.notes["start"][:0] if track else _empty(),
                None,
                self.doc.edit_settings,
                self.doc.ppq,
            )
            return
        scope = pv.scope_mask if pv.scope_mask is not None else slice(None)
        after = pv.ghosts["start"] if pv.ghosts is not None else None
        self.timing.set_data(
            track.notes["start"][scope], after, self.doc.edit_settings, self.doc.ppq
        )

    # -- actions --------------------------------------------------------------------------------
    def apply(self) -> None:
        """Quantize the selection (or the whole track) with the current settings; undoable."""
        ti = self.doc.current_index
        track = self.doc.track()
        if track is None or not track.notes.size:
            return
        try:
            s = self.settings_from_controls()
        except QuantaError as exc:
            self._show_status(str(exc), error=True)
            return
        ids = self.doc.selection if self.doc.selection.size else None
        cmd = commands.quantize_apply(self.doc, ti, s, ids)
        self.doc.push(cmd)
        self.applied.emit(cmd.text())

    def _play_quantized_toggled(self, on: bool) -> None:
        ti = self.doc.current_index
        if ti < 0:
            return
        settings = None
        if on:
            try:
                settings = self.settings_from_controls()
            except QuantaError as exc:
                self._show_status(str(exc), error=True)
                self.play_quantized.setChecked(False)
                return
        self.doc.push(commands.TrackQuantizeCommand(self.doc, ti, settings))

    # -- presets ----------------------------------------------------------------------------------
    def _store(self):
        try:
            from app import preset_store
        except ImportError:
            return None
        return preset_store

    def refresh_presets(self, select: str | None = None) -> None:
        """Fill the chooser: factory presets first, then the user's."""
        store = self._store()
        self.preset_combo.blockSignals(True)
        self.preset_combo.clear()
        self.preset_combo.addItem("— choose a preset —", None)
        presets = []
        if store is not None:
            try:
                catalog = store.load_catalog()
            except QuantaError as exc:
                self._show_status(str(exc), error=True)
            else:
                # A user preset named like a factory one replaces it, as in the CLI.
                presets = [e.preset for e in catalog.entries if not e.shadowed]
                if catalog.problems:
                    self._show_status(catalog.problems[0], error=True)
        for pr in sorted(presets, key=lambda p: (p.source != "factory", p.name.lower())):
            label = pr.name if pr.source == "factory" else f"{pr.name}  (user)"
            self.preset_combo.addItem(label, pr)
            if pr.description:
                self.preset_combo.setItemData(
                    self.preset_combo.count() - 1, pr.description, Qt.ToolTipRole
                )
            if select is not None and pr.name == select:
                self.preset_combo.setCurrentIndex(self.preset_combo.count() - 1)
        self.preset_combo.blockSignals(False)
        for b in (self.save_btn, self.import_btn, self.export_btn, self.delete_btn):
            b.setEnabled(store is not None)
        self._update_preset_buttons()

    def current_preset(self):
        return self.preset_combo.currentData()

    def _update_preset_buttons(self) -> None:
        pr = self.current_preset()
        self.delete_btn.setEnabled(pr is not None and pr.source == "user")
        self.export_btn.setEnabled(pr is not None)

    def _preset_chosen(self, _index: int) -> None:
        pr = self.current_preset()
        self._update_preset_buttons()
        if pr is not None:
            self.load_settings(pr.settings)
            self._show_status(f"Preset “{pr.name}”: {pr.description}".rstrip(": "))

    def choose_preset(self, name: str) -> None:
        """Select a preset by name and load it (for code and tests)."""
        for i in range(self.preset_combo.count()):
            pr = self.preset_combo.itemData(i)
            if pr is not None and pr.name == name:
                self.preset_combo.setCurrentIndex(i)
                self._preset_chosen(i)
                return
        raise KeyError(name)

    def save_preset(self, name: str | None = None, replace: bool = False) -> None:
        """Save the controls as a user preset; asks before replacing one of the same name."""
        store = self._store()
        if store is None:
            return
        interactive = name is None
        if interactive:
            current = self.current_preset()
            name, ok = QInputDialog.getText(
                self, "Save preset", "Preset name:", text=current.name if current else ""
            )
            if not ok or not name.strip():
                return
        try:
            preset = store.Preset(name=name.strip(), settings=self.settings_from_controls())
            try:
                store.save_user_preset(preset, force=replace)
            except QuantaError:
                exists = any(
                    p.source == "user" and p.name.lower() == name.strip().lower()
                    for p in (e.preset for e in store.list_presets())
                )
                if not (exists and interactive):
                    raise
                answer = QMessageBox.question(
                    self, "Save preset", f"A user preset “{name.strip()}” exists. Replace it?"
                )
                if answer != QMessageBox.Yes:
                    return
                store.save_user_preset(preset, force=True)
        except QuantaError as exc:
            self._show_status(str(exc), error=True)
            return
        self.refresh_presets(select=name.strip())
        self._show_status(f"Saved preset “{name.strip()}”")

    def import_preset(self, path: str | None = None) -> None:
        store = self._store()
        if store is None:
            return
        if path is None:
            path, _ = QFileDialog.getOpenFileName(
                self, "Import preset", "", "Quanta presets (*.json);;All files (*)"
            )
            if not path:
                return
        try:
            pr = store.import_preset(Path(path))
        except (QuantaError, OSError) as exc:
            self._show_status(str(exc).splitlines()[0], error=True)
            return
        self.refresh_presets(select=pr.name)
        self._preset_chosen(self.preset_combo.currentIndex())
        self._show_status(f"Imported preset “{pr.name}”")

    def export_preset(self, path: str | None = None) -> None:
        store = self._store()
        pr = self.current_preset()
        if store is None or pr is None:
            return
        if path is None:
            path, _ = QFileDialog.getSaveFileName(
                self, "Export preset", f"{pr.name}.json", "Quanta presets (*.json)"
            )
            if not path:
                return
        try:
            store.export_preset(pr.name, Path(path))
        except (QuantaError, OSError) as exc:
            self._show_status(str(exc).splitlines()[0], error=True)
            return
        self._show_status(f"Exported “{pr.name}” to {Path(path).name}")

    def delete_preset(self, confirm: bool = True) -> None:
        store = self._store()
        pr = self.current_preset()
        if store is None or pr is None or pr.source != "user":
            return
        if confirm:
            answer = QMessageBox.question(self, "Delete preset", f"Delete the preset “{pr.name}”?")
            if answer != QMessageBox.Yes:
                return
        try:
            store.delete_user_preset(pr.name)
        except QuantaError as exc:
            self._show_status(str(exc), error=True)
            return
        self.refresh_presets()
        self._show_status(f"Deleted preset “{pr.name}”")


def _empty():
    import numpy as np

    return np.zeros(0, dtype=np.int64)
