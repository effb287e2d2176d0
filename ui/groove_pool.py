"""The groove pool: the quantize dock's groove, humanize, flam and controllers controls.

A Logic/Ableton user expects a *pool* of grooves next to the quantize amounts: the factory
grooves and the user's own (from :mod:`app.groove_store`, the folder beside the presets),
imported from Ableton ``.agr``, REAPER ``.rgt`` or Quanta ``.json`` files (by the Import button
or by dropping files on the main window), exported, deleted, and extracted from the notes on
screen. Choosing a groove, or moving any amount, emits :attr:`GroovePool.changed`; the quantize
panel folds :meth:`GroovePool.fields` into its one :class:`QuantizeSettings`, so the preview,
Apply (Q), "Play quantized" and live recording all get the same groove.

Choices where the issue is silent:

- The pool holds the groove *template* in the settings (not its name), so a project or preset
  saved from the app carries the whole groove and still plays where the name is unknown.
- A groove in the settings that is not in the pool (a project's embedded groove, a preset naming
  a groove this machine lacks) is listed once, at the top, marked "in song" or "missing".
- Extract uses the selected notes of the current track, or all its notes when nothing is
  selected, from the grid origin (the panel's offset); the pattern length is a whole number of
  bars of the time signature at the first note (or a number of beats), as in Logic's "Make
  Groove Template", and the result is saved to the user folder at once (a free name is chosen:
  "Bass groove 2" when "Bass groove" exists).
- Re-roll picks a new random humanize seed (never the current one), so the same take can be
  humanized again without touching any amount.
"""

from __future__ import annotations

import secrets
from fractions import Fraction
from pathlib import Path

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine.errors import QuantaError
from engine.quantize import BASES, GrooveTemplate, QuantizeSettings
from ui.song_document import SongDocument

#: File-dialog filter and the suffixes a drop on the window imports as grooves.
GROOVE_SUFFIXES = (".agr", ".rgt", ".json")
GROOVE_FILTER = "Grooves (*.json *.agr *.rgt);;Quanta grooves (*.json);;Ableton grooves (*.agr)" \
    ";;REAPER SWS grooves (*.rgt);;All files (*)"
#: Seeds the re-roll button draws from (a QSpinBox holds 32-bit ints).
MAX_UI_SEED = 2**31 - 1
#: Pattern lengths offered by Extract: (label, bars, beats) — one of bars/beats is None.
EXTRACT_LENGTHS = (
    ("1 bar", 1, None),
    ("2 bars", 2, None),
    ("4 bars", 4, None),
    ("1 beat", None, 1),
    ("2 beats", None, 2),
)


def _store():
    try:
        from app import groove_store
    except ImportError:  # pragma: no cover - the app package always ships with the UI
        return None
    return groove_store


def is_groove_file(path: str | Path) -> bool:
    """A file a drop on the window should import as a groove (by its suffix).

    ``.json`` is shared with projects; :func:`ui.window_files.openable` is asked first, so a
    project folder's ``project.json`` still opens as a project.
    """
    return Path(path).suffix.lower() in GROOVE_SUFFIXES


class _Amount(QDoubleSpinBox):
    """A percent or ms amount with its unit as suffix; emits only on committed values."""

    def __init__(self, lo: float, hi: float, suffix: str, tip: str, step: float = 5.0, parent=None):
        super().__init__(parent)
        self.setRange(lo, hi)
        self.setDecimals(1)
        self.setSingleStep(step)
        self.setSuffix(suffix)
        self.setKeyboardTracking(False)
        self.setToolTip(tip)

    def textFromValue(self, value: float) -> str:  # noqa: N802 - Qt's name
        return f"{value:.1f}".rstrip("0").rstrip(".")


class ExtractDialog(QDialog):
    """Name, base and pattern length for "Extract groove"."""

    def __init__(self, name: str, source: str, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Extract groove")
        form = QFormLayout(self)
        self.name = QLineEdit(name, self)
        self.base = QComboBox(self)
        for b in BASES:
            self.base.addItem(b, b)
        self.base.setCurrentIndex(self.base.findData("1/16"))
        self.base.setToolTip("The grid the groove is measured on: each note goes to its nearest step")
        self.length = QComboBox(self)
        for i, (label, _bars, _beats) in enumerate(EXTRACT_LENGTHS):
            self.length.addItem(label, i)  # an index: Qt does not keep (int, None) tuples
        self.length.setToolTip(
            "Pattern length: deviations are the medians over every repetition of it"
        )
        form.addRow("From", QLabel(source, self))
        form.addRow("Name", self.name)
        form.addRow("Base", self.base)
        form.addRow("Length", self.length)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)


