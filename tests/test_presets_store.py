"""The preset library on disk: user folder, shadowing, atomic writes, untrusted files, sharing."""

from __future__ import annotations

import json
import os

import pytest

from app import paths, preset_store
from app.preset_store import (
    delete_user_preset,
    export_preset,
    import_preset,
    list_presets,
    load,
    load_catalog,
    resolve_preset,
    save_user_preset,
)
from engine.errors import PresetError
from engine.presets.preset_format import Preset, preset_to_json, preset_to_text, read_preset_file
from engine.quantize.settings import QuantizeSettings


@pytest.fixture
def user_dir(tmp_path, monkeypatch):
    folder = tmp_path / "user-presets"
    monkeypatch.setenv(paths.PRESET_DIR_ENV, str(folder))
    return folder


def swing(name="MPC 58", pct=58, **kw) -> Preset:
    return Preset(name, QuantizeSettings(swing=pct, **kw), f"swing {pct}")


def files(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# -- where presets live --------------------------------------------------------------------------
def test_env_var_overrides_the_preset_folder(user_dir):
    assert paths.preset_dir() == user_dir


def test_default_folder_is_the_platform_user_data_folder(tmp_path, monkeypatch):
    monkeypatch.delenv(paths.PRESET_DIR_ENV, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert paths.preset_dir() == tmp_path / "xdg" / "quanta" / "presets"
    monkeypatch.setenv(paths.PRESET_DIR_ENV, "  ")  # blank means unset
    assert paths.preset_dir() == tmp_path / "xdg" / "quanta" / "presets"


def test_listing_does_not_create_the_folder(user_dir):
    entries = list_presets()
    assert len(entries) >= 12 and all(e.source == "factory" for e in entries)
    assert not user_dir.exists()


# -- save / load / delete -------------------------------------------------------------------------
def test_save_then_load_and_list(user_dir):
    saved = save_user_preset(swing())
    assert saved.source == "user" and saved.path == user_dir / "MPC 58.json"
    assert read_preset_file(saved.path).settings == QuantizeSettings(swing=58)
    assert load("mpc 58").settings.swing == 58  # names ignore case
    users = [e for e in list_presets() if e.source == "user"]
    assert [(e.name, e.description) for e in users] == [("MPC 58", "swing 58")]


def test_save_refuses_to_overwrite_without_force(user_dir):
    save_user_preset(swing(pct=58))
    with pytest.raises(PresetError, match="already exists.*--force"):
        save_user_preset(swing("mpc 58", pct=62))
    assert load("MPC 58").settings.swing == 58
    save_user_preset(swing("MPC 58", pct=62), force=True)
    assert load("MPC 58").settings.swing == 62
    assert files(user_dir) == ["MPC 58.json"]  # replaced in place, not duplicated


def test_saving_an_invalid_preset_writes_nothing(user_dir):
    with pytest.raises(PresetError, match="name: .*no control characters"):
        save_user_preset(swing("bad\x07name"))
    with pytest.raises(PresetError, match="description"):
        save_user_preset(Preset("ok", QuantizeSettings(), "line\nbreak"))
    assert files(user_dir) == []


def test_user_preset_shadows_factory_visibly(user_dir):
    factory = load("Straight 1/16")
    assert factory.source == "factory"
    save_user_preset(swing("straight 1/16", pct=66))
    entries = [e for e in list_presets() if e.name.casefold() == "straight 1/16"]
    assert [(e.source, e.shadowed, e.shadows_factory) for e in entries] == [
        ("factory", True, False),
        ("user", False, True),
    ]
    assert load("Straight 1/16").settings.swing == 66
    delete_user_preset("STRAIGHT 1/16")
    assert load("Straight 1/16").settings == factory.settings
    assert not any(e.shadowed for e in list_presets())


def test_factory_presets_cannot_be_deleted(user_dir):
    with pytest.raises(PresetError, match="factory preset"):
        delete_user_preset("Triplet 1/8")
    with pytest.raises(PresetError, match="no user preset named 'nope'"):
        delete_user_preset("nope")


def test_names_with_slashes_and_dots_stay_inside_the_folder(user_dir, tmp_path):
    for name in ("../../escape", "a/b", "a-b", "A-B", "..", "con"):
        save_user_preset(swing(name), force=True)
    assert all(p.parent == user_dir for p in user_dir.iterdir())
    assert not (tmp_path / "escape.json").exists()
    assert files(user_dir) == [
        "-.-escape.json",
        "_con.json",
        "a-b (2).json",
        "a-b.json",
        "preset.json",
    ]
    names = {e.name for e in list_presets() if e.source == "user"}
    assert names == {"../../escape", "a/b", "A-B", "..", "con"}  # "A-B" replaced "a-b"


# -- untrusted user folder ------------------------------------------------------------------------
def test_a_bad_preset_never_stops_the_others(user_dir):
    save_user_preset(swing("Good"))
    (user_dir / "broken.json").write_text("{not json")
    (user_dir / "swing-triplet.json").write_text(
        json.dumps(
            {
                "format": "quanta-preset",
                "version": 1,
                "name": "T",
                "description": "",
                "settings": {"grid_type": "triplet", "swing": 60},
            }
        )
    )
    (user_dir / "huge.json").write_bytes(b" " * (64 * 1024 + 1))
    (user_dir / "dup.json").write_text(preset_to_json(swing("GOOD", pct=71)))
    (user_dir / "notes.txt").write_text("not a preset")
    (user_dir / ".MPC 58.json.abc.tmp").write_text("half a preset from a crash")
    os.mkfifo(user_dir / "fifo.json")
    catalog = load_catalog()
    assert [e.name for e in catalog.entries if e.source == "user"] == ["Good"]
    assert load("good").settings.swing == 58
    problems = "\n".join(catalog.problems)
    assert "broken.json: is not valid JSON" in problems
    assert "swing-triplet.json: settings.swing" in problems
    assert "huge.json: is 65537 bytes" in problems
    assert "dup.json: name 'GOOD' is already used by Good.json" in problems
    assert len(catalog.problems) == 4  # not the .txt, the temp file or the FIFO


# -- atomic writes --------------------------------------------------------------------------------
def test_a_crash_during_save_leaves_the_old_preset_intact(user_dir, monkeypatch):
    saved = save_user_preset(swing(pct=58))
    before = saved.path.read_bytes()

    def crash(*_):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(preset_store.os, "replace", crash)
    with pytest.raises(PresetError, match="^disk full: could not write .*MPC 58.json$"):
        save_user_preset(swing(pct=71), force=True)
    assert saved.path.read_bytes() == before
    assert files(user_dir) == ["MPC 58.json"]  # the temp file is cleaned up


def test_an_interrupt_mid_write_leaves_no_half_file(user_dir, monkeypatch):
    saved = save_user_preset(swing(pct=58))
    before = saved.path.read_bytes()

    def interrupted(_fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(preset_store.os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_user_preset(swing(pct=71), force=True)
    assert saved.path.read_bytes() == before
    assert files(user_dir) == ["MPC 58.json"]


def test_write_replaces_by_rename(user_dir):
    """The new content arrives as a new inode (rename), never by rewriting the old file."""
    saved = save_user_preset(swing(pct=58))
    inode = saved.path.stat().st_ino
    save_user_preset(swing(pct=62), force=True)
    assert saved.path.stat().st_ino != inode
    assert oct(saved.path.stat().st_mode & 0o777) == oct(0o644)


# -- resolve (what --preset accepts) --------------------------------------------------------------
def test_resolve_a_name_a_file_and_a_text_form(user_dir, tmp_path):
    assert resolve_preset("swing 1/16 58").source == "factory"
    path = tmp_path / "shared.json"
    path.write_text(preset_to_json(swing("From File", pct=54)))
    from_file = resolve_preset(str(path))
    assert (from_file.name, from_file.source, from_file.path) == ("From File", "file", path)
    text = resolve_preset(preset_to_text(swing("Pasted", pct=66)))
    assert (text.name, text.source, text.settings.swing) == ("Pasted", "text", 66)


def test_resolve_prefers_a_preset_name_over_a_file_of_that_name(user_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "MPC 58").write_text("junk")
    save_user_preset(swing())
    assert resolve_preset("MPC 58").source == "user"


@pytest.mark.parametrize(
    "what,message",
    [
        ("No Such Preset", "no preset named 'No Such Preset' and no such file"),
        ("missing.json", "missing.json: no such preset file"),
        ("quanta-preset:v1 name=x description=d swing=99", "settings.swing: 99 is out of range"),
    ],
)
def test_resolve_errors_are_one_clean_line(user_dir, what, message):
    with pytest.raises(PresetError) as info:
        resolve_preset(what)
    assert message in str(info.value) and "\n" not in str(info.value)


# -- sharing between two users --------------------------------------------------------------------
def test_two_users_trade_a_preset_file(tmp_path, monkeypatch):
    alice, bob = tmp_path / "alice", tmp_path / "bob"
    shared = tmp_path / "mail" / "lazy.json"
    shared.parent.mkdir()
    monkeypatch.setenv(paths.PRESET_DIR_ENV, str(alice))
    made = Preset(
        "Lazy Shuffle",
        QuantizeSettings(division=8, swing=64.5, strength=85, exclude_within=5, ends="keep-ends"),
        "Lazy 8th shuffle, loose",
        author="Alice",
        tags=("swing", "lofi"),
    )
    save_user_preset(made)
    export_preset("lazy shuffle", shared)

    monkeypatch.setenv(paths.PRESET_DIR_ENV, str(bob))
    with pytest.raises(PresetError, match="no preset named"):
        load("Lazy Shuffle")
    got = import_preset(shared)
    assert got.path.parent == bob and got.source == "user"
    assert (got.name, got.settings, got.description, got.author, got.tags) == (
        made.name,
        made.settings,
        made.description,
        made.author,
        made.tags,
    )
    with pytest.raises(PresetError, match="already exists"):
        import_preset(shared)
    renamed = import_preset(shared, as_name="Alice's Shuffle")
    assert renamed.settings == made.settings
    assert {e.name for e in list_presets() if e.source == "user"} == {
        "Lazy Shuffle",
        "Alice's Shuffle",
    }
    assert files(alice) == ["Lazy Shuffle.json"]  # Bob's imports never touch Alice's folder


def test_two_users_trade_a_pasted_text_form(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.PRESET_DIR_ENV, str(tmp_path / "alice"))
    save_user_preset(swing('Ana\'s "dirty" 58', pct=58, strength=90))
    line = preset_to_text(load('ana\'s "dirty" 58'))
    monkeypatch.setenv(paths.PRESET_DIR_ENV, str(tmp_path / "bob"))
    got = import_preset(line)
    assert got.name == 'Ana\'s "dirty" 58' and got.settings == QuantizeSettings(
        swing=58, strength=90
    )


def test_import_validates_before_writing_anything(user_dir, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(preset_to_json(swing()).replace('"swing": 58', '"swing": 99'))
    with pytest.raises(PresetError, match="bad.json: settings.swing: 99"):
        import_preset(bad)
    with pytest.raises(PresetError, match="--as: is blank"):
        import_preset(preset_to_text(swing()), as_name="  ")
    assert files(user_dir) == []


def test_an_unreadable_user_folder_still_lists_the_factory_presets(tmp_path, monkeypatch):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    monkeypatch.setenv(paths.PRESET_DIR_ENV, str(not_a_folder))
    catalog = load_catalog()
    assert len(catalog.entries) >= 12
    assert catalog.problems == (
        f"cannot read the user preset folder {not_a_folder} (Not a directory)",
    )
    with pytest.raises(PresetError, match="cannot create the preset folder"):
        save_user_preset(swing())


def test_a_name_that_only_looks_like_a_schema_is_an_ordinary_preset(tmp_path, monkeypatch):
    """Found by the preset fuzzer: ``My quanta-preset.schema`` saved, then vanished from the
    list, because listing skipped every ``*.schema.json``; only the shipped schema names are
    skipped (and refused as names)."""
    from app import preset_store
    from engine.errors import PresetError
    from engine.presets import preset_from_document

    monkeypatch.setenv("QUANTA_PRESET_DIR", str(tmp_path))
    doc = {"format": "quanta-preset", "version": 1, "name": "My quanta-preset.schema",
           "description": "", "settings": {"grid": "1/16"}}
    preset_store.save_user_preset(preset_from_document(doc))
    names = [e.preset.name for e in preset_store.load_catalog().entries]
    assert "My quanta-preset.schema" in names
    for reserved in ("quanta-preset.schema", "QUANTA-GROOVE.schema"):
        with pytest.raises(PresetError, match="is reserved"):
            preset_from_document({**doc, "name": reserved})
