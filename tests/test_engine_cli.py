"""`quanta play` and `quanta live` as a user runs them: subprocesses on real JACK ports.

Ctrl-C is a real SIGINT; what came out is recorded by a JACK recorder with frame times.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from engine.build import add_track, new_song
from engine.model.notes import make_notes
from tests import procs
from tests.jack_tools import JackMidiSender, unmatched_notes

pytestmark = pytest.mark.jack
LATE = re.compile(r"quanta: warning: \d+ events? reached .* late")
ROOT = Path(__file__).resolve().parent.parent


def quanta(*args: str, **kw) -> subprocess.Popen:
    return procs.spawn(
        [sys.executable, "-m", "app.cli", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


def wait_for_port(recorder, pattern: str, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = recorder.client.get_ports(pattern, is_midi=True)
        if found:
            return found[0].name
        time.sleep(0.05)
    raise AssertionError(f"no JACK port matching {pattern!r}")


def humanized_file(tmp_path, bpm=240, n=16) -> tuple[Path, np.ndarray]:
    from engine.smf.midifile import save_song

    rng = np.random.default_rng(5)
    grid = np.arange(n) * 120
    starts = np.maximum(0, grid + rng.integers(-30, 31, n))
    song = new_song(ppq=480, bpm=bpm)
    add_track(song, make_notes(starts, starts + 100, 50 + np.arange(n)))
    path = tmp_path / "in.mid"
    save_song(song, path)
    return path, grid


@pytest.fixture
def ports_module():
    return pytest.importorskip("engine.ports.rtmidi_io")


def test_play_sends_the_quantized_file_to_a_port(midi_recorder, tmp_path, ports_module):
    path, grid = humanized_file(tmp_path)
    proc = quanta("play", str(path), "--out", midi_recorder.port_name, "--grid", "1/16")
    out, err = procs.communicate(proc, timeout=30)
    assert proc.returncode == 0, err
    midi_recorder.settle(0.1)
    rec = midi_recorder.notes()
    ons = [(f, p) for f, k, p, _ in rec if k == 0x90]
    assert [p for _, p in ons] == list(range(50, 66))
    assert unmatched_notes(rec) == []
    frames = np.array([f for f, _ in ons], dtype=float) - ons[0][0]
    expected = grid * 48000 * 60 / 240 / 480
    if not LATE.search(err):  # else quanta said some went out a period (or more) late
        assert np.abs(np.diff(frames) - np.diff(expected)).max() <= 2 * midi_recorder.period
    assert "playing" in err


def test_ctrl_c_stops_a_looping_play_with_every_note_closed(midi_recorder, tmp_path, ports_module):
    from engine.smf.midifile import save_song

    song = new_song(ppq=480, bpm=120)
    add_track(song, make_notes([0, 0, 480], [3840, 1920, 3000], [60, 64, 67]))  # long notes
    path = tmp_path / "long.mid"
    save_song(song, path)
    proc = quanta("play", str(path), "--out", midi_recorder.port_name, "--loop", "1:3")
    midi_recorder.wait_for(3, 10)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    out, err = procs.communicate(proc, timeout=15)
    assert proc.returncode == 0, err
    midi_recorder.settle(0.1)
    rec = midi_recorder.notes()
    assert [p for _, k, p, _ in rec if k == 0x90][:3] == [60, 64, 67]
    assert unmatched_notes(rec) == []
    assert "all notes off" in err


def test_live_thru_quantizes_and_saves_the_raw_take_on_ctrl_c(
    jack_server, midi_recorder, tmp_path, ports_module
):
    from engine.smf.midifile import load_song

    take = tmp_path / "take.mid"
    proc = quanta(
        "live",
        "--in",
        "qlive-in",
        "--out",
        "qlive-out",
        "--virtual",
        "--grid",
        "1/16",
        "--mode",
        "next",
        "--record",
        str(take),
        "--tempo",
        "120",
    )
    sender = JackMidiSender("qlive-player", servername=jack_server.name)
    try:
        banner = proc.stderr.readline()  # printed once the ports are open and wired
        assert banner.startswith("live:"), banner
        out_port = wait_for_port(midi_recorder, "qlive-out")
        in_port = wait_for_port(midi_recorder, "qlive-in")
        midi_recorder.connect_from(out_port)
        sender.connect_to(in_port)
        time.sleep(0.3)
        f = sender.now_frame() + 4800
        played = [(0, 60), (1500, 62), (3200, 64)]  # 1/16 at 120 BPM = 6000 frames
        for off, pitch in played:
            sender.send_at_frame(f + off, bytes((0x90, pitch, 90)))
            sender.send_at_frame(f + off + 2400, bytes((0x80, pitch, 0)))
        midi_recorder.wait_for(6, 5)
        midi_recorder.settle(0.2)
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = procs.communicate(proc, timeout=15)
        sender.close()
    assert proc.returncode == 0, err
    err = banner + err
    rec = midi_recorder.notes()
    ons = [(fr, p) for fr, k, p, _ in rec if k == 0x90]
    assert sorted(p for _, p in ons) == [60, 62, 64]
    assert unmatched_notes(rec) == []
    if not LATE.search(err):  # quanta counts (and says) events that reached the port late
        assert [p for _, p in ons] == [60, 62, 64]
        # `next` mode: notes land on 1/16 grid points, so their distances are whole steps
        steps = np.diff([fr for fr, _ in ons]) / 6000.0
        assert np.abs(steps - np.round(steps)).max() * 6000 <= 2 * midi_recorder.period + 96
    saved = load_song(take)
    notes = np.concatenate([t.notes for t in saved.tracks])
    assert notes["pitch"].tolist() == [60, 62, 64]
    # the raw performance: 1500 and 3200 frames apart at 960 ticks/s (1 tick = 50 frames)
    gaps = np.diff(notes["start"])
    # (arrival times come from the input port's frame clock, which wobbles by some ms on a
    # loaded dummy server; quantized gaps would be 0 or 120 ticks)
    assert np.abs(gaps - np.array([30, 34])).max() <= 20, gaps
    assert "saved take" in err


def test_missing_port_is_one_line_and_exit_2(jack_server, tmp_path, ports_module):
    path, _ = humanized_file(tmp_path)
    proc = quanta("play", str(path), "--out", "no-such-port-xyz")
    out, err = procs.communicate(proc, timeout=30)
    assert proc.returncode == 2
    assert err.strip().count("\n") == 0 and "no-such-port-xyz" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["play", "{missing}", "--out", "x"], "missing.mid"),
        (["play", "{file}", "--out", "x", "--preset", "No Such Preset"], "No Such Preset"),
        (["play", "{file}", "--out", "x", "--swing", "90"], "swing"),
        (["live", "--in", "a", "--out", "b", "--max-delay", "-5"], "max_delay"),
        (["live", "--in", "a", "--out", "b", "--tempo", "0"], "tempo"),
    ],
)
def test_bad_options_are_one_line_errors(tmp_path, args, needle):
    path, _ = humanized_file(tmp_path)
    args = [a.format(missing=tmp_path / "missing.mid", file=path) for a in args]
    proc = quanta(*args)
    out, err = procs.communicate(proc, timeout=30)
    assert proc.returncode == 2, err
    assert needle in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
