"""Hostile LV2 bundles (issue 14): none may take Quanta down or blacklist good plugins.

Every bad bundle is real, compiled here (tests/lv2_fakes.py): a dynamic manifest that aborts
while lilv loads the bundle, one that aborts while lilv reads the plugin's description, a
plugin whose binary is garbage, one that aborts in ``instantiate``, one that passes its probe
and aborts part-way through a render. The good plugins are Debian's mda-lv2, installed.

``quanta plugins`` runs in this test process: if discovery still ran plugin code here, the
test process itself would die.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from app.cli import main
from engine.errors import DeviceError
from engine.plugins import lv2, lv2_discovery, lv2_world
from engine.plugins.scan import ProbeCache, scan_installed
from tests import lv2_fakes, procs

ROOT = Path(__file__).resolve().parents[1]
MDA = "http://drobilla.net/plugins/mda/"
DYN_OPEN = "urn:quanta:test:dyn-open"
DYN_DATA = "urn:quanta:test:dyn-data"
GARBAGE = "urn:quanta:test:garbage"
RUN_CRASH = "urn:quanta:test:run-crash"
INST_CRASH = "urn:quanta:test:inst-crash"


@pytest.fixture
def lv2_dir(tmp_path, monkeypatch) -> Path:
    """LV2_PATH = a private folder + Debian's mda bundle (linked in: quick to probe); no VST3
    or SoundFont folders, a private cache; the discovery this process remembers is reset."""
    lv2_fakes.compiler()
    return lv2_fakes.mda_only_plugins(tmp_path, monkeypatch)


def plugins_json(capsys) -> dict[str, dict]:
    assert main(["plugins", "--json", "--timeout", "5"]) == 0
    return {e.get("spec") or e["path"]: e for e in json.loads(capsys.readouterr().out)["lv2"]}


def test_crashing_dynamic_manifests_are_named_and_the_rest_stays_usable(lv2_dir, capsys):
    clean = plugins_json(capsys)
    assert len(clean) == 36 and all(e["ok"] for e in clean.values())
    open_bad = lv2_fakes.dyn_manifest_bundle(lv2_dir, "dynopen", DYN_OPEN, abort_in_open=True)
    data_bad = lv2_fakes.dyn_manifest_bundle(lv2_dir, "dyndata", DYN_DATA, abort_in_open=False)
    lv2_fakes.garbage_bundle(lv2_dir, "garbage", GARBAGE)

    found = plugins_json(capsys)
    loading = found[str(open_bad)]
    assert not loading["ok"] and loading["kind"] == "bundle"
    assert loading["error"] == (
        f"LV2 bundle {open_bad} crashed (signal 6, SIGABRT) while loading; its plugins are skipped"
    )
    describing = found[str(data_bad)]
    assert describing["error"] == (
        f"LV2 bundle {data_bad} crashed (signal 6, SIGABRT) while describing <{DYN_DATA}>; "
        "its plugins are skipped"
    )
    garbage = found[f"lv2:{GARBAGE}"]
    assert not garbage["ok"] and garbage["name"] == "garbage"
    assert "failed to instantiate" in garbage["error"] and "fx.so" in garbage["error"]
    assert "\n" not in garbage["error"]
    # Every mda plugin is still there and usable, with the same description.
    for spec, entry in clean.items():
        assert found[spec] == entry
    assert f"lv2:{DYN_DATA}" not in found and f"lv2:{DYN_OPEN}" not in found

    # The text listing names the bundles in one line each.
    assert main(["plugins"]) == 0
    text = capsys.readouterr().out
    assert f"  BAD BUNDLE: LV2 bundle {open_bad} crashed" in text
    assert "MDA ePiano" in text


def test_a_hanging_dynamic_manifest_is_cut_off_and_named(lv2_dir):
    bad = lv2_fakes.dyn_manifest_bundle(
        lv2_dir, "dynhang", "urn:quanta:test:hang", abort_in_open=False, hang_in_open=True
    )
    found = lv2_discovery.discover(timeout=2)
    assert found.bad == {
        str(bad): f"LV2 bundle {bad} hung (no answer in 2 s) while loading; its plugins are skipped"
    }
    assert MDA + "EPiano" in found.plugins and len(found.plugins) == 36


def test_in_process_hosting_reads_only_the_plugins_own_bundles(lv2_dir, monkeypatch):
    """render/play load LV2 here: the bad bundle on LV2_PATH must never be read here."""
    lv2_fakes.dyn_manifest_bundle(lv2_dir, "dynopen", DYN_OPEN, abort_in_open=True)
    monkeypatch.setattr(lv2_world, "_world", None)
    monkeypatch.setattr(lv2_world, "_bundle_index", {})
    fx = lv2.LV2Effect(MDA + "Delay", 48000, 256)  # discovers in a child, loads mda only
    try:
        assert lv2_world.world().bundles == {str(lv2_dir / "mda.lv2")}
        assert fx.info.name == "MDA Delay"
    finally:
        fx.close()
    with pytest.raises(DeviceError, match=f"LV2 plugin {DYN_OPEN} is not installed"):
        lv2_world.describe(DYN_OPEN)


def test_probe_results_follow_the_bundle_files(lv2_dir, tmp_path):
    cache_file = tmp_path / "plugins.json"
    bundle = lv2_fakes.effect_bundle(lv2_dir, "instcrash", INST_CRASH, abort_in_instantiate=True)
    first = {r.ident: r for r in scan_installed(cache_file, timeout=5)}
    assert not first[INST_CRASH].ok
    assert first[INST_CRASH].error == "crashed while loading (signal 6, SIGABRT)"
    assert first[INST_CRASH].name == "instcrash"  # named from the discovery, not its URI

    # Remembered while the bundle is unchanged ...
    again = {r.ident: r for r in scan_installed(cache_file, timeout=5)}
    assert not again[INST_CRASH].ok and again[INST_CRASH].seconds == first[INST_CRASH].seconds
    # ... and probed again as soon as its binary is replaced by a fixed build.
    fixed = lv2_fakes.effect_bundle(tmp_path / "build", "instcrash", INST_CRASH)
    os.replace(fixed / "fx.so", bundle / "fx.so")
    after = {r.ident: r for r in scan_installed(cache_file, timeout=5)}
    assert after[INST_CRASH].ok and after[INST_CRASH].kind == "effect"
    assert after[MDA + "EPiano"].seconds == first[MDA + "EPiano"].seconds  # not re-probed


def test_a_cache_from_before_keeps_nothing_blacklisted(lv2_dir, tmp_path):
    """Old caches keyed LV2 results by URI alone: a crash marked every plugin for good."""
    cache_file = tmp_path / "plugins.json"
    stale = {"fmt": "lv2", "ok": False, "error": "crashed while loading (signal 6)", "stamp": ""}
    cache_file.write_text(
        json.dumps({f"lv2:{MDA}{n}": {**stale, "ident": MDA + n} for n in ("EPiano", "Delay")})
    )
    results = {r.ident: r for r in scan_installed(cache_file, timeout=5)}
    assert results[MDA + "EPiano"].ok and results[MDA + "Delay"].ok


def test_removing_a_bad_bundle_clears_it(lv2_dir, tmp_path):
    cache_file = tmp_path / "plugins.json"
    bad = lv2_fakes.dyn_manifest_bundle(lv2_dir, "dynopen", DYN_OPEN, abort_in_open=True)
    with_bad = scan_installed(cache_file, timeout=5)
    assert [r.ident for r in with_bad if r.fmt == "lv2-bundle"] == [str(bad)]
    procs.run(["rm", "-r", str(bad)], check=True)
    without = scan_installed(cache_file, timeout=5)
    assert not [r for r in without if r.fmt == "lv2-bundle"]
    assert all(r.ok for r in without) and len(without) == 36
    assert ProbeCache(cache_file).get_extra(lv2_discovery.CACHE_KEY)["bad"] == {}


def test_a_plugin_that_aborts_mid_render_is_named_and_leaves_no_file(lv2_dir, tmp_path):
    """It passes the one-block probe, then aborts on its 40th block: the render child dies,
    the parent names the plugin and the track, exits 2, and no file (final or temporary) is
    left; an earlier OUT is untouched."""
    from engine.build import add_track, new_song
    from engine.model.notes import make_notes
    from engine.smf.midifile import save_song

    lv2_fakes.effect_bundle(lv2_dir, "runcrash", RUN_CRASH, abort_after_runs=40)
    song = new_song(480, 120.0)
    add_track(song, make_notes([0, 960], [900, 7600], 60, 90, 0), "Keys")
    midi = tmp_path / "song.mid"
    save_song(song, midi)
    out = tmp_path / "out.wav"
    out.write_bytes(b"an earlier render")
    cmd = [
        sys.executable, "-m", "app.cli", "render", str(midi), "-o", str(out),
        "--track-effect", f"Keys=lv2:{RUN_CRASH}", "--block", "256",
    ]  # fmt: skip
    proc = procs.run(
        cmd, cwd=ROOT, capture_output=True, text=True, timeout=180, start_new_session=True
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines == [
        f'quanta: error: render failed: LV2 plugin "runcrash" ({RUN_CRASH}) on track "Keys" '
        f"crashed (signal 6, SIGABRT); {out} was not written"
    ]
    assert out.read_bytes() == b"an earlier render"
    assert sorted(os.listdir(tmp_path)) == ["cache", "lv2", "out.wav", "song.mid"]
    # The same render without the plugin works (the crash was the plugin's, not the render's).
    ok = procs.run(
        cmd[:-4] + ["--instrument", f"lv2:{MDA}EPiano"], cwd=ROOT, capture_output=True,
        text=True, timeout=180, start_new_session=True,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert out.stat().st_size > 1000
