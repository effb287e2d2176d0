"""``quanta render`` with per-track instruments, effects, volume and pan: measured on the audio.

The song has a conductor (track 1), "Keys" (track 2) holding A5 = 880 Hz and "Bass" (track
3) holding A2 = 110 Hz. Renders are 32-bit float so a track that should be untouched can be
compared bit for bit; a track is heard alone by setting the other one to -inf dB or by panning
the two hard apart.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from app.cli import main
from engine.build import add_track, new_song
from engine.model.notes import make_notes
from engine.smf.midifile import save_song
from tests import procs
from tests.sound_helpers import peak_frequency, rms_db

SR = 48000
EPIANO = "http://drobilla.net/plugins/mda/EPiano"
ZAMCOMP = "/usr/lib/vst3/ZamComp.vst3"
ZAMVERB = "/usr/lib/vst3/ZamVerb.vst3"
ROOT = Path(__file__).resolve().parents[1]
#: 0.1 .. 0.6 s: inside the first held note of both tracks (120 BPM, notes 0..900 ticks).
HELD = slice(4800, 4800 + 24000)


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


@pytest.fixture
def song_file(tmp_path) -> Path:
    song = new_song(480, 120.0)
    add_track(song, make_notes([0, 960], [900, 1900], 81, 90, 0), "Keys")
    add_track(song, make_notes([0, 960], [900, 1900], 45, 90, 1), "Bass")
    path = tmp_path / "song.mid"
    save_song(song, path)
    return path


def render(song: Path, *extra: str) -> np.ndarray:
    """Run ``quanta render`` in this process; the audio as (2, frames) float32."""
    out = song.with_name("out.wav")
    args = ["render", str(song), "-o", str(out), "--bit-depth", "32f", "--tail", "0.5"]
    assert main([*args, *extra]) == 0
    audio, rate = sf.read(out, dtype="float32", always_2d=True)
    assert rate == SR
    return audio.T


def band_db(x: np.ndarray, freq: float, width: float = 0.03) -> float:
    """Energy (dB) of ``x`` within ±3 % of ``freq``."""
    spec = np.abs(np.fft.rfft(x * np.hanning(x.size))) ** 2
    freqs = np.fft.rfftfreq(x.size, 1 / SR)
    near = (freqs > freq * (1 - width)) & (freqs < freq * (1 + width))
    return float(10 * np.log10(spec[near].sum() + 1e-30))


def probe_cache(tmp_path) -> dict:
    return json.loads((tmp_path / "cache" / "quanta" / "plugins.json").read_text())


# -- instruments ------------------------------------------------------------------------------
def test_track_instrument_changes_only_its_track(song_file):
    piano_keys = render(song_file, "--track-volume", "Bass=-inf")
    organ_keys = render(
        song_file, "--track-volume", "Bass=-inf", "--track-instrument", "2=builtin:organ"
    )
    bass = render(song_file, "--track-volume", "keys=-inf")
    bass_with_organ_keys = render(
        song_file, "--track-volume", "keys=-inf", "--track-instrument", "2=builtin:organ"
    )
    assert np.array_equal(bass, bass_with_organ_keys)  # the other track is not touched
    for audio in (piano_keys, organ_keys):
        assert peak_frequency(audio[0, HELD]) == pytest.approx(880.0, rel=1e-3)

    def second_harmonic_db(audio):
        return band_db(audio[0, HELD], 1760) - band_db(audio[0, HELD], 880)

    def sustain_db(audio):  # late part of the first held note against its start
        return rms_db(audio[0, 20000:24000]) - rms_db(audio[0, 2000:6000])

    assert second_harmonic_db(organ_keys) > second_harmonic_db(piano_keys) + 5.0
    assert sustain_db(piano_keys) < -2.0 and abs(sustain_db(organ_keys)) < 0.5


def test_an_lv2_instrument_on_one_track_beside_the_builtin(song_file, tmp_path):
    apart = ("--track-pan", "Keys=-1", "--track-pan", "3=1")
    builtin = render(song_file, *apart)
    mixed = render(song_file, *apart, "--track-instrument", f"Keys=lv2:{EPIANO}")
    keys = mixed[0, HELD]
    assert rms_db(keys) > -40.0
    assert peak_frequency(keys) == pytest.approx(880.0, rel=0.01)
    assert rms_db(keys - builtin[0, HELD]) > rms_db(keys) - 6.0  # a different instrument
    assert np.array_equal(mixed[1], builtin[1])  # the bass is still the builtin synth
    assert probe_cache(tmp_path)[f"lv2:{EPIANO}"]["ok"]  # probed in a child first


def test_unlisted_tracks_keep_the_default_instrument(song_file):
    organ_everywhere = render(song_file, "--instrument", "builtin:organ")
    bass_back_to_piano = render(
        song_file, "--instrument", "builtin:organ", "--track-instrument", "bass=builtin:piano"
    )
    plain = render(song_file)
    keys_alone = render(song_file, "--instrument", "builtin:organ", "--track-volume", "3=-inf")
    bass_alone = render(song_file, "--track-volume", "2=-inf")
    assert not np.array_equal(organ_everywhere, plain)
    np.testing.assert_allclose(bass_back_to_piano, keys_alone + bass_alone, atol=1e-6)


# -- effects ----------------------------------------------------------------------------------
def test_track_effect_filters_only_its_track(song_file):
    plain = render(song_file)
    filtered = render(song_file, "--track-effect", "Keys=lowpass:cutoff_frequency_hz=300")
    dropped = band_db(plain[0, HELD], 880) - band_db(filtered[0, HELD], 880)
    assert dropped > 6.0  # first order: ~9.6 dB at 880 Hz
    assert band_db(filtered[0, HELD], 110) == pytest.approx(band_db(plain[0, HELD], 110), abs=0.01)
    # On the master bus the same filter would touch the bass too; here the bass is untouched.
    bass = render(song_file, "--track-volume", "2=-inf")
    bass_beside_filter = render(
        song_file, "--track-volume", "2=-inf", "--track-effect", "2=lowpass:cutoff_frequency_hz=300"
    )
    assert np.array_equal(bass, bass_beside_filter)


def test_track_effects_run_in_the_order_given(song_file):
    solo = ("--track-volume", "Bass=-inf")
    drive, cut = "2=distortion:drive_db=40", "2=gain:gain_db=-30"
    drive_then_cut = render(song_file, *solo, "--track-effect", drive, "--track-effect", cut)
    cut_then_drive = render(song_file, *solo, "--track-effect", cut, "--track-effect", drive)
    # tanh saturates at 1.0, then -30 dB: never above 0.0316; the other way round it is loud.
    assert np.abs(drive_then_cut).max() <= 10 ** (-30 / 20) + 1e-6
    assert np.abs(drive_then_cut).max() > 0.9 * 10 ** (-30 / 20)
    assert np.abs(cut_then_drive).max() > 0.15


def test_a_vst3_effect_on_one_track(song_file, tmp_path):
    apart = ("--track-pan", "Keys=-1", "--track-pan", "Bass=1")
    plain = render(song_file, *apart)
    comp = f"Keys=vst3:{ZAMCOMP}:threshold_db=-40,ratio=20"
    squashed = render(song_file, *apart, "--track-effect", comp)
    assert rms_db(squashed[0, HELD]) < rms_db(plain[0, HELD]) - 6.0  # measured: -10.7 dB
    assert peak_frequency(squashed[0, HELD]) == pytest.approx(880.0, rel=1e-3)
    assert np.array_equal(squashed[1], plain[1])
    assert probe_cache(tmp_path)[f"vst3:{ZAMCOMP}"]["ok"]


def test_track_effects_reach_the_drum_kit_of_a_channel_10_track(tmp_path):
    song = new_song(480, 120.0)
    add_track(song, make_notes(np.arange(4) * 480, np.arange(4) * 480 + 120, 38, 110, 9), "Drums")
    add_track(song, make_notes([0], [1900], 45, 90, 1), "Bass")
    path = tmp_path / "drums.mid"
    save_song(song, path)
    drums = render(path, "--track-volume", "Bass=-inf")
    quieter = render(
        path, "--track-volume", "Bass=-inf", "--track-effect", "drums=gain:gain_db=-12"
    )
    assert rms_db(drums) > -50.0
    assert rms_db(quieter) - rms_db(drums) == pytest.approx(-12.0, abs=0.05)


# -- volume and pan ---------------------------------------------------------------------------
def test_track_volume_in_db_and_the_last_one_given_wins(song_file):
    keys = render(song_file, "--track-volume", "Bass=-inf")
    down = render(song_file, "--track-volume", "Bass=-inf", "--track-volume", "2=-20dB",
                  "--track-volume", "2=-6")  # fmt: skip
    assert rms_db(down) - rms_db(keys) == pytest.approx(-6.0, abs=0.01)
    bass = render(song_file, "--track-volume", "Keys=-inf")
    assert band_db(keys[0, HELD], 110) < band_db(bass[0, HELD], 110) - 60
    np.testing.assert_allclose(render(song_file), keys + bass, atol=1e-6)


def test_track_pan_puts_each_track_on_its_side(song_file):
    apart = render(song_file, "--track-pan", "Keys=-1", "--track-pan", "3=1")
    centre = render(song_file, "--track-volume", "Bass=-inf")
    assert peak_frequency(apart[0, HELD]) == pytest.approx(880.0, rel=1e-3)
    assert peak_frequency(apart[1, HELD]) == pytest.approx(110.0, rel=1e-3)
    assert band_db(apart[0, HELD], 110) < band_db(apart[1, HELD], 110) - 60
    # Constant power: hard left is +3 dB on the left against the centre.
    assert rms_db(apart[0, HELD]) - rms_db(centre[0, HELD]) == pytest.approx(3.01, abs=0.05)


def test_solo_renders_a_stem_and_mute_leaves_a_track_out(song_file):
    bass = render(song_file, "--track-volume", "Keys=-inf")
    plain = render(song_file)
    assert band_db(plain[0, HELD], 880) > band_db(bass[0, HELD], 880) + 20  # the keys are gone
    assert np.array_equal(render(song_file, "--track-solo", "bass"), bass)
    assert np.array_equal(render(song_file, "--track-mute", "2"), bass)
    assert np.array_equal(render(song_file, "--track-solo", "2", "--track-mute", "2"), 0 * bass)
    both = render(song_file, "--track-solo", "Keys", "--track-solo", "3")
    assert np.array_equal(both, plain)


def test_an_option_for_a_track_that_plays_nothing_is_a_note(song_file, capsys):
    audio = render(song_file, "--track-effect", "1=reverb")
    err = capsys.readouterr().err
    assert 'track 1 "Conductor" plays nothing' in err
    assert np.array_equal(audio, render(song_file))


# -- mistakes: exit 2, one line, no file --------------------------------------------------------
@pytest.mark.parametrize(
    "extra, words",
    [
        (["--track-instrument", "7=builtin:organ"], ["no track 7", '2 "Keys", 3 "Bass"']),
        (["--track-effect", "Drums=reverb"], ['no track is named "Drums"', '3 "Bass"']),
        (["--track-volume", "0=-6"], ["no track 0", '1 "Conductor"']),
        (["--track-instrument", "builtin:organ"], ["--track-instrument builtin:organ", "SEL="]),
        (["--track-volume", "2=loud"], ["2=loud", "dB"]),
        (["--track-volume", "2=+40"], ["2=+40", "+24"]),
        (["--track-pan", "bass=2"], ["bass=2", "-1 (left) to 1 (right)"]),
        (["--track-solo", "Drums"], ['--track-solo Drums: no track is named "Drums"']),
        (["--track-effect", "3=bogus"], ['track 3 "Bass"', "no stock effect 'bogus'"]),
        (["--track-instrument", "3=builtin:kazoo"], ['track 3 "Bass"', "kazoo"]),
        (
            ["--track-instrument", "3=lv2:urn:quanta:no-such-plugin"],
            ['track 3 "Bass"', "urn:quanta:no-such-plugin", "is not installed"],
        ),
        (
            ["--track-instrument", "2=lv2:http://drobilla.net/plugins/mda/Delay"],
            ['track 2 "Keys"', "not an instrument"],
        ),
    ],
)
def test_mistakes_give_one_line_and_no_file(song_file, capsys, extra, words):
    out = song_file.with_name("out.wav")
    rc = main(["render", str(song_file), "-o", str(out), *extra])
    err = capsys.readouterr().err
    assert rc == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    for word in words:
        assert word in lines[0], lines[0]
    assert not out.exists()
    assert not [n for n in os.listdir(song_file.parent) if n.startswith(".quanta-render-")]


def test_a_name_two_tracks_share_must_be_given_by_number(tmp_path, capsys):
    song = new_song(480, 120.0)
    for name in ("Keys", "Bass", "KEYS"):
        add_track(song, make_notes([0], [480], 60, 90, 0), name)
    path = tmp_path / "twice.mid"
    save_song(song, path)
    rc = main(["render", str(path), "-o", str(tmp_path / "out.wav"), "--track-pan", "keys=1"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1
    assert 'tracks 2 and 4 are both named "keys"' in err and "track number" in err
    assert not (tmp_path / "out.wav").exists()
    assert main(["render", str(path), "-o", str(tmp_path / "out.wav"), "--track-pan", "4=1"]) == 0


def test_a_hanging_plugin_on_track_3_stops_the_real_command(song_file, tmp_path):
    """ZamVerb hangs pedalboard's loader: the probe child is killed after --probe-timeout, the
    command names the track and the plugin, and an earlier render at OUT is left as it was."""
    out = song_file.with_name("out.wav")
    out.write_bytes(b"an earlier render")
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "QUANTA_NO_RT": "1"}
    cmd = [
        sys.executable, "-m", "app.cli", "render", str(song_file), "-o", str(out),
        "--track-effect", "Bass=reverb", "--track-effect", f"3=vst3:{ZAMVERB}",
        "--probe-timeout", "2",
    ]  # fmt: skip
    proc = procs.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert 'track 3 "Bass"' in lines[0] and "ZamVerb.vst3" in lines[0]
    assert "hung while loading" in lines[0]
    assert proc.stdout == ""
    assert out.read_bytes() == b"an earlier render"
    assert not [n for n in os.listdir(out.parent) if n.startswith(".quanta-render-")]
    assert not probe_cache(tmp_path)[f"vst3:{ZAMVERB}"]["ok"]  # remembered as bad
