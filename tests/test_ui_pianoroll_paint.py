"""What the piano roll draws: culling is exact, both paint paths put notes at the right pixels
with velocity colours, ghosts outline the quantized positions, grid lines follow swing."""

from __future__ import annotations

import numpy as np
import pytest

from engine.model.notes import make_notes
from engine.quantize.core import quantize_notes
from engine.quantize.grid import grid_points
from engine.quantize.settings import QuantizeSettings
from tests.ui_roll_helpers import KEY_H, TOP_PITCH, make_doc, make_roll
from ui.pianoroll.grid_lines import grid_lines, snap
from ui.pianoroll.note_painter import VECTOR_LIMIT, cull
from ui.pianoroll.viewport import RollViewport
from ui.theme import color


def random_notes(n: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    starts = np.sort(rng.integers(0, n * 60, n))
    lens = rng.integers(1, 4000, n)
    notes = make_notes(starts, starts + lens, rng.integers(0, 128, n), rng.integers(1, 128, n))
    return notes


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_cull_returns_exactly_the_notes_on_screen(seed):
    notes = random_notes(20000, seed)
    max_len = int((notes["end"] - notes["start"]).max())
    vp = RollViewport(480)
    vp.width, vp.height = 700, 300
    rng = np.random.default_rng(seed + 10)
    for _ in range(20):
        vp.ticks_per_px = float(rng.uniform(0.5, 200))
        vp.left_tick = float(rng.uniform(0, 20000 * 60))
        vp.key_height = float(rng.uniform(2, 20))
        vp.top_px = float(rng.uniform(0, max(0, 128 * vp.key_height - vp.height)))
        t0, t1 = vp.visible_ticks()
        lo, hi = vp.visible_pitches()
        brute = np.flatnonzero(
            (notes["start"] < t1)
            & (notes["end"] > t0)
            & (notes["pitch"] >= lo)
            & (notes["pitch"] <= hi)
        )
        assert np.array_equal(cull(notes, max_len, vp), brute)


def pixel(img, x, y):
    c = img.pixelColor(int(x), int(y))
    return c.red(), c.green(), c.blue()


def note_center(roll, start, end, pitch):
    x = roll.vp.tick_to_x((start + end) / 2)
    y = (TOP_PITCH - pitch) * KEY_H + KEY_H / 2
    return x, y


def test_vector_path_colours_notes_by_velocity_and_marks_selection(qtbot):
    notes = make_notes([0, 960, 1920], [480, 1440, 2400], [60, 60, 60], [5, 127, 64])
    doc = make_doc(notes)
    roll = make_roll(qtbot, doc)
    img = roll.canvas.grab().toImage()
    assert roll.canvas.last_paint_path == "vector"
    soft = pixel(img, *note_center(roll, 0, 480, 60))
    loud = pixel(img, *note_center(roll, 960, 1440, 60))
    assert soft[2] > soft[0]  # quiet: blue
    assert loud[0] > loud[2]  # loud: orange
    empty = pixel(img, roll.vp.tick_to_x(720), (TOP_PITCH - 60) * KEY_H + 6)
    assert empty not in (soft, loud)
    doc.set_selection([2])
    img = roll.canvas.grab().toImage()
    sel = color("note_selected")
    assert pixel(img, *note_center(roll, 1920, 2400, 60)) == (sel.red(), sel.green(), sel.blue())


def test_raster_path_for_many_notes_draws_exact_velocity_colour(qtbot):
    crowd = VECTOR_LIMIT + 500
    starts = np.arange(crowd) * 4
    notes = make_notes(
        np.concatenate((starts, [0])),
        np.concatenate((starts + 3, [crowd * 4])),
        np.concatenate((np.full(crowd, 50), [70])),
        np.concatenate((np.full(crowd, 30), [127])),
    )
    doc = make_doc(notes)
    roll = make_roll(qtbot, doc)
    roll.vp.fit_ticks(0, crowd * 4)
    doc.set_preview_enabled(False)
    img = roll.canvas.grab().toImage()
    assert roll.canvas.last_paint_path == "raster"
    from ui.theme import velocity_color

    want = velocity_color(127)
    x = roll.vp.width // 2
    assert pixel(img, x, (TOP_PITCH - 70) * KEY_H + 5) == (want.red(), want.green(), want.blue())
    row50 = pixel(img, x, (TOP_PITCH - 50) * KEY_H + 5)
    soft = velocity_color(30)
    assert row50 == (soft.red(), soft.green(), soft.blue())


def test_ghosts_follow_the_quantizer_and_the_strength(qtbot):
    doc = make_doc()
    roll = make_roll(qtbot, doc)
    s = QuantizeSettings(division=16, strength=50)
    doc.set_edit_settings(s)
    qtbot.waitUntil(lambda: roll.preview.ghosts is not None and roll.preview.ghosts.size == 4)
    want = quantize_notes(doc.track().notes, s, 480).notes
    assert roll.preview.ghosts["start"].tolist() == sorted(want["start"].tolist())
    assert 1925 in roll.preview.ghosts["start"].tolist()  # 1930 halfway to 1920
    # the ghost outline of note 3 sits at tick 1925 on screen
    img = roll.canvas.grab().toImage()
    g = color("ghost")
    x = int(roll.vp.tick_to_x(1925) + 0.5)
    y = int((TOP_PITCH - 60) * KEY_H + KEY_H / 2)
    col = img.pixelColor(x, y)
    assert abs(col.red() - g.red()) < 60 and abs(col.blue() - g.blue()) < 60


def test_grid_lines_are_the_quantizers_swung_points():
    s = QuantizeSettings(division=16, swing=62.0)
    pts = grid_lines(s, 480, 0, 1920)
    assert np.array_equal(pts, grid_points(s, 480, 0, 1920))
    assert pts[:4].tolist() == [0.0, 2 * 120 * 0.62, 240.0, 240 + 2 * 120 * 0.62]
    assert snap(s, 480, 140) == 149  # 148.8 rounds half up to 149
    assert snap(QuantizeSettings(division=8, grid_type="triplet"), 480, 170) == 160


def test_zoom_to_fit_shows_the_whole_track(qtbot):
    doc = make_doc()
    roll = make_roll(qtbot, doc)
    roll.zoom_to_fit()
    t0, t1 = roll.vp.visible_ticks()
    lo, hi = roll.vp.visible_pitches()
    assert t0 == 0 and t1 >= 2400 and lo <= 60 and hi >= 64
