"""Long-run fuzz of the preset reader, JSON and the one-line text form.

Each seed builds one case with tests/hostile_presets.py (surrogates, non-ASCII digits, line
breaks, reserved names, deep nesting, huge numbers, mutated valid presets in both forms).
Contract per case: PresetError with one line naming the source, or a preset that saves to
a (scratch) user folder, is found there again, and round-trips through both forms; under
10 s and 1 GB. See bench/fuzz_runner.py for the classification.

    .venv/bin/python bench/fuzz_presets.py [--count 3000] [--seed 0] [-v]
"""

from __future__ import annotations

import atexit
import os
import random
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.fuzz_runner import campaign  # noqa: E402


def setup() -> None:
    from app import paths

    folder = tempfile.mkdtemp(prefix="quanta-fuzz-presets-")
    atexit.register(shutil.rmtree, folder, True)
    os.environ[paths.PRESET_DIR_ENV] = folder


def _same(a, b) -> bool:
    return (a.name, a.settings, a.description, a.author, a.tags) == (
        b.name,
        b.settings,
        b.description,
        b.author,
        b.tags,
    )


def run_case(seed: int) -> str:
    from app import preset_store
    from engine.errors import PresetError
    from engine.presets.preset_format import (
        preset_from_bytes,
        preset_from_json,
        preset_from_text,
        preset_to_json,
        preset_to_text,
    )
    from tests import hostile_presets

    _, data = hostile_presets.any_case(random.Random(seed))
    try:
        preset = preset_from_bytes(data, "case.json")
    except PresetError as exc:
        msg = str(exc)
        msg.encode("utf-8")
        if "\n" in msg or not msg.startswith("case.json: "):
            raise AssertionError(f"not one line naming the source: {msg[:100]!r}") from None
        return "reject"
    if not _same(preset_from_json(preset_to_json(preset)), preset):
        raise AssertionError("JSON round trip differs")
    if not _same(preset_from_text(preset_to_text(preset)), preset):
        raise AssertionError("text-form round trip differs")
    saved = preset_store.save_user_preset(preset, force=True)
    found = preset_store.load_catalog().find(preset.name)
    if found is None or found.path != saved.path:
        raise AssertionError("saved preset not found again")
    saved.path.unlink()
    return "accept"


if __name__ == "__main__":
    sys.exit(campaign("fuzz_presets", __doc__.split("\n\n")[0], run_case, setup))
