"""Plugin messages a user reads: one complete line, the right words (issue 14), and the
first scan's progress count on a terminal (issue 12)."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import pytest

from app.cli import main
from engine.errors import DeviceError
from engine.plugins import vst3
from engine.plugins.sf2 import SF2Instrument, fluidsynth_available
from tests import lv2_fakes, procs

ROOT = Path(__file__).resolve().parents[1]


def test_a_broken_vst3_gives_the_reason_not_a_dangling_header(tmp_path):
    bundle = tmp_path / "Broken.vst3"
    (bundle / "Contents" / "x86_64-linux").mkdir(parents=True)
    (bundle / "Contents" / "x86_64-linux" / "Broken.so").write_bytes(b"not a library\n")
    with pytest.raises(DeviceError) as err:
        vst3.load_vst3_effect(str(bundle), 48000, 256)
    text = str(err.value)
    assert "\n" not in text and "Errors were" not in text
    assert text == (
        "VST3 plugin Broken.vst3 failed to load: Unable to scan plugin Broken.vst3: "
        "unsupported plugin format or scan failure."
    )


def test_load_error_text_keeps_every_reason():
    msg = "Failed to load plugin as VST3Plugin. Errors were:\n\tVST3Plugin: a /p/X.vst3\n\tb\n"
    assert vst3.load_error_text(msg, "/p/X.vst3") == "a X.vst3; b"
    assert vst3.load_error_text("Failed to load plugin as VST3Plugin. Errors were:", "/p") == ""


@pytest.mark.skipif(not fluidsynth_available(), reason="needs libfluidsynth")
def test_soundfont_paths_that_are_not_regular_files_are_named_so(tmp_path):
    with pytest.raises(
        DeviceError, match=r"^SoundFont /dev/zero is not a regular file \(a device\)$"
    ):
        SF2Instrument("/dev/zero")
    with pytest.raises(DeviceError, match="is a folder, not an .sf2 file"):
        SF2Instrument(str(tmp_path))
    with pytest.raises(DeviceError, match="does not exist"):
        SF2Instrument(str(tmp_path / "gone.sf2"))


@pytest.mark.skipif(not fluidsynth_available(), reason="needs libfluidsynth")
def test_a_fifo_soundfont_is_refused_without_opening_it(tmp_path):
    """Opening a FIFO with no writer blocks for ever: the render must say so and exit."""
    from engine.build import add_track, new_song
    from engine.model.notes import make_notes
    from engine.smf.midifile import save_song

    fifo = tmp_path / "font.sf2"
    os.mkfifo(fifo)
    song = new_song(480, 120.0)
    add_track(song, make_notes([0], [480], 60, 90, 0), "Keys")
    save_song(song, tmp_path / "s.mid")
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    cmd = [sys.executable, "-m", "app.cli", "render", str(tmp_path / "s.mid"), "-o",
           str(tmp_path / "o.wav"), "--instrument", f"sf2:{fifo}"]  # fmt: skip
    proc = procs.run(
        cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
        start_new_session=True,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"quanta: error: sf2 plugin font.sf2 is not usable: SoundFont {fifo} is not a regular "
        "file (a FIFO)"
    ]
    assert not (tmp_path / "o.wav").exists()


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def mda_only(tmp_path, monkeypatch):
    lv2_fakes.mda_only_plugins(tmp_path, monkeypatch)


def test_the_first_scan_counts_plugins_on_a_terminal(mda_only, monkeypatch, capsys):
    term = _Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    assert main(["plugins"]) == 0
    shown = term.getvalue()
    steps = [s.strip() for s in shown.split("\r") if s.strip()]
    assert steps[0] == "probing plugins 0/36"
    assert steps[-1].startswith("probing plugins 36/36: MDA ")
    counts = [int(s.split()[2].split("/")[0].rstrip(":")) for s in steps]
    assert counts == list(range(37))  # every plugin counted, in order
    assert shown.endswith("\r" + " " * 79 + "\r")  # the line is wiped before the listing
    assert capsys.readouterr().out.startswith("Built-in:")
    # From the cache: nothing to probe, nothing shown.
    term.seek(0)
    term.truncate()
    assert main(["plugins"]) == 0
    assert term.getvalue() == ""


def test_no_progress_when_stderr_is_not_a_terminal(mda_only, capsys):
    assert main(["plugins", "--json"]) == 0
    assert capsys.readouterr().err == ""
