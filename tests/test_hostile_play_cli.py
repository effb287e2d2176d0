"""``quanta play`` of a song of 4096 silences of 2^28 ticks, on a real JACK port: it starts at
once, plays the note it reaches and clicks through the silence, in bounded memory, and Ctrl-C
stops it with every note closed (issue 14)."""

from __future__ import annotations

import os
import signal
import time

import pytest

from tests.hostile_songs import gapped_bytes
from tests.jack_tools import unmatched_notes
from tests.test_engine_cli import ports_module, quanta  # noqa: F401  (a fixture)

pytestmark = [pytest.mark.jack, pytest.mark.timeout(120)]


def _peak_rss_mb(proc) -> float:
    with open(f"/proc/{proc.pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise AssertionError(f"quanta play ended early: {proc.communicate(timeout=10)}")


def test_play_clicks_through_a_silence_of_years(midi_recorder, tmp_path, ports_module):  # noqa: F811
    path = tmp_path / "silences.mid"
    path.write_bytes(gapped_bytes(1, 4096, usec=62_500))  # 960 BPM at 1 PPQ: a beat = 62.5 ms
    proc = quanta(
        "play", str(path), "--out", midi_recorder.port_name, "--metronome", start_new_session=True
    )
    try:
        midi_recorder.wait_for(14, 30)  # 6 note-ons and their note-offs (and more)
        rss = _peak_rss_mb(proc)
        time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 0, err
    midi_recorder.settle(0.1)
    rec = midi_recorder.notes()
    ons = [(f, p) for f, k, p, _ in rec if k == 0x90]
    # tick 0: the accent click and the song's first note; then a click per beat, accent per bar
    # (on a loaded machine JACK may connect the port a moment late: compare what came)
    pitches = [p for _, p in ons]
    assert pitches.count(60) <= 1 and 61 not in pitches
    clicks = [p for p in pitches if p != 60]
    first = clicks.index(76)
    assert len(clicks) >= 6 and first < 4
    assert clicks[first:] == ([76, 77, 77, 77] * len(clicks))[: len(clicks) - first]
    # (exact due times are tests/test_hostile_engine.py's; rtmidi sends on the wall clock)
    assert unmatched_notes(rec) == []
    assert "all notes off" in err
    assert rss < 400, f"peak RSS {rss:.0f} MB"  # 245 MB measured; click rows for the whole
    # song (2^20 of them, the old metronome) alone took ~200 MB more
