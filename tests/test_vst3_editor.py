"""VST3 editors (issue 13) in a child process on a real X server (Xvfb), with Debian's
ZamComp.vst3: the window opens and draws, and the plugin state crosses both ways."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests import procs
from tests.test_lv2_ui import image
from tests.xvfb_tools import x11_env, xvfb

ROOT = Path(__file__).resolve().parents[1]
ZAMCOMP = "/usr/lib/vst3/ZamComp.vst3"


@pytest.fixture(scope="module")
def display():
    if not Path(ZAMCOMP).exists():
        pytest.skip("zam-plugins' VST3 folder is not installed")
    with xvfb() as name:
        yield name


def run(args: list[str], env: dict) -> subprocess.CompletedProcess:
    return procs.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=180, start_new_session=True,
    )  # fmt: skip


def test_zamcomp_vst3_editor_opens_and_draws(display, tmp_path):
    shot = tmp_path / "zamcomp-vst3.png"
    env = x11_env(display, XDG_CACHE_HOME=str(tmp_path / "cache"))
    proc = run(
        ["-m", "app.cli", "plugins", "ui", f"vst3:{ZAMCOMP}", "--screenshot", str(shot),
         "--after", "3"],
        env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"wrote {shot} (800x107)"
    print(f"screenshot: {shot}")
    pixels = image(shot)
    assert pixels.std() > 20 and len(np.unique(pixels.reshape(-1, 3), axis=0)) > 200


STATE_BOTH_WAYS = r"""
import json, time
import numpy as np
from engine.plugins.vst3 import _load
from engine.plugins.vst3_editor import VST3Editor

path = "/usr/lib/vst3/ZamComp.vst3"
local = _load(path)                      # Quanta's instance
local.threshold_db = -30.0               # a state the editor must start from
tone = (0.5 * np.sin(2 * np.pi * 220 * np.arange(48000) / 48000)).astype(np.float32)[None, :]

def rms_db():
    y = local(tone, 48000, reset=True)[0, 24000:]
    return float(20 * np.log10(np.sqrt(np.mean(y ** 2))))

before = rms_db()
editor = VST3Editor(path, local.raw_state)
editor.set_parameters({"ratio": 20.0})   # what a drag in the editor would do
state = None
deadline = time.monotonic() + 20
while state is None and time.monotonic() < deadline:
    state = editor.poll(timeout=0.2)
local.raw_state = state
after = rms_db()
final = editor.close()
print(json.dumps({"title": editor.title, "before": before, "after": after,
                  "ratio": local.ratio, "threshold": local.threshold_db,
                  "final_same": final == state, "error": editor.error}))
"""


def test_state_goes_to_the_editor_and_comes_back(display, tmp_path):
    proc = run(["-c", STATE_BOTH_WAYS], x11_env(display))
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    assert r["title"] == "ZamComp" and r["error"] == ""
    assert r["threshold"] == pytest.approx(-30.0, abs=0.5)  # ours reached the editor
    assert r["ratio"] == pytest.approx(20.0, abs=0.5)  # the editor's change came back
    assert r["before"] - r["after"] > 3, r  # and is heard
    assert r["final_same"]


def test_an_editor_process_that_dies_is_reported_in_one_line(display, tmp_path):
    script = (
        "import os, signal, time\n"
        "from engine.plugins.vst3_editor import VST3Editor\n"
        "e = VST3Editor('/usr/lib/vst3/ZamComp.vst3', None)\n"
        "os.kill(e.proc.pid, signal.SIGKILL)\n"
        "while not e.closed: e.poll(timeout=0.2)\n"
        "print(e.error)\n"
    )
    proc = run(["-c", script], x11_env(display))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == (
        "VST3 plugin ZamComp.vst3: its editor process ended (signal 9, SIGKILL); "
        "the last state it sent is kept"
    )
