"""VST3 presets through pedalboard (issue 13), on Debian's ZamComp.vst3: its factory
programs, user presets saved as ``.vstpreset`` files, and a load heard in the audio at once.
Garbage preset files end in one line, before the plugin sees them."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np
import pytest

from engine.errors import DeviceError
from engine.plugins import vst3_presets as vp
from tests import procs
from tests.sound_helpers import settled_db, tone_through

ZAMCOMP = "/usr/lib/vst3/ZamComp.vst3"
pytestmark = pytest.mark.skipif(not Path(ZAMCOMP).exists(), reason="zam-plugins VST3 missing")


@pytest.fixture(scope="module")
def fx():
    from engine.plugins.vst3 import load_vst3_effect

    effect = load_vst3_effect(ZAMCOMP, 48000, 256)
    yield effect
    effect.close()


def render(fx) -> np.ndarray:
    """One second of a 220 Hz tone at -9 dBFS RMS through the effect, block by block."""
    fx.reset()
    return tone_through(fx)


rms_db = settled_db


def defaults(fx) -> None:
    vp.load_program(fx, "Zero")


def test_factory_programs_are_listed_and_heard_at_once(fx, tmp_path):
    assert vp.factory_programs(fx) == ["Zero", "PoppySnare", "VocalLeveller"]
    labels = vp.list_presets(fx, tmp_path)
    assert labels[:3] == [("Zero", "program:Zero"), ("PoppySnare", "program:PoppySnare"),
                          ("VocalLeveller", "program:VocalLeveller")]  # fmt: skip
    defaults(fx)
    plain = rms_db(render(fx))
    assert plain == pytest.approx(-9.03, abs=0.05)  # threshold 0 dB: untouched
    assert vp.load_preset(fx, "poppysnare", tmp_path) == "program:PoppySnare"
    assert fx.plugin.threshold_db == pytest.approx(-18.0, abs=0.01)
    squashed = rms_db(render(fx))
    assert squashed - plain > 1.5  # -18 dB threshold, +6 dB makeup: louder here
    # ... and the same as setting PoppySnare's values one by one (what the LV2 preset says)
    from engine.plugins.vst3 import load_vst3_effect

    by_hand = load_vst3_effect(ZAMCOMP, 48000, 256)
    try:
        for name, value in (("attack_ms", 10.0), ("release_ms", 10.0), ("knee_db", 1.0),
                            ("ratio", 5.0), ("threshold_db", -18.0), ("makeup_db", 6.0),
                            ("slew", 20.0)):  # fmt: skip
            by_hand.set_parameter(name, value)
        assert rms_db(render(by_hand)) == pytest.approx(squashed, abs=0.01)
    finally:
        by_hand.close()
    with pytest.raises(DeviceError, match="no preset named 'Nope'"):
        vp.load_preset(fx, "Nope", tmp_path)


def test_a_saved_user_preset_loads_back_to_the_same_sound(fx, tmp_path):
    defaults(fx)
    fx.set_parameter("threshold_db", -30.0)
    fx.set_parameter("ratio", 10.0)
    saved_out = render(fx)
    path = vp.save_preset(fx, "Hard squeeze", tmp_path)
    assert path == tmp_path / "Damien Zammit" / "ZamComp" / "Hard squeeze.vstpreset"
    assert path.read_bytes()[:4] == b"VST3"
    assert ("Hard squeeze", str(path)) in vp.list_presets(fx, tmp_path)

    defaults(fx)  # reset: the default sound again
    plain = render(fx)
    assert abs(rms_db(plain) - rms_db(saved_out)) > 3
    vp.load_preset(fx, "Hard squeeze", tmp_path)
    again = render(fx)
    assert rms_db(again) == pytest.approx(rms_db(saved_out), abs=0.01)
    assert np.sqrt(np.mean((again - saved_out) ** 2)) < 1e-4  # the same samples, nearly
    assert fx.get_parameter("threshold_db") == pytest.approx(-30.0, abs=0.01)

    # A fresh instance (another process, the next session) loads it the same way.
    from engine.plugins.vst3 import load_vst3_effect

    other = load_vst3_effect(ZAMCOMP, 48000, 256)
    try:
        vp.load_preset(other, str(path), tmp_path)
        assert rms_db(render(other)) == pytest.approx(rms_db(saved_out), abs=0.01)
    finally:
        other.close()


def test_preset_names_are_checked(fx, tmp_path):
    for bad in ("", "a/b", "x\ty", "what?"):
        with pytest.raises(DeviceError, match="preset name"):
            vp.save_preset(fx, bad, tmp_path)
    assert not any(tmp_path.iterdir())


def _preset(cid: bytes = b"0" * 32, chunks=((b"Comp", b"state"),)) -> bytes:
    data = b""
    entries = []
    at = 48
    for cid_, body in chunks:
        entries.append(struct.pack("<4sqq", cid_, at, len(body)))
        data += body
        at += len(body)
    head = struct.pack("<4si32sq", b"VST3", 1, cid, at)
    return head + data + b"List" + struct.pack("<i", len(entries)) + b"".join(entries)


@pytest.mark.parametrize(
    "data, why",
    [
        (b"", "no VST3 header"),
        (b"RIFF" + bytes(60), "no VST3 header"),
        (_preset(cid=b"Z" * 32), "class id is not 32 hex digits"),
        (_preset()[:-4], "bad entry count"),
        (_preset()[:50], "chunk list is missing"),
        (_preset(chunks=((b"Cont", b"x"),)), "no component state"),
        (_preset().replace(b"List\x01", b"List\x7f"), "bad entry count"),
    ],
)
def test_broken_preset_files_are_refused_in_one_line(data, why):
    with pytest.raises(vp.PresetFileError, match=why) as err:
        vp.check_preset(data, "x.vstpreset")
    assert "\n" not in str(err.value) and str(err.value).startswith("VST3 preset x.vstpreset:")


def test_a_preset_of_another_plugin_or_garbage_never_reaches_it(fx, tmp_path):
    folder = tmp_path / "Damien Zammit" / "ZamComp"
    folder.mkdir(parents=True)
    (folder / "Alien.vstpreset").write_bytes(_preset())
    with pytest.raises(vp.PresetFileError, match="Alien.vstpreset: it is for another plugin"):
        vp.load_preset(fx, "Alien", tmp_path)
    rng = np.random.default_rng(13)
    good = fx.plugin.preset_data
    for k in range(200):  # fuzz: flipped bytes and truncations end in a line or load
        data = bytearray(good)
        for _ in range(rng.integers(1, 6)):
            data[rng.integers(0, 48 + 8)] = rng.integers(0, 256)  # header: class id, offsets
        data = bytes(data[: rng.integers(0, len(data) + 1)]) if k % 3 == 0 else bytes(data)
        try:
            vp.check_preset(data, "f.vstpreset", good[8:40])
        except vp.PresetFileError as exc:
            assert "\n" not in str(exc)
    big = tmp_path / "big.vstpreset"
    with open(big, "wb") as f:
        f.truncate(vp.MAX_PRESET_BYTES + 1)
    with pytest.raises(vp.PresetFileError, match="too large"):
        vp.read_preset_file(big)
    os.remove(big)


def test_the_presets_command_lists_and_saves_vst3_presets(tmp_path, fx):
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, XDG_DATA_HOME=str(tmp_path / "data"),
               XDG_CACHE_HOME=str(tmp_path / "cache"))  # fmt: skip

    def quanta(*args: str) -> subprocess.CompletedProcess:
        return procs.run(
            [sys.executable, "-m", "app.cli", "plugins", "presets", f"vst3:{ZAMCOMP}", *args],
            cwd=root, env=env, capture_output=True, text=True, timeout=180,
            start_new_session=True,
        )  # fmt: skip

    made = quanta("--preset", "PoppySnare", "--set", "ratio=8", "--save", "My snare")
    assert made.returncode == 0, made.stderr
    path = tmp_path / "data/quanta/vst3-presets/Damien Zammit/ZamComp/My snare.vstpreset"
    assert made.stdout == f"saved {path}\n"
    listed = quanta()
    assert listed.returncode == 0, listed.stderr
    assert [line.split()[0] for line in listed.stdout.splitlines()] == [
        "Zero", "PoppySnare", "VocalLeveller", "My"]  # fmt: skip
    vp.load_preset(fx, str(path), tmp_path)  # the program, then --set, are in the file
    assert fx.get_parameter("threshold_db") == pytest.approx(-18.0, abs=0.01)
    assert fx.get_parameter("ratio") == pytest.approx(8.0, abs=0.01)
    bad = quanta("--save", "a/b")
    ours = [line for line in bad.stderr.splitlines() if line.startswith("quanta")]
    assert bad.returncode != 0 and len(ours) == 1  # (the plugin itself prints DPF warnings)
    assert ours[0].startswith("quanta: error: preset name 'a/b'")
