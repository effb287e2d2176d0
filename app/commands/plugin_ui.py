"""``quanta plugins ui PLUGIN [--screenshot out.png --after SECONDS]``: one plugin's editor.

Opens the plugin's own editor alone (for testing and scripting): an LV2 plugin's X11 UI
embedded in a Qt window of a child process (as the main window shows it), a VST3 editor in
a child process, or the generic sliders when it has none (or it cannot be shown here: the
reason is printed in one line). PLUGIN is ``lv2:URI``, ``vst3:PATH``, a URI, or an
installed LV2 plugin's name (``ZamComp``). The plugin is probed in a child process first, as
everywhere, then runs here on a stand-in audio thread (a quiet test tone through an effect,
silence into an instrument) so the editor's meters move and its changes reach the DSP.
"""

from __future__ import annotations

import sys
import threading
import time

import numpy as np

from engine.errors import DeviceError

SR = 48000
BLOCK = 256


def add_arguments(p) -> None:
    p.add_argument("--screenshot", metavar="PNG", help="save the editor window to PNG, then exit")
    p.add_argument("--after", type=float, default=1.0, metavar="SECONDS", help="wait first")
    p.add_argument("--generic", action="store_true", help="the generic sliders, not its UI")
    p.add_argument(
        "--preset", metavar="NAME",
        help="ui, presets --save: load this preset first (LV2 preset, VST3 program or file)",
    )  # fmt: skip
    p.add_argument("--save", metavar="NAME", help="presets: save a user preset under NAME")
    p.add_argument(
        "--set", action="append", default=[], metavar="SYMBOL=VALUE",
        help="presets --save: a parameter value to save (repeatable; others: defaults)",
    )  # fmt: skip


def resolve(spec: str, timeout: float) -> tuple[str, str, dict | None]:
    """``(fmt, ident, lv2 description or None)`` for what the user typed."""
    from app.paths import plugin_cache_file
    from engine.plugins import ProbeCache
    from engine.plugins import discover as discover_lv2

    text = spec.strip()
    fmt, _, ident = text.partition(":")
    if fmt.lower() == "vst3":
        return "vst3", ident, None
    if fmt.lower() != "lv2":
        ident = text
    if text.lower().endswith(".vst3"):
        return "vst3", text, None
    found = discover_lv2(ProbeCache(plugin_cache_file()), timeout=timeout)
    if ident in found.plugins:
        return "lv2", ident, found.plugins[ident]
    by_name = [d for d in found.plugins.values() if d["name"].lower() == ident.lower()]
    if len(by_name) == 1:
        return "lv2", by_name[0]["uri"], by_name[0]
    if by_name:
        uris = ", ".join(d["uri"] for d in by_name)
        raise DeviceError(f"{spec}: more than one LV2 plugin has that name ({uris})")
    raise DeviceError(f"{spec}: no such LV2 plugin (see `quanta plugins`)")


class StandInAudio:
    """A thread that runs the plugin block by block at real-time pace, as the audio
    callback would: it applies the editor's values and publishes the plugin's."""

    def __init__(self, plugin):
        from engine.plugins import Instrument, empty_block_events

        self.plugin = plugin
        self.is_instrument = isinstance(plugin, Instrument)
        self.events = empty_block_events(4)[:0]
        t = np.arange(BLOCK * 200) / SR
        self.tone = (0.25 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
        self.buf = np.zeros((2, BLOCK), dtype=np.float32)
        self.stop = threading.Event()
        self.blocks = 0
        #: blocks that started more than one block period after their due time (an
        #: underrun on a real device)
        self.late = 0
        self.thread = threading.Thread(target=self._run, name="stand-in audio", daemon=True)

    def _run(self) -> None:
        pos = 0
        period = BLOCK / SR
        due = time.monotonic()
        while not self.stop.is_set():
            if self.is_instrument:
                self.plugin.process(self.events, self.buf)
            else:
                self.buf[:] = self.tone[pos : pos + BLOCK]
                pos = (pos + BLOCK) % (self.tone.size - BLOCK)
                self.plugin.process(self.buf)
            self.blocks += 1
            due += period
            now = time.monotonic()
            if now - due > period:
                self.late += 1
                due = now  # resynchronise, as a device would after an xrun
            time.sleep(max(0.0, due - now))

    def start(self) -> None:
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=2)


