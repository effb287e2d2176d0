"""Settings: MIDI API and ports, audio device/rate/block size, editing (undo steps), and each
track's sound.

Device choices belong to the machine, not the song, so they persist in QSettings (keys below)
and are used at the next start too. A track's instrument and effects belong to the song: they
are written into ``Track.extra`` (saved in the project) through an undoable command.

Audio devices are listed only when the Audio tab is opened: initialising PortAudio connects to
the sound server, which is slow and which nothing else in the dialog needs.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from engine.errors import QuantaError
from ui.plugin_loading import load_plugin
from ui.song_document import DEFAULT_UNDO_LIMIT, SongDocument
from ui.track_list import TrackExtraCommand, instrument_label, is_listed

KEY_MIDI_API = "midi/api"
KEY_MIDI_OUTPUT = "midi/output"
KEY_MIDI_INPUT = "midi/input"
KEY_AUDIO_DEVICE = "audio/device"
KEY_AUDIO_RATE = "audio/rate"
KEY_AUDIO_BLOCK = "audio/block_size"
KEY_AUDIO_ENABLED = "audio/enabled"
KEY_UNDO_LIMIT = "edit/undo_steps"
MAX_UNDO_LIMIT = 100_000

MIDI_APIS = (("jack", "JACK"), ("alsa", "ALSA"))
RATES = (44100, 48000, 88200, 96000)
BLOCK_SIZES = (64, 128, 256, 512, 1024, 2048)
NONE = "(none)"
GM_BUILTIN = "Built-in GM sounds"


def _port_names(kind: str, api: str) -> tuple[list[str], str]:
    """Names of MIDI ``kind`` ("output"/"input") ports and an error line ('' if none)."""
    try:
        from engine.ports import list_ports
    except ImportError:
        return [], "MIDI port support is not installed"
    try:
        inputs, outputs = list_ports(api)
    except QuantaError as exc:
        return [], str(exc)
    found = outputs if kind == "output" else inputs
    return [p if isinstance(p, str) else str(getattr(p, "name", p)) for p in found], ""


@dataclass(frozen=True)
class PluginChoice:
    """One entry of the plugin host's list (``quanta plugins``): what a track can use."""

    name: str
    kind: str  #: "instrument" or "effect"
    format: str  #: builtin, stock, lv2, vst3 or sf2
    ident: str  #: program, stock effect name, URI or path

    @property
    def spec(self) -> str:
        """What engine.plugins.loader / effects load: builtin:PROG, a stock name, lv2:URI..."""
        return self.ident if self.format == "stock" else f"{self.format}:{self.ident}"


def host_plugins() -> list[PluginChoice]:
    """Every working instrument and effect, from the plugin host's (cached) scan."""
    try:
        from app.commands.plugins import collect
    except ImportError:
        return []
    try:
        groups = collect()
    except (QuantaError, OSError):
        return []
    out = []
    for fmt, entries in groups.items():
        for e in entries:
            spec = str(e.get("spec", ""))
            if not e.get("ok") or ":" not in spec and fmt != "stock":
                continue  # failed probes, and the drum kit (it follows channel 10 by itself)
            name = str(e.get("name", spec))
            if fmt == "builtin":
                name = f"Quanta Synth: {spec.partition(':')[2]}"
            fmt_, ident = ("stock", spec) if fmt == "stock" else spec.split(":", 1)
            out.append(PluginChoice(name, str(e.get("kind")), fmt_, ident))
    return out


def plugin_entry(choice: PluginChoice, state: dict | None = None) -> dict:
    """How a chosen plugin is stored in ``Track.extra`` (and so in the project file)."""
    return {
        "name": choice.name,
        "kind": choice.kind,
        "format": choice.format,
        "ident": choice.ident,
        "state": dict(state or {}),
    }


