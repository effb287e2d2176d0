"""The groove pool in the quantize dock, driven through the real widgets (pytest-qt,
offscreen): extract, import by drop (good and hostile files), preview, apply and undo,
re-roll, controllers follow, the timing view's groove points, settings from a project."""

from __future__ import annotations

import gzip
from fractions import Fraction

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from app import groove_store
from engine.build import add_channel_event
from engine.model.notes import make_notes
from engine.presets import groove_file_bytes
from engine.quantize import GrooveTemplate, QuantizeSettings, quantize_notes
from tests.ui_roll_helpers import make_doc
from ui.quantize_panel import QuantizePanel
from ui.timing_view import groove_marks, onset_offsets

PPQ = 480
S16 = PPQ // 4


@pytest.fixture(autouse=True)
def user_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("QUANTA_PRESET_DIR", str(tmp_path / "presets"))
    return tmp_path / "presets"


def played_notes() -> np.ndarray:
    """Two bars of 16ths, every odd 16th late by 20 ticks, beats loud (100) and others 60."""
    k = np.arange(32)
    start = k * S16 + np.where(k % 2 == 1, 20, 0)
    vel = np.where(k % 4 == 0, 100, 60)
    return make_notes(start, start + 60, np.full(32, 42), vel)


def loose_notes() -> np.ndarray:
    """Notes a little off the 1/16 grid in both directions, one chord."""
    start = np.array([5, 130, 230, 365, 480, 480, 610, 700, 845, 965])
    return make_notes(start, start + 90, np.array([60, 62, 64, 65, 60, 67, 62, 64, 65, 67]), 80)


def swing_groove(name: str = "Late 8ths") -> GrooveTemplate:
    """A one-beat 1/16 groove: slot 0 on time (vel 120), slot 2 40 ticks late at PPQ 480."""
    return GrooveTemplate(
        name,
        "1/16",
        Fraction(1),
        ({"beat": 0, "velocity": 120}, {"beat": Fraction(1, 2) + Fraction(1, 12), "velocity": 40}),
    )


@pytest.fixture
def panel_for(qtbot):
    def make(notes):
        doc = make_doc(notes)
        p = QuantizePanel(doc)
        qtbot.addWidget(p)
        p.resize(400, 1200)
        p.show()
        qtbot.waitExposed(p)
        return p

    return make


def settle(qtbot, panel):
    qtbot.waitUntil(lambda: not panel.preview._timer.isActive())
    panel.preview.recompute()


def test_extract_from_selection_adds_the_expected_groove(qtbot, panel_for, user_folder):
    p = panel_for(played_notes())
    doc = p.doc
    ids = doc.track().notes["id"][:16]  # bar 1 only
    doc.set_selection(ids)
    before = set(p.groove_pool.names())
    t = p.groove_pool.extract(base="1/8", bars=None, beats=2, name="Late 16ths")
    assert t is not None and "Late 16ths" in set(p.groove_pool.names()) - before
    # 1/8 base over 2 beats: 4 slots. A late odd 16th (140) is nearer the next 8th (240)
    # than its own, so two onsets of one repetition compete for a slot and the on-time 8th
    # counts. The last one (1780) spills into a third repetition's slot 0 alone: slot 0's
    # deviations are 0, 0, -100 (median 0), its velocities 100, 100, 60 (mean 260/3).
    assert [(p_.beat, p_.velocity) for p_ in t.points] == [
        (Fraction(0), 260 / 3),
        (Fraction(1, 2), 60.0),
        (Fraction(1), 100.0),
        (Fraction(3, 2), 60.0),
    ]
    # Saved to the user store, chosen in the pool and in the settings.
    entry = groove_store.load_catalog().find("Late 16ths")
    assert entry is not None and entry.source == "user" and entry.template == t
    assert p.groove_pool.current_groove() == t
    assert doc.edit_settings.groove == t
    # With 1/16 over one bar: the odd 16ths' 20-tick lateness is the point offset.
    t16 = p.groove_pool.extract(base="1/16", bars=1, name="Late 16ths")
    assert t16.name == "Late 16ths 2"  # a free name, the first one kept
    assert t16.length == 4 and len(t16.points) == 16
    assert [pt.beat * PPQ for pt in t16.points] == [
        j * S16 + (20 if j % 2 else 0) for j in range(16)
    ]


