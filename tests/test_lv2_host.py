"""LV2 hosting through our liblilv binding, with Debian's mda-lv2 and zam-plugins (real)."""

from __future__ import annotations

import numpy as np
import pytest

from engine.audio.mixer import Mixer
from engine.errors import DeviceError
from engine.plugins import lv2, lv2_world
from engine.plugins.builtin_synth import BuiltinDrumKit
from tests.sound_helpers import peak_frequency, rms_db, run_instrument

SR = 48000
MDA = "http://drobilla.net/plugins/mda/"


def test_discovers_installed_instruments_and_effects():
    found = {d["uri"]: d for d in lv2_world.describe()}
    for name in ("EPiano", "JX10", "Piano"):
        assert found[MDA + name]["kind"] == "instrument"
        assert found[MDA + name]["problems"] == []
    assert found[MDA + "Delay"]["kind"] == "effect"
    assert found[MDA + "EPiano"]["name"] == "MDA ePiano"


@pytest.mark.parametrize(
    "name, params",
    [("EPiano", {}), ("JX10", {"osc_mix": 0.0, "glide": 0.0, "vibrato": 0.0}), ("Piano", {})],
)
def test_instrument_plays_the_right_pitch_and_is_silent_before_the_note(name, params):
    inst = lv2.LV2Instrument(MDA + name, SR, 512)
    try:
        for k, v in params.items():
            inst.set_parameter(k, v)
        onset = 7000
        out = run_instrument(inst, [(onset, 0x90, 69, 100)], 1.0, block=512)
    finally:
        inst.close()
    assert np.abs(out[:, :onset]).max() < 1e-6  # silent before the note-on
    assert np.abs(out[:, onset : onset + 480]).max() > 1e-3  # sounding within 10 ms of it
    assert rms_db(out[:, onset:]) > -40
    f = peak_frequency(out[0, onset + 2400 :])
    assert abs(f - 440) / 440 < 0.01, f


def test_note_offset_inside_the_block_is_respected():
    a = lv2.LV2Instrument(MDA + "EPiano", SR, 1024)
    out = run_instrument(a, [(300, 0x90, 60, 100)], 0.1, block=1024)
    a.close()
    first = int(np.flatnonzero(np.abs(out[0]) > 1e-6)[0])
    assert 300 <= first < 300 + 48


def test_parameters_and_state_round_trip():
    inst = lv2.LV2Instrument(MDA + "JX10", SR, 256)
    names = {p.ident for p in inst.parameters()}
    assert {"osc_mix", "vcf_freq", "env_rel"} <= names
    inst.set_parameter("vcf_freq", 0.25)
    inst.set_parameter("osc_mix", 7.0)  # clamped to the port's range
    state = inst.get_state()
    other = lv2.LV2Instrument(MDA + "JX10", SR, 256)
    other.set_state(state)
    assert other.get_parameter("vcf_freq") == pytest.approx(0.25)
    assert other.get_parameter("osc_mix") == pytest.approx(1.0)
    with pytest.raises(DeviceError, match="no parameter"):
        other.set_parameter("nope", 1)
    inst.close()
    other.close()


def test_effect_processes_audio():
    fx = lv2.LV2Effect(MDA + "Delay", SR, 512)
    buf = np.zeros((2, 512), dtype=np.float32)
    buf[:, 0] = 1.0
    total = []
    for _ in range(60):
        fx.process(buf)
        total.append(buf.copy())
        buf[:] = 0
    fx.close()
    y = np.concatenate(total, axis=1)
    echo = np.abs(y[:, 2400:]).max()
    assert echo > 0.05  # an echo well after the impulse


def test_sidechain_input_is_not_taken_for_the_right_channel():
    d = lv2_world.describe("urn:zamaudio:ZamComp")[0]
    assert (d["audio_in"], d["audio_out"], d["problems"]) == (1, 1, [])


def test_mono_effect_runs_dual_mono():
    fx = lv2.LV2Effect("urn:zamaudio:ZamAutoSat", SR, 256)
    assert len(fx.cores) == 2
    buf = np.stack([np.full(256, 0.1, np.float32), np.zeros(256, np.float32)])
    fx.process(buf)
    assert np.abs(buf[1]).max() < 1e-6 < np.abs(buf[0]).max()
    fx.close()


def test_missing_plugin_is_a_clear_error():
    with pytest.raises(DeviceError, match="not installed"):
        lv2.LV2Instrument("urn:quanta:nothing", SR, 256)
    with pytest.raises(DeviceError, match="effect, not an instrument"):
        lv2.LV2Instrument(MDA + "Delay", SR, 256)


def test_channel_10_goes_to_the_builtin_kit_when_the_plugin_has_no_drums():
    mixer = Mixer(SR, 256)
    mixer.add_track("keys", lv2.LV2Instrument(MDA + "EPiano", SR, 256))
    assert isinstance(mixer.tracks[0].drums, BuiltinDrumKit)
    mixer.queue(0, 10, 0x99, 36, 120)
    out = np.zeros((2, 256), np.float32)
    mixer.process(out)
    assert np.all(out[:, :10] == 0) and np.abs(out).max() > 0.01
    mixer.close()


def test_effect_spec_with_lv2_uri_and_parameters(tmp_path):
    from engine.plugins.loader import make_effect

    fx = make_effect(f"lv2:{MDA}Delay:feedback=0.7", SR, 256, cache_path=tmp_path / "c.json")
    assert fx.info.format == "lv2" and fx.get_parameter("feedback") == pytest.approx(0.7)
    fx.close()
