"""``quanta plugins``: every format listed, bad plugins marked, results remembered."""

from __future__ import annotations

import json

from app.cli import main
from engine.plugins import scan
from tests import procs


def test_plugins_json_lists_every_format_and_marks_zamverb(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert main(["plugins", "--json", "--timeout", "3"]) == 0
    groups = json.loads(capsys.readouterr().out)
    assert set(groups) == {"builtin", "stock", "lv2", "vst3", "sf2"}
    lv2 = {e["spec"]: e for e in groups["lv2"]}
    epiano = lv2["lv2:http://drobilla.net/plugins/mda/EPiano"]
    assert epiano["ok"] and epiano["kind"] == "instrument" and epiano["name"] == "MDA ePiano"
    vst3 = {e["spec"]: e for e in groups["vst3"]}
    assert vst3["vst3:/usr/lib/vst3/ZamComp.vst3"]["ok"]
    verb = vst3["vst3:/usr/lib/vst3/ZamVerb.vst3"]
    assert not verb["ok"] and "hung" in verb["error"]
    assert any(e["spec"].endswith("TimGM6mb.sf2") and e["ok"] for e in groups["sf2"])
    assert "reverb" in {e["name"] for e in groups["stock"]}
    # Second run: from the cache, no 3 s wait for ZamVerb: nothing is probed again.
    def no_probe(items, *args, **kwargs):
        raise AssertionError(f"probed again: {items}")

    monkeypatch.setattr(scan, "probe_many", no_probe)
    assert main(["plugins"]) == 0
    text = capsys.readouterr().out
    assert "ZamVerb.vst3" in text and "UNUSABLE: hung" in text
    assert text.startswith("Built-in:")


def test_loading_fluidsynth_prints_nothing_even_on_ci():
    """pyfluidsynth prints where it found the library when CI is set; that broke --json."""
    import os
    import sys

    code = "from engine.plugins.sf2 import _fluidsynth; _fluidsynth()"
    env = dict(os.environ, CI="true")
    proc = procs.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
