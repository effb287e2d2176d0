"""SoundFont instruments through FluidSynth with Debian's TimGM6mb (real)."""

from __future__ import annotations

import numpy as np
import pytest

from engine.errors import DeviceError
from engine.plugins.loader import load_instrument
from engine.plugins.sf2 import SF2Instrument, find_soundfonts
from tests.sound_helpers import peak_frequency, rms_db, run_instrument

SR = 48000
TIMGM = "/usr/share/sounds/sf2/TimGM6mb.sf2"


@pytest.fixture(scope="module")
def timgm():
    inst = SF2Instrument(TIMGM, SR, 256)
    yield inst
    inst.close()


def test_finds_system_soundfonts():
    assert TIMGM in find_soundfonts()


def test_a4_on_a_piano_patch(timgm):
    timgm.reset()
    out = run_instrument(timgm, [(0, 0xC0, 0, 0), (1000, 0x90, 69, 100)], 1.0)
    assert np.abs(out[:, :1000]).max() == 0  # silent before the note-on
    assert np.abs(out[:, 1000:1480]).max() > 1e-3  # sounding within 10 ms
    assert abs(peak_frequency(out[0, 3400:]) - 440) / 440 < 0.01


def test_event_offsets_land_within_fluidsynths_64_sample_grain(timgm):
    """FluidSynth applies events at its internal 64-sample block boundaries (1.3 ms at 48 kHz):
    the host splits the block at the event, the synth rounds up to its own grain."""
    timgm.reset()
    a = run_instrument(timgm, [(0, 0x90, 60, 100)], 0.3, block=256)
    timgm.reset()
    b = run_instrument(timgm, [(100, 0x90, 60, 100)], 0.3, block=256)
    first = lambda x: int(np.flatnonzero(np.abs(x[0]) > 1e-5)[0])  # noqa: E731
    assert 100 <= first(b) - first(a) < 100 + 64


def test_channel_10_plays_drums(timgm):
    timgm.reset()
    out = run_instrument(timgm, [(0, 0x99, 38, 120)], 0.3)
    assert rms_db(out) > -40


def test_spec_loading_and_errors(tmp_path):
    inst = load_instrument(f"sf2:{TIMGM}", SR, 256, probe=False)
    assert inst.info.format == "sf2" and inst.handles_drums
    inst.close()
    with pytest.raises(DeviceError, match="does not exist"):
        SF2Instrument(str(tmp_path / "none.sf2"), SR, 256)
    junk = tmp_path / "junk.sf2"
    junk.write_bytes(b"RIFF\x00\x00\x00\x00not a soundfont")
    with pytest.raises(DeviceError, match="could not be read"):
        SF2Instrument(str(junk), SR, 256)
