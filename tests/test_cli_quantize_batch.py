"""``quanta quantize`` of a folder on every core: the same lines, files and exit code as
``--jobs 1``, in input order; a progress bar on a terminal. Runs the real command."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from engine.build import add_track, new_song
from engine.model import make_notes
from engine.smf import save_song
from tests import procs
from tests.x11_tools import kill_group

QUANTA = Path(sys.executable).with_name("quanta")


def _take(path: Path, notes: int, seed: int) -> None:
    """``notes`` notes up to ±30 ticks off a 1/16 grid (96 PPQ): a different summary per file."""
    rng = np.random.default_rng(seed)
    grid = np.arange(notes, dtype=np.int64) * 24 + 48
    start = grid + rng.integers(-30, 31, notes)
    song = new_song(ppq=96, bpm=100)
    add_track(song, make_notes(start, start + 20, rng.integers(36, 90, notes)), "Keys")
    save_song(song, path)


@pytest.fixture
def folder(tmp_path) -> Path:
    inp = tmp_path / "takes"
    inp.mkdir()
    # The first file is by far the biggest: with two processes the small ones finish first,
    # and must still be reported after it.
    _take(inp / "a_long.mid", 200_000, 1)
    for i, n in enumerate((5, 40, 7, 300, 12)):
        _take(inp / f"b{i}.mid", n, 10 + i)
    (inp / "c_broken.mid").write_bytes(b"MThd\x00\x00\x00\x06\x00\x01")
    return inp


def _quanta(args: list[str], cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess:
    proc = procs.spawn(
        [str(QUANTA), *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_jobs_2_gives_what_jobs_1_gives_in_input_order(folder, tmp_path):
    one = _quanta(["quantize", "takes", "-o", "out", "--jobs", "1", "--swing", "58"], tmp_path)
    two = _quanta(["quantize", "takes", "-o", "out2", "-j", "2", "--swing", "58"], tmp_path)
    assert one.returncode == two.returncode == 2  # one broken file
    lines_1 = one.stdout.splitlines()
    lines_2 = two.stdout.replace("out2/", "out/").splitlines()
    assert lines_1[:-1] == lines_2[:-1]  # settings line and one line per file, same order
    names = [line.split(" -> ")[0] for line in lines_1[1:-1]]
    assert names == [
        f"takes/{n}" for n in ("a_long.mid", "b0.mid", "b1.mid", "b2.mid", "b3.mid", "b4.mid")
    ]
    assert "200000 notes" in lines_1[1] or "of 200000" in lines_1[1]
    assert lines_1[-1].startswith("6 of 7 files quantized in ") and "1 process)" in lines_1[-1]
    assert lines_2[-1].startswith("6 of 7 files quantized in ") and "2 processes)" in lines_2[-1]
    assert "files/s" in lines_2[-1]
    assert one.stderr == two.stderr and one.stderr.startswith("quanta: error: c_broken.mid")
    for f in sorted((tmp_path / "out").iterdir()):
        assert f.read_bytes() == (tmp_path / "out2" / f.name).read_bytes(), f.name
    assert len(list((tmp_path / "out2").iterdir())) == 6


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_bad_jobs_value_is_a_usage_error(tmp_path, value):
    res = _quanta(["quantize", "x.mid", "-o", "y.mid", "--jobs", value], tmp_path, timeout=60)
    assert res.returncode == 2
    assert "give a number of processes from 1 to 512" in res.stderr
    assert "Traceback" not in res.stderr


def test_progress_bar_on_a_terminal(folder, tmp_path):
    """stderr on a pseudo-terminal: the bar is redrawn in place and ends at 7/7."""
    leader, follower = pty.openpty()
    proc = procs.spawn(
        [str(QUANTA), "quantize", "takes", "-o", "out", "--jobs", "2"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=follower,
        start_new_session=True,
    )
    os.close(follower)
    seen = b""
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 1.0)
            if ready:
                try:
                    chunk = os.read(leader, 4096)
                except OSError:  # EIO: the terminal's other side closed
                    break
                if not chunk:
                    break
                seen += chunk
            elif proc.poll() is not None:
                break
        proc.wait(60)
        out = proc.stdout.read().decode()
    finally:
        os.close(leader)
        if proc.poll() is None:
            kill_group(proc)
    assert proc.returncode == 2
    text = seen.decode(errors="replace")
    assert "\r\x1b[2K[" in text  # drawn in place
    assert "0/7 a_long.mid" in text and "[########################] 7/7 done" in text
    assert "quanta: error: c_broken.mid" in text
    assert "[" not in out  # stdout (a pipe) has the per-file lines only
