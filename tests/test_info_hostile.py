"""``quanta info`` on files built to hurt: a tempo of 0 µs per quarter, silences of 2^28
ticks at 1 and 480 PPQ, thousands of them. Each answers at once, with exact figures."""

from __future__ import annotations

import json

import pytest

from app.cli import main
from engine.smf.midifile import load_song_bytes, song_to_bytes
from tests import midi_corpus as mc

GAP = (1 << 28) - 1  # the longest delta a MIDI file can hold


def _tempo(usec: int) -> bytes:
    return mc.meta(0x51, usec.to_bytes(3, "big"))


def _write(tmp_path, data: bytes, name: str = "f.mid"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _info_json(path, capsys) -> dict:
    assert main(["info", "--json", str(path)]) == 0
    return json.loads(capsys.readouterr().out)


def test_tempo_zero_is_ignored_and_named(tmp_path, capsys):
    track = mc.raw_track(
        [
            (0, _tempo(600_000)),
            (0, b"\x90\x3c\x40"),
            (96, b"\x80\x3c\x00"),
            (0, _tempo(0)),
            (96, b"\x90\x3e\x40"),
            (96, b"\x80\x3e\x00"),
        ],
        running=False,
    )
    data = mc.raw_smf(0, 96, [track])
    path = _write(tmp_path, data)
    info = _info_json(path, capsys)
    assert info["tempos"] == [{"tick": 0, "bpm": 100.0}]
    assert info["ignored_tempos"] == [96]
    assert info["length_ticks"] == 288
    assert info["length_seconds"] == pytest.approx(3 * 0.6)
    assert main(["info", str(path)]) == 0
    text = capsys.readouterr().out
    assert "tempo: 100 BPM at 0, ignored: tempo 0 µs per quarter (unusable) at 96" in text
    # the event is kept, byte for byte
    assert song_to_bytes(load_song_bytes(data)) == data


def test_tempo_zero_alone_times_the_song_at_120_bpm(tmp_path, capsys):
    track = mc.raw_track([(0, _tempo(0)), (0, b"\x90\x3c\x40"), (480, b"\x80\x3c\x00")], False)
    info = _info_json(_write(tmp_path, mc.raw_smf(1, 480, [track])), capsys)
    assert info["tempos"] == [{"tick": 0, "bpm": 120.0}]
    assert info["length_seconds"] == 0.5


@pytest.mark.timeout(30)
@pytest.mark.parametrize("ppq", [1, 480])
def test_long_silences_are_counted_in_closed_form(tmp_path, capsys, ppq):
    """4000 gaps of 2^28-1 ticks: about 2^40 ticks, 2.7e11 bars at 1 PPQ (the old bar walk
    would never finish). The tempo and signature changes between them are honoured."""
    events = [(0, mc.meta(0x58, bytes((3, 2, 24, 8))))]
    for k in range(4000):
        events.append((GAP, b"\x90\x3c\x40" if k % 2 == 0 else b"\x80\x3c\x00"))
    events.append((GAP, _tempo(1_000_000)))
    events.append((1, mc.meta(0x58, bytes((7, 3, 24, 8)))))
    track = mc.raw_track(events, running=False, end_delta=5)
    info = _info_json(_write(tmp_path, mc.raw_smf(0, ppq, [track])), capsys)
    first_sig = 4001 * GAP + 1
    length = first_sig + 5
    bar34 = 3 * ppq  # 3/4
    bar78 = max(1, ppq * 4 * 7 // 8)
    expected_bars = -(-first_sig // bar34) + -(-(length - first_sig) // bar78)
    assert info["length_ticks"] == length
    assert info["length_bars"] == expected_bars
    assert info["length_seconds"] == pytest.approx(4001 * GAP / ppq * 0.5 + 6 / ppq, rel=1e-12)
    assert info["notes"] == 2000


def test_length_reads_in_hours_and_days_when_a_song_is_long():
    from app.commands.info import clock_text

    assert clock_text(0) == "0:00.000"
    assert clock_text(83.25) == "1:23.250"
    assert clock_text(3600) == "1:00:00"
    assert clock_text(90061.5) == "1 day 1:01:01"
    assert clock_text(2 * 365 * 86400) == "730 days 0:00:00 (~2.0 years)"
