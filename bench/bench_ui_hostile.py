"""The window on hostile songs, and the cost of drawing the other tracks' notes.

- Long silences (issue 14): songs with gaps of 2^28 - 1 ticks (the longest a MIDI delta can
  hold) at 1 and 480 PPQ, a few or thousands of them, opened in the real window, fitted,
  zoomed fully in, scrolled to the end and painted. Nothing may cost time or memory in
  proportion to the empty ticks: the figures must not grow with the song's length.
- Thousands of tracks: the track list's widgets, the other tracks' layer and the roll's
  length must not cost per track on every paint or scroll.
- Other tracks' notes (issue 12): the canvas's paint time with the faint layer on and off,
  three 100k-note tracks behind the current one, zoomed out (raster) and in (vector).

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/bench_ui_hostile.py
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from engine.build import add_track, new_song  # noqa: E402
from engine.model import make_notes  # noqa: E402
from engine.project import Project  # noqa: E402
from ui.app import create_app  # noqa: E402
from ui.autosave import RecoveryStore  # noqa: E402
from ui.main_window import MainWindow  # noqa: E402

GAP = (1 << 28) - 1


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def window(tmp: Path) -> MainWindow:
    settings = QSettings(str(tmp / "bench.ini"), QSettings.IniFormat)
    w = MainWindow(settings=settings, engine=False, recovery=RecoveryStore(tmp / "rec"))
    w.resize(1280, 800)
    w.show()
    settle()
    return w


def settle() -> None:
    app = QApplication.instance()
    for _ in range(5):
        app.processEvents()


def silences(w: MainWindow, ppq: int, gaps: int) -> None:
    starts = np.arange(gaps + 1, dtype=np.int64) * (GAP + ppq)
    song = new_song(ppq=ppq)
    add_track(song, make_notes(starts, starts + ppq, np.full(starts.size, 60)), "Sparse")
    rss0 = rss_mb()
    tracemalloc.start()
    t = time.perf_counter()
    w.load_project(Project(song=song), None)
    roll = w.piano_roll
    roll.zoom_to_fit()
    settle()
    w.grab()
    roll.vp.zoom_x(1e15, 0)
    roll.hbar.setValue(roll.hbar.maximum())
    w.grab()
    secs = time.perf_counter() - t
    _cur, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"  {gaps:5d} gaps at PPQ {ppq:3d} ({starts[-1]:.2e} ticks): open+fit+zoom+end+paint "
        f"{secs * 1000:7.1f} ms, Python peak {peak / 2**20:6.1f} MB, "
        f"RSS +{rss_mb() - rss0:6.1f} MB, scroll max {roll.hbar.maximum()}"
    )


def other_tracks(w: MainWindow) -> None:
    rng = np.random.default_rng(3)
    song = new_song(ppq=480)
    for k in range(4):
        n = 100_000
        start = np.sort(rng.integers(0, n * 120, n))
        add_track(song, make_notes(start, start + 200, rng.integers(30, 100, n)), f"T{k}")
    w.load_project(Project(song=song), None)
    settle()
    roll, canvas = w.piano_roll, w.piano_roll.canvas
    for label, span in (("zoomed out (100k each)", 100_000 * 120), ("8 bars", 8 * 1920)):
        roll.vp.fit_ticks(0, span)
        for on in (False, True):
            canvas.set_show_other_tracks(on)
            times = []
            for _ in range(15):
                canvas.grab()
                times.append(canvas.last_paint_ms)
            print(
                f"  {label:24s} other tracks {'on ' if on else 'off'}: canvas paint "
                f"{statistics.median(times):6.2f} ms (median of 15), "
                f"{canvas.other_tracks.last_count if on else 0} other notes drawn"
            )


def many_tracks(w: MainWindow, n: int) -> None:
    song = new_song(ppq=480)
    for k in range(n):
        add_track(song, make_notes([10 * k], [10 * k + 240], [36 + k % 60]), f"T{k}")
    rss0 = rss_mb()
    t = time.perf_counter()
    w.load_project(Project(song=song), None)
    settle()
    w.grab()
    secs = time.perf_counter() - t
    t = time.perf_counter()
    w.doc.set_current_index(w.track_list.rows[n // 2])
    w.grab()
    print(
        f"  {n:6d} one-note tracks: open+paint {secs:6.2f} s, RSS +{rss_mb() - rss0:6.1f} MB, "
        f"switch track+paint {(time.perf_counter() - t) * 1000:6.1f} ms"
    )


def main() -> int:
    create_app()
    with tempfile.TemporaryDirectory(prefix="quanta-bench-") as tmp:
        w = window(Path(tmp))
        print("Long silences:")
        for ppq, gaps in ((1, 3), (480, 3), (1, 2000), (480, 2000)):
            silences(w, ppq, gaps)
        print("Many tracks:")
        for n in (2000, 20000):
            many_tracks(w, n)
        print("Other tracks' notes (3 tracks behind the current one):")
        other_tracks(w)
        w.doc.undo_stack.setClean()
        w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