def cmd_plugin_ui(args) -> int:
    if not args.plugin:
        raise DeviceError("plugins ui: name the plugin, e.g. `quanta plugins ui ZamComp`")
    fmt, ident, desc = resolve(args.plugin, args.timeout)
    from app.paths import plugin_cache_file

    if fmt == "vst3":
        return _edit_vst3(ident, args, plugin_cache_file())
    from engine.plugins import ensure_loadable, load_direct

    ensure_loadable(fmt, ident, cache_path=plugin_cache_file(), timeout=args.timeout)
    plugin = load_direct(fmt, ident, None, SR, BLOCK)
    try:
        if args.preset:
            from app.paths import vst3_preset_dir
            from engine.plugins import load_plugin_preset

            load_plugin_preset(plugin, args.preset, vst3_preset_dir())
        return _show(plugin, desc, args)
    finally:
        plugin.close()


def cmd_presets(args) -> int:
    """List a plugin's presets (LV2 presets; VST3 programs and ``.vstpreset`` files), or
    save the current settings as a user preset (``--save NAME [--set SYMBOL=VALUE]``)."""
    from app.paths import plugin_cache_file, vst3_preset_dir
    from engine.plugins import (
        ensure_loadable,
        list_plugin_presets,
        load_direct,
        load_plugin_preset,
        save_plugin_preset,
    )

    if not args.plugin:
        raise DeviceError("plugins presets: name the plugin, e.g. `quanta plugins presets ZamComp`")
    fmt, ident, _ = resolve(args.plugin, args.timeout)
    if fmt == "vst3":
        import os

        ident = os.path.expanduser(ident)
    ensure_loadable(fmt, ident, cache_path=plugin_cache_file(), timeout=args.timeout)
    plugin = load_direct(fmt, ident, None, SR, BLOCK)
    try:
        if args.save:
            if args.preset:  # start from a preset, then change what --set says
                load_plugin_preset(plugin, args.preset, vst3_preset_dir())
            for item in args.set:
                symbol, _, value = item.partition("=")
                try:
                    number = float(value)
                except ValueError:
                    raise DeviceError(f"--set {item}: use SYMBOL=NUMBER") from None
                plugin.set_parameter(symbol.strip(), number)
            print(f"saved {save_plugin_preset(plugin, args.save, vst3_preset_dir())}")
            return 0
        for label, uri in list_plugin_presets(plugin, vst3_preset_dir()):
            print(f"  {label:<28} {uri}")
        return 0
    finally:
        plugin.close()


