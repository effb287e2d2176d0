"""A plugin's editor window: its own LV2 UI embedded in a Qt widget, or generic sliders.

The LV2 UI (see :mod:`engine.plugins.lv2_ui`) creates its X11 window inside a native Qt
widget (``ui:parent`` = that widget's ``winId()``), tells us its size (``ui:resize``), and
is driven by a Qt timer (``ui:idleInterface``, ~60 Hz), which also hands it the values the
audio thread published. What the user turns goes through the plugin's control link, the
same path the generic sliders use, so both always agree.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QGridLayout, QLabel, QSlider, QVBoxLayout, QWidget

from engine.errors import DeviceError

IDLE_MS = 16
SLIDER_STEPS = 1000


class LV2Editor(QWidget):
    """The plugin's own LV2 UI in a window. Raises DeviceError (one line) if it cannot be
    shown; the caller then offers :class:`GenericEditor`."""

    closed = Signal()

    def __init__(self, plugin, ui: dict, parent: QWidget | None = None):
        super().__init__(parent)
        from engine.plugins import LV2UIHost

        self.setWindowTitle(f"{plugin.info.name} ({plugin.info.format.upper()})")
        self.plugin = plugin
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.socket = QWidget(self)
        self.socket.setAttribute(Qt.WidgetAttribute.WA_NativeWindow)
        self.socket.setAttribute(Qt.WidgetAttribute.WA_DontCreateNativeAncestors)
        self.socket.setMinimumSize(64, 48)
        layout.addWidget(self.socket)
        self.host = LV2UIHost(plugin, ui, int(self.socket.winId()), on_resize=self._resized)
        if self.host.size == (0, 0):  # the UI did not call ui:resize: ask X for its size
            self._resized(*_window_size(self.host.widget))
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._idle)
        self.timer.start(IDLE_MS)

    def _resized(self, width: int, height: int) -> None:
        self.socket.setFixedSize(width, height)
        self.adjustSize()

    def _idle(self) -> None:
        if not self.host.idle():
            self.close()

    def closeEvent(self, event) -> None:
        self.timer.stop()
        if self.host.handle:
            self.host.close()
            # after the toolkit's deferred frees (window teardown) have run too
            QTimer.singleShot(300, _release_freed_memory)
        self.closed.emit()
        super().closeEvent(event)

    def snapshot(self) -> QImage:
        """What is on screen in the window, the plugin's own X11 window included (a widget
        grab would miss it: Qt does not draw it)."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        return screen.grabWindow(int(self.winId())).toImage()


def _window_size(window_id: int) -> tuple[int, int]:
    """The size of a foreign X11 window (the plugin UI's own), 400x300 if unknown."""
    from ui.x11_windows import window_size

    return window_size(window_id) or (400, 300)


def _release_freed_memory() -> None:
    """Give the C heap's free pages back to the system (glibc ``malloc_trim``). A plugin
    UI's toolkit and GL driver free megabytes on cleanup that glibc would otherwise keep:
    the process grew by ~0.85 MB per editor opened, ~0.05 MB with this."""
    import ctypes

    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc: nothing to do


class GenericEditor(QWidget):
    """One slider per input control port, writing through the same control link as the
    plugin's own UI; output ports (meters) are shown as read-only values. A timer shows
    values the DSP side published (changes made elsewhere, meters)."""

    closed = Signal()

    def __init__(
        self,
        plugin,
        note: str = "",
        parent: QWidget | None = None,
        on_change: Callable[[str, float], None] | None = None,
    ):
        super().__init__(parent)
        self.on_change = on_change
        self.setWindowTitle(f"{plugin.info.name}: parameters")
        self.setMinimumWidth(420)
        self.plugin = plugin
        self.link = plugin.attach_link() if hasattr(plugin, "attach_link") else None
        grid = QGridLayout(self)
        row = 0
        if note:
            label = QLabel(note)
            label.setWordWrap(True)
            grid.addWidget(label, row, 0, 1, 3)
            row += 1
        self.sliders: dict[str, QSlider] = {}
        self._by_index: dict[int, tuple] = {}
        index_of = getattr(getattr(plugin, "core", None), "params", {})
        for p in plugin.parameters():
            slider = QSlider(Qt.Orientation.Horizontal)
            slider.setRange(0, SLIDER_STEPS)
            span = (p.maximum - p.minimum) or 1.0
            slider.setValue(round((p.value - p.minimum) / span * SLIDER_STEPS))
            value = QLabel(f"{p.value:.3g}")
            value.setMinimumWidth(48)
            slider.valueChanged.connect(
                lambda pos, p=p, span=span, value=value: self._moved(p, span, pos, value)
            )
            grid.addWidget(QLabel(p.name), row, 0)
            grid.addWidget(slider, row, 1)
            grid.addWidget(value, row, 2)
            self.sliders[p.ident] = slider
            if p.ident in index_of:
                self._by_index[index_of[p.ident]] = (p, span, slider, value)
            row += 1
        core = getattr(plugin, "core", None)
        for port in getattr(core, "ports", ()):
            if port.kind == "control" and not port.is_input:
                value = QLabel(f"{float(core.controls[port.index]):.3g}")
                grid.addWidget(QLabel(port.name), row, 0)
                grid.addWidget(value, row, 2)
                self._by_index[port.index] = (None, 0.0, None, value)
                row += 1
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._show_published)
        if self.link is not None:
            self.timer.start(50)

    def _moved(self, p, span: float, pos: int, label: QLabel) -> None:
        v = p.minimum + span * pos / SLIDER_STEPS
        label.setText(f"{v:.3g}")
        index = getattr(getattr(self.plugin, "core", None), "params", {}).get(p.ident)
        if self.link is not None and index is not None:
            self.link.write(index, v)
        else:
            self.plugin.set_parameter(p.ident, v)
        if self.on_change is not None:
            self.on_change(p.ident, v)

    def show_value(self, ident: str, value: float) -> None:
        """Show a value set elsewhere (undo, another window) without sending it back."""
        for index, entry in self._by_index.items():
            if entry[0] is not None and entry[0].ident == ident:
                self._show_at(index, value)
                return
        slider = self.sliders.get(ident)
        if slider is not None:  # a plugin without port indexes (VST3, SF2)
            for q in self.plugin.parameters():
                if q.ident == ident:
                    span = (q.maximum - q.minimum) or 1.0
                    slider.blockSignals(True)
                    slider.setValue(round((value - q.minimum) / span * SLIDER_STEPS))
                    slider.blockSignals(False)

    def _show_at(self, index: int, v: float) -> None:
        p, span, slider, label = self._by_index[index]
        label.setText(f"{v:.3g}")
        if slider is not None:
            slider.blockSignals(True)
            slider.setValue(round((v - p.minimum) / span * SLIDER_STEPS))
            slider.blockSignals(False)

    def _show_published(self) -> None:
        for index, v in self.link.changes().items():
            if index in self._by_index:
                self._show_at(index, v)

    def closeEvent(self, event) -> None:
        self.timer.stop()
        self.closed.emit()
        super().closeEvent(event)

    def snapshot(self) -> QImage:
        return self.grab().toImage()


def open_editor(plugin, desc: dict | None, parent: QWidget | None = None) -> QWidget:
    """The plugin's own UI if it can be shown here, else the generic sliders with a line
    saying why."""
    if desc is not None and plugin.info.format == "lv2":
        from engine.plugins import choose_ui

        try:
            return LV2Editor(plugin, choose_ui(desc), parent)
        except DeviceError as exc:
            return GenericEditor(plugin, note=str(exc), parent=parent)
    return GenericEditor(plugin, parent=parent)
