"""The built-in synth and drum kit, measured on real rendered audio."""

from __future__ import annotations

import numpy as np
import pytest

from engine.errors import DeviceError
from engine.plugins.builtin_programs import PROGRAM_NAMES, gm_to_program, program_by_name
from engine.plugins.builtin_synth import BuiltinDrumKit, BuiltinSynth
from tests.sound_helpers import peak_frequency, rms_db, run_instrument

SR = 48000


@pytest.mark.parametrize("program", PROGRAM_NAMES)
def test_a4_spectral_peak_is_440_hz(program):
    synth = BuiltinSynth(SR, 256, program=program)
    out = run_instrument(synth, [(0, 0x90, 69, 100)], 1.0)
    f = peak_frequency(out[0, 2400:])  # past the attack
    assert abs(f - 440.0) / 440.0 < 0.005, f


@pytest.mark.parametrize("pitch", [36, 57, 81, 96])
def test_other_pitches_follow_equal_temperament(pitch):
    out = run_instrument(BuiltinSynth(SR, 256, program="organ"), [(0, 0x90, pitch, 100)], 0.5)
    expected = 440.0 * 2 ** ((pitch - 69) / 12)
    assert abs(peak_frequency(out[0, 2400:]) - expected) / expected < 0.005


@pytest.mark.parametrize("sample", [0, 1, 255, 256, 1000, 12345])
def test_note_starts_on_its_exact_sample(sample):
    out = run_instrument(BuiltinSynth(SR, 256, program="organ"), [(sample, 0x90, 60, 100)], 0.4)
    nonzero = np.flatnonzero(np.abs(out[0]) > 0)
    assert np.all(out[:, :sample] == 0)
    assert sample <= nonzero[0] <= sample + 2  # a sine starts at phase 0: first sample ~0


def test_velocity_changes_loudness_and_brightness():
    loud = run_instrument(BuiltinSynth(SR, 256, program="piano"), [(0, 0x90, 60, 127)], 0.3)
    soft = run_instrument(BuiltinSynth(SR, 256, program="piano"), [(0, 0x90, 60, 30)], 0.3)
    assert rms_db(loud) - rms_db(soft) > 12

    def centroid(x):
        s = np.abs(np.fft.rfft(x[0]))
        f = np.fft.rfftfreq(x.shape[1], 1 / SR)
        return float((s * f).sum() / s.sum())

    assert centroid(loud) > 1.2 * centroid(soft)


def test_note_off_releases_to_silence_and_frees_the_voice():
    synth = BuiltinSynth(SR, 256, program="organ")
    out = run_instrument(synth, [(0, 0x90, 60, 100), (4800, 0x80, 60, 0)], 1.5)
    assert rms_db(out[:, 2400:4800]) > -40
    assert np.abs(out[:, -4800:]).max() < 1e-3
    assert synth.active_voices == 0


def test_sustain_pedal_holds_a_released_note():
    events = [(0, 0xB0, 64, 127), (0, 0x90, 60, 100), (4800, 0x80, 60, 0)]
    held = run_instrument(BuiltinSynth(SR, 256, program="organ"), events, 1.0)
    assert rms_db(held[:, -4800:]) > -40  # still sounding 0.9 s after the note-off


def test_64_voice_polyphony_and_stealing():
    synth = BuiltinSynth(SR, 256, program="organ")
    events = [(0, 0x90, 30 + i, 100) for i in range(64)]
    run_instrument(synth, events, 0.1)
    assert synth.k == 64
    run_instrument(synth, [(0, 0x90, 100, 100)], 0.01)  # a 65th note steals the oldest
    assert synth.k == 64
    assert 100 in synth.v_pitch[: synth.k]


def test_pitch_bend_up_two_semitones():
    events = [(0, 0xE0, 0x7F, 0x7F), (0, 0x90, 69, 100)]
    out = run_instrument(BuiltinSynth(SR, 256, program="organ"), events, 0.5)
    f = peak_frequency(out[0, 2400:])
    assert abs(f - 440 * 2 ** ((16383 - 8192) / 8192 * 2 / 12)) / f < 0.005