class SettingsDialog(QDialog):
    """Preferences. ``accept()`` writes device choices to QSettings and sounds to the song."""

    def __init__(
        self,
        settings: QSettings,
        document: SongDocument | None = None,
        track_index: int | None = None,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.setWindowTitle("Quanta Settings")
        self.settings = settings
        self.doc = document
        self.tabs = QTabWidget()
        self.tabs.addTab(self._midi_tab(), "MIDI")
        self.audio_tab = self._audio_tab()
        self.tabs.addTab(self.audio_tab, "Audio")
        self.tabs.addTab(self._editing_tab(), "Editing")
        if document is not None:
            self.tracks_tab = self._tracks_tab(track_index)
            self.tabs.addTab(self.tracks_tab, "Track sound")
        self.tabs.currentChanged.connect(self._tab_changed)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.tabs)
        lay.addWidget(buttons)
        self.resize(560, 420)
        if track_index is not None and document is not None:
            self.tabs.setCurrentWidget(self.tracks_tab)

    # -- MIDI -----------------------------------------------------------------------------
    def _midi_tab(self) -> QWidget:
        w = QWidget()
        form = QFormLayout(w)
        self.api = QComboBox()
        for key, label in MIDI_APIS:
            self.api.addItem(label, key)
        self.api.setToolTip("The MIDI system: JACK (recommended with a JACK server) or ALSA")
        self.api.setCurrentIndex(
            max(0, self.api.findData(self.settings.value(KEY_MIDI_API, "jack")))
        )
        self.output = QComboBox()
        self.output.setToolTip("Where Quanta plays the song")
        self.input = QComboBox()
        self.input.setToolTip("Where Quanta records from (live input quantize applies)")
        self.midi_note = QLabel()
        self.midi_note.setObjectName("dim")
        self.midi_note.setWordWrap(True)
        rescan = QPushButton("Rescan")
        rescan.setToolTip("List the ports again (after plugging in a device)")
        rescan.clicked.connect(self.refresh_ports)
        form.addRow("MIDI system", self.api)
        form.addRow("Output port", self.output)
        form.addRow("Input port", self.input)
        form.addRow("", rescan)
        form.addRow(self.midi_note)
        self.api.currentIndexChanged.connect(self.refresh_ports)
        self.refresh_ports()
        return w

    def refresh_ports(self) -> None:
        api = self.api.currentData()
        notes = []
        for combo, kind, key in (
            (self.output, "output", KEY_MIDI_OUTPUT),
            (self.input, "input", KEY_MIDI_INPUT),
        ):
            names, err = _port_names(kind, api)
            saved = str(self.settings.value(key, "") or "")
            combo.clear()
            combo.addItem(NONE, "")
            for n in names:
                combo.addItem(n, n)
            if saved and saved not in names:
                combo.addItem(f"{saved} (missing)", saved)
                notes.append(f"The saved {kind} port “{saved}” is not there now.")
            combo.setCurrentIndex(max(0, combo.findData(saved)))
            if err:
                notes.append(err)
        self.midi_note.setText(" ".join(dict.fromkeys(notes)))

    # -- audio ----------------------------------------------------------------------------
    def _audio_tab(self) -> QWidget:
        w = QWidget()
        form = QFormLayout(w)
        self.sound_on = QCheckBox("Play sound through the audio device")
        self.sound_on.setToolTip(
            "Off: Quanta only sends MIDI to the chosen port (use an external synth)"
        )
        self.sound_on.setChecked(
            str(self.settings.value(KEY_AUDIO_ENABLED, "true")).lower() not in ("false", "0")
        )
        form.addRow(self.sound_on)
        self.device = QComboBox()
        self.device.setToolTip("The audio output the instruments play through")
        saved = str(self.settings.value(KEY_AUDIO_DEVICE, "") or "")
        self.device.addItem(saved or "(default)", saved)
        self._devices_listed = False
        self.rate = QComboBox()
        for r in RATES:
            self.rate.addItem(f"{r} Hz", r)
        self.rate.setToolTip("Sample rate; 48000 Hz suits most interfaces")
        self.rate.setCurrentIndex(
            max(0, self.rate.findData(int(self.settings.value(KEY_AUDIO_RATE, 48000))))
        )
        self.block = QComboBox()
        for b in BLOCK_SIZES:
            self.block.addItem(f"{b} frames", b)
        self.block.setToolTip("Smaller blocks: less latency, more risk of dropouts (underruns)")
        self.block.setCurrentIndex(
            max(0, self.block.findData(int(self.settings.value(KEY_AUDIO_BLOCK, 256))))
        )
        self.latency = QLabel()
        self.latency.setObjectName("dim")
        self.rate.currentIndexChanged.connect(self._latency)
        self.block.currentIndexChanged.connect(self._latency)
        self._latency()
        form.addRow("Device", self.device)
        form.addRow("Sample rate", self.rate)
        form.addRow("Block size", self.block)
        form.addRow("", self.latency)
        return w

    def _latency(self) -> None:
        ms = 1000.0 * self.block.currentData() / self.rate.currentData()
        self.latency.setText(f"{ms:.1f} ms per block")

    def _tab_changed(self, index: int) -> None:
        if self.tabs.widget(index) is self.audio_tab and not self._devices_listed:
            self.list_audio_devices()

    def list_audio_devices(self) -> None:
        self._devices_listed = True
        saved = self.device.currentData()
        names: list[str] = []
        try:
            from engine.audio import list_devices

            names = [str(getattr(d, "name", d)) for d in list_devices()]
        except ImportError:
            try:
                import sounddevice as sd

                names = [d["name"] for d in sd.query_devices() if d["max_output_channels"] > 0]
            except (ImportError, OSError):
                names = []
        except QuantaError:
            names = []
        self.device.clear()
        self.device.addItem("(default)", "")
        for n in names:
            self.device.addItem(n, n)
        if not names:
            self.device.addItem("no audio device found", "")
        if saved and saved not in names:
            self.device.addItem(f"{saved} (missing)", saved)
        self.device.setCurrentIndex(max(0, self.device.findData(saved)))

    # -- editing ------------------------------------------------------------------------------
    def _editing_tab(self) -> QWidget:
        w = QWidget()
        form = QFormLayout(w)
        self.undo_steps = QSpinBox()
        self.undo_steps.setRange(0, MAX_UNDO_LIMIT)
        self.undo_steps.setSingleStep(50)
        self.undo_steps.setSpecialValueText("Unlimited")
        self.undo_steps.setMaximumWidth(140)
        self.undo_steps.setValue(undo_limit(self.settings))
        self.undo_steps.setToolTip(
            "How many edits Edit → Undo can take back; the oldest are forgotten first"
        )
        note = QLabel(
            "Each step keeps only the notes it changed. A new limit applies to the next song "
            "opened or started when this song already has undo history."
        )
        note.setObjectName("dim")
        note.setWordWrap(True)
        form.addRow("Undo steps", self.undo_steps)
        form.addRow(note)
        return w

    # -- per-track sound --------------------------------------------------------------------
    def _tracks_tab(self, track_index: int | None) -> QWidget:
        w = QWidget()
        lay = QVBoxLayout(w)
        form = QFormLayout()
        self.track = QComboBox()
        for i, t in enumerate(self.doc.song.tracks):
            if is_listed(t):
                self.track.addItem(t.name or f"Track {i}", i)
        self.instrument = QComboBox()
        self.instrument.setToolTip("The instrument plugin that plays this track")
        self.instrument.addItem(GM_BUILTIN, None)
        self._plugins = host_plugins()
        self._instruments = [p for p in self._plugins if p.kind == "instrument"]
        for info in self._instruments:
            self.instrument.addItem(f"{info.name} ({info.format})", info.spec)
        form.addRow("Track", self.track)
        form.addRow("Instrument", self.instrument)
        lay.addLayout(form)
        lay.addWidget(QLabel("Effects (in order)"))
        row = QHBoxLayout()
        self.effects = QListWidget()
        self.effects.setToolTip(
            "Effects after the instrument, top to bottom; select one to edit it"
        )
        self.effects.currentRowChanged.connect(self._effect_selected)
        row.addWidget(self.effects, 1)
        side = QVBoxLayout()
        self.effect_choice = QComboBox()
        self._effects = [p for p in self._plugins if p.kind == "effect"]
        for info in self._effects:
            self.effect_choice.addItem(f"{info.name} ({info.format})", info.spec)
        add = QPushButton("Add")
        add.clicked.connect(self._add_effect)
        remove = QPushButton("Remove")
        remove.clicked.connect(self._remove_effect)
        self.edit_effect = QPushButton("Edit…")
        self.edit_effect.setToolTip(
            "Open the selected effect's own editor (or its sliders); each change is one undo step"
        )
        self.edit_effect.clicked.connect(self._edit_effect)
        for x in (self.effect_choice, add, remove, self.edit_effect):
            side.addWidget(x)
        side.addStretch(1)
        row.addLayout(side)
        lay.addLayout(row)
        lay.addWidget(QLabel("Parameters"))
        self.params = QTableWidget(0, 2)
        self.params.setHorizontalHeaderLabels(("Parameter", "Value"))
        self.params.horizontalHeader().setStretchLastSection(True)
        self.params.verticalHeader().setVisible(False)
        lay.addWidget(self.params, 1)
        self.sound_note = QLabel()
        self.sound_note.setObjectName("dim")
        lay.addWidget(self.sound_note)
        if not self._instruments and not self._effects:
            self.sound_note.setText("No plugin host in this build: tracks use the GM sounds.")
        self._edits: dict[int, dict] = {}
        #: editors opened from here: (track, slot) → TrackEditor (closed with the dialog)
        self._opened: dict[tuple, object] = {}
        self.doc.trackChanged.connect(self._track_changed)
        self.finished.connect(self._close_editors)
        self.track.currentIndexChanged.connect(self._show_track)
        self.instrument.currentIndexChanged.connect(self._instrument_chosen)
        if track_index is not None:
            self.track.setCurrentIndex(max(0, self.track.findData(track_index)))
        self._show_track()
        return w

    def _current_extra(self) -> dict:
        i = self.track.currentData()
        if i not in self._edits:
            extra = self.doc.song.tracks[i].extra
            # Copies: a value typed here must change the song only on OK (one undo step
            # each), never the track's own dicts behind the undo stack's back.
            self._edits[i] = {
                "instrument": copy.deepcopy(extra.get("instrument")),
                "effects": copy.deepcopy(list(extra.get("effects") or [])),
            }
        return self._edits[i]

    def _show_track(self) -> None:
        if self.track.currentData() is None:
            return
        e = self._current_extra()
        inst = e["instrument"]
        self.instrument.blockSignals(True)
        spec = (
            PluginChoice("", "", inst.get("format", ""), inst.get("ident", "")).spec
            if isinstance(inst, dict)
            else None
        )
        self.instrument.setCurrentIndex(max(0, self.instrument.findData(spec)))
        self.instrument.blockSignals(False)
        self.effects.clear()
        for fx in e["effects"]:
            self.effects.addItem(str(fx.get("name", "?")))
        self._show_parameters(inst)

    def _instrument_chosen(self) -> None:
        spec = self.instrument.currentData()
        e = self._current_extra()
        info = next((p for p in self._instruments if p.spec == spec), None)
        e["instrument"] = plugin_entry(info) if info is not None else None
        self._show_parameters(e["instrument"])

    def _add_effect(self) -> None:
        spec = self.effect_choice.currentData()
        info = next((p for p in self._effects if p.spec == spec), None)
        if info is None:
            return
        self._current_extra()["effects"].append(plugin_entry(info))
        self.effects.addItem(info.name)
        self.effects.setCurrentRow(self.effects.count() - 1)

    def _remove_effect(self) -> None:
        row = self.effects.currentRow()
        fx = self._current_extra()["effects"]
        if 0 <= row < len(fx):
            del fx[row]
            self.effects.takeItem(row)

    def _effect_selected(self, row: int) -> None:
        fx = self._current_extra()["effects"]
        if 0 <= row < len(fx):
            self._show_parameters(fx[row])

    # -- plugin editors -----------------------------------------------------------------------
    def track_editors(self):
        """The window's open plugin editors (one per plugin, shared with the track list), or
        this dialog's own when it has no such parent."""
        editors = getattr(self.parent(), "plugin_editors", None)
        if editors is None:
            editors = getattr(self, "_own_editors", None)
            if editors is None:
                from ui.track_editors import TrackEditors

                editors = self._own_editors = TrackEditors(self.doc, self)
                editors.message.connect(self.sound_note.setText)
        return editors

    def _edit_effect(self) -> None:
        """Open the selected effect's editor. It edits the song's track (each gesture one
        undo step), so what this dialog changed on the track is stored first (one step)."""
        row = self.effects.currentRow()
        index = self.track.currentData()
        if index is None or not 0 <= row < len(self._current_extra()["effects"]):
            self.sound_note.setText("Select an effect to edit")
            return
        self._store_track(index)
        editors = self.track_editors()
        messages: list[str] = []
        editors.message.connect(messages.append)
        try:
            ed = editors.open_safely(index, row)
        finally:
            editors.message.disconnect(messages.append)
        if ed is None:
            self.sound_note.setText(messages[-1] if messages else "The editor could not open")
            return
        self._opened[(index, row)] = ed
        window = ed.window
        if isinstance(window, QWidget) and not window.isAncestorOf(self):
            # This dialog is modal: a window of this process takes input only as its child.
            from PySide6.QtCore import Qt

            window.setParent(self, Qt.WindowType.Window)
            window.show()
            window.raise_()

    def _store_track(self, index: int) -> None:
        """Push this dialog's pending instrument/effects change of one track (undoable)."""
        e = self._edits.get(index)
        if e is None:
            return
        extra = self.doc.song.tracks[index].extra
        name = self.doc.song.tracks[index].name or f"Track {index}"
        for key in ("instrument", "effects"):
            if e[key] != extra.get(key, None if key == "instrument" else []):
                self.doc.push(TrackExtraCommand(self.doc, index, key, e[key],
                                                f"Change {key} of {name}"))  # fmt: skip
        e["effects"] = copy.deepcopy(list(extra.get("effects") or []))
        e["instrument"] = copy.deepcopy(extra.get("instrument"))

    def _track_changed(self, index: int) -> None:
        """A plugin editor (or undo) changed the track: take its plugin states into this
        dialog's copy, so OK does not put back older values."""
        e = self._edits.get(index)
        if e is None:
            return
        extra = self.doc.song.tracks[index].extra

        def same(a, b) -> bool:
            return isinstance(a, dict) and isinstance(b, dict) and (
                a.get("format"), a.get("ident")) == (b.get("format"), b.get("ident"))  # fmt: skip

        if same(e["instrument"], extra.get("instrument")):
            e["instrument"] = dict(e["instrument"], state=copy.deepcopy(
                extra["instrument"].get("state") or {}))  # fmt: skip
        stored = extra.get("effects") or []
        for k, fx in enumerate(e["effects"]):
            if k < len(stored) and same(fx, stored[k]):
                e["effects"][k] = dict(fx, state=copy.deepcopy(stored[k].get("state") or {}))
        if self.track.currentData() == index:
            row = self.effects.currentRow()
            if 0 <= row < len(e["effects"]):
                self._show_parameters(e["effects"][row])

    def _close_editors(self) -> None:
        """Editors opened from this dialog close with it (their last gesture is stored)."""
        try:
            self.doc.trackChanged.disconnect(self._track_changed)
        except (RuntimeError, TypeError):
            pass
        if not self._opened:
            return
        editors = self.track_editors()
        for key, ed in list(self._opened.items()):
            if editors.open_editors.get(key) is ed:
                editors.open_editors.pop(key, None)
                ed.close()
        self._opened.clear()

    def _show_parameters(self, entry) -> None:
        """List the instrument's parameters with editable values (stored in its state)."""
        self.params.setRowCount(0)
        if not isinstance(entry, dict):
            return
        try:
            plugin = load_plugin(entry)
        except QuantaError as exc:
            self.sound_note.setText(f"{entry.get('name')}: {exc}")
            return
        try:
            values = dict(entry.setdefault("state", {}).get("parameters", {}))
            params = plugin.parameters()
        finally:
            plugin.close()
        self.params.setRowCount(len(params))
        for row, p in enumerate(params):
            self.params.setItem(row, 0, QTableWidgetItem(p.name))
            spin = QDoubleSpinBox()
            lo = p.minimum if math.isfinite(p.minimum) else -1e6
            hi = p.maximum if math.isfinite(p.maximum) else 1e6
            spin.setRange(lo, hi)
            spin.setDecimals(3)
            spin.setValue(float(values.get(p.ident, p.value)))
            spin.setToolTip(f"{p.name}: {p.minimum:g}–{p.maximum:g}, default {p.default:g}")
            spin.valueChanged.connect(
                lambda v, ident=p.ident, e=entry: (
                    e["state"].setdefault("parameters", {}).__setitem__(ident, float(v))
                )
            )
            self.params.setCellWidget(row, 1, spin)

    # -- saving ---------------------------------------------------------------------------
    def accept(self) -> None:
        s = self.settings
        s.setValue(KEY_MIDI_API, self.api.currentData())
        s.setValue(KEY_MIDI_OUTPUT, self.output.currentData() or "")
        s.setValue(KEY_MIDI_INPUT, self.input.currentData() or "")
        s.setValue(KEY_AUDIO_DEVICE, self.device.currentData() or "")
        s.setValue(KEY_AUDIO_RATE, int(self.rate.currentData()))
        s.setValue(KEY_AUDIO_BLOCK, int(self.block.currentData()))
        s.setValue(KEY_AUDIO_ENABLED, "true" if self.sound_on.isChecked() else "false")
        s.setValue(KEY_UNDO_LIMIT, int(self.undo_steps.value()))
        s.sync()
        if self.doc is not None:
            for i, e in getattr(self, "_edits", {}).items():
                extra = self.doc.song.tracks[i].extra
                name = self.doc.song.tracks[i].name or f"Track {i}"
                for key in ("instrument", "effects"):
                    if e[key] != extra.get(key, None if key == "instrument" else []):
                        self.doc.push(
                            TrackExtraCommand(self.doc, i, key, e[key], f"Change {key} of {name}")
                        )
        super().accept()


def undo_limit(settings: QSettings) -> int:
    """The saved number of undo steps (0: unlimited); the default for a missing or bad value."""
    try:
        steps = int(settings.value(KEY_UNDO_LIMIT, DEFAULT_UNDO_LIMIT))
    except (TypeError, ValueError):
        return DEFAULT_UNDO_LIMIT
    return steps if 0 <= steps <= MAX_UNDO_LIMIT else DEFAULT_UNDO_LIMIT


def track_sound_summary(track) -> str:
    """One line for tooltips: instrument and effect chain."""
    fx = [str(f.get("name")) for f in track.extra.get("effects") or [] if isinstance(f, dict)]
    return instrument_label(track) + (" → " + " → ".join(fx) if fx else "")
