"""A VST3 plugin's editor (pedalboard's ``show_editor``) in a child process, state both ways.

``show_editor`` blocks the calling thread (it must be the main thread) until the window
closes, and it runs the plugin's GUI code: in Quanta's process it would freeze the window and
could crash it. So a child process loads a second instance of the plugin, takes the state of
Quanta's instance (pedalboard's ``raw_state``, the plugin's own state chunk), shows the
editor, and sends the state back whenever it changes (polled ~4 times a second, after a few
silent frames: a VST3 folds its editor's edits into its state when it processes); Quanta
applies it to its instance (:meth:`VST3Editor.poll`). Messages are JSON lines, states in
base64:

- parent → child (stdin): ``{"path", "state"}`` first, then ``{"state"}`` (Quanta changed
  it, e.g. a preset), ``{"set": {param: value}}`` (scripted gestures), ``{"close": true}``;
- child → parent (stdout): ``{"opened": name}``, ``{"state"}``, ``{"error": line}``,
  ``{"closed": true}``.

A child that crashes or hangs takes only the editor with it: :meth:`VST3Editor.poll` reports
it in one line and Quanta's instance keeps the last state it received.
"""

from __future__ import annotations

import base64
import json
import os
import queue
import subprocess
import sys
import threading
import time

from engine.errors import DeviceError
from engine.plugins.child_proc import (
    child_env,
    exit_reason,
    protocol_writer,
    spawn_child,
)

STATE_POLL_S = 0.25


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class VST3Editor:
    """The parent's handle on one editor child. Call :meth:`poll` from the GUI loop."""

    def __init__(self, path: str, state: bytes | None, timeout: float = 30.0):
        self.path = path
        self.name = os.path.basename(path)
        env = child_env()
        env.pop("QT_QPA_PLATFORM", None)  # the editor is a real window on the real display
        self.proc, self._q = spawn_child("engine.plugins.vst3_editor", "--child", env=env)
        self.state: bytes | None = state
        self.title = ""
        self.closed = False
        self.error = ""
        self._send({"path": path, "state": _b64(state) if state else None})
        deadline = time.monotonic() + timeout
        while not self.title and not self.closed:
            self.poll(timeout=max(0.0, deadline - time.monotonic()))
            if time.monotonic() > deadline and not self.title:
                self.close()
                raise DeviceError(f"VST3 plugin {self.name}: its editor did not open in time")
        if self.error and not self.title:
            raise DeviceError(self.error)

    def _send(self, msg: dict) -> None:
        try:
            self.proc.stdin.write(json.dumps(msg) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError, OSError):
            pass

    def poll(self, timeout: float = 0.0) -> bytes | None:
        """Handle what the child said; the newest state it sent (None if none since)."""
        newest = None
        wait = timeout
        while True:
            try:
                line = self._q.get(timeout=wait) if wait > 0 else self._q.get_nowait()
            except queue.Empty:
                return newest
            wait = 0.0
            if line is None:
                code = self.proc.wait()
                if not self.closed and code != 0:
                    self.error = (
                        f"VST3 plugin {self.name}: its editor process ended "
                        f"({exit_reason(code)}); the last state it sent is kept"
                    )
                self.closed = True
                return newest
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            if "opened" in msg:
                self.title = msg["opened"]
            elif "state" in msg:
                newest = self.state = base64.b64decode(msg["state"])
            elif "error" in msg:
                self.error = msg["error"]
            elif "closed" in msg:
                self.closed = True

    def push_state(self, state: bytes) -> None:
        """Quanta's instance changed (e.g. a preset): show it in the editor."""
        self.state = state
        self._send({"state": _b64(state)})

    def set_parameters(self, values: dict[str, float]) -> None:
        """Move parameters in the editor's instance, as a user's gesture would."""
        self._send({"set": values})

    def close(self, timeout: float = 10.0) -> bytes | None:
        """Close the window; the final state (also kept in ``state``)."""
        self._send({"close": True})
        deadline = time.monotonic() + timeout
        while not self.closed and time.monotonic() < deadline:
            self.poll(timeout=0.1)
        if self.proc.poll() is None:
            try:
                self.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        return self.state


_X_ERROR_HANDLER = None


def _tolerate_x_errors() -> None:
    """Xlib's default error handler exits the process on any protocol error; some editors
    (JUCE's, in pedalboard) query window-manager properties that do not exist without a
    window manager (window 0) and would die on a bare X server. Log-and-continue instead,
    as toolkits do."""
    global _X_ERROR_HANDLER
    import ctypes as C
    import ctypes.util

    name = ctypes.util.find_library("X11")
    if not name:
        return
    handler_type = C.CFUNCTYPE(C.c_int, C.c_void_p, C.c_void_p)
    _X_ERROR_HANDLER = handler_type(lambda _display, _event: 0)
    lib = C.CDLL(name)
    lib.XSetErrorHandler.argtypes = [handler_type]
    lib.XSetErrorHandler.restype = C.c_void_p
    lib.XSetErrorHandler(_X_ERROR_HANDLER)


def _child() -> None:
    """Load the plugin, take the state, show the editor; report state changes."""
    say = protocol_writer()

    first = json.loads(sys.stdin.readline())
    from engine.plugins.vst3 import _load

    try:
        plugin = _load(first["path"])
        if first.get("state"):
            plugin.raw_state = base64.b64decode(first["state"])
    except (DeviceError, RuntimeError, ValueError) as exc:
        say({"error": str(exc).splitlines()[0] if str(exc) else type(exc).__name__})
        say({"closed": True})
        return
    close = threading.Event()
    lock = threading.Lock()
    last = [plugin.raw_state]

    def commands() -> None:
        for line in sys.stdin:
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            if msg.get("close"):
                break
            with lock:
                if "state" in msg:
                    plugin.raw_state = last[0] = base64.b64decode(msg["state"])
                for name, value in (msg.get("set") or {}).items():
                    setattr(plugin, name, value)
        close.set()  # stdin closed (parent gone) or asked to close

    import numpy as np

    silence = [np.zeros((1, 64), dtype=np.float32), np.zeros((2, 64), dtype=np.float32)]

    def flush() -> None:
        """Run a few silent frames: a VST3 takes edits made in its editor into its state
        (what ``raw_state`` returns) only when it processes."""
        for buf in list(silence):
            try:
                plugin.process(buf, 48000, reset=False)
                return
            except (ValueError, RuntimeError):
                silence.remove(buf)  # wrong channel count for this plugin: try the other

    def watch_state() -> None:
        while not close.wait(STATE_POLL_S):
            with lock:
                flush()
                state = plugin.raw_state
            if state != last[0]:
                last[0] = state
                say({"state": _b64(state)})

    # Find the channel count now, while no parameter change is queued: a process call of
    # the wrong width fails after taking the queued changes (a gesture would be lost).
    flush()
    last[0] = plugin.raw_state
    threading.Thread(target=commands, daemon=True).start()
    threading.Thread(target=watch_state, daemon=True).start()
    say({"opened": getattr(plugin, "name", "") or os.path.basename(first["path"])})
    _tolerate_x_errors()
    plugin.show_editor(close)
    close.set()
    with lock:
        flush()
        state = plugin.raw_state
    if state != last[0]:
        say({"state": _b64(state)})
    say({"closed": True})
    os._exit(0)  # no plugin destructors: the state is out, nothing else matters


if __name__ == "__main__" and "--child" in sys.argv:
    _child()
