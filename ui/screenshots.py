"""Render the main window's main states to PNGs (for docs/ and the README).

    QT_QPA_PLATFORM=offscreen .venv/bin/python -m ui.screenshots docs/

Each state is reached the way a user would reach it (choose a track, select notes, pick a
preset, press Apply) on the built-in demo song, so the pictures show real behaviour. The window
uses throwaway settings, so the user's saved layout never leaks into the docs.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings  # noqa: E402

SIZE = (1440, 900)


def _window(scratch: Path):
    from ui.autosave import RecoveryStore
    from ui.main_window import MainWindow

    settings = QSettings(str(scratch / "settings.ini"), QSettings.IniFormat)
    # The real engine runs (no ports chosen), so the status bar shows what a user sees.
    w = MainWindow(settings=settings, recovery=RecoveryStore(scratch / "rec"))
    w.resize(*SIZE)
    w.show()
    return w


def render_all(folder: str | Path) -> list[Path]:
    """Write every state's PNG into ``folder``; returns the paths."""
    from ui.app import create_app, grab_window

    create_app()
    folder = Path(folder)
    out = []
    with tempfile.TemporaryDirectory(prefix="quanta-shots-") as tmp:
        os.environ["QUANTA_PRESET_DIR"] = str(Path(tmp) / "presets")
        scratch = Path(tmp)

        # 1. First start: the demo song, drums shown, ghost preview of a 1/16 quantize.
        w = _window(scratch)
        out.append(grab_window(w, folder / "main-window.png"))

        # 2. Keys: a swing preset chosen and applied (Q); the timing view shows before/after.
        w.doc.set_current_index(3)
        w.quantize_panel.choose_preset("Swing 1/16 62")
        w.quantize()
        out.append(grab_window(w, folder / "main-window-quantized.png"))

        # 3. Bass: some notes selected, strength at 60 % — ghosts show the partial move.
        w.doc.undo_stack.setClean()
        w.doc.set_current_index(2)
        w.doc.set_selection(w.doc.track().notes["id"][:10])
        w.quantize_panel.choose_preset("Straight 1/16")
        w.quantize_panel.strength.spin.setValue(60.0)  # as typed: updates the preview
        w.track_list.button(1, "mute").click()
        out.append(grab_window(w, folder / "main-window-selection.png"))
        w.doc.undo_stack.setClean()

        # 4. Drums with a loop: bars 2-3 dragged in the ruler's loop strip, looping on (L);
        #    the keyboard names the GM drums.
        from PySide6.QtCore import QPoint, Qt
        from PySide6.QtTest import QTest

        w.track_list.button(1, "mute").click()
        w.doc.undo_stack.setClean()
        w.doc.set_current_index(1)
        roll = w.piano_roll
        roll.zoom_to_fit()
        ruler = roll.ruler
        bar = w.doc.song.time_signatures().bar_ticks(w.doc.song.time_signatures().signatures[0])
        y = ruler.height() - 4
        a, b = (QPoint(round(roll.vp.tick_to_x(t)), y) for t in (bar, 3 * bar))
        QTest.mousePress(ruler, Qt.LeftButton, Qt.NoModifier, a)
        QTest.mouseMove(ruler, b)
        QTest.mouseRelease(ruler, Qt.LeftButton, Qt.NoModifier, b)
        w.transport.loop.click()
        out.append(grab_window(w, folder / "main-window-loop-drums.png"))
        w.doc.undo_stack.setClean()

        # 5. Keys: the loop's body dragged one bar right (bars 3-4), then a chord being
        #    dragged up a third — the moving notes drawn at their new place, before release.
        a, b = (QPoint(round(roll.vp.tick_to_x(t)), y) for t in (2 * bar, 3 * bar))
        QTest.mousePress(ruler, Qt.LeftButton, Qt.NoModifier, a)
        QTest.mouseMove(ruler, b)
        QTest.mouseRelease(ruler, Qt.LeftButton, Qt.NoModifier, b)
        w.doc.set_current_index(3)
        roll.zoom_to_fit()
        notes = w.doc.track().notes
        chord = notes["id"][notes["start"] == notes["start"][0]]
        w.doc.set_selection(chord)
        first = notes[0]
        vp = roll.vp
        grab = QPoint(
            round(vp.tick_to_x((int(first["start"]) + int(first["end"])) / 2)),
            round(vp.pitch_top_y(int(first["pitch"])) + vp.key_height / 2),
        )
        to = QPoint(
            grab.x() + round(bar / 2 / vp.ticks_per_px), grab.y() - round(4 * vp.key_height)
        )
        QTest.mousePress(roll.canvas, Qt.LeftButton, Qt.NoModifier, grab)
        QTest.mouseMove(roll.canvas, (grab + to) / 2)
        QTest.mouseMove(roll.canvas, to)
        out.append(grab_window(w, folder / "main-window-drag.png"))
        QTest.mouseRelease(roll.canvas, Qt.LeftButton, Qt.NoModifier, to)
        w.doc.undo_stack.setClean()

        # 6. Settings → Editing: the undo limit.
        from ui.settings_dialog import SettingsDialog

        dialog = SettingsDialog(w.settings, w.doc, None, w)
        dialog.tabs.setCurrentWidget(dialog.undo_steps.parentWidget())
        dialog.show()
        out.append(grab_window(dialog, folder / "settings-editing.png"))
        dialog.close()

        # 7. Groove: a groove extracted from the drums' first two bars (now a user groove in
        #    the pool), then a factory swing with velocity and humanize on the bass; the dock
        #    scrolled to the pool, the timing view showing the groove's points.
        w.doc.set_current_index(1)
        w.doc.set_selection(
            w.doc.track().notes["id"][w.doc.track().notes["start"] < 2 * bar]
        )
        pool = w.quantize_panel.groove_pool
        pool.extract(base="1/16", bars=1, name="Demo drums groove")
        w.doc.clear_selection()
        w.doc.set_current_index(2)
        w.quantize_panel.choose_preset("Straight 1/16")
        pool.choose("MPC Swing 1/16 66%")
        pool.groove_velocity.setValue(40)
        pool.humanize_ms.setValue(4)
        roll.zoom_to_fit()
        scroll = w.quantize_panel.controls_scroll
        scroll.verticalScrollBar().setValue(scroll.verticalScrollBar().maximum())
        out.append(grab_window(w, folder / "main-window-groove.png"))

        # 8. The whole quantize dock on its own, as tall as it wants to be.
        from ui.quantize_panel import QuantizePanel

        panel = QuantizePanel(w.doc, preview=w.quantize_panel.preview)
        panel.load_settings(w.doc.edit_settings)
        height = panel.controls_scroll.widget().sizeHint().height() + 330
        panel.resize(430, height)
        panel.show()
        panel.preview.recompute()  # the panel's timing view fills from the shared preview
        out.append(grab_window(panel, folder / "quantize-dock-groove.png"))
        panel.close()
        w.doc.undo_stack.setClean()
        w.close()  # stops the engine
    return out


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    for p in render_all(args[0] if args else "docs"):
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
