"""Fault tests: `quanta play` and `quanta live --record` stopped by signals, on a real JACK server.

SIGHUP (the terminal closed, SSH dropped), SIGTERM (kill, a service manager) and a double
Ctrl-C (the second one arriving while the first one's shutdown runs) must all end the same way
as one Ctrl-C: every note-on that reached the port has its note-off on the port (recorded by a
JACK client), the raw take is saved, and the process exits by itself (exit 0, not killed by a
signal: a negative return code would be a crash such as a segfault).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from engine.build import add_track, new_song
from engine.model.notes import make_notes
from tests import procs
from tests.jack_tools import JackMidiSender, unmatched_notes

pytestmark = pytest.mark.jack
ROOT = Path(__file__).resolve().parent.parent

SIGNALS = {
    "SIGHUP": [signal.SIGHUP],
    "SIGTERM": [signal.SIGTERM],
    "double-SIGINT": [signal.SIGINT, signal.SIGINT],
}


class Quanta:
    """`quanta ...` in its own process group, its stderr read line by line as it comes."""

    def __init__(self, *args: str):
        self.proc = procs.spawn(
            [sys.executable, "-m", "app.cli", *args],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._new = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stderr:
            with self._new:
                self.lines.append(line)
                self._new.notify_all()

    def wait_line(self, needle: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        with self._new:
            while True:
                for line in self.lines:
                    if needle in line:
                        return line
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None and not self._reader.is_alive():
                    raise AssertionError(f"no {needle!r} from quanta: {''.join(self.lines)}")
                self._new.wait(min(left, 0.1))

    def stop_with(self, sigs: list[int], timeout: float = 30.0) -> str:
        """Send the first signal; any further one as soon as quanta says it is stopping (its
        shutdown is running then); return all of stderr once it exited."""
        self.proc.send_signal(sigs[0])
        if len(sigs) > 1:
            self.wait_line("stopping")
            for sig in sigs[1:]:
                self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            procs.kill_group(self.proc)
            raise AssertionError(f"quanta did not stop: {''.join(self.lines)}") from None
        self._reader.join(5)
        return "".join(self.lines)


def _dense_song(path: Path) -> Path:
    """Overlapping long notes on many pitches: whenever a signal comes, several sound."""
    from engine.smf.midifile import save_song

    song = new_song(ppq=480, bpm=240)
    starts = [i * 120 for i in range(32)]
    add_track(song, make_notes(starts, [s + 1440 for s in starts], [48 + i for i in range(32)]))
    save_song(song, path)
    return path


@pytest.mark.parametrize("how", list(SIGNALS))
def test_play_stops_on_a_signal_with_every_note_closed(midi_recorder, tmp_path, how):
    path = _dense_song(tmp_path / "dense.mid")
    q = Quanta("play", str(path), "--out", midi_recorder.port_name, "--loop", "0t:3840t")
    q.wait_line("playing")
    assert len(midi_recorder.wait_for(12, 20)) >= 12  # notes are sounding
    sounding = unmatched_notes(midi_recorder.notes())
    assert sounding, "no note was sounding when the signal came"
    err = q.stop_with(SIGNALS[how])
    assert q.proc.returncode == 0, err  # negative: killed by a signal (a segfault is -11)
    midi_recorder.settle(0.2)
    notes = midi_recorder.notes()
    assert sum(1 for n in notes if n[1] == 0x90) >= 12
    assert unmatched_notes(notes) == []  # every note-on got its note-off on the port
    assert "stopping (all notes off)" in err and "Traceback" not in err


@pytest.mark.parametrize("how", list(SIGNALS))
def test_live_record_stops_on_a_signal_saving_the_take(jack_server, midi_recorder, tmp_path, how):
    from engine.smf.midifile import load_song

    take = tmp_path / "take.mid"
    q = Quanta(
        "live", "--in", "qsig-in", "--out", "qsig-out", "--virtual", "--record", str(take)
    )  # fmt: skip
    sender = JackMidiSender("qsig-player", servername=jack_server.name)
    try:
        q.wait_line("live:")  # the ports are open
        midi_recorder.connect_from(_port(midi_recorder, "qsig-out"))
        sender.connect_to(_port(midi_recorder, "qsig-in"))
        time.sleep(0.3)
        f = sender.now_frame() + 4800
        # Three notes closed, two still held down when the signal comes.
        for k, pitch in enumerate([60, 62, 64, 67, 71]):
            sender.send_at_frame(f + 2400 * k, bytes((0x90, pitch, 90)))
            if pitch < 67:
                sender.send_at_frame(f + 2400 * k + 1200, bytes((0x80, pitch, 0)))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and 71 not in _held(midi_recorder):
            time.sleep(0.02)
        assert 71 in _held(midi_recorder), midi_recorder.events  # held when the signal comes
        err = q.stop_with(SIGNALS[how])
    finally:
        if q.proc.poll() is None:
            procs.kill_group(q.proc)
        sender.close()
    assert q.proc.returncode == 0, err
    midi_recorder.settle(0.2)
    assert unmatched_notes(midi_recorder.notes()) == []  # the held notes were closed
    assert "saved take" in err and "Traceback" not in err
    saved = load_song(take)
    pitches = sorted(int(p) for t in saved.tracks for p in t.notes["pitch"])
    assert pitches == [60, 62, 64, 67, 71]  # the raw take, held notes included


def _held(recorder) -> list[int]:
    """Pitches sounding on the recorded port (note-on without its note-off yet)."""
    return [pitch for _frame, pitch in unmatched_notes(recorder.notes())]


def _port(recorder, pattern: str, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = recorder.client.get_ports(pattern, is_midi=True)
        if found:
            return found[0].name
        time.sleep(0.05)
    raise AssertionError(f"no JACK port matching {pattern!r}")