def test_extract_whole_track_when_nothing_selected(qtbot, panel_for):
    p = panel_for(played_notes())
    t = p.groove_pool.extract(base="1/16", bars=2, name="Two bars")
    assert t.length == 8 and len(t.points) == 32
    assert "all 32 notes" in t.description


def drop(w, paths):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(x)) for x in paths])
    enter = QDragEnterEvent(w.rect().center(), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(w, enter)
    assert enter.isAccepted()
    ev = QDropEvent(QPointF(w.rect().center()), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(w, ev)


@pytest.fixture
def window(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    from ui.app import create_app
    from ui.autosave import RecoveryStore
    from ui.main_window import MainWindow

    create_app()
    w = MainWindow(
        settings=QSettings(str(tmp_path / "q.ini"), QSettings.IniFormat),
        engine=False,
        recovery=RecoveryStore(tmp_path / "rec"),
    )
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.doc.undo_stack.setClean()
    w.close()
    w.deleteLater()


def test_dropping_groove_files_imports_them(qtbot, window, tmp_path):
    g = swing_groove("Dropped agr")
    agr = tmp_path / "dropped.agr"
    agr.write_bytes(groove_file_bytes(g, "agr", compress=True))
    rgt = tmp_path / "dropped.rgt"
    rgt.write_bytes(groove_file_bytes(swing_groove("ignored"), "rgt"))
    pool = window.quantize_panel.groove_pool
    drop(window, [agr, rgt])
    # Both files are named by their file name (as `quanta groove import` does); the second
    # gets a free name rather than replacing the first.
    qtbot.waitUntil(lambda: {"dropped", "dropped 2"} <= set(pool.names()))
    got = groove_store.load_catalog().find("dropped").template
    assert [pt.beat for pt in got.points] == [pt.beat for pt in g.points]
    assert window.doc.edit_settings.groove == pool.current_groove()
    assert "Imported groove" in window.status.currentMessage()


@pytest.mark.parametrize(
    "name, data, problem",
    [
        ("two.json", None, "fall in one 1/16 slot"),
        ("bomb.agr", gzip.compress(b"<Ableton>" + b" " * 50_000_000 + b"</Ableton>"), "gzip bomb"),
        ("entity.agr", b'<!DOCTYPE a [<!ENTITY x "y">]><Ableton>&x;</Ableton>', "entit"),
        ("nan.rgt", b"Version: 1\nNumber of beats in groove: 4\nGroove: 1 positions\nnan 1\n", "rgt"),
    ],
)
def test_dropping_a_hostile_groove_file_says_one_line_and_imports_nothing(
    qtbot, window, tmp_path, user_folder, name, data, problem
):
    path = tmp_path / name
    if data is None:  # two points in one 1/16 slot
        data = (
            b'{"format": "quanta-groove", "version": 1, "name": "Bad", "description": "",'
            b' "base": "1/16", "length": 4, "points": [{"beat": 0, "velocity": null,'
            b' "length": null}, {"beat": 0.05, "velocity": null, "length": null}]}'
        )
    path.write_bytes(data)
    errors = []
    window.errorShown.connect(errors.append)
    before = window.quantize_panel.groove_pool.names()
    drop(window, [path])
    qtbot.waitUntil(lambda: bool(errors))
    assert len(errors) == 1 and "\n" not in errors[0] and name in errors[0]
    assert problem.lower() in errors[0].lower()
    assert window.quantize_panel.groove_pool.names() == before
    assert not (user_folder / "grooves").exists() or not any((user_folder / "grooves").iterdir())


def test_choosing_a_groove_changes_the_preview_to_the_engines_apply(qtbot, panel_for):
    p = panel_for(loose_notes())
    settle(qtbot, p)
    grid = p.preview.ghosts["start"].tolist()
    groove_store.save_user_groove(swing_groove())
    p.groove_pool.refresh()
    p.groove_pool.choose("Late 8ths")
    settle(qtbot, p)
    s = p.doc.edit_settings
    assert s.groove == swing_groove()
    want = np.sort(quantize_notes(p.doc.track().notes, s, PPQ).notes["start"])
    assert p.preview.ghosts["start"].tolist() == want.tolist() != grid
    # Every amount reaches the preview: velocity toward the points' accents.
    p.groove_pool.groove_velocity.setValue(100)
    settle(qtbot, p)
    s = p.doc.edit_settings
    assert s.groove_velocity == 100
    res = quantize_notes(p.doc.track().notes, s, PPQ).notes
    assert sorted(p.preview.ghosts["velocity"].tolist()) == sorted(res["velocity"].tolist())
    assert set(p.preview.ghosts["velocity"].tolist()) >= {120, 40}
    # The timing view measures from the 1/16 base and draws the groove's points.
    assert p.timing.groove == swing_groove()
    assert p.timing.groove_t.size and set(np.round(p.timing.groove_pct, 6)) == {0.0, round(40 / 120 * 100, 6)}
    assert "Late 8ths" in p.timing.title
    # Division and swing do not apply under a groove: greyed out.
    assert not p.division.isEnabled() and not p.swing.isEnabled()


def test_apply_puts_notes_on_the_groove_points_and_one_undo_restores(qtbot, panel_for):
    notes = loose_notes()
    p = panel_for(notes)
    doc = p.doc
    groove_store.save_user_groove(swing_groove())
    p.groove_pool.refresh()
    p.groove_pool.choose("Late 8ths")
    before = doc.track().notes.copy()
    depth = doc.undo_stack.count()
    p.apply()
    assert doc.undo_stack.count() == depth + 1
    assert "groove “Late 8ths”" in doc.undo_stack.text(depth)
    # Notes in a slot with a point land on it (slot 0 of each beat, or 240 + 40 = 280);
    # notes in the empty slots (the odd 16ths) keep their starts; the chord stays a chord.
    assert doc.track().notes["start"].tolist() == [0, 130, 280, 365, 480, 480, 610, 760, 845, 960]
    doc.undo_stack.undo()
    assert doc.track().notes.tobytes() == before.tobytes()  # exact ticks, ids and all


def test_reroll_changes_the_seed_and_the_preview(qtbot, panel_for):
    p = panel_for(played_notes())
    pool = p.groove_pool
    pool.humanize_ms.setValue(15)
    settle(qtbot, p)
    first = p.preview.ghosts["start"].copy()
    seed = p.doc.edit_settings.humanize_seed
    want = np.sort(quantize_notes(p.doc.track().notes, p.doc.edit_settings, PPQ).notes["start"])
    assert first.tolist() == want.tolist()
    pool.reroll_btn.click()
    settle(qtbot, p)
    assert p.doc.edit_settings.humanize_seed != seed
    assert p.doc.edit_settings.humanize_seed == pool.seed.value()
    assert p.preview.ghosts["start"].tolist() != first.tolist()
    want = np.sort(quantize_notes(p.doc.track().notes, p.doc.edit_settings, PPQ).notes["start"])
    assert p.preview.ghosts["start"].tolist() == want.tolist()


def test_controllers_follow_switch_moves_ccs_on_apply_in_one_step(qtbot, panel_for):
    notes = make_notes(np.array([10, 500]), np.array([400, 900]), np.array([60, 62]), 90)
    p = panel_for(notes)
    doc = p.doc
    track = doc.track()
    add_channel_event(track, 20, 0xB0, 1, 64)  # CC1 owned by the note at 10
    add_channel_event(track, 510, 0xE0, 0, 80)  # a bend owned by the note at 500
    events_before = track.events.copy()
    p.groove_pool.follow.setChecked(True)
    assert doc.edit_settings.controllers == "follow"
    p.apply()
    ev = doc.track().events
    moved = ev[(ev["status"] & 0xF0) != 0xF0]["tick"].tolist()
    assert moved == [10, 490]  # 20 - 10 and 510 - 20: each with its note
    doc.undo_stack.undo()
    assert doc.track().events.tobytes() == events_before.tobytes()


def test_flam_and_follow_and_noise_reach_the_settings(qtbot, panel_for):
    p = panel_for(loose_notes())
    pool = p.groove_pool
    pool.flam.setValue(12)
    pool.noise.setCurrentIndex(pool.noise.findData("white"))
    pool.humanize_velocity.setValue(7)
    s = p.doc.edit_settings
    assert (s.flam, s.humanize_noise, s.humanize_velocity) == (12, "white", 7)
    settle(qtbot, p)
    chord = p.preview.ghosts[p.preview.ghosts["start"] >= 480][:2]
    assert chord["start"].tolist() == [480, 492]  # rising pitch, 12 ticks apart


def test_settings_from_a_project_show_their_groove(qtbot, panel_for):
    p = panel_for(loose_notes())
    embedded = swing_groove("Only in this song")
    p.doc.set_edit_settings(QuantizeSettings(groove=embedded, humanize_ms=4.5, flam=-8))
    pool = p.groove_pool
    assert pool.current_groove() == embedded
    assert "Only in this song" in pool.names()
    assert (pool.humanize_ms.value(), pool.flam.value()) == (4.5, -8)
    assert p.doc.edit_settings.groove == embedded  # showing it changed nothing
    # A name this machine does not have stays a name (listed as missing).
    p.doc.set_edit_settings(QuantizeSettings(groove="Nowhere"))
    assert pool.current_groove() == "Nowhere"


def test_export_and_delete_a_user_groove(qtbot, panel_for, tmp_path):
    p = panel_for(loose_notes())
    pool = p.groove_pool
    groove_store.save_user_groove(swing_groove())
    pool.refresh()
    pool.choose("Late 8ths")
    out = pool.export_current(tmp_path / "late.rgt")
    assert out is not None and out.read_bytes().startswith(b"Version: 1")
    assert pool.delete_current(confirm=False)
    assert "Late 8ths" not in pool.names()
    assert pool.current_groove() is None and p.doc.edit_settings.groove is None
    # A factory groove cannot be deleted: the button is off and the call does nothing.
    pool.choose(pool.names()[0])
    assert not pool.delete_btn.isEnabled() and not pool.delete_current(confirm=False)


def test_groove_marks_and_offsets_use_the_base_lattice():
    g = swing_groove()
    ticks, pct = groove_marks(g, 0, PPQ, 0, 2 * PPQ)
    assert ticks.tolist() == [0, 240, 480, 720, 960]
    assert np.allclose(pct, [0, 40 / 120 * 100] * 2 + [0])
    s = QuantizeSettings(division=4, groove=g)  # the grid's 1/4 is replaced by the 1/16 base
    assert np.allclose(onset_offsets(np.array([280, 30]), s, PPQ), [40 / 120 * 100, 25.0])


@pytest.fixture
def engine_window(qtbot, tmp_path):
    """A window holding a real (not started) engine: what the GUI hands it is checked on the
    engine's own live quantizer and schedule."""
    from PySide6.QtCore import QSettings

    from engine.realtime import Engine
    from ui.app import create_app
    from ui.autosave import RecoveryStore
    from ui.main_window import MainWindow

    create_app()
    w = MainWindow(
        settings=QSettings(str(tmp_path / "q.ini"), QSettings.IniFormat),
        engine=Engine(ppq_for_live=PPQ),
        start_engine=False,
        recovery=RecoveryStore(tmp_path / "rec"),
    )
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.doc.undo_stack.setClean()
    w.close()
    w.deleteLater()


def test_recording_corrects_live_input_with_the_chosen_groove(engine_window):
    from engine.model.tempo import TempoMap
    from engine.realtime.live_quantize import MusicalClock

    w = engine_window
    groove_store.save_user_groove(swing_groove())
    pool = w.quantize_panel.groove_pool
    pool.refresh()
    pool.choose("Late 8ths")
    live = w.link.engine.live.quantizer
    assert live.settings.quantize is None  # not armed: plain thru
    w.transport.record.setChecked(True)  # arms (and asks the engine to play)
    assert live.settings.quantize == w.doc.edit_settings
    assert live.settings.quantize.groove == swing_groove()
    # A note played at tick 250 (slot 2 of the beat) is held until the point at 280.
    live.clock = MusicalClock(TempoMap.constant(PPQ, 120), 100.0, 0)
    assert live.note_on(100.0 + 250 / 960, 0, 60) == pytest.approx(100.0 + 280 / 960, abs=1e-12)
    # Moving an amount while armed reaches the live quantizer at once.
    w.quantize_panel.strength.spin.setValue(50.0)
    assert live.settings.quantize.strength == 50.0
    w.transport.record.setChecked(False)
    assert live.settings.quantize is None


def test_play_quantized_plays_the_groove_without_changing_notes(engine_window):
    from engine.realtime.schedule import playback_notes

    w = engine_window
    w.doc.set_current_index(1)
    track = w.doc.track()
    raw = track.notes.copy()
    pool = w.quantize_panel.groove_pool
    pool.choose("MPC Swing 1/16 62%")
    w.quantize_panel.play_quantized.setChecked(True)
    assert track.quantize == w.doc.edit_settings and track.quantize.groove.name == "MPC Swing 1/16 62%"
    assert track.notes.tobytes() == raw.tobytes()  # non-destructive
    want = quantize_notes(raw, track.quantize, w.doc.ppq).notes
    got = playback_notes(track, w.doc.ppq)
    assert np.sort(got["start"]).tolist() == np.sort(want["start"]).tolist()
    assert not np.array_equal(np.sort(got["start"]), np.sort(raw["start"]))
    # Another groove while playing quantized: playback follows, in the same undo step.
    depth = w.doc.undo_stack.count()
    pool.choose("MPC Swing 1/16 54%")
    assert track.quantize.groove.name == "MPC Swing 1/16 54%"
    assert w.doc.undo_stack.count() == depth


def test_the_groove_and_its_amounts_are_saved_with_the_project(qtbot, window, tmp_path, user_folder):
    from PySide6.QtCore import QSettings

    from ui.autosave import RecoveryStore
    from ui.main_window import MainWindow

    w = window
    w.doc.set_current_index(2)
    pool = w.quantize_panel.groove_pool
    made = pool.extract(base="1/8", bars=1, name="Saved groove")
    pool.groove_velocity.setValue(-30)
    pool.humanize_ms.setValue(6)
    pool.reroll()
    pool.follow.setChecked(True)
    want = w.doc.edit_settings
    path = tmp_path / "groove.quanta"
    assert w.save_as(path)
    # Reopened where the user groove is gone: the project carries the groove itself.
    groove_store.delete_user_groove("Saved groove")
    w2 = MainWindow(
        settings=QSettings(str(tmp_path / "q2.ini"), QSettings.IniFormat),
        engine=False,
        recovery=RecoveryStore(tmp_path / "rec2"),
    )
    try:
        assert w2.open_path(path)
        assert w2.doc.edit_settings == want and want.groove == made
        p2 = w2.quantize_panel.groove_pool
        assert p2.current_groove() == made and "Saved groove" in p2.names()
        assert p2.fields()["humanize_seed"] == want.humanize_seed != 0
        assert (p2.groove_velocity.value(), p2.humanize_ms.value()) == (-30, 6)
        assert p2.follow.isChecked()
    finally:
        w2.doc.undo_stack.setClean()
        w2.close()
        w2.deleteLater()


def test_extract_dialog_takes_name_base_and_length(qtbot, panel_for):
    from PySide6.QtCore import QTimer

    from ui.groove_pool import ExtractDialog

    p = panel_for(played_notes())
    seen = []

    def fill():
        dlg = QApplication.activeModalWidget()
        if not isinstance(dlg, ExtractDialog):
            QTimer.singleShot(20, fill)
            return
        seen.append(dlg.name.text())
        dlg.name.setText("From the dialog")
        dlg.base.setCurrentIndex(dlg.base.findData("1/8"))
        dlg.length.setCurrentIndex(dlg.length.findText("2 bars"))
        dlg.accept()

    QTimer.singleShot(0, fill)
    t = p.groove_pool.extract(base=None)
    assert seen == ["Keys groove"]
    assert (t.name, t.base, t.length) == ("From the dialog", "1/8", 8)
    assert p.groove_pool.current_groove() == t
