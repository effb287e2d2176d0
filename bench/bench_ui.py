"""Piano roll / quantize panel speed, measured on the real widgets (offscreen Qt).

Targets (from the UI issue):
- a 100k-note track zoomed fully out paints in < 16 ms; scrolling stays at 60 fps (< 16.7 ms
  per scrolled frame);
- dragging the strength slider on a 10k-note track updates the preview (quantize + repaint)
  in < 30 ms;
- with a groove chosen (and every groove amount, humanize and flam on), each slider step on
  the same 10k notes stays as fast as the grid preview (issue 10), measured in the same run;
- a 100k-note MIDI file opens to a painted window in < 2 s;
- the GUI does not starve the engine: the engine's lateness holds while the roll scrolls.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/bench_ui.py [--quick]

Paint figures are the median of repeated synchronous repaints (``QWidget.repaint``); "canvas"
is the time inside the canvas's paintEvent, "frame" the whole repaint call.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from engine.build import add_track, new_song  # noqa: E402
from engine.model.notes import make_notes  # noqa: E402
from ui.pianoroll import PianoRoll  # noqa: E402
from ui.quantize_panel import QuantizePanel  # noqa: E402
from ui.song_document import SongDocument  # noqa: E402
from ui.theme import apply_theme  # noqa: E402

PPQ = 480


def humanized_track(n: int, seed: int = 7) -> np.ndarray:
    """``n`` notes: 16ths with up to 3-note chords, humanized ±20 ticks, varied lengths."""
    rng = np.random.default_rng(seed)
    grid = np.sort(rng.integers(0, n // 2, n)) * (PPQ // 4)
    start = np.maximum(grid + rng.integers(-20, 21, n), 0)
    start.sort()
    length = rng.integers(30, 2 * PPQ, n)
    pitch = rng.integers(36, 96, n)
    return make_notes(start, start + length, pitch, rng.integers(20, 128, n))


def song_with(notes: np.ndarray):
    song = new_song(ppq=PPQ)
    add_track(song, notes, "Bench")
    return song


def timed_repaints(roll: PianoRoll, count: int, step=None) -> tuple[float, float]:
    frames, canvas = [], []
    for i in range(count):
        if step is not None:
            step(i)
        t = time.perf_counter()
        roll.canvas.repaint()
        frames.append((time.perf_counter() - t) * 1000)
        canvas.append(roll.canvas.last_paint_ms)
    return statistics.median(frames), statistics.median(canvas)


def timed_frames(roll: PianoRoll, count: int, step) -> float:
    """Median time of one scrolled frame: the step, then painting everything it made dirty
    (canvas, ruler, velocity lane, scroll bars), as the event loop would."""
    frames = []
    for i in range(count):
        t = time.perf_counter()
        step(i)
        roll.repaint()
        frames.append((time.perf_counter() - t) * 1000)
    return statistics.median(frames)


def make_roll(doc: SongDocument) -> PianoRoll:
    roll = PianoRoll(doc)
    roll.resize(1600, 900)
    roll.show()
    QApplication.processEvents()
    return roll


def bench_zoomed_out(n: int, reps: int) -> None:
    doc = SongDocument(song_with(humanized_track(n)))
    roll = make_roll(doc)
    roll.zoom_to_fit()
    doc.set_preview_enabled(False)
    QApplication.processEvents()
    frame, canvas = timed_repaints(roll, reps)
    print(
        f"paint {n:,} notes zoomed fully out ({roll.canvas.width()}x{roll.canvas.height()} px, "
        f"{roll.canvas.last_paint_path}): canvas {canvas:.2f} ms, frame {frame:.2f} ms "
        f"[target < 16 ms]"
    )
    parts = (roll.canvas, roll.keyboard, roll.ruler, roll.velocity_lane, roll.hbar, roll.vbar)
    whole = timed_frames(roll, reps, lambda i: [w.update() for w in parts])
    print(f"  whole roll (canvas, keyboard, ruler, velocity lane, scroll bars): {whole:.2f} ms")
    doc.set_preview_enabled(True)
    QApplication.processEvents()
    frame, canvas = timed_repaints(roll, reps)
    print(f"  same with quantize ghosts of all {n:,} notes: canvas {canvas:.2f} ms")

    # Scrolling at an editing zoom (8 bars on screen) and fully out, one frame per step.
    vp = roll.vp
    zooms = (
        ("8 bars on screen", PPQ * 32 / vp.width),
        ("128 bars on screen", PPQ * 512 / vp.width),
    )
    for label, tpp in zooms:
        vp.ticks_per_px = tpp
        width_ticks = vp.width * tpp
        span = max(1.0, doc.song.length_ticks() - width_ticks)

        def step(i, span=span):
            vp.scroll_to(left_tick=(i * 97 * PPQ) % span)

        frame = timed_frames(roll, reps * 3, step)
        print(
            f"scroll {label}: {frame:.2f} ms per frame = {1000 / frame:.0f} fps [target >= 60 fps]"
        )
    roll.close()


def bench_preview(n: int, reps: int) -> None:
    doc = SongDocument(song_with(humanized_track(n)))
    roll = make_roll(doc)
    panel = QuantizePanel(doc)
    panel.show()
    roll.zoom_to_fit()
    QApplication.processEvents()
    totals, quant = [], []
    for i in range(reps):
        t = time.perf_counter()
        panel.strength.slider.setValue(1000 - (i % 50) * 10)  # what a drag does
        roll.preview.recompute()  # the coalesced timer firing
        roll.canvas.repaint()  # ghost outlines
        panel.timing.repaint()  # before/after timing plot
        totals.append((time.perf_counter() - t) * 1000)
        quant.append(roll.preview.last_ms)
    print(
        f"strength drag on {n:,} notes: quantize {statistics.median(quant):.2f} ms, "
        f"quantize + roll + timing view repaint {statistics.median(totals):.2f} ms (p90 "
        f"{np.percentile(totals, 90):.2f}) [target < 30 ms]"
    )
    panel.close()
    roll.close()


def _drag_steps(roll, panel, control, reps: int, values) -> tuple[list[float], list[float]]:
    totals, quant = [], []
    for i in range(reps):
        t = time.perf_counter()
        control(values[i % len(values)])  # what a drag does
        roll.preview.recompute()  # the coalesced timer firing
        roll.canvas.repaint()  # ghost outlines
        panel.timing.repaint()  # before/after timing plot (with the groove's points)
        totals.append((time.perf_counter() - t) * 1000)
        quant.append(roll.preview.last_ms)
    return totals, quant


def bench_groove_preview(n: int, reps: int) -> None:
    """Grid vs groove preview per slider step on the same notes, in one run: the strength
    (timing) slider, then each groove amount and humanize, with a factory groove chosen."""
    doc = SongDocument(song_with(humanized_track(n)))
    roll = make_roll(doc)
    panel = QuantizePanel(doc)
    panel.resize(420, 1400)
    panel.show()
    roll.zoom_to_fit()
    QApplication.processEvents()
    drag = [1000 - (i % 50) * 10 for i in range(50)]
    grid_t, grid_q = _drag_steps(roll, panel, panel.strength.slider.setValue, reps, drag)
    pool = panel.groove_pool
    pool.choose("MPC Swing 1/16 62%")
    pool.pre_quantize.setValue(30)
    pool.groove_velocity.setValue(50)
    pool.groove_length.setValue(40)
    pool.flam.setValue(10)
    pool.humanize_velocity.setValue(4)
    rows = [("grid strength", grid_t, grid_q)]
    for label, control, values in (
        ("groove timing", panel.strength.slider.setValue, drag),
        ("groove velocity", pool.groove_velocity.setValue, [float(v % 100) for v in range(50)]),
        ("humanize ms", pool.humanize_ms.setValue, [1 + (i % 20) for i in range(50)]),
    ):
        t, q = _drag_steps(roll, panel, control, reps, values)
        rows.append((label, t, q))
    base = statistics.median(grid_t)
    for label, t, q in rows:
        print(
            f"{label} step on {n:,} notes: quantize {statistics.median(q):.2f} ms, "
            f"+ roll + timing repaint {statistics.median(t):.2f} ms (p90 "
            f"{np.percentile(t, 90):.2f}; {statistics.median(t) / base:.2f}x grid) [target: "
            "as fast as the grid preview, < 30 ms]"
        )
    panel.close()
    roll.close()


def bench_edit(n: int, reps: int) -> None:
    """Editing a big track: dragging 100 selected notes with real mouse events (each move
    redraws the roll; the release pushes one undoable move), then an undoable transpose of
    those notes, and the memory each undo step keeps."""
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest

    from ui import commands

    doc = SongDocument(song_with(humanized_track(n)))
    roll = make_roll(doc)
    vp = roll.vp
    canvas = roll.canvas
    notes = doc.track().notes
    doc.set_selection(notes["id"][n // 2 : n // 2 + 100])
    vp.ticks_per_px = PPQ * 32 / vp.width
    first = notes[n // 2]
    vp.scroll_to(left_tick=float(first["start"]) - PPQ)
    grab = None
    for k in range(n // 2, n // 2 + 100):  # a selected note long enough to grab by its body
        nt = notes[k]
        x = (vp.tick_to_x(float(nt["start"])) + vp.tick_to_x(float(nt["end"]))) / 2
        at = QPoint(round(x), round(vp.pitch_top_y(int(nt["pitch"])) + vp.key_height / 2))
        hit = canvas.note_at(at.toPointF())
        if hit >= 0 and notes["id"][hit] in doc.selection and canvas._edge(hit, at.x()) == "move":
            grab = at
            break
    assert grab is not None, "no selected note to grab"
    moves, releases = [], []
    for _drag in range(5):  # five drags, each one undoable move pushed on release
        QTest.mousePress(canvas, Qt.LeftButton, Qt.NoModifier, grab)
        for i in range(reps):
            t = time.perf_counter()
            QTest.mouseMove(canvas, QPoint(grab.x() + 7 * (i + 1), grab.y() - 12 * (i % 3)))
            canvas.repaint()
            moves.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        QTest.mouseRelease(canvas, Qt.LeftButton, Qt.NoModifier, QPoint(grab.x() + 7, grab.y()))
        releases.append((time.perf_counter() - t) * 1000)
        doc.undo_stack.undo()  # the notes are back under the pointer for the next drag
    assert doc.undo_stack.count() == 1 and doc.undo_stack.index() == 0, doc.undo_stack.count()
    step = doc.undo_stack.command(0)
    step_bytes = getattr(step, "nbytes", None)
    pushes = []
    for i in range(reps):
        t = time.perf_counter()
        doc.push(commands.transpose_notes(doc, doc.current_index, doc.selection, 1 - 2 * (i % 2)))
        pushes.append((time.perf_counter() - t) * 1000)
    undos = []
    for _ in range(reps):
        t = time.perf_counter()
        doc.undo_stack.undo()
        undos.append((time.perf_counter() - t) * 1000)
    held = f"{step_bytes / 1024:.1f} KiB" if step_bytes is not None else "n/a"
    print(
        f"edit on {n:,} notes: drag frame (mouse move of 100 notes + repaint) "
        f"{statistics.median(moves):.2f} ms (p90 {np.percentile(moves, 90):.2f}), release "
        f"(one undoable move) {statistics.median(releases):.1f} ms; undoable transpose "
        f"{statistics.median(pushes):.2f} ms, undo {statistics.median(undos):.2f} ms; "
        f"one step holds {held} (track array {notes.nbytes / 1024:.0f} KiB)"
    )
    roll.close()


def bench_open(n: int) -> None:
    from engine.smf.midifile import load_song, save_song

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.mid"
        save_song(song_with(humanized_track(n)), path)
        t = time.perf_counter()
        song = load_song(path)
        t_load = time.perf_counter()
        doc = SongDocument(song, path)
        roll = make_roll(doc)
        panel = QuantizePanel(doc)
        panel.show()
        QApplication.processEvents()  # preview + first paint
        roll.canvas.repaint()
        t_done = time.perf_counter()
    print(
        f"open a {n:,}-note file to a painted roll + panel: {(t_done - t) * 1000:.0f} ms "
        f"(load {(t_load - t) * 1000:.0f} ms) [target < 2000 ms]"
    )
    roll.close()
    panel.close()


def bench_engine_lateness(seconds: float) -> None:
    """Play a dense song on the engine (in-memory sink) twice: idle GUI, then scrolling."""
    from engine.realtime.transport import Engine

    class CountingSink:  # the engine's output; counts messages, nothing else
        name = "bench-sink"
        lookahead = 0.0

        def __init__(self):
            self.n = 0

        def send_at(self, when, data):
            self.n += 1

        def panic(self):
            pass

        def close(self):
            pass

    notes = humanized_track(20000)
    doc = SongDocument(song_with(notes))
    roll = make_roll(doc)
    roll.zoom_to_fit()
    results = {}
    for mode in ("idle GUI", "scrolling roll"):
        eng = Engine().start()
        try:
            eng.set_outputs([CountingSink()])
            eng.set_song(doc.song)
            eng.play()
            t_end = time.perf_counter() + seconds
            i = 0
            while time.perf_counter() < t_end:
                if mode == "scrolling roll":
                    roll.vp.scroll_to(left_tick=(i * 37 * PPQ) % (notes["end"].max()))
                    roll.canvas.repaint()
                    i += 1
                QApplication.processEvents()
                time.sleep(0.001 if mode == "idle GUI" else 0)
            eng.stop()
            results[mode] = eng.lateness_ms()
        finally:
            eng.shutdown()
    for mode, (p50, p99, mx, count) in results.items():
        print(
            f"engine lateness, {mode}: p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {mx:.2f} ms "
            f"over {count} events"
        )
    roll.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions (development)")
    ap.add_argument("--skip-engine", action="store_true")
    ap.add_argument("--groove-only", action="store_true", help="only grid vs groove preview")
    args = ap.parse_args()
    app = QApplication.instance() or QApplication([])
    apply_theme(app)
    reps = 5 if args.quick else 30
    if args.groove_only:
        bench_groove_preview(10_000, reps)
        return
    bench_zoomed_out(100_000, reps)
    bench_preview(10_000, reps)
    bench_groove_preview(10_000, reps)
    bench_edit(100_000, reps)
    bench_open(100_000)
    if not args.skip_engine:
        bench_engine_lateness(2.0 if args.quick else 5.0)


if __name__ == "__main__":
    main()
