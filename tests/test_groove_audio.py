"""Audio to groove: a drum loop rendered by Quanta itself from a MIDI groove gives back that
groove's points within ±5 ms; bad, huge and overlong audio files are one line, exit 2."""

from __future__ import annotations

import json
from fractions import Fraction as F

import numpy as np
import pytest
import soundfile as sf

from app.cli import main
from engine.build import add_track, new_song
from engine.model.notes import make_notes
from engine.quantize import GroovePoint, GrooveTemplate
from engine.smf import save_song

BPM = 120
MS = F(BPM, 60_000)  # beats per millisecond
#: A 1/16 groove with offsets of every kind: on the step, late, early, and a pushed downbeat
#: of the next bar (the last point wraps to slot 0).
OFFSETS_MS = [0, 22, -8, 15, 0, 18, 6, 25, 0, 20, -12, 14, 3, 24, 9, 17]
GROOVE = GrooveTemplate(
    "Audio test",
    "1/16",
    4,
    tuple(GroovePoint(F(k, 4) + OFFSETS_MS[k] * MS) for k in range(16)),
)


def render_loop(tmp_path, bars=4):
    """Kick on beats, snare on 2 and 4, hats elsewhere, on the groove's points; rendered by
    `quanta render` (the built-in drum kit on channel 10)."""
    ppq = 960
    song = new_song(ppq=ppq, bpm=BPM)
    starts, pitches = [], []
    for rep in range(bars):
        for j, _off, p in GROOVE.slots():
            starts.append(round((rep * GROOVE.length + p.beat) * ppq))
            pitches.append(36 if j % 8 == 0 else 38 if j % 8 == 4 else 42)
    s = np.array(starts)
    add_track(song, make_notes(s, s + ppq // 8, np.array(pitches), 100, channels=9))
    mid = tmp_path / "loop.mid"
    save_song(song, mid)
    wav = tmp_path / "loop.wav"
    assert main(["render", str(mid), "-o", str(wav)]) == 0
    return wav


@pytest.fixture(scope="module")
def loop(tmp_path_factory):
    return render_loop(tmp_path_factory.mktemp("audio"))


@pytest.mark.parametrize("tempo", [["--tempo", "120"], []], ids=["given", "detected"])
def test_rendered_loop_gives_back_the_groove_within_5_ms(loop, tmp_path, tempo, capsys):
    out = tmp_path / "g.json"
    code = main(["groove", "extract", str(loop), "-o", str(out), "--base", "1/16", *tempo])
    assert code == 0, capsys.readouterr().err
    assert "64 onsets" in capsys.readouterr().out
    doc = json.loads(out.read_text())
    assert doc["length"] == 4 and doc["base"] == "1/16" and len(doc["points"]) == 16
    got = GrooveTemplate("g", "1/16", 4, tuple(doc["points"]))
    want = {j: off for j, off, _ in GROOVE.slots()}
    for j, off, p in got.slots():
        error_ms = abs(float((off - want[j]) / MS))
        assert error_ms <= 5, (j, error_ms)
        assert p.length is None and 1 <= p.velocity <= 127
    assert max(p.velocity for p in got.points) > 120  # strongest onset scaled to 127 (mean)


def _one_line_exit_2(argv, capsys, *words):
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    for w in words:
        assert w in err, err


def test_broken_huge_long_and_silent_audio_are_one_line(tmp_path, capsys):
    out = tmp_path / "g.json"
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk")
    _one_line_exit_2(["groove", "extract", str(bad), "-o", str(out)], capsys, "bad.wav", "cannot be read as audio")
    huge = tmp_path / "huge.flac"
    with open(huge, "wb") as fh:
        fh.truncate(1024**3 + 1)  # sparse
    _one_line_exit_2(["groove", "extract", str(huge), "-o", str(out)], capsys, "huge.flac", "at most")
    long = tmp_path / "long.wav"
    sf.write(long, np.zeros(601 * 1000, np.int16), 1000, subtype="PCM_16")
    _one_line_exit_2(["groove", "extract", str(long), "-o", str(out)], capsys, "long.wav", "601 s long")
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(48000, np.float32), 48000)
    _one_line_exit_2(["groove", "extract", str(silent), "-o", str(out), "--tempo", "100"], capsys, "silent.wav", "no onsets")
    assert not out.exists()