class GroovePool(QWidget):
    """Groove list with Import/Export/Delete/Extract, the groove amounts, humanize and flam."""

    changed = Signal()  #: a groove was chosen or an amount moved
    message = Signal(str, bool)  #: (one line, is it an error) for the panel's status line

    def __init__(self, doc: SongDocument, parent=None):
        super().__init__(parent)
        self.doc = doc
        self._loading = False
        self.last_error = ""  #: the last one-line error said (a failed import, extract…)
        self._extra: tuple[str, GrooveTemplate | str] | None = None  # ("song"|"missing", groove)
        self._build()
        doc.songReplaced.connect(self._song_replaced)
        self._song_replaced()
        self.refresh()

    # -- layout -----------------------------------------------------------------------------
    def _build(self) -> None:
        root = QVBoxLayout(self)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(8)

        box = QGroupBox("Groove", self)
        bl = QVBoxLayout(box)
        self.list = QListWidget(box)
        self.list.setObjectName("groove_list")
        self.list.setToolTip(
            "Quantize to a groove instead of the grid: the factory grooves, then yours.\n"
            "Drop .agr / .rgt / .json groove files on the window to add them."
        )
        self.list.setMinimumHeight(96)  # five rows at least: a pool, not a combo
        self.list.setMaximumHeight(136)
        self.list.currentRowChanged.connect(self._row_changed)
        bl.addWidget(self.list)
        row = QHBoxLayout()
        self.import_btn = QPushButton("Import…", box)
        self.import_btn.setToolTip("Add a groove from a .json, Ableton .agr or REAPER .rgt file")
        self.export_btn = QPushButton("Export…", box)
        self.export_btn.setToolTip("Write the chosen groove to .json, .agr or .rgt (by extension)")
        self.delete_btn = QPushButton("Delete", box)
        self.delete_btn.setToolTip("Delete the chosen user groove (factory grooves stay)")
        self.extract_btn = QPushButton("Extract…", box)
        self.extract_btn.setToolTip(
            "Extract groove from selection: make a groove from the selected notes (or the whole "
            "track when nothing is selected) and add it to your grooves"
        )
        for b, slot in (
            (self.import_btn, self.import_file),
            (self.export_btn, self.export_current),
            (self.delete_btn, self.delete_current),
            (self.extract_btn, self.extract),
        ):
            b.clicked.connect(lambda _=False, s=slot: s())
            row.addWidget(b)
        bl.addLayout(row)
        form = QFormLayout()
        self.pre_quantize = _Amount(
            0, 100, " %",
            "Pre-quantize: first pull notes this far toward the groove's straight base grid",
        )
        self.groove_velocity = _Amount(
            -100, 100, " %",
            "Velocity: how far velocities move toward the groove's accents "
            "(negative: away from them)",
        )
        self.groove_length = _Amount(
            0, 100, " %", "Length: how far note lengths move toward the groove's lengths"
        )
        form.addRow("Pre-quantize", self.pre_quantize)
        form.addRow("Velocity", self.groove_velocity)
        form.addRow("Length", self.groove_length)
        bl.addLayout(form)
        root.addWidget(box)

        hum = QGroupBox("Humanize, flam, controllers", self)
        hf = QFormLayout(hum)
        self.humanize_ms = _Amount(
            0, 100, " ms",
            "Timing deviation (standard deviation, ms) added after quantize; chords stay "
            "together", step=1.0,
        )
        self.humanize_velocity = _Amount(
            0, 127, "", "Velocity deviation (standard deviation, velocity steps)", step=1.0
        )
        self.noise = QComboBox(hum)
        self.noise.addItem("Pink (like a player)", "pink")
        self.noise.addItem("White (dice)", "white")
        self.noise.setToolTip(
            "Pink: 1/f noise, drifts like human timing; white: independent random deviations"
        )
        seed_row = QWidget(hum)
        sl = QHBoxLayout(seed_row)
        sl.setContentsMargins(0, 0, 0, 0)
        self.seed = QSpinBox(seed_row)
        self.seed.setRange(0, MAX_UI_SEED)
        self.seed.setKeyboardTracking(False)
        self.seed.setToolTip("Same seed, same settings: the same result, every time")
        self.reroll_btn = QPushButton("Re-roll", seed_row)
        self.reroll_btn.setToolTip("A new random seed: humanize this take differently")
        self.reroll_btn.clicked.connect(self.reroll)
        sl.addWidget(self.seed, 1)
        sl.addWidget(self.reroll_btn)
        self.flam = QSpinBox(hum)
        self.flam.setSuffix(" ticks")
        self.flam.setKeyboardTracking(False)
        self.flam.setToolTip(
            "Spread chords like a strum: each next note this many ticks later "
            "(positive: low to high, negative: high to low)"
        )
        self.follow = QCheckBox("Controllers follow notes", hum)
        self.follow.setToolTip(
            "Move CC, pitch bend and pressure with the note they belong to, so a bend stays "
            "on its note"
        )
        hf.addRow("Timing", self.humanize_ms)
        hf.addRow("Velocity", self.humanize_velocity)
        hf.addRow("Noise", self.noise)
        hf.addRow("Seed", seed_row)
        hf.addRow("Flam", self.flam)
        hf.addRow(self.follow)
        root.addWidget(hum)

        for w in (
            self.pre_quantize,
            self.groove_velocity,
            self.groove_length,
            self.humanize_ms,
            self.humanize_velocity,
        ):
            w.valueChanged.connect(self._emit)
        self.seed.valueChanged.connect(self._emit)
        self.flam.valueChanged.connect(self._emit)
        self.noise.currentIndexChanged.connect(self._emit)
        self.follow.toggled.connect(self._emit)

    def _say(self, text: str, error: bool) -> None:
        """One line for the panel's status (errors also kept for the window's drop handler)."""
        self.last_error = text if error else ""
        self.message.emit(text, error)

    def _song_replaced(self) -> None:
        ppq = self.doc.ppq
        self.flam.setRange(-ppq, ppq)

    def _emit(self, *_args) -> None:
        self._update_enabled()
        if not self._loading:
            self.changed.emit()

    def _update_enabled(self) -> None:
        on = self.current_groove() is not None
        for w in (self.pre_quantize, self.groove_velocity, self.groove_length):
            w.setEnabled(on)
        entry = self.current_entry()
        self.delete_btn.setEnabled(entry is not None and entry.source == "user")
        self.export_btn.setEnabled(isinstance(self.current_groove(), GrooveTemplate))
        self.noise.setEnabled(self.humanize_ms.value() > 0 or self.humanize_velocity.value() > 0)

    # -- the list ---------------------------------------------------------------------------
    def refresh(self, select: GrooveTemplate | str | None = ...) -> None:
        """Reload the pool from the store; keep (or set) the chosen groove."""
        keep = self.current_groove() if select is ... else select
        store = self._entries_and_problems()
        entries, problems = store
        self._loading = True
        try:
            self.list.clear()
            self._rows: list[tuple[str, object]] = [("none", None)]
            item = QListWidgetItem("None — quantize to the grid")
            item.setToolTip("No groove: the grid, swing and strength above apply")
            self.list.addItem(item)
            if self._extra is not None:
                kind, groove = self._extra
                name = groove.name if isinstance(groove, GrooveTemplate) else groove
                item = QListWidgetItem(f"{name}  ({'in song' if kind == 'song' else 'missing'})")
                item.setToolTip(
                    "The groove this song's settings carry (not in your groove folder)"
                    if kind == "song"
                    else "This groove is not in the pool: import it, or choose another"
                )
                self.list.addItem(item)
                self._rows.append((kind, groove))
            for e in entries:
                if e.shadowed:
                    continue
                label = e.name if e.source == "factory" else f"{e.name}  (user)"
                item = QListWidgetItem(label)
                desc = e.template.description
                item.setToolTip(
                    f"{e.template.base}, {float(e.template.length):g} beats, "
                    f"{len(e.template.points)} points" + (f"\n{desc}" if desc else "")
                )
                self.list.addItem(item)
                self._rows.append(("entry", e))
            self.list.setCurrentRow(self._row_of(keep))
        finally:
            self._loading = False
        self._update_enabled()
        if problems:
            self._say(problems[0], True)

    def _entries_and_problems(self):
        store = _store()
        if store is None:
            return [], ()
        try:
            catalog = store.load_catalog()
        except QuantaError as exc:
            return [], (str(exc),)
        return list(catalog.entries), catalog.problems

    def _row_of(self, groove) -> int:
        if groove is None:
            return 0
        for i, (kind, data) in enumerate(self._rows):
            if kind == "entry":
                t = data.template
                if groove == t or (isinstance(groove, str) and groove.casefold() == t.name.casefold()):
                    return i
            elif kind in ("song", "missing") and data == groove:
                return i
        return 0

    def names(self) -> list[str]:
        """The listed grooves' names (for tests and menus)."""
        return [
            d.name if k == "entry" else (d if isinstance(d, str) else d.name)
            for k, d in self._rows[1:]
        ]

    def current_entry(self):
        """The chosen pool entry (a groove_store.GrooveEntry), or None."""
        row = self.list.currentRow()
        if 0 <= row < len(getattr(self, "_rows", ())) and self._rows[row][0] == "entry":
            return self._rows[row][1]
        return None

    def current_groove(self) -> GrooveTemplate | str | None:
        """What goes into the settings' ``groove`` field."""
        row = self.list.currentRow()
        if not 0 <= row < len(getattr(self, "_rows", ())):
            return None
        kind, data = self._rows[row]
        if kind == "entry":
            return data.template
        return data

    def choose(self, name: str | None) -> None:
        """Select a groove by name (None: the grid) and emit :attr:`changed`."""
        if name is None:
            self.list.setCurrentRow(0)
            return
        row = self._row_of(name)
        if row == 0:
            raise KeyError(name)
        self.list.setCurrentRow(row)

    def _row_changed(self, _row: int) -> None:
        self._emit()
        g = self.current_groove()
        if isinstance(g, GrooveTemplate) and not self._loading:
            pts = len(g.points)
            tail = f": {g.description.splitlines()[0]}" if g.description else ""
            self._say(f"Groove “{g.name}” ({g.base}, {pts} points){tail}", False)

    # -- settings <-> controls --------------------------------------------------------------
    def fields(self) -> dict:
        """The part-2 fields of :class:`QuantizeSettings` as the controls show them."""
        return {
            "groove": self.current_groove(),
            "pre_quantize": self.pre_quantize.value(),
            "groove_velocity": self.groove_velocity.value(),
            "groove_length": self.groove_length.value(),
            "humanize_ms": self.humanize_ms.value(),
            "humanize_velocity": self.humanize_velocity.value(),
            "humanize_noise": self.noise.currentData(),
            "humanize_seed": self.seed.value(),
            "flam": self.flam.value(),
            "controllers": "follow" if self.follow.isChecked() else "stay",
        }

    def set_fields(self, s: QuantizeSettings) -> None:
        """Show the part-2 fields of ``s`` without emitting :attr:`changed`."""
        self._loading = True
        try:
            g = s.groove
            self._extra = None
            if g is not None and self._row_of(g) == 0:
                known = isinstance(g, GrooveTemplate)
                self._extra = ("song" if known else "missing", g)
            self.refresh(select=g)
            self.pre_quantize.setValue(s.pre_quantize)
            self.groove_velocity.setValue(s.groove_velocity)
            self.groove_length.setValue(s.groove_length)
            self.humanize_ms.setValue(s.humanize_ms)
            self.humanize_velocity.setValue(s.humanize_velocity)
            self.noise.setCurrentIndex(max(0, self.noise.findData(s.humanize_noise)))
            if s.humanize_seed > MAX_UI_SEED:  # a preset's 64-bit seed: shown folded, said so
                self._say(f"Humanize seed {s.humanize_seed} shown as its low 31 bits", False)
            self.seed.setValue(s.humanize_seed & MAX_UI_SEED)
            self.flam.setValue(max(self.flam.minimum(), min(self.flam.maximum(), s.flam)))
            self.follow.setChecked(s.controllers == "follow")
        finally:
            self._loading = False
        self._update_enabled()

    def reroll(self) -> None:
        """A new random humanize seed (never the current one)."""
        old = self.seed.value()
        new = old
        while new == old:
            new = secrets.randbelow(MAX_UI_SEED + 1)
        self.seed.setValue(new)
        self._say(f"Humanize seed {new}", False)

    # -- import / export / delete -------------------------------------------------------------
    def import_file(self, path: str | Path | None = None) -> GrooveTemplate | None:
        """Import a .json/.agr/.rgt file into the user's grooves and choose it.

        A bad file is one line (the message signal) and nothing is imported; a name already
        used by a user groove is imported under a free name ("Funk 2")."""
        store = _store()
        if store is None:
            return None
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Import groove", "", GROOVE_FILTER)
            if not path:
                return None
        try:
            loaded = store.read_groove_file(Path(path))
            template = self._free_named(loaded.template)
            store.save_user_groove(template)
        except (QuantaError, OSError) as exc:
            self._say(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, True)
            return None
        self.refresh(select=template)
        self._emit()
        self._say(f"Imported groove “{template.name}” from {Path(path).name}", False)
        return template

    def _free_named(self, template: GrooveTemplate) -> GrooveTemplate:
        """The template under a name no user groove has ("Name 2", "Name 3", …)."""
        from engine.presets import same_name

        users = [e.name for e in self._entries_and_problems()[0] if e.source == "user"]
        name, n = template.name, 1
        while any(same_name(u, name) for u in users):
            n += 1
            suffix = f" {n}"
            name = template.name[: 64 - len(suffix)] + suffix
        if name == template.name:
            return template
        return GrooveTemplate(name, template.base, template.length, template.points, template.description)

    def export_current(self, path: str | Path | None = None) -> Path | None:
        """Write the chosen groove to a file; the extension picks the format."""
        store = _store()
        g = self.current_groove()
        if store is None or not isinstance(g, GrooveTemplate):
            return None
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Export groove", f"{g.name}.json", GROOVE_FILTER)
            if not path:
                return None
        from engine.presets import groove_file_bytes, kind_of

        try:
            kind = kind_of(path)
            if kind is None:
                raise QuantaError(f"{Path(path).name}: export to .json, .agr or .rgt")
            out = store.atomic_write_bytes(Path(path), groove_file_bytes(g, kind))
        except (QuantaError, OSError) as exc:
            self._say(str(exc).splitlines()[0], True)
            return None
        self._say(f"Exported groove “{g.name}” to {Path(path).name}", False)
        return Path(out)

    def delete_current(self, confirm: bool = True) -> bool:
        """Delete the chosen user groove (factory grooves cannot be deleted)."""
        store = _store()
        entry = self.current_entry()
        if store is None or entry is None or entry.source != "user":
            return False
        if confirm:
            answer = QMessageBox.question(self, "Delete groove", f"Delete the groove “{entry.name}”?")
            if answer != QMessageBox.Yes:
                return False
        try:
            store.delete_user_groove(entry.name)
        except QuantaError as exc:
            self._say(str(exc), True)
            return False
        self.refresh(select=None)
        self._emit()
        self._say(f"Deleted groove “{entry.name}”", False)
        return True

    # -- extract --------------------------------------------------------------------------------
    def extract(
        self,
        base: str | None = None,
        bars: int | None = 1,
        beats: int | None = None,
        name: str | None = None,
    ) -> GrooveTemplate | None:
        """Extract a groove from the selection (or the whole track), save it, choose it.

        With ``base`` None a dialog asks for name, base and length; otherwise the arguments
        are used as given (code and tests)."""
        store = _store()
        track = self.doc.track()
        if store is None or track is None or not track.notes.size:
            self._say("Extract groove: the track has no notes", True)
            return None
        sel = self.doc.selection_mask()
        notes = track.notes[sel] if sel.any() else track.notes
        source = f"{notes.size} selected notes" if sel.any() else f"all {notes.size} notes"
        tname = track_name(track) or "Track"
        if base is None:
            dialog = ExtractDialog(name or f"{tname} groove", source, self)
            if not dialog.exec():
                return None
            base = dialog.base.currentData()
            _label, bars, beats = EXTRACT_LENGTHS[dialog.length.currentData()]
            name = dialog.name.text().strip() or f"{tname} groove"
        from engine.quantize import default_length, extract_from_notes

        first = int(notes["start"].min())
        sigs = self.doc.song.time_signatures()
        if beats is not None:
            length = Fraction(beats)
        else:
            length = default_length(first, base, sigs) * int(bars or 1)
        try:
            template = extract_from_notes(
                np.sort(notes, order="start"),
                self.doc.ppq,
                base=base,
                length=length,
                origin=self.doc.edit_settings.offset,
                time_signatures=sigs,
                name=(name or f"{tname} groove")[:64],
                description=f"Extracted in Quanta from {source} of “{tname}” ({base}, "
                f"{float(length):g} beats).",
            )
            template = self._free_named(template)
            store.save_user_groove(template)
        except QuantaError as exc:
            self._say(str(exc).splitlines()[0], True)
            return None
        self.refresh(select=template)
        self._emit()
        self._say(
            f"Extracted groove “{template.name}” ({len(template.points)} points) from {source}",
            False,
        )
        return template


def track_name(track) -> str:
    """The track's name for a default groove name ("" when it has none)."""
    name = getattr(track, "name", "")
    if callable(name):
        name = name()
    return str(name or "").strip()
