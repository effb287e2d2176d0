"""The status bar: engine, MIDI ports, audio device and underruns, always in view.

It shows what the engine's state snapshot says, in words a musician can act on: the ports by
name (or "no MIDI output — choose one in Settings"), the audio device (or "no audio device",
said once rather than nagging), and underruns as a count that turns amber when it grows.
Snapshots are read field by field with defaults so a newer engine with more fields, or one
without audio, still shows what it has.
"""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QStatusBar, QWidget

from ui.theme import COLORS

AUDIO_MODE_TIPS = {
    "compiled": "Built-in sound: the audio thread runs compiled code only, so a busy window "
    "cannot cause dropouts.",
    "render-ahead": "Plugins in use: they render a little ahead of the device (shown in "
    "'plugins +ms'), so a busy window cannot cause dropouts; live input hears that latency.",
    "python": "Plugins in use without render-ahead: the audio thread runs Python each block, "
    "so heavy work elsewhere in the app can cause dropouts (underruns).",
}


def snapshot_value(state, name: str, default=None):
    """A field of an engine state snapshot (a dataclass, namedtuple or dict)."""
    if state is None:
        return default
    if isinstance(state, dict):
        return state.get(name, default)
    return getattr(state, name, default)


def _names(value) -> list[str]:
    if not value:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


class StatusPanel(QStatusBar):
    """Permanent status fields plus the usual transient messages on the left."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setSizeGripEnabled(False)
        self.engine = self._field("engine", "Engine state")
        self.ports = self._field("ports", "MIDI ports in use (Settings → MIDI to change)")
        self.audio = self._field("audio", "Audio device (Settings → Audio to change)")
        self.underruns = self._field("underruns", "Audio underruns (dropouts) since start")
        self._last_underruns = 0
        self._no_audio_said = False
        self.show_state(None)

    def _field(self, name: str, tip: str) -> QLabel:
        label = QLabel()
        label.setObjectName(f"status_{name}")
        label.setToolTip(tip)
        label.setContentsMargins(8, 0, 8, 0)
        self.addPermanentWidget(label)
        return label

    def set_engine_error(self, message: str) -> None:
        """The engine could not start: say why, in place of its state."""
        self.engine.setText(f"Engine: {message}")
        self.engine.setStyleSheet(f"color: {COLORS['error']};")

    def show_state(self, state) -> None:
        """Update every field from one state snapshot (``None``: no engine yet)."""
        if state is None:
            self.engine.setText("Engine: not started")
            self.engine.setStyleSheet(f"color: {COLORS['text_dim']};")
            self.ports.setText("MIDI out: –")
            self.audio.setText("Audio: –")
            self.underruns.setText("")
            return
        error = snapshot_value(state, "error")
        if error:
            self.set_engine_error(str(error))
        else:
            playing = snapshot_value(state, "playing", False)
            recording = snapshot_value(state, "recording", False)
            word = "recording" if recording else "playing" if playing else "ready"
            late = snapshot_value(state, "lateness_ms")
            text = f"Engine: {word}"
            if isinstance(late, int | float) and playing:
                text += f" (late {late:.1f} ms)"
            self.engine.setText(text)
            self.engine.setStyleSheet("")
        outs = _names(snapshot_value(state, "outputs") or snapshot_value(state, "output"))
        ins = _names(snapshot_value(state, "inputs") or snapshot_value(state, "input"))
        out_text = ", ".join(outs) if outs else "none — choose a port in Settings"
        in_text = f" · MIDI in: {', '.join(ins)}" if ins else ""
        self.ports.setText(f"MIDI out: {out_text}{in_text}")
        self.ports.setStyleSheet("" if outs else f"color: {COLORS['warning']};")
        device = snapshot_value(state, "audio_device")
        if device:
            rate = snapshot_value(state, "sample_rate")
            block = snapshot_value(state, "block_size")
            detail = f" · {rate} Hz" if rate else ""
            detail += f" · {block} frames" if block else ""
            pdc = float(snapshot_value(state, "plugin_latency_ms", 0) or 0)
            detail += f" · plugins +{pdc:.1f} ms" if pdc > 0 else ""
            self.audio.setText(f"Audio: {device}{detail}")
            self.audio.setStyleSheet("")
            self.audio.setToolTip(AUDIO_MODE_TIPS.get(snapshot_value(state, "audio_mode"), ""))
            self._no_audio_said = False
        elif not self._no_audio_said:
            self.audio.setText("no audio device")
            self.audio.setStyleSheet(f"color: {COLORS['text_dim']};")
            self._no_audio_said = True
        n = int(snapshot_value(state, "underruns", 0) or 0)
        self.underruns.setText(f"Underruns: {n}")
        grew = n > self._last_underruns
        self.underruns.setStyleSheet(f"color: {COLORS['warning']};" if grew else "")
        self._last_underruns = n
