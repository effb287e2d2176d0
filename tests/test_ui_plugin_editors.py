"""Plugin editors opened from the track list (issue 13): one undo step per gesture, the
values stored in the project, shown back in the editor on undo. Offscreen Qt: the generic
sliders (an LV2 X11 UI needs xcb; tests/test_lv2_ui.py covers it under Xvfb)."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication

from engine.build import add_track, new_song
from engine.model.notes import make_notes
from engine.project.project import Project, load_project, save_project
from tests.sound_helpers import settled_db, tone_through
from ui.song_document import SongDocument
from ui.track_editors import TrackEditors
from ui.track_list import COL_INSTRUMENT, TrackList

JX10 = {
    "name": "MDA JX10",
    "kind": "instrument",
    "format": "lv2",
    "ident": "http://drobilla.net/plugins/mda/JX10",
    "state": {"parameters": {"vibrato": 0.0}},
}
ZAMCOMP = {
    "name": "ZamComp",
    "kind": "effect",
    "format": "lv2",
    "ident": "urn:zamaudio:ZamComp",
    "state": {},
}


def make_doc() -> SongDocument:
    song = new_song(ppq=480)
    add_track(song, make_notes([0], [480], [60], [100], 0), "Keys")
    add_track(song, make_notes([0], [480], [48], [100], 1), "Bass")
    song.tracks[2].extra["instrument"] = dict(JX10)  # track 0 is the conductor
    song.tracks[2].extra["effects"] = [dict(ZAMCOMP)]
    return SongDocument(song)


def live_link(doc: SongDocument):
    """An engine link as a running engine leaves it, without the engine: track 2 ("Bass")
    plays through a real mixer strip. Returns (link, mixer); the caller closes the mixer."""
    from types import SimpleNamespace

    from engine.audio.mixer import Mixer
    from ui.engine_link import EngineLink, _chain_key, track_sound

    link = EngineLink(doc)
    mixer = Mixer(48000, 256)
    inst, fx = track_sound(doc.song.tracks[2], 48000, 256)
    mixer.add_track("Bass", inst, fx)
    link.audio = SimpleNamespace(mixer=mixer)
    link._strips = {2: 0}
    link._sound_keys = link._keys()
    link._chain_keys = [_chain_key(t) for t in doc.song.tracks]
    return link, mixer


def test_double_click_opens_the_editor_only_for_plugin_tracks(qapp):
    doc = make_doc()
    tracks = TrackList(doc)
    asked, editors = [], []
    tracks.instrumentRequested.connect(asked.append)
    tracks.editorRequested.connect(editors.append)
    for row in range(len(tracks.rows)):
        tracks._double_clicked(row, COL_INSTRUMENT)
    assert asked == [1] and editors == [2]


def test_the_context_menu_offers_each_plugin_editor(qapp):
    doc = make_doc()
    tracks = TrackList(doc)
    asked = []
    tracks.editorRequested.connect(lambda i: asked.append(("instrument", i)))
    tracks.effectEditorRequested.connect(lambda i, fx: asked.append(("effect", i, fx)))
    menu = tracks.context_menu(2)
    texts = [a.text() for a in menu.actions() if not a.isSeparator()]
    assert texts == ["Plugin editor…", "Effect editor: ZamComp…", "Sound settings…"]
    for action in menu.actions()[:2]:
        action.trigger()
    assert asked == [("instrument", 2), ("effect", 2, 0)]
    plain = tracks.context_menu(1)
    assert not plain.actions()[0].isEnabled()  # the GM sound has no editor


def test_each_gesture_is_one_undo_step_and_is_saved(qapp, tmp_path):
    doc = make_doc()
    editors = TrackEditors(doc)
    ed = editors.open(2, 0)  # ZamComp on track "Bass"
    sliders = ed.window.sliders
    start = doc.undo_stack.count()
    # One drag: many values, one rest → one command.
    for pos in (500, 400, 300, 250):
        sliders["thr"].setValue(pos)
    ed.rest.timeout.emit()
    assert doc.undo_stack.count() == start + 1
    assert doc.undo_stack.undoText() == "ZamComp: Threshold"
    thr = doc.song.tracks[2].extra["effects"][0]["state"]["parameters"]["thr"]
    assert thr == -80.0 + 80.0 * 250 / 1000
    # A second gesture on another knob is a second step.
    sliders["rat"].setValue(800)
    ed.commit()
    assert doc.undo_stack.count() == start + 2
    assert doc.song.tracks[2].extra["instrument"] == JX10  # the instrument is untouched

    doc.undo_stack.undo()  # the ratio goes back, in the track and in the editor
    params = doc.song.tracks[2].extra["effects"][0]["state"]["parameters"]
    assert "rat" not in params and params["thr"] == thr
    assert ed.plugin.get_parameter("rat") == 4.0
    assert sliders["rat"].value() == round((4.0 - 1.0) / 19.0 * 1000)
    doc.undo_stack.redo()

    path = tmp_path / "song.quanta"
    save_project(Project(song=doc.song), path)
    back = load_project(path).song.tracks[2].extra["effects"][0]["state"]["parameters"]
    assert back["thr"] == thr and back["rat"] == 1.0 + 19.0 * 800 / 1000
    editors.close_all()
    assert editors.open_editors == {}


def test_the_instrument_editor_and_a_track_without_plugin(qapp):
    doc = make_doc()
    editors = TrackEditors(doc)
    messages = []
    editors.message.connect(messages.append)
    assert editors.open_safely(1) is None  # "Keys" plays the default GM sound
    assert messages == ["Plugin editor: this track has no plugin there"]
    ed = editors.open_safely(2)
    assert ed is not None and ed.plugin.info.name == "MDA JX10"
    assert ed.plugin.get_parameter("vibrato") == 0.0  # opened with the stored state
    editors.close_all()
    QApplication.processEvents()


def test_a_parameter_edit_reaches_the_playing_instance_without_a_restart(qapp):
    """What the engine link does on a plugin editor's gesture: set the values on the live
    instances (heard from the next block); another chain still needs a restart."""
    from ui.track_list import TrackExtraCommand

    doc = make_doc()
    link, mixer = live_link(doc)
    live = mixer.tracks[0].effects[0]
    assert live.get_parameter("thr") == 0.0

    entry = dict(ZAMCOMP, state={"parameters": {"thr": -24.0}})
    doc.push(TrackExtraCommand(doc, 2, "effects", [entry], "ZamComp: Threshold"))
    assert link._retune(2) is True  # (what _track_changed calls; it needs a running engine)
    assert live.get_parameter("thr") == -24.0 and live.cores[1].controls[7] == -24.0
    assert link._sound_keys == link._keys()

    other = dict(ZAMCOMP, ident="urn:zamaudio:ZamAutoSat", name="ZamAutoSat")
    doc.song.tracks[2].extra["effects"] = [other]
    assert link._retune(2) is False  # a different plugin: the audio must be rebuilt
    mixer.close()


def test_presets_from_the_context_menu_are_undoable_edits(qapp, tmp_path, monkeypatch):
    from engine.plugins import lv2_discovery, lv2_world

    user = tmp_path / "user-lv2"
    user.mkdir()
    monkeypatch.setenv("LV2_PATH", f"{user}:/usr/lib/lv2")
    monkeypatch.setattr(lv2_discovery, "_current", None)
    monkeypatch.setattr(lv2_world, "_world", None)
    monkeypatch.setattr(lv2_world, "_bundle_index", {})
    doc = make_doc()
    editors = TrackEditors(doc)
    tracks = TrackList(doc)
    tracks.plugin_menus = editors.add_preset_actions
    menus = [a.menu() for a in tracks.context_menu(2).actions() if a.menu() is not None]
    assert [m.title() for m in menus] == ["Presets: MDA JX10", "Presets: ZamComp"]
    zam = [a.text() for a in menus[1].actions() if not a.isSeparator()]
    assert zam == ["PoppySnare", "VocalLeveller", "Zero", "Save current as preset…"]

    menus[1].actions()[0].trigger()  # PoppySnare
    assert doc.undo_stack.undoText() == "ZamComp: preset PoppySnare"
    params = doc.song.tracks[2].extra["effects"][0]["state"]["parameters"]
    assert params["thr"] == -18.0 and params["mak"] == 6.0
    doc.undo_stack.undo()
    assert doc.song.tracks[2].extra["effects"][0]["state"] == {}

    path = editors.save_preset(2, "instrument", "Mellow")  # JX10 with vibrato 0 stored
    assert path == str(user / "MDA_JX10_Mellow.preset.lv2")
    assert "Mellow" in [label for label, _ in editors.presets(2, "instrument")]


def test_vst3_programs_and_user_presets_from_the_context_menu(qapp, tmp_path, monkeypatch):
    """VST3 (ZamComp.vst3): its factory programs and Quanta's user .vstpresets in the same
    menu; loading one is one undo step whose stored state sounds like the preset."""
    from pathlib import Path

    import pytest

    from ui.settings_dialog import load_plugin

    if not Path("/usr/lib/vst3/ZamComp.vst3").exists():
        pytest.skip("zam-plugins VST3 missing")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    doc = make_doc()
    vst3 = {"name": "ZamComp VST3", "kind": "effect", "format": "vst3",
            "ident": "/usr/lib/vst3/ZamComp.vst3", "state": {}}  # fmt: skip
    doc.song.tracks[2].extra["effects"] = [vst3]
    editors = TrackEditors(doc)
    tracks = TrackList(doc)
    tracks.plugin_menus = editors.add_preset_actions
    menus = [a.menu() for a in tracks.context_menu(2).actions() if a.menu() is not None]
    assert [m.title() for m in menus] == ["Presets: MDA JX10", "Presets: ZamComp VST3"]
    texts = [a.text() for a in menus[1].actions() if not a.isSeparator()]
    assert texts == ["Zero", "PoppySnare", "VocalLeveller", "Save current as preset…"]

    def rms_db(entry) -> float:
        fx = load_plugin(dict(entry, kind="effect"), 48000, 256)
        try:
            return settled_db(tone_through(fx))
        finally:
            fx.close()

    plain = rms_db(vst3)
    start = doc.undo_stack.count()
    menus[1].actions()[1].trigger()  # PoppySnare
    assert doc.undo_stack.count() == start + 1
    assert doc.undo_stack.undoText() == "ZamComp VST3: preset PoppySnare"
    stored = doc.song.tracks[2].extra["effects"][0]
    assert stored["state"]["parameters"]["threshold_db"] == pytest.approx(-18.0, abs=0.01)
    poppy = rms_db(stored)
    assert poppy - plain > 1.5  # what is stored (and so played, and saved) is the program

    path = editors.save_preset(2, 0, "Snare copy")
    assert path == str(tmp_path / "data/quanta/vst3-presets/Damien Zammit/ZamComp/"
                       "Snare copy.vstpreset")  # fmt: skip
    doc.undo_stack.undo()
    assert doc.song.tracks[2].extra["effects"][0]["state"] == {}
    presets = editors.presets(2, 0)
    assert presets[-1] == ("Snare copy", path)
    editors.apply_preset(2, 0, path, "Snare copy")
    assert doc.undo_stack.undoText() == "ZamComp VST3: preset Snare copy"
    assert rms_db(doc.song.tracks[2].extra["effects"][0]) == pytest.approx(poppy, abs=0.01)


def test_a_vst3_preset_reaches_the_playing_instance_without_a_restart(qapp, tmp_path):
    """Loading a VST3 program from the track list is a state change the engine link sets on
    the live instance (no audio restart): the next blocks sound like the program."""
    from pathlib import Path

    import pytest

    if not Path("/usr/lib/vst3/ZamComp.vst3").exists():
        pytest.skip("zam-plugins VST3 missing")
    doc = make_doc()
    doc.song.tracks[2].extra["effects"] = [
        {"name": "ZamComp VST3", "kind": "effect", "format": "vst3",
         "ident": "/usr/lib/vst3/ZamComp.vst3", "state": {}}]  # fmt: skip
    link, mixer = live_link(doc)
    live = mixer.tracks[0].effects[0]

    def rms_db() -> float:
        return settled_db(tone_through(live))

    plain = rms_db()
    TrackEditors(doc).apply_preset(2, 0, "program:PoppySnare", "PoppySnare")
    assert link._retune(2) is True  # (what _track_changed calls; it needs a running engine)
    assert live.get_parameter("threshold_db") == pytest.approx(-18.0, abs=0.01)
    assert rms_db() - plain > 1.5
    mixer.close()
