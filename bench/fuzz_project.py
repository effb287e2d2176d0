"""Long-run fuzz of the project reader (``.quanta``): thousands of damaged and hostile files.

Each seed builds one case with tests/hostile_projects.py (mutated valid projects, zip-level
lies, JSON attacks, hostile arrays, zip bombs). Contract per case: ProjectError with one line
naming the file, or a project that saves, reads back identical, and whose song.mid Quanta
reads; under 10 s and 1 GB. See bench/fuzz_runner.py for the classification.

    .venv/bin/python bench/fuzz_project.py [--count 3000] [--seed 0] [-v]
"""

from __future__ import annotations

import io
import random
import sys
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.fuzz_runner import campaign  # noqa: E402


def setup() -> None:
    from tests import hostile_projects

    hostile_projects.seed_projects()


def run_case(seed: int) -> str:
    import numpy as np

    from engine.project.project import ProjectError, project_from_bytes, project_to_bytes
    from engine.smf.midifile import load_song_bytes, song_to_bytes
    from tests import hostile_projects

    _, data = hostile_projects.any_case(random.Random(seed))
    try:
        project = project_from_bytes(data, "case.quanta")
    except ProjectError as exc:
        msg = str(exc)
        if "\n" in msg or not msg.startswith("case.quanta: "):
            raise AssertionError(f"not one line naming the file: {msg[:100]!r}") from None
        return "reject"
    saved = project_to_bytes(project)
    again = project_from_bytes(saved, "resaved")
    for a, b in zip(project.song.tracks, again.song.tracks, strict=True):
        if not (np.array_equal(a.notes, b.notes) and np.array_equal(a.events, b.events)):
            raise AssertionError("re-read project differs")
    with zipfile.ZipFile(io.BytesIO(saved)) as z:
        load_song_bytes(z.read("song.mid"), "song.mid")
    if project.song.file_extras.riff is not None:
        load_song_bytes(song_to_bytes(project.song, rmid=True), "song.rmi")
    return "accept"


if __name__ == "__main__":
    sys.exit(campaign("fuzz_project", __doc__.split("\n\n")[0], run_case, setup))
