"""Plugin UIs opened from the track list on a real X server (Xvfb): the LV2 UI runs in a
child process; a gesture made through its write path is one undo step of the track; a UI
that crashes or hangs is one line and the generic sliders, and the window process lives on.

Each scenario runs as a child Python process on Qt's xcb platform (this test process uses
offscreen) and prints one JSON line of what it saw."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests import lv2_fakes, procs
from tests.xvfb_tools import x11_env, xvfb

ROOT = Path(__file__).resolve().parents[1]

SCENARIO = r"""
import json, sys, time
from PySide6.QtWidgets import QApplication
from engine.build import add_track, new_song
from engine.model.notes import make_notes
from ui.song_document import SongDocument
from ui.track_editors import TrackEditors

uri, name, action, fmt = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
app = QApplication([])
song = new_song(ppq=480)
add_track(song, make_notes([0], [480], [48], [100], 0), "Bass")
song.tracks[1].extra["effects"] = [
    {"name": name, "kind": "effect", "format": fmt, "ident": uri, "state": {}}]
doc = SongDocument(song)
editors = TrackEditors(doc)
messages = []
editors.message.connect(messages.append)
ed = editors.open(1, 0)

def wait(cond, seconds):
    end = time.monotonic() + seconds
    while not cond() and time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)
    return cond()

out = {"child": type(ed.window).__name__}
if action == "gesture":
    out["opened"] = wait(lambda: ed.window.size is not None, 60)
    out["size"] = ed.window.size
    ed.window.gesture("thr", -30.0)
    out["committed"] = wait(lambda: doc.undo_stack.count() == 1, 10)
    out["undo_text"] = doc.undo_stack.undoText()
    out["thr"] = doc.song.tracks[1].extra["effects"][0]["state"]["parameters"].get("thr")
    doc.undo_stack.undo()
    out["after_undo"] = ed.plugin.get_parameter("thr")
    proc = ed.window.proc
    editors.close_all()
    out["child_ended"] = wait(lambda: proc.poll() is not None, 10)
elif action == "vst3":
    out["opened"] = ed.window.editor.title
    ed.window.editor.set_parameters({"ratio": 20.0})  # as a knob turn in the editor would
    out["committed"] = wait(lambda: doc.undo_stack.count() == 1, 30)
    state = doc.song.tracks[1].extra["effects"][0]["state"]
    out["ratio"] = state["parameters"]["ratio"]
    out["has_raw"] = bool(state.get("raw_state"))
    doc.undo_stack.undo()
    out["after_undo"] = ed.plugin.get_parameter("ratio")
    wait(lambda: False, 1.5)  # the editor's echo of the undone state is no new step
    out["steps"] = doc.undo_stack.count()
    out["can_redo"] = doc.undo_stack.canRedo()
    proc = ed.window.editor.proc
    editors.close_all()
    out["child_ended"] = wait(lambda: proc.poll() is not None, 10)
else:
    out["failed"] = wait(lambda: bool(messages), 60)
    out["messages"] = messages
    out["window"] = type(ed.window).__name__
    out["sliders"] = sorted(getattr(ed.window, "sliders", {}))
    editors.close_all()
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def display():
    with xvfb() as name:
        yield name


def scenario(
    display, tmp_path, uri: str, name: str, action: str, lv2_path: str | None = None,
    fmt: str = "lv2",
):  # fmt: skip
    extra = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    if lv2_path:
        extra["LV2_PATH"] = lv2_path
    proc = procs.run(
        [sys.executable, "-c", SCENARIO, uri, name, action, fmt], cwd=ROOT,
        env=x11_env(display, **extra), capture_output=True, text=True, timeout=180,
        start_new_session=True,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_a_gesture_in_the_zamcomp_ui_is_one_undo_step(display, tmp_path):
    r = scenario(display, tmp_path, "urn:zamaudio:ZamComp", "ZamComp", "gesture")
    assert r["child"] == "ChildLV2Editor" and r["opened"] and r["size"] == [800, 107]
    assert r["committed"] and r["undo_text"] == "ZamComp: Threshold" and r["thr"] == -30.0
    assert r["after_undo"] == 0.0  # undone, and shown back in the UI's instance
    assert r["child_ended"]


@pytest.mark.parametrize(
    "mode, why",
    [
        ("abort", "its UI process ended (signal 6, SIGABRT)"),
        ("hang", "its UI stopped responding (no answer in 5 s)"),
    ],
)
def test_a_ui_that_crashes_or_hangs_is_one_line_and_sliders(display, tmp_path, mode, why):
    lv2_fakes.compiler()
    folder = tmp_path / "lv2"
    uri = f"urn:quanta:test:ui-{mode}"
    lv2_fakes.effect_bundle(folder, f"ui{mode}", uri, ui=mode)
    r = scenario(display, tmp_path, uri, f"ui{mode}", "fail", lv2_path=str(folder))
    assert r["failed"], r
    assert r["messages"] == [f"LV2 plugin ui{mode}: {why}; showing the generic sliders"]
    assert r["window"] == "GenericEditor" and r["sliders"] == ["gain"]


def test_a_change_in_the_vst3_editor_is_one_undo_step_with_its_state(display, tmp_path):
    r = scenario(
        display, tmp_path, "/usr/lib/vst3/ZamComp.vst3", "ZamComp", "vst3", fmt="vst3"
    )
    assert r["child"] == "VST3Window" and r["opened"] == "ZamComp"
    assert r["committed"] and r["ratio"] == pytest.approx(20.0, abs=0.01) and r["has_raw"]
    assert r["after_undo"] == pytest.approx(4.0, abs=0.01)
    assert r["steps"] == 1 and r["can_redo"]  # the echo did not become an edit
    assert r["child_ended"]
