"""An LV2 plugin's own UI in a child process, for the main window (issue 13).

A plugin UI is foreign code running in the GUI thread: if it crashes or hangs, the process
that shows it goes with it. So the main window runs each LV2 UI here, in a child process with
its own private instance of the plugin (never run: it only gives the UI its URID map and the
values to show), and talks to it in JSON lines:

- parent → child (stdin): ``{"uri", "parameters"}`` first; then ``{"set": [symbol, value]}``
  (undo, another window), ``{"gesture": [symbol, value]}`` (scripted: goes through the UI's
  port-write path, as a knob turn does), ``{"port": [index, value]}`` (an output port's value
  from the running instance: meters), ``{"close": true}``;
- child → parent (stdout): ``{"opened": [width, height]}``, ``{"set": [symbol, value]}``
  (the user turned something), ``{"alive": true}`` once a second, ``{"error": line}``,
  ``{"closed": true}``.

The parent (:class:`ChildLV2Editor`) turns a dead or silent child into one line and the
generic sliders; Quanta keeps running.
"""

from __future__ import annotations

import json
import os
import queue
import sys
import threading
import time

from PySide6.QtCore import QObject, QTimer, Signal

from engine.plugins import child_env, exit_reason, protocol_writer, read_lines, spawn_child

#: A child that has not said it is alive for this long is taken as hung and stopped.
HANG_SECONDS = 5.0


class ChildLV2Editor(QObject):
    """The parent's side: a window-like object (show, raise_, close, ``closed``) whose
    window lives in the child. ``changed(symbol, value)`` for each user change; ``failed``
    with one line when the child dies, hangs or cannot show the UI."""

    changed = Signal(str, float)
    failed = Signal(str)
    closed = Signal()

    def __init__(self, name: str, uri: str, parameters: dict[str, float], parent=None):
        super().__init__(parent)
        self.name = name
        env = child_env()
        env.pop("QT_QPA_PLATFORM")  # the UI shows on this process's Qt platform, not offscreen
        if "QT_QPA_PLATFORM" in os.environ:
            env["QT_QPA_PLATFORM"] = os.environ["QT_QPA_PLATFORM"]
        self.proc, self._q = spawn_child("ui.lv2_editor_child", env=env)
        self.size: tuple[int, int] | None = None
        self.done = False
        self._heard = time.monotonic() + 20.0  # time to start (imports, plugin, UI)
        self._send({"uri": uri, "parameters": parameters})
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.poll)
        self._timer.start(30)

    def _send(self, msg: dict) -> None:
        try:
            self.proc.stdin.write(json.dumps(msg) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            pass

    def poll(self) -> None:
        while True:
            try:
                line = self._q.get_nowait()
            except queue.Empty:
                break
            if line is None:
                code = self.proc.wait()
                if not self.done:
                    self._fail(f"its UI process ended ({exit_reason(code)})")
                return
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            self._heard = max(self._heard, time.monotonic() + HANG_SECONDS)
            if "opened" in msg:
                self.size = tuple(msg["opened"])
            elif "set" in msg:
                symbol, value = msg["set"]
                self.changed.emit(str(symbol), float(value))
            elif "error" in msg:
                self._fail(str(msg["error"]), own=True)
                return
            elif "closed" in msg:
                self._finish()
                return
        if not self.done and time.monotonic() > self._heard:
            self._kill()
            self._fail(f"its UI stopped responding (no answer in {HANG_SECONDS:g} s)")

    def _fail(self, why: str, own: bool = False) -> None:
        text = why if own else f"LV2 plugin {self.name}: {why}"
        self._finish()
        self.failed.emit(f"{text}; showing the generic sliders")

    def _finish(self) -> None:
        if not self.done:
            self.done = True
            self._timer.stop()
            self._kill()
            self.closed.emit()

    def _kill(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, 9)
            except ProcessLookupError:
                pass
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass

    # -- window-like ----------------------------------------------------------------------
    def show(self) -> None:
        pass  # the child shows its window as soon as it is ready

    def raise_(self) -> None:
        pass

    def show_value(self, symbol: str, value: float) -> None:
        self._send({"set": [symbol, value]})

    def show_port(self, index: int, value: float) -> None:
        """An output port's value (a meter) from the instance that runs: show it in the UI."""
        self._send({"port": [index, value]})

    def gesture(self, symbol: str, value: float) -> None:
        """Turn a control as the user would (through the UI's port-write path)."""
        self._send({"gesture": [symbol, value]})

    def close(self) -> None:
        if not self.done:
            self._send({"close": True})
            deadline = time.monotonic() + 3.0
            while self.proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.02)
            self.done = True
            self._timer.stop()
            self._kill()
            self.closed.emit()


def _main() -> None:
    say = protocol_writer()

    first = json.loads(sys.stdin.readline())
    from PySide6.QtWidgets import QApplication

    say({"alive": True})  # started: from here a silent child is a hung UI
    from engine.errors import QuantaError
    from engine.plugins import choose_ui, load_direct
    from engine.plugins import discover as discover_lv2
    from ui.plugin_editor import LV2Editor

    app = QApplication(["quanta-plugin-ui"])
    try:
        if QApplication.platformName() != "xcb":
            raise QuantaError(f"its X11 UI needs an X11 display (Qt platform is "
                              f"{QApplication.platformName()})")  # fmt: skip
        uri = first["uri"]
        plugin = load_direct("lv2", uri, None, 48000, 256)
        for symbol, value in (first.get("parameters") or {}).items():
            plugin.set_parameter(symbol, float(value))
        desc = discover_lv2().plugins.get(uri) or {}
        editor = LV2Editor(plugin, choose_ui(desc))
    except QuantaError as exc:
        text = str(exc)
        say({"error": text if text.startswith("LV2 plugin") else f"LV2 plugin {uri}: {text}"})
        return
    symbols = {i: s for s, i in plugin.core.params.items()}
    outputs = {p.index for p in plugin.core.ports if p.kind == "control" and not p.is_input}

    def gesture(port: int, value: float) -> None:
        if port in symbols:
            say({"set": [symbols[port], value]})

    editor.host.on_gesture = gesture
    commands: queue.Queue = queue.Queue()
    threading.Thread(target=read_lines, args=(sys.stdin, commands), daemon=True).start()

    link = plugin.attach_link()

    def tick() -> None:
        link.apply(plugin.core.controls)  # nobody runs this instance: keep its ports current
        link.changes()
        while True:
            try:
                line = commands.get_nowait()
            except queue.Empty:
                return
            if line is None:
                editor.close()
                return
            msg = json.loads(line)
            if msg.get("close"):
                editor.close()
                return
            if "port" in msg:
                index, value = msg["port"]
                if index in outputs:
                    editor.host.port_event(int(index), float(value))
                continue
            if "set" in msg or "gesture" in msg:
                symbol, value = msg.get("set") or msg["gesture"]
                port = plugin.core.params.get(symbol)
                if port is None:
                    continue
                if "gesture" in msg:
                    editor.host.write(port, float(value))  # the UI's own write path
                else:
                    plugin.core.controls[port] = float(value)
                    editor.host.port_event(port, float(value))

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(20)
    alive = QTimer()
    alive.timeout.connect(lambda: say({"alive": True}))
    alive.start(1000)
    editor.closed.connect(app.quit)
    editor.show()
    say({"opened": [editor.width(), editor.height()]})
    app.exec()
    say({"closed": True})
    os._exit(0)


if __name__ == "__main__":
    _main()