def _show(plugin, desc: dict | None, args) -> int:
    """The plugin's own LV2 UI in a child process (as the main window runs it), or the
    generic sliders. In a child, the UI's GL setup and idle work do not share this process's
    CPU slice with the audio thread (it made blocks late) and a crash or leak in the UI's
    code stays there; its changes come back as values (applied through the control link),
    and the running instance's output ports (meters) are sent to it."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from ui.plugin_editor import GenericEditor

    app = QApplication.instance() or QApplication(["quanta"])
    audio = StandInAudio(plugin)
    state = {"editor": None, "shot": False}

    def sliders(note: str = "") -> None:
        if note:
            print(f"quanta: note: {note}", file=sys.stderr)
        state["editor"] = GenericEditor(plugin)
        state["editor"].show()
        arm_screenshot()

    def arm_screenshot() -> None:
        if args.screenshot and not state["shot"]:
            state["shot"] = True
            QTimer.singleShot(int(args.after * 1000), lambda: _shoot(state["editor"],
                                                                     args.screenshot))  # fmt: skip

    child = None
    if not args.generic and desc is not None:
        from engine.plugins import choose_ui

        try:
            if QApplication.platformName() != "xcb":
                raise DeviceError(
                    f"LV2 plugin {plugin.info.name}: its X11 UI needs an X11 display "
                    f"(Qt platform is {QApplication.platformName()})"
                )
            choose_ui(desc)  # says at once why there is none, without a child
            child = _child_editor(plugin, app, arm_screenshot, sliders)
            state["editor"] = child
        except DeviceError as exc:
            sliders(f"{exc}; showing the generic sliders")
    else:
        sliders()
    audio.start()
    try:
        app.exec()
    finally:
        if child is not None:
            child.close()
        if state["editor"] is not None and state["editor"] is not child:
            state["editor"].close()
        audio.close()
    return 0


def _child_editor(plugin, app, opened, failed):
    """Start the UI child (:class:`ui.lv2_editor_child.ChildLV2Editor`) and wire it to the
    plugin: its gestures through the control link, meters back, its end quits the app."""
    from PySide6.QtCore import QTimer

    from ui.lv2_editor_child import ChildLV2Editor

    link = plugin.attach_link()
    index = plugin.core.params
    outputs = {p.index for p in plugin.core.ports if p.kind == "control" and not p.is_input}
    values = {p.ident: p.value for p in plugin.parameters()}
    child = ChildLV2Editor(plugin.info.name, plugin.info.ident, values)
    child.changed.connect(lambda symbol, value: link.write(index[symbol], value)
                          if symbol in index else None)  # fmt: skip
    meters = QTimer(child)

    def forward() -> None:
        if child.size is not None:
            opened()
        for port, value in link.changes().items():
            if port in outputs:
                child.show_port(port, value)

    meters.timeout.connect(forward)
    meters.start(50)
    closing = {"failed": False}

    def on_failed(why: str) -> None:
        closing["failed"] = True
        meters.stop()
        failed(why)

    child.failed.connect(on_failed)
    # (a failure says "closed" first, then why: decide once both are in)
    child.closed.connect(lambda: QTimer.singleShot(
        0, lambda: None if closing["failed"] else app.quit()))  # fmt: skip
    return child


def _shoot(editor, path: str) -> None:
    """Save the editor's window (a child's window is found by its process id) and quit."""
    proc = getattr(editor, "proc", None)
    if proc is not None:
        from PySide6.QtGui import QGuiApplication

        from ui.x11_windows import find_window

        wid = find_window(proc.pid)
        image = QGuiApplication.primaryScreen().grabWindow(wid).toImage() if wid else None
    else:
        image = editor.snapshot()
    if image is None or image.isNull() or not image.save(path):
        print(f"quanta: error: could not write {path}", file=sys.stderr)
    else:
        print(f"wrote {path} ({image.width()}x{image.height()})")
    editor.close()
    from PySide6.QtWidgets import QApplication

    QApplication.instance().quit()


def _edit_vst3(path: str, args, cache_path) -> int:
    """The VST3 editor in a child process (engine.plugins.vst3_editor); this process keeps
    the plugin instance and takes every state the editor sends."""
    import os

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from engine.plugins import VST3Editor, ensure_loadable, load_direct

    path = os.path.expanduser(path)
    ensure_loadable("vst3", path, cache_path=cache_path, timeout=args.timeout)
    wrapper = load_direct("vst3", path, None, SR, BLOCK)
    local = wrapper.plugin  # Quanta's instance: the editor child works on a copy of its state
    if args.preset:
        from app.paths import vst3_preset_dir
        from engine.plugins import load_plugin_preset

        load_plugin_preset(wrapper, args.preset, vst3_preset_dir())
    app = QApplication.instance() or QApplication(["quanta"])
    editor = VST3Editor(path, local.raw_state)

    def tick() -> None:
        state = editor.poll()
        if state is not None:
            local.raw_state = state
        if editor.closed:
            app.quit()

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(50)
    if args.screenshot:
        QTimer.singleShot(int(args.after * 1000), lambda: _shoot_vst3(editor, args.screenshot))
    try:
        app.exec()
    finally:
        timer.stop()
        state = editor.close()
        if state is not None:
            local.raw_state = state
    if editor.error:
        raise DeviceError(editor.error)
    return 0


def _shoot_vst3(editor, path: str) -> None:
    from PySide6.QtGui import QGuiApplication

    from ui.x11_windows import find_window

    wid = find_window(editor.proc.pid)
    image = QGuiApplication.primaryScreen().grabWindow(wid).toImage() if wid else None
    if image is None or image.isNull() or not image.save(path):
        print(f"quanta: error: could not find the editor window to write {path}", file=sys.stderr)
    else:
        print(f"wrote {path} ({image.width()}x{image.height()})")
    editor.close()
