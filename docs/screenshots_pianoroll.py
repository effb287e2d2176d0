"""Render the piano roll and quantize panel screenshots in docs/ (offscreen, demo song).

QT_QPA_PLATFORM=offscreen .venv/bin/python docs/screenshots_pianoroll.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PySide6.QtWidgets import QApplication  # noqa: E402

from engine.demo import demo_song  # noqa: E402
from ui.pianoroll import PianoRoll  # noqa: E402
from ui.quantize_panel import QuantizePanel  # noqa: E402
from ui.song_document import SongDocument  # noqa: E402
from ui.theme import apply_theme  # noqa: E402


def settle(app: QApplication) -> None:
    for _ in range(5):
        app.processEvents()


def main() -> None:
    app = QApplication.instance() or QApplication([])
    apply_theme(app)
    doc = SongDocument(demo_song())
    names = [t.name for t in doc.song.tracks]
    doc.set_current_index(names.index("Keys") if "Keys" in names else 1)
    roll = PianoRoll(doc)
    roll.resize(1100, 560)
    panel = QuantizePanel(doc)
    panel.resize(380, 800)
    roll.show()
    panel.show()
    settle(app)
    try:
        panel.choose_preset("Swing 1/16 58")
    except KeyError:
        pass
    panel.strength.spin.setValue(80)
    roll.zoom_to_fit()
    notes = doc.track().notes
    bar2 = doc.ppq * 4
    doc.set_selection(notes["id"][(notes["start"] >= 2 * bar2) & (notes["start"] < 3 * bar2)])
    roll.set_playhead(doc.ppq * 6)
    settle(app)
    out = ROOT / "docs"
    roll.grab().save(str(out / "pianoroll.png"))
    doc.clear_selection()  # the panel shows the whole track's timing
    settle(app)
    panel.grab().save(str(out / "quantize-panel.png"))
    print("wrote docs/pianoroll.png and docs/quantize-panel.png")


if __name__ == "__main__":
    main()
