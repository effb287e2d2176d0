"""``quanta … | head -1``: a closed stdout pipe ends any command quietly, exit 141."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.demo import demo_song
from engine.smf import save_song
from tests import procs

QUANTA = Path(sys.executable).with_name("quanta")
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as a shell reports `cat` cut off by `head`


def _run_into_closed_pipe(argv: list[str], timeout: float = 180) -> subprocess.CompletedProcess:
    """Run quanta with stdout a pipe whose reading end is already closed."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = procs.spawn(
            [str(QUANTA), *argv],
            stdout=write_end,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    finally:
        os.close(write_end)
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        proc.wait()
        raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, b"", err)


@pytest.fixture(scope="module")
def song_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("pipe") / "demo.mid"
    save_song(demo_song(), path)
    return path


@pytest.mark.parametrize(
    "argv",
    [["info", "{song}"], ["info", "{song}", "--json"], ["plugins"], ["presets", "list"]],
    ids=["info", "info-json", "plugins", "presets"],
)
def test_closed_pipe_ends_the_command_quietly(song_file, argv):
    res = _run_into_closed_pipe([a.replace("{song}", str(song_file)) for a in argv])
    assert res.stderr.decode(errors="replace") == ""
    assert res.returncode == EXIT_BROKEN_PIPE


def test_reader_that_stops_after_one_line(song_file):
    """What ``quanta info f.mid | head -1`` does: read a line, close, and quanta ends quietly."""
    proc = procs.spawn(
        [str(QUANTA), "info", str(song_file), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    first = proc.stdout.readline()
    proc.stdout.close()
    try:
        err = proc.stderr.read()
        code = proc.wait(120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 9)
            proc.wait()
    assert first.strip() == b"{"
    assert err == b""
    assert code in (0, EXIT_BROKEN_PIPE)  # 0 when everything fit in the pipe before the close
