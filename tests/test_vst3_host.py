"""VST3 through pedalboard (Debian zam-plugins), the stock effects, and hang containment."""

from __future__ import annotations

import time

import numpy as np
import pytest

from app.cli import main
from engine.errors import DeviceError
from engine.plugins import scan
from engine.plugins.effects import parse_spec, stock_names
from engine.plugins.loader import load_effect, make_effect
from engine.plugins.scan import ProbeCache, ensure_loadable, probe_many
from engine.plugins.vst3 import find_vst3, load_vst3_effect
from tests.sound_helpers import rms_db

SR = 48000
ZAMCOMP = "/usr/lib/vst3/ZamComp.vst3"
ZAMVERB = "/usr/lib/vst3/ZamVerb.vst3"


def _noise(seed=0, n=1024, level=0.5):
    return (np.random.default_rng(seed).standard_normal((2, n)) * level).astype(np.float32)


def test_finds_installed_vst3_bundles():
    found = find_vst3()
    assert ZAMCOMP in found and ZAMVERB in found


def test_zamcomp_compresses_loud_audio():
    fx = load_vst3_effect(ZAMCOMP, SR, 1024)
    assert fx.info.name == "ZamComp" and fx.info.format == "vst3"
    fx.set_parameter("threshold_db", -30.0)
    fx.set_parameter("ratio", 10.0)
    before = rms_db(_noise())
    for i in range(30):  # let the detector settle, streaming with reset=False
        buf = _noise(i)
        fx.process(buf)
    assert before - rms_db(buf) > 10
    assert np.all(np.isfinite(buf))
    fx.close()


def test_vst3_state_round_trip():
    fx = load_vst3_effect(ZAMCOMP, SR, 256)
    fx.set_parameter("ratio", 7.0)
    state = fx.get_state()
    assert "raw_state" in state
    other = load_vst3_effect(ZAMCOMP, SR, 256)
    other.set_state(state)
    assert other.get_parameter("ratio") == pytest.approx(7.0, rel=0.05)


@pytest.mark.parametrize("name", stock_names())
def test_every_stock_effect_processes_a_block(name):
    # Settings that make effects whose defaults leave -14 dBFS noise alone do something.
    spec = {
        "compressor": "compressor:threshold_db=-30,ratio=4",
        "noisegate": "noisegate:threshold_db=0",
    }
    fx = make_effect(spec.get(name, name), SR, 512)
    buf = _noise(n=512, level=0.2)
    ref = buf.copy()
    for _ in range(4):
        buf = ref.copy()
        fx.process(buf)
    assert buf.shape == (2, 512) and np.all(np.isfinite(buf))
    assert not np.allclose(buf, ref)


def test_reverb_tail_carries_across_blocks():
    fx = make_effect("reverb:room_size=0.9,wet_level=0.5,dry_level=0", SR, 512)
    buf = np.zeros((2, 512), np.float32)
    buf[:, 0] = 1.0
    fx.process(buf)
    later = np.zeros((2, 512), np.float32)
    for _ in range(20):
        fx.process(later)
    assert np.abs(later).max() > 1e-4  # still ringing 0.2 s later: state kept between blocks


def test_effect_spec_parsing():
    assert parse_spec("delay:delay_seconds=0.25,mix=0.3") == (
        "delay",
        {"delay_seconds": 0.25, "mix": 0.3},
    )
    with pytest.raises(DeviceError, match="not key=value"):
        parse_spec("delay:0.25")
    with pytest.raises(DeviceError, match="no parameter 'size'"):
        make_effect("reverb:size=1", SR, 256)


def test_zamverb_hang_is_contained_by_the_timeout(tmp_path):
    t0 = time.monotonic()
    result = probe_many([("vst3", ZAMVERB), ("vst3", ZAMCOMP)], timeout=3)
    elapsed = time.monotonic() - t0
    assert not result[0].ok and "hung" in result[0].error
    assert result[1].ok and result[1].name == "ZamComp"  # the scan went on after the hang
    assert elapsed < 3 + 25


def test_a_bad_plugin_is_remembered(tmp_path, monkeypatch):
    cache = tmp_path / "plugins.json"
    with pytest.raises(DeviceError, match="hung while loading"):
        ensure_loadable("vst3", ZAMVERB, cache_path=cache, timeout=2)
    assert not ProbeCache(cache).get("vst3", ZAMVERB).ok
    def no_probe(items, *args, **kwargs):
        raise AssertionError(f"probed again: {items}")

    monkeypatch.setattr(scan, "probe_many", no_probe)  # from memory: no second 2 s wait
    with pytest.raises(DeviceError, match="ZamVerb.vst3 is not usable: hung"):
        load_effect("vst3", ZAMVERB, SR, 256, cache_path=cache, timeout=2)


def test_not_a_plugin_is_reported(tmp_path):
    fake = tmp_path / "Broken.vst3"
    fake.mkdir()
    (fake / "junk").write_text("not a plugin")
    [r] = probe_many([("vst3", str(fake))], timeout=10)
    assert not r.ok and r.error and "hung" not in r.error


def test_cli_render_refuses_zamverb_in_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    from engine.build import add_track, new_song
    from engine.model.notes import make_notes
    from engine.smf.midifile import save_song

    song = new_song()
    add_track(song, make_notes([0], [480], [60]))
    save_song(song, tmp_path / "a.mid")
    rc = main(
        [
            "render",
            str(tmp_path / "a.mid"),
            "-o",
            str(tmp_path / "a.wav"),
            "--effect",
            f"vst3:{ZAMVERB}",
            "--probe-timeout",
            "2",
        ]
    )
    err = capsys.readouterr().err
    assert rc == 2 and "hung while loading" in err and "Traceback" not in err


def test_cli_render_with_a_vst3_master_effect(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    from engine.build import add_track, new_song
    from engine.model.notes import make_notes
    from engine.smf.midifile import save_song

    song = new_song()
    add_track(song, make_notes([0, 480], [400, 900], [60, 64]))
    save_song(song, tmp_path / "a.mid")
    out = tmp_path / "a.wav"
    rc = main(
        ["render", str(tmp_path / "a.mid"), "-o", str(out), "--effect", f"vst3:{ZAMCOMP}:ratio=4"]
    )
    assert rc == 0 and out.stat().st_size > 1000
