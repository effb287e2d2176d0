"""Offline render: quantize + schedule + synth agree to the sample; bit depth and dither."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from app.cli import main
from engine.audio.mixer import Mixer
from engine.audio.render import render_song, to_pcm, write_audio
from engine.build import add_track, new_song
from engine.model.notes import make_notes
from engine.plugins.builtin_synth import BuiltinSynth
from engine.quantize.settings import QuantizeSettings
from engine.smf.midifile import load_song, save_song
from tests.jack_audio_tools import onsets

SR = 48000
PPQ = 480


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def _builtin_mixer(tracks, rate=SR):
    m = Mixer(rate, 1024)
    for t in tracks:
        m.add_track(f"t{t}", BuiltinSynth(rate, 1024))
    return m


def _humanized_drums(tmp_path, hits=24, seed=3):
    """Rim shots and closed hats every 8th note, each up to ±40 ticks off its grid line."""
    rng = np.random.default_rng(seed)
    grid = np.arange(hits) * 240 + PPQ  # start on beat 2: room for early hits
    off = rng.integers(-40, 41, hits)
    off[off == 0] = 17
    notes = make_notes(grid + off, grid + off + 60, np.where(np.arange(hits) % 2, 42, 37), 110, 9)
    song = new_song(PPQ, 120.0)
    add_track(song, notes, "Drums")
    path = tmp_path / "drums.mid"
    save_song(song, path)
    return path, grid


def _onset_errors_ms(audio, grid):
    expected = np.rint(grid / PPQ * 0.5 * SR).astype(int)  # 120 BPM: 0.5 s per quarter
    found = onsets(audio[0] + audio[1], 1e-3, 2400)
    assert found.size == grid.size
    return (found - expected) / SR * 1000


def test_drum_onsets_land_on_the_quantized_ticks(tmp_path):
    path, grid = _humanized_drums(tmp_path)
    song = load_song(path)
    for t in song.tracks:
        t.quantize = QuantizeSettings(division=16)
    audio, _ = render_song(song, _builtin_mixer, tail=0.5)
    errors = _onset_errors_ms(audio, grid)
    assert np.all(np.abs(errors) <= 1.0), errors


def test_without_quantize_the_same_hits_are_off_the_grid(tmp_path):
    path, grid = _humanized_drums(tmp_path)
    audio, _ = render_song(load_song(path), _builtin_mixer, tail=0.5)
    errors = _onset_errors_ms(audio, grid)
    assert np.mean(np.abs(errors) > 5.0) > 0.8  # 17..40 ticks = 17..42 ms off


def test_cli_render_quantized_drums(tmp_path, capsys):
    path, grid = _humanized_drums(tmp_path)
    out = tmp_path / "drums.wav"
    rc = main([
        "render", str(path), "-o", str(out), "--grid", "1/16", "--bit-depth", "32f",
        "--tail", "0.5",
    ])  # fmt: skip
    assert rc == 0
    assert "wrote" in capsys.readouterr().out
    audio, rate = sf.read(out, dtype="float32", always_2d=True)
    assert rate == SR and sf.info(out).subtype == "FLOAT"
    errors = _onset_errors_ms(audio.T, grid)
    assert np.all(np.abs(errors) <= 1.0), errors


def _test_song():
    song = new_song(PPQ, 100.0)
    rng = np.random.default_rng(1)
    starts = np.arange(32) * 240
    add_track(song, make_notes(starts, starts + 200, rng.integers(48, 72, 32), 90, 0), "Keys")
    add_track(song, make_notes(starts[::2], starts[::2] + 400, 36, 100, 1), "Bass")
    return song


def test_16_and_24_bit_noise_floors_are_48_db_apart(tmp_path):
    audio, _ = render_song(_test_song(), _builtin_mixer, tail=0.5)
    floors = {}
    for depth in ("16", "24"):
        path = tmp_path / f"song{depth}.wav"
        write_audio(path, audio, SR, depth, dither="tpdf", seed=5)
        back, _ = sf.read(path, dtype="float64", always_2d=True)
        err = back.T - audio.astype(np.float64)
        floors[depth] = 20 * np.log10(np.sqrt(np.mean(err**2)))
    assert abs(floors["16"] - (-96.3)) < 1.5  # TPDF: 0.5 LSB rms
    assert 45.0 < floors["16"] - floors["24"] < 51.0, floors


def test_dither_decorrelates_the_error_from_the_signal():
    t = np.arange(SR) / SR
    x = (10 ** (-70 / 20)) * np.sin(2 * np.pi * 1000 * t)  # ≈10 LSB at 16 bits

    def error_spectrum(dither):
        q = to_pcm(x, 16, dither, np.random.default_rng(0)).astype(np.float64) / 32768
        e = q - x
        spec = np.abs(np.fft.rfft(e * np.hanning(e.size))) ** 2
        return e, 10 * np.log10(spec.max() / np.median(spec))

    e_plain, peak_plain = error_spectrum("none")
    e_tpdf, peak_tpdf = error_spectrum("tpdf")
    assert peak_plain > 30  # rounding error piles up in harmonics of the signal
    assert peak_tpdf < 20  # dithered error is white
    corr = abs(np.corrcoef(e_plain, x)[0, 1]), abs(np.corrcoef(e_tpdf, x)[0, 1])
    assert corr[1] < 0.02
    # TPDF costs noise: total error power ≈ 1/4 LSB² vs 1/12 LSB² undithered.
    lsb = 1 / 32768
    assert np.isclose(np.mean(e_tpdf**2) / lsb**2, 0.25, rtol=0.1)
    assert np.isclose(np.mean(e_plain**2) / lsb**2, 1 / 12, rtol=0.2)


def test_render_is_deterministic_and_reports_progress():
    seen = []
    a, stats = render_song(_test_song(), _builtin_mixer, tail=0.5, progress=seen.append)
    b, _ = render_song(_test_song(), _builtin_mixer, tail=0.5)
    assert np.array_equal(a, b)
    assert seen[-1] == 1.0 and seen == sorted(seen)
    assert stats.frames == a.shape[1]
    assert np.abs(a).max() > 0.05


def test_cli_render_flac_24_bit_at_44k1(tmp_path):
    mid = tmp_path / "song.mid"
    save_song(_test_song(), mid)
    out = tmp_path / "song.flac"
    assert (
        main(
            ["render", str(mid), "-o", str(out), "--rate", "44100", "--bit-depth", "24"]
            + ["--tail", "2"]
        )
        == 0
    )
    info = sf.info(out)
    assert (info.samplerate, info.channels, info.subtype, info.format) == (
        44100,
        2,
        "PCM_24",
        "FLAC",
    )
    length = 32 * 240 / PPQ * 0.6 + 2.0  # 100 BPM: 0.6 s per quarter, plus the 2 s tail
    assert abs(info.duration - length) < 0.3


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--instrument", "lv2:urn:quanta:no-such-plugin"], "is not installed"),
        (["--instrument", "kazoo"], "use builtin"),
        (["--instrument", "builtin:kazoo"], "no program"),
        (["--effect", "bogus"], "no stock effect"),
        (["--effect", "reverb:room=big"], "not a number"),
        (["--bit-depth", "32f", "-o", "x.flac"], "FLAC cannot hold"),
        (["--rate", "5"], "--rate"),
    ],
)
def test_cli_render_bad_options_give_one_line(tmp_path, capsys, extra, message):
    mid = tmp_path / "song.mid"
    save_song(_test_song(), mid)
    args = ["render", str(mid), "-o", str(tmp_path / "out.wav"), *extra]
    if "-o" in extra:
        args = ["render", str(mid), *extra]
    rc = main(args)
    err = capsys.readouterr().err
    assert rc == 2
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out.wav").exists()


def test_cli_render_broken_midi_file(tmp_path, capsys):
    bad = tmp_path / "broken.mid"
    bad.write_bytes(b"MThd\x00\x00\x00\x06garbage")
    rc = main(["render", str(bad), "-o", str(tmp_path / "out.wav")])
    err = capsys.readouterr().err
    assert rc == 2 and "broken.mid" in err and "Traceback" not in err


def test_streamed_render_equals_the_in_memory_one(tmp_path):
    blocks = []
    streamed, stats = render_song(
        _test_song(), _builtin_mixer, tail=0.5, on_block=lambda b: blocks.append(b.copy())
    )
    assert streamed is None
    whole, _ = render_song(_test_song(), _builtin_mixer, tail=0.5)
    assert np.array_equal(np.concatenate(blocks, axis=1), whole)
    assert stats.frames == whole.shape[1]
