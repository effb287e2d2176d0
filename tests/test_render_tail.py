"""``quanta render``'s tail: until the mix has died away (bounded), ``--tail`` to override; the
summary's peak is the peak of what the file holds. Measured on real rendered audio."""

from __future__ import annotations

import re

import numpy as np
import pytest
import soundfile as sf

from app.cli import main
from engine.audio.render import MAX_AUTO_TAIL, SILENCE_DBFS, SILENCE_WINDOW
from engine.build import add_track, new_song
from engine.model import make_notes
from engine.smf import save_song

SR = 48000
PPQ = 480
SONG_END = SR // 2  # one quarter note at 120 BPM: the song ends at 0.5 s ...
LAST_EVENT = SONG_END + 1  # ... and the note-off's own sample is rendered too
QUIET = 10 ** (SILENCE_DBFS / 20)


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


@pytest.fixture
def one_note(tmp_path):
    song = new_song(PPQ, 120.0)
    add_track(song, make_notes([0], [PPQ], [60], [110], [0]), "Keys")
    path = tmp_path / "note.mid"
    save_song(song, path)
    return path


def _render(capsys, src, out, *options) -> tuple[np.ndarray, str]:
    assert main(["render", str(src), "-o", str(out), "--bit-depth", "32f", *options]) == 0
    audio, rate = sf.read(out, dtype="float32", always_2d=True)
    assert rate == SR
    return audio, capsys.readouterr().out


def _peak(audio: np.ndarray) -> float:
    return float(np.abs(audio).max()) if audio.size else 0.0


def test_a_reverb_tail_rings_out_until_it_falls_below_the_silence_level(one_note, tmp_path, capsys):
    audio, out = _render(
        capsys, one_note, tmp_path / "verb.wav", "--effect", "reverb:room_size=0.9"
    )
    frames = audio.shape[0]
    # The old fixed 2 s cut would have lost a tail still well above the silence level ...
    assert _peak(audio[SONG_END + 2 * SR : SONG_END + 2 * SR + SR // 10]) > 100 * QUIET
    # ... now the file runs until the last sample above it, and no further.
    assert SONG_END + 2 * SR < frames < SONG_END + MAX_AUTO_TAIL * SR
    assert _peak(audio[-1:]) > QUIET
    assert _peak(audio[-SR // 4 :]) < 10 ** (-70 / 20)  # has died away by the file's end
    tail = (frames - SONG_END) / SR
    assert re.search(rf"wrote .*verb\.wav: {frames / SR:.1f} s \(tail {tail:.1f} s\)", out)


def test_the_mix_must_stay_quiet_for_the_whole_window_and_the_tail_is_bounded(
    one_note, tmp_path, capsys
):
    # Echoes that never decay: the mix never stays quiet, so the tail stops at the bound.
    audio, out = _render(capsys, one_note, tmp_path / "echo.wav", "--effect", "delay:feedback=1.0")
    assert audio.shape[0] == LAST_EVENT + int(MAX_AUTO_TAIL * SR)
    assert f"(tail {MAX_AUTO_TAIL:.1f} s)" in out
    # echoes keep coming right up to the end (the window is longer than the echo spacing)
    last_echo = audio[-int(SILENCE_WINDOW * SR) :]
    assert _peak(last_echo) > 0.01


def test_tail_seconds_overrides(one_note, tmp_path, capsys):
    audio, out = _render(
        capsys, one_note, tmp_path / "t.wav", "--effect", "reverb:room_size=0.9", "--tail", "1.5"
    )
    assert audio.shape[0] == SONG_END + int(1.5 * SR)
    assert _peak(audio[-SR // 10 :]) > 100 * QUIET  # cut while ringing: what was asked for
    audio, _ = _render(capsys, one_note, tmp_path / "z.wav", "--tail", "0")
    assert audio.shape[0] == LAST_EVENT


def test_a_dry_synth_note_ends_soon_after_its_release(one_note, tmp_path, capsys):
    audio, _ = _render(capsys, one_note, tmp_path / "dry.wav")
    assert SONG_END < audio.shape[0] < SONG_END + 2 * SR
    assert _peak(audio[SONG_END - SR // 10 : SONG_END]) > 0.01  # the note itself is there


def _printed_peak(out: str) -> str:
    m = re.search(r"events, (silent|peak -?[\d.]+ dBFS)", out)
    assert m, out
    return m.group(1)


def test_summary_peak_is_the_peak_the_file_holds(one_note, tmp_path, capsys):
    empty = new_song(PPQ, 120.0)
    add_track(empty, make_notes([], [], [], [], []), "Nothing")
    src = tmp_path / "empty.mid"
    save_song(empty, src)
    # 16-bit TPDF dither: the "empty" file holds ±1-2 LSB of noise, and the summary says so.
    out_path = tmp_path / "e16.wav"
    assert main(["render", str(src), "-o", str(out_path), "--tail", "1"]) == 0
    pcm, _ = sf.read(out_path, dtype="int16", always_2d=True)
    held = float(np.abs(pcm.astype(np.int32)).max()) / 32768
    assert 0 < held < 10 ** (-80 / 20)
    assert _printed_peak(capsys.readouterr().out) == f"peak {20 * np.log10(held):.1f} dBFS"
    # No dither, nothing played: digital silence, said in words (not "-180 dBFS").
    assert main(["render", str(src), "-o", str(out_path), "--tail", "1", "--dither", "none"]) == 0
    assert _printed_peak(capsys.readouterr().out) == "silent"
    # A real note at 24 bits: the printed peak is the file's own.
    out_path = tmp_path / "n24.wav"
    assert main(["render", str(one_note), "-o", str(out_path), "--bit-depth", "24"]) == 0
    pcm, _ = sf.read(out_path, dtype="int32", always_2d=True)
    held = float(np.abs(pcm.astype(np.float64)).max()) / 2**31
    assert _printed_peak(capsys.readouterr().out) == f"peak {20 * np.log10(held):.1f} dBFS"
