"""The window opens on a real X server: the installed ``quanta`` command on Qt's xcb platform.

The rest of the suite draws offscreen, which needs none of the X11 libraries; these tests are
what fails when the xcb plugin cannot load (a system library missing from scripts/setup).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import procs
from tests.x11_tools import Xvfb, close_window, kill_group, map_state, top_windows

ROOT = Path(__file__).resolve().parents[1]
QUANTA = Path(sys.executable).with_name("quanta")


def _setup_list(name: str) -> set[str]:
    text = (ROOT / "scripts" / "setup").read_text()
    m = re.search(rf'^{name}="([^"]*)"', text, re.MULTILINE)
    assert m, f"scripts/setup has no {name} list"
    return set(m.group(1).split())


def test_setup_installs_every_library_the_xcb_plugin_needs():
    res = procs.run(
        [sys.executable, str(ROOT / "scripts" / "qt_xcb_debs.py")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    needed = set(res.stdout.split())
    assert "libxcb-cursor0" in needed and "libxcb-icccm4" in needed  # the derivation works
    assert needed - _setup_list("QT_XCB_DEBS") == set()
    missing = procs.run(
        [sys.executable, str(ROOT / "scripts" / "qt_xcb_debs.py"), "--missing"],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert missing == "", f"libraries ldd cannot find (run scripts/setup):\n{missing}"


@pytest.fixture
def xvfb():
    for tool in ("Xvfb", "xwininfo"):
        assert shutil.which(tool), f"{tool} is missing: scripts/setup --dev installs it"
    server = Xvfb()
    server.start()
    yield server
    server.stop()


def _quanta_env(display: str, home: Path) -> dict[str, str]:
    env = dict(os.environ, DISPLAY=display, QT_QPA_PLATFORM="xcb", HOME=str(home))
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        env[var] = str(home / var.lower())
    # No JACK server of another test (or the user's) is joined, none is started.
    env.update(JACK_NO_START_SERVER="1", JACK_DEFAULT_SERVER=f"none-{os.getpid()}")
    env.pop("WAYLAND_DISPLAY", None)
    env.pop("NUMBA_CACHE_DIR", None)
    return env


def _wait_for_window(proc, display: str, timeout: float) -> tuple[int, str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"quanta exited with {proc.returncode} before its window mapped")
        for window, title in top_windows(display):
            if title.endswith("— Quanta") and map_state(display, window) == "IsViewable":
                return window, title
        time.sleep(0.2)
    pytest.fail(f"no Quanta window mapped on {display} within {timeout:.0f} s")


def test_quanta_opens_its_window_on_x11_and_closes_cleanly(xvfb, tmp_path):
    assert QUANTA.exists(), f"{QUANTA}: run scripts/setup --dev"
    log = tmp_path / "quanta.log"
    with open(log, "wb") as out:
        proc = procs.spawn(
            [str(QUANTA)],
            env=_quanta_env(xvfb.display, tmp_path),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        window, _ = _wait_for_window(proc, xvfb.display, timeout=120)
        close_window(xvfb.display, window)  # what the title bar's close button does
        try:
            code = proc.wait(60)
        except subprocess.TimeoutExpired:
            pytest.fail("quanta did not exit within 60 s of its window being closed")
        output = log.read_text(errors="replace")
        assert code == 0, output
        assert "Traceback" not in output and "platform plugin" not in output, output
        assert all(w != window for w, _ in top_windows(xvfb.display))
    finally:
        if proc.poll() is None:
            kill_group(proc)


def test_a_library_ldd_cannot_find_maps_to_its_debian_package_by_name():
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "qt_xcb_debs", ROOT / "scripts" / "qt_xcb_debs.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.package_by_name("libxcb-icccm.so.4") == "libxcb-icccm4"
    assert mod.package_by_name("libxcb-keysyms.so.1") == "libxcb-keysyms1"
    assert mod.package_by_name("libxkbcommon-x11.so.0") == "libxkbcommon-x11-0"
    assert mod.package_by_name("libpng16.so.16") == "libpng16-16"


def test_without_a_display_quanta_says_so_in_one_line(tmp_path):
    env = _quanta_env("", tmp_path)
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        env.pop(var, None)
    res = procs.run(
        [str(QUANTA)], env=env, capture_output=True, text=True, timeout=120, start_new_session=True
    )
    assert res.returncode == 2  # not Qt's abort (134)
    assert res.stderr.startswith("quanta: error: no desktop display to open the window on")
    assert res.stderr.count("\n") == 1


def test_a_missing_system_library_is_named_with_its_package(tmp_path, monkeypatch):
    """A plugin whose dependencies are gone: the check names them all with their packages
    (the plugin and its libraries are built with the C compiler)."""
    import app.display_check as check
    from engine.errors import QuantaError

    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        pytest.skip("needs a C compiler to build a plugin with a missing dependency")

    def build(out: Path, source: str, *extra: str) -> None:
        src = out.with_suffix(".c")
        src.write_text(source)
        procs.run(
            [gcc, "-shared", "-fPIC", "-o", str(out), str(src), *extra], check=True, timeout=60
        )

    deps = {"quantadep": "libquantadep.so.3", "quantaxcb-extra": "libquantaxcb-extra.so.1"}
    for i, (name, soname) in enumerate(deps.items()):
        build(
            tmp_path / soname,
            f"int quanta_dep{i}(void) {{ return {i}; }}\n",
            f"-Wl,-soname,{soname}",
        )
        (tmp_path / f"lib{name}.so").symlink_to(soname)
    plugin = tmp_path / "libqfake.so"
    build(
        plugin,
        "int quanta_dep0(void);\nint quanta_dep1(void);\n"
        "int use(void) { return quanta_dep0() + quanta_dep1(); }\n",
        "-L",
        str(tmp_path),
        *(f"-l{name}" for name in deps),
    )
    for soname in deps.values():
        (tmp_path / soname).unlink()  # the system "lost" both libraries
    assert check.missing_library(plugin) in deps.values()
    monkeypatch.setattr(check, "xcb_plugin", lambda: plugin)
    monkeypatch.setenv("DISPLAY", ":99")
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(QuantaError) as err:
        check.check_display()
    message = str(err.value)
    assert message.startswith("the window cannot open: the system libraries libquantadep.so.3, ")
    assert "libquantaxcb-extra.so.1 that Qt's X11 plugin needs are missing" in message
    assert "apt-get install libquantadep3 libquantaxcb-extra1," in message
    # (the real plugin passing the same check is what the Xvfb test above runs through)


def test_loader_messages_are_read_for_the_library_name():
    from app.display_check import missing_from_error

    assert (
        missing_from_error(
            "libxcb-icccm.so.4: cannot open shared object file: No such file or directory"
        )
        == "libxcb-icccm.so.4"
    )
    assert missing_from_error("something else") is None