def test_oscillators_are_band_limited():
    """A bright program's highest notes put no aliased energy between the harmonics."""
    out = run_instrument(BuiltinSynth(SR, 1024, program="pad"), [(0, 0x90, 100, 127)], 1.0)
    x = out[0, 24000:]
    spec = np.abs(np.fft.rfft(x * np.blackman(x.size))) ** 2
    freqs = np.fft.rfftfreq(x.size, 1 / SR)
    f0 = 440 * 2 ** ((100 - 69) / 12)
    near_harmonic = np.abs(freqs / f0 - np.round(freqs / f0)) * f0 < 30
    alias_db = 10 * np.log10(spec[~near_harmonic].sum() / spec[near_harmonic].sum())
    assert alias_db < -60, alias_db


def test_gm_program_changes_choose_the_nearest_program():
    assert PROGRAM_NAMES[gm_to_program(0)] == "piano"
    assert PROGRAM_NAMES[gm_to_program(4)] == "e-piano"
    assert PROGRAM_NAMES[gm_to_program(16)] == "organ"
    assert PROGRAM_NAMES[gm_to_program(33)] == "bass"
    assert PROGRAM_NAMES[gm_to_program(89)] == "pad"
    synth = BuiltinSynth(SR, 256)
    run_instrument(synth, [(0, 0xC3, 33, 0), (0, 0x93, 40, 100)], 0.01)
    assert PROGRAM_NAMES[int(synth.v_prog[0])] == "bass"


def test_fixed_program_ignores_program_changes():
    synth = BuiltinSynth(SR, 256, program="pad")
    run_instrument(synth, [(0, 0xC0, 0, 0), (0, 0x90, 60, 100)], 0.01)
    assert PROGRAM_NAMES[int(synth.v_prog[0])] == "pad"


def test_unknown_program_is_a_clear_error():
    with pytest.raises(DeviceError, match="no program 'kazoo'"):
        program_by_name("kazoo")


def test_state_round_trip():
    a = BuiltinSynth(SR, 256, program="bass")
    a.set_parameter("volume", 0.5)
    b = BuiltinSynth(SR, 256)
    b.set_state(a.get_state())
    assert b.get_state() == {"volume": 0.5, "program": "bass"}


def _centroid(x):
    s = np.abs(np.fft.rfft(x))
    f = np.fft.rfftfreq(x.size, 1 / SR)
    return float((s * f).sum() / s.sum())


def test_drum_kit_on_channel_10():
    kit = BuiltinSynth(SR, 256)
    kick = run_instrument(kit, [(100, 0x99, 36, 120)], 0.3)[0]
    hat = run_instrument(BuiltinSynth(SR, 256), [(100, 0x99, 42, 120)], 0.3)[0]
    assert np.all(kick[:100] == 0) and abs(kick[100]) > 0  # starts on its sample
    assert peak_frequency(kick, fmin=20) < 150
    assert _centroid(hat) > 5000
    snare = run_instrument(BuiltinSynth(SR, 256), [(0, 0x99, 38, 120)], 0.3)[0]
    assert 150 < peak_frequency(snare) < 400 or _centroid(snare) > 1500


@pytest.mark.parametrize("note", [35, 36, 37, 38, 39, 40, 41, 42, 44, 45, 46, 48, 49, 51, 57])
def test_every_kit_piece_sounds(note):
    out = run_instrument(BuiltinDrumKit(SR, 256), [(0, 0x99, note, 100)], 0.2)
    assert np.abs(out).max() > 0.05


def test_closed_hat_chokes_the_open_hat():
    open_only = run_instrument(BuiltinSynth(SR, 256), [(0, 0x99, 46, 110)], 0.6)
    choked = run_instrument(BuiltinSynth(SR, 256), [(0, 0x99, 46, 110), (4800, 0x99, 42, 1)], 0.6)
    assert rms_db(open_only[:, 14400:]) > -50
    assert rms_db(choked[:, 14400:]) < rms_db(open_only[:, 14400:]) - 30


def test_drum_kit_ignores_melodic_channels():
    out = run_instrument(BuiltinDrumKit(SR, 256), [(0, 0x90, 60, 100)], 0.1)
    assert np.all(out == 0)
