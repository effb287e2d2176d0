"""The quantize panel: controls -> settings, live preview, Apply/undo, play quantized, presets
and the timing view — driven through the real widgets (pytest-qt, offscreen)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app import preset_store
from engine.presets.preset_format import read_preset_file
from engine.quantize.core import quantize_notes
from engine.quantize.settings import QuantizeSettings
from tests.ui_roll_helpers import by_id, make_doc, make_roll
from ui.quantize_panel import QuantizePanel


@pytest.fixture(autouse=True)
def user_presets(tmp_path, monkeypatch):
    folder = tmp_path / "presets"
    monkeypatch.setenv("QUANTA_PRESET_DIR", str(folder))
    return folder


@pytest.fixture
def doc():
    return make_doc()


@pytest.fixture
def panel(qtbot, doc):
    p = QuantizePanel(doc)
    qtbot.addWidget(p)
    p.resize(380, 760)
    p.show()
    qtbot.waitExposed(p)
    return p


def settle(qtbot, panel):
    """Let the coalesced preview run."""
    qtbot.waitUntil(lambda: not panel.preview._timer.isActive())


def test_strength_slider_updates_settings_and_preview(qtbot, panel, doc):
    panel.strength.slider.setValue(500)  # tenths: 50.0 %
    assert doc.edit_settings.strength == 50.0
    assert panel.strength.spin.value() == 50.0
    settle(qtbot, panel)
    want = quantize_notes(doc.track().notes, doc.edit_settings, 480).notes
    assert panel.preview.ghosts["start"].tolist() == want["start"].tolist()
    assert 1925 in panel.preview.ghosts["start"].tolist()
    assert "1 of 4 notes in track move" in panel.status.text()


def test_many_slider_steps_between_frames_cost_one_quantize(qtbot, panel, doc):
    calls = []
    panel.preview.updated.connect(lambda: calls.append(doc.edit_settings.strength))
    settle(qtbot, panel)
    calls.clear()
    for v in range(100, 1000, 100):
        panel.strength.slider.setValue(v)
    settle(qtbot, panel)
    assert calls == [90.0]  # coalesced: one recompute, with the last value


def test_every_control_maps_to_its_setting(panel, doc):
    panel.division.setCurrentIndex(panel.division.findData(8))
    panel.swing.spin.setValue(62)
    panel.exclude.spin.setValue(10)
    panel.catch_on.setChecked(True)
    panel.catch.spin.setValue(40)
    panel.offset.setValue(12)
    panel.ends.setCurrentIndex(panel.ends.findData("quantize-lengths"))
    panel.length_grid.setCurrentIndex(panel.length_grid.findData("1/8T"))
    assert doc.edit_settings == QuantizeSettings(
        division=8,
        swing=62.0,
        exclude_within=10.0,
        catch_within=40.0,
        offset=12,
        ends="quantize-lengths",
        length_grid="1/8T",
    )
    panel.swing.spin.setValue(50)
    panel.grid_type.setCurrentIndex(panel.grid_type.findData("tuplet"))
    panel.tuplet_n.setValue(5)
    panel.tuplet_m.setValue(4)
    assert doc.edit_settings.grid_type == "tuplet" and doc.edit_settings.tuplet == (5, 4)
    assert panel.tuplet_n.isEnabled() and panel.length_grid.isEnabled()


def test_swing_on_a_triplet_grid_is_refused_with_a_message(panel, doc):
    before = doc.edit_settings
    panel.swing.spin.setValue(60)
    panel.grid_type.setCurrentIndex(panel.grid_type.findData("triplet"))
    assert doc.edit_settings == before.replace(swing=60.0)  # last valid settings stay
    assert "swing" in panel.status.text() and "straight" in panel.status.text()
    assert not panel.apply_btn.isEnabled()
    notes = doc.track().notes.tobytes()
    panel.apply()
    assert doc.track().notes.tobytes() == notes


def test_apply_quantizes_whole_track_and_undo_restores_exact_bytes(qtbot, panel, doc):
    before = doc.track().notes.tobytes()
    qtbot.mouseClick(panel.apply_btn, Qt.LeftButton)
    assert doc.track().notes["start"].tolist() == [0, 480, 960, 1920]
    assert int(by_id(doc, 3)["end"]) == 2390  # keep-length: end moved with the start
    assert doc.undo_stack.undoText() == "Quantize 4 notes to 1/16"
    after = doc.track().notes.tobytes()
    doc.undo_stack.undo()
    assert doc.track().notes.tobytes() == before
    doc.undo_stack.redo()
    assert doc.track().notes.tobytes() == after


def test_apply_quantizes_only_the_selection(panel, doc):
    notes = doc.track().notes.copy()
    notes["start"][1] += 30
    notes["end"][1] += 30
    doc.replace_notes(doc.current_index, notes)
    doc.set_selection([3])
    panel.strength.spin.setValue(50)
    panel.apply()
    assert int(by_id(doc, 3)["start"]) == 1925
    assert int(by_id(doc, 1)["start"]) == 510  # not selected: untouched
    assert doc.undo_stack.undoText() == "Quantize 1 note to 1/16 at 50 % (selection)"


def test_q_key_in_the_piano_roll_applies(qtbot, panel, doc):
    roll = make_roll(qtbot, doc)
    roll.quantizeRequested.connect(panel.apply)
    QTest.keyClick(roll.canvas, Qt.Key_Q)
    assert int(by_id(doc, 3)["start"]) == 1920


def test_play_quantized_sets_track_quantize_undoably_and_follows_settings(panel, doc):
    track = doc.track()
    raw = track.notes.tobytes()
    panel.play_quantized.setChecked(True)
    assert track.quantize == doc.edit_settings
    assert track.notes.tobytes() == raw  # non-destructive
    panel.strength.slider.setValue(800)
    panel.strength.slider.setValue(700)
    assert track.quantize.strength == 70.0
    assert doc.undo_stack.count() == 1  # the drag merged into the switch-on step
    doc.undo_stack.undo()
    assert track.quantize is None and not panel.play_quantized.isChecked()
    doc.undo_stack.redo()
    assert track.quantize.strength == 70.0 and panel.play_quantized.isChecked()
    panel.play_quantized.setChecked(False)
    assert track.quantize is None and doc.undo_stack.undoText() == "Play quantized: off"


def test_switching_tracks_shows_that_tracks_playback_quantize(panel, doc):
    from engine.build import add_track
    from engine.model.notes import make_notes

    add_track(doc.song, make_notes([0], [100], [40]), "Bass")
    doc.song.tracks[2].quantize = QuantizeSettings(division=8, swing=58.0)
    doc.set_current_index(2)
    assert panel.play_quantized.isChecked()
    assert panel.division.currentData() == 8 and panel.swing.value() == 58.0
    doc.set_current_index(1)
    assert not panel.play_quantized.isChecked()


def test_factory_preset_loads_into_controls(panel, doc):
    names = [panel.preset_combo.itemText(i) for i in range(panel.preset_combo.count())]
    assert "Swing 1/16 62" in names and "Tighten, Keep Feel" in names
    panel.choose_preset("Tighten, Keep Feel")
    want = preset_store.load("Tighten, Keep Feel").settings
    assert doc.edit_settings == want
    assert panel.exclude.value() == want.exclude_within
    assert not panel.delete_btn.isEnabled()  # factory presets cannot be deleted


def test_save_export_import_delete_user_presets(panel, doc, tmp_path, user_presets):
    panel.swing.spin.setValue(66.67)
    panel.strength.spin.setValue(85)
    panel.save_preset("My Groove")
    saved = preset_store.load("My Groove")
    assert saved.source == "user" and saved.settings == doc.edit_settings
    assert saved.settings.swing == 66.67
    assert panel.current_preset().name == "My Groove" and panel.delete_btn.isEnabled()

    out = tmp_path / "shared.json"
    panel.export_preset(str(out))
    assert read_preset_file(out).settings == saved.settings

    panel.delete_preset(confirm=False)
    assert all(e.name != "My Groove" for e in preset_store.list_presets())
    assert "My Groove" not in [
        panel.preset_combo.itemText(i) for i in range(panel.preset_combo.count())
    ]

    panel.import_preset(str(out))
    assert preset_store.load("My Groove").settings == saved.settings
    assert doc.edit_settings == saved.settings


def test_broken_preset_file_gives_one_line_message(panel, tmp_path):
    bad = tmp_path / "bad.json"
    doc_ = {
        "format": "quanta-preset",
        "version": 1,
        "name": "Bad",
        "description": "",
        "settings": {"grid": "1/16", "swing": 99},
    }
    bad.write_text(json.dumps(doc_))
    panel.import_preset(str(bad))
    text = panel.status.text()
    assert "swing" in text and "\n" not in text
    panel.import_preset(str(tmp_path / "missing.json"))
    assert "missing.json" in panel.status.text()


def test_timing_view_shows_offsets_before_and_after(qtbot, panel, doc):
    panel.strength.spin.setValue(50)
    settle(qtbot, panel)
    tv = panel.timing
    # note 3 is 10 ticks late on a 120-tick grid: +8.33 %; after 50 %: +4.17 %
    assert np.allclose(sorted(tv.before), [0, 0, 0, 10 / 120 * 100])
    assert np.allclose(sorted(tv.after), [0, 0, 0, 5 / 120 * 100])
    hb, ha = tv.histograms()
    assert hb.sum() == 4 and ha.sum() == 4
    img = tv.grab().toImage()
    assert img.width() == tv.width()


def test_preview_checkbox_hides_ghosts(qtbot, panel, doc):
    settle(qtbot, panel)
    assert panel.preview.ghosts is not None
    panel.preview_box.setChecked(False)
    settle(qtbot, panel)
    assert panel.preview.ghosts is None and not doc.preview_enabled


def test_controls_respond_to_real_keyboard_and_mouse(qtbot, panel, doc):
    slider = panel.strength.slider
    slider.setFocus()
    QTest.keyClick(slider, Qt.Key_Home)
    assert doc.edit_settings.strength == 0.0
    QTest.keyClick(slider, Qt.Key_PageUp)  # one page = 5 %
    assert doc.edit_settings.strength == 5.0
    spin = panel.swing.spin
    spin.setFocus()
    spin.selectAll()
    QTest.keyClicks(spin, "66.67")
    QTest.keyClick(spin, Qt.Key_Return)
    assert doc.edit_settings.swing == 66.67
    assert panel.swing.slider.value() == 667
    qtbot.mouseClick(panel.catch_on, Qt.LeftButton)
    assert doc.edit_settings.catch_within == 25.0
    combo = panel.division
    combo.setFocus()
    QTest.keyClick(combo, Qt.Key_Up)  # 1/16 -> 1/8
    assert doc.edit_settings.division == 8


def test_preview_covers_the_selection_when_there_is_one(qtbot, panel, doc):
    """Like Logic: with notes selected, quantize (and its preview) acts on them only."""
    doc.set_selection([1, 3])
    settle(qtbot, panel)
    assert sorted(panel.preview.ghosts["id"].tolist()) == [1, 3]
    assert "of 2 notes selected" in panel.status.text()
    doc.clear_selection()
    settle(qtbot, panel)
    assert panel.preview.ghosts.size == 4


def test_timing_view_image_path_puts_dots_on_their_offsets(qtbot):
    from ui.theme import color
    from ui.timing_view import SCATTER_DOTS_LIMIT, TimingView

    n = SCATTER_DOTS_LIMIT + 100
    starts = np.arange(n, dtype=np.int64) * 120 + 30  # every note +25 % late on 1/16
    tv = TimingView()
    qtbot.addWidget(tv)
    tv.resize(400, 200)
    tv.show()
    tv.set_data(starts, starts - 30, QuantizeSettings(), 480)
    img = tv.grab().toImage()
    top, bottom = 26.0, 200 - 8.0
    centre = (top + bottom) / 2

    def row_has(y, name):
        c = color(name)
        want = (c.red(), c.green(), c.blue())
        for x in range(40, 250):
            p = img.pixelColor(x, int(y))
            if (p.red(), p.green(), p.blue()) == want:
                return True
        return False

    y_late = centre - 25 / 50 * (bottom - top) / 2
    assert row_has(centre, "after") and row_has(y_late, "before")
    assert not row_has(centre, "before") and not row_has(y_late, "after")
