"""LV2 presets through lilv (issue 13): ZamComp's factory presets, user presets saved as
real preset bundles, and a preset load heard in the audio."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from engine.errors import DeviceError
from engine.plugins import lv2, lv2_discovery, lv2_presets, lv2_world
from tests import procs
from tests.sound_helpers import settled_db, tone_through

ROOT = Path(__file__).resolve().parents[1]
ZAMCOMP = "urn:zamaudio:ZamComp"


@pytest.fixture
def user_lv2(tmp_path, monkeypatch) -> Path:
    """LV2_PATH = an empty user folder first (where presets are saved), then zam's ZamComp."""
    user = tmp_path / "user-lv2"
    system = tmp_path / "system-lv2"
    user.mkdir()
    system.mkdir()
    (system / "ZamComp.lv2").symlink_to("/usr/lib/lv2/ZamComp.lv2")
    monkeypatch.setenv("LV2_PATH", f"{user}:{system}")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(lv2_discovery, "_current", None)
    monkeypatch.setattr(lv2_world, "_world", None)
    monkeypatch.setattr(lv2_world, "_bundle_index", {})
    return user


def rms_db(fx) -> float:
    return settled_db(tone_through(fx))


def test_factory_presets_are_listed_and_loaded_through_the_link(user_lv2):
    fx = lv2.LV2Effect(ZAMCOMP, 48000, 256)
    try:
        assert [label for label, _ in lv2_presets.list_presets(fx)] == [
            "PoppySnare", "VocalLeveller", "Zero",
        ]  # fmt: skip
        flat = rms_db(fx)
        link = fx.attach_link()  # as when an editor is open: values cross at block starts
        values = lv2_presets.load_preset(fx, "poppysnare")
        assert values["thr"] == -18.0 and values["mak"] == 6.0 and values["rat"] == 5.0
        assert fx.get_parameter("thr") == 0.0 and link.to_dsp.pending() == 8
        squashed = rms_db(fx)
        assert fx.get_parameter("thr") == -18.0 and fx.cores[1].controls[7] == -18.0
        assert squashed - flat > 1  # +6 dB makeup outweighs the -18 dB threshold at 5:1
        with pytest.raises(DeviceError, match=r"no preset named 'Nope' \(presets: PoppySnare"):
            lv2_presets.load_preset(fx, "Nope")
    finally:
        fx.close()


def test_a_saved_user_preset_is_a_bundle_other_processes_find(user_lv2):
    env_cmd = [sys.executable, "-m", "app.cli", "plugins", "presets", "ZamComp"]
    save = procs.run(
        [*env_cmd, "--save", "Hard Knee", "--set", "kn=8", "--set", "thr=-20"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, start_new_session=True,
    )  # fmt: skip
    assert save.returncode == 0, save.stderr
    bundle = user_lv2 / "ZamComp_Hard_Knee.preset.lv2"
    assert save.stdout.strip() == f"saved {bundle}"
    assert sorted(p.name for p in bundle.iterdir()) == ["Hard_Knee.ttl", "manifest.ttl"]
    listed = procs.run(
        env_cmd, cwd=ROOT, capture_output=True, text=True, timeout=120, start_new_session=True
    )
    assert listed.returncode == 0, listed.stderr
    assert [line.split()[0] for line in listed.stdout.splitlines()] == [
        "Hard", "PoppySnare", "VocalLeveller", "Zero",
    ]  # fmt: skip
    fx = lv2.LV2Effect(ZAMCOMP, 48000, 256)  # this process: discovers the new bundle too
    try:
        values = lv2_presets.load_preset(fx, "Hard Knee")
        assert values["kn"] == 8.0 and values["thr"] == -20.0 and values["rat"] == 4.0
        assert fx.get_parameter("kn") == 8.0
    finally:
        fx.close()


def test_preset_names_must_be_printable(user_lv2):
    fx = lv2.LV2Effect(ZAMCOMP, 48000, 256)
    try:
        with pytest.raises(DeviceError, match="printable"):
            lv2_presets.save_preset(fx, "bad\nname")
    finally:
        fx.close()
