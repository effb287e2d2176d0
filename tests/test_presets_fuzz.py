"""The preset reader (JSON and the one-line text form) against hostile input: one line
naming the source, bounded time and memory, and every preset it accepts can be saved to the
user folder, found there again, and shared in both forms.

Corpus builders: tests/hostile_presets.py; bench/fuzz_presets.py runs thousands.
"""

from __future__ import annotations

import json
import random
import resource
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import paths, preset_store
from engine.errors import PresetError
from engine.presets.preset_format import (
    Preset,
    preset_from_bytes,
    preset_from_json,
    preset_from_text,
    preset_to_json,
    preset_to_text,
)
from tests import hostile_presets as hp
from tests import procs

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
ROOT = Path(__file__).resolve().parents[1]


same = hp.same_preset


def check(data: bytes, origin: str = "case.json") -> Preset | None:
    t0 = time.perf_counter()
    try:
        preset = preset_from_bytes(data, origin)
    except PresetError as exc:
        msg = str(exc)
        assert "\n" not in msg and "\r" not in msg and msg.startswith(f"{origin}: "), msg
        msg.encode("utf-8")  # printable anywhere: no lone surrogates in the message
        return None
    finally:
        assert time.perf_counter() - t0 < 10
        assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss < 1 << 20
    assert same(preset_from_json(preset_to_json(preset)), preset)
    assert same(preset_from_text(preset_to_text(preset)), preset)
    saved = preset_store.save_user_preset(preset, force=True)  # never crashes, never vanishes
    found = preset_store.load_catalog().find(preset.name)
    assert found is not None and found.path == saved.path and same(found, preset)
    return preset


@pytest.fixture(autouse=True)
def user_dir(tmp_path_factory, monkeypatch):
    folder = tmp_path_factory.mktemp("presets")
    monkeypatch.setenv(paths.PRESET_DIR_ENV, str(folder))
    return folder


@FUZZ
@given(st.integers(0, 2**32 - 1))
def test_hostile_presets_are_one_line_or_save_and_reload(seed):
    kind, data = hp.any_case(random.Random(seed))
    check(data)


@FUZZ
@given(st.sampled_from(range(3)), st.text(max_size=12), st.integers(0, 400), st.booleans())
def test_any_text_spliced_into_a_valid_preset(which, junk, where, text_form):
    base = hp.valid_texts()[which] if text_form else json.dumps(hp.valid_documents()[which])
    at = where % (len(base) + 1)
    check((base[:at] + junk + base[at:]).encode("utf-8", "surrogatepass"))


# -- the campaign's classes, named -----------------------------------------------------------
def doc(**fields) -> bytes:
    d = hp.valid_documents()[0]
    d.update(fields)
    return json.dumps(d).encode()


def refuse(data: bytes, pattern: str) -> None:
    with pytest.raises(PresetError, match=pattern):
        preset_from_bytes(data, "x.json")


@pytest.mark.parametrize("name", ["\ud800", "a\udfffb", "x\udc80"])
def test_lone_surrogates_in_json_are_refused_in_one_line(name):
    refuse(doc(name=name), r'^x\.json: name: ".*\\ud[89a-f]..[^"]*" contains a lone UTF-16')
    refuse(doc(description=name), r"^x\.json: description: .* lone UTF-16 surrogate")
    refuse(doc(tags=[name]), r"^x\.json: tags\[0\]: ")


def test_lone_surrogates_in_the_text_form_are_refused():
    text = 'quanta-preset:v1 name="a\\ud800" description="" grid=1/16'
    with pytest.raises(PresetError, match=r'name: "a\\ud800" contains a lone UTF-16'):
        preset_from_text(text)


def test_non_utf8_argv_name_is_refused_by_save_and_import(tmp_path):
    env_dir = tmp_path / "presets"
    bad = "bad\udcff"  # what Python makes of the byte 0xFF in argv (surrogateescape)
    with pytest.raises(PresetError, match="lone UTF-16 surrogate"):
        preset_store.save_user_preset(Preset(bad))
    src = tmp_path / "ok.json"
    src.write_text(preset_to_json(Preset("fine")))
    with pytest.raises(PresetError, match="--as"):
        preset_store.import_preset(src, as_name=bad)
    r = procs.run(
        [sys.executable, "-m", "app.cli", "presets", "save", b"bad\xff"],
        cwd=ROOT,
        capture_output=True,
        env={**__import__("os").environ, paths.PRESET_DIR_ENV: str(env_dir)},
        timeout=120,
        start_new_session=True,
    )
    assert r.returncode == 2
    err = r.stderr.decode()
    assert "lone UTF-16 surrogate" in err and "Traceback" not in err
    assert err.count("\n") == 1
    assert not env_dir.exists() or list(env_dir.iterdir()) == []


@pytest.mark.parametrize("version", ["v²", "v١", "v" + "9" * 5000, "v", "v1.0", "v+1"])
def test_text_form_version_must_be_ascii_digits(version):
    with pytest.raises(PresetError, match="does not start with quanta-preset:vN"):
        preset_from_text(f"quanta-preset:{version} name=x description=x")


@pytest.mark.parametrize("value", ["٥٨", "５８", "58²"])
def test_text_form_numbers_are_ascii_only(value):
    with pytest.raises(PresetError, match=r"settings\.swing: "):
        preset_from_text(f"quanta-preset:v1 name=x description=x swing={value}")


@pytest.mark.parametrize(
    "field,value",
    [("name", "Swing\n"), ("name", "Swing\r\n"), ("description", "one\n"), ("author", "me\n")],
)
def test_text_ending_in_a_line_break_is_refused(field, value):
    refuse(doc(**{field: value}), rf"^x\.json: {field}: ")


def test_tag_or_tuplet_ending_in_a_line_break_is_refused():
    refuse(doc(tags=["swing\n"]), r"tags\[0\]")
    d = hp.valid_documents()[1]
    d["settings"]["tuplet"] = "5:4\n"
    refuse(json.dumps(d).encode(), r"settings\.tuplet")


@pytest.mark.parametrize(
    "name", ["quanta-preset.schema", "Quanta-Preset.Schema", " quanta-preset.schema."]
)
def test_a_name_that_would_be_the_schema_file_is_refused_everywhere(name, user_dir):
    refuse(doc(name=name), r"name: .* is reserved")
    with pytest.raises(PresetError, match="is reserved"):
        preset_store.save_user_preset(Preset(name))
    assert not (user_dir / "quanta-preset.schema.json").exists()


# -- issue 12: sharing the text form through files ------------------------------------------
def _cli(*args, stdin: bytes | None = None, env_dir: Path):
    import os

    return procs.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        env={**os.environ, paths.PRESET_DIR_ENV: str(env_dir)},
        timeout=120,
        start_new_session=True,
    )


def test_export_text_to_a_file_then_import_and_validate_it(tmp_path):
    presets = tmp_path / "presets"
    out = tmp_path / "feel.txt"
    r = _cli("presets", "export", "Swing 1/16 58", "--text", "-o", str(out), env_dir=presets)
    assert r.returncode == 0, r.stderr
    line = out.read_text("utf-8")
    assert line.startswith("quanta-preset:v1 ") and line.endswith("\n") and line.count("\n") == 1
    assert "swing=58" in line and "grid=1/16" in line
    r = _cli("presets", "validate", str(out), env_dir=presets)
    assert r.returncode == 0 and "ok ('Swing 1/16 58')" in r.stdout.decode()
    r = _cli("presets", "import", str(out), "--as", "Shared", env_dir=presets)
    assert r.returncode == 0, r.stderr
    saved = json.loads((presets / "Shared.json").read_text())
    assert saved["settings"]["swing"] == 58 and saved["settings"]["grid"] == "1/16"
    # -o with a .json name (and no --text) still writes JSON
    r = _cli("presets", "export", "Shared", "-o", str(tmp_path / "s.json"), env_dir=presets)
    assert json.loads((tmp_path / "s.json").read_text())["name"] == "Shared"


def test_a_text_form_file_with_bom_and_crlf_imports(tmp_path):
    f = tmp_path / "pasted.txt"
    f.write_bytes(b"\xef\xbb\xbf" + preset_to_text(Preset("Pasted")).encode() + b"\r\n")
    assert preset_store.import_preset(f).name == "Pasted"


def test_stdin_with_invalid_utf8_is_one_line_not_replaced(tmp_path):
    r = _cli(
        "presets",
        "import",
        "-",
        stdin=b'quanta-preset:v1 name="a\xff" description=""',
        env_dir=tmp_path / "p",
    )
    assert r.returncode == 2
    assert "stdin: is not UTF-8 text" in r.stderr.decode()


@pytest.mark.parametrize(
    "raw,shown",
    [
        (b'"settings": {"swing\\n": 1}', r'settings\."swing\\n": unknown field'),
        (b'"settings": {"grid_\\ud800type": 1}', r'settings\."grid_\\ud800type": unknown field'),
        (b'"x\\n": 1, "x\\n": 2, "settings": {}', r'"x\\n": appears twice'),
    ],
)
def test_field_names_with_line_breaks_or_surrogates_are_shown_escaped(raw, shown):
    data = (
        b'{"format": "quanta-preset", "version": 1, "name": "n", "description": "", ' + raw + b"}"
    )
    with pytest.raises(PresetError, match=shown) as info:
        preset_from_bytes(data, "x.json")
    assert "\n" not in str(info.value)
    str(info.value).encode("utf-8")


def test_a_file_name_with_a_line_break_or_bad_bytes_stays_one_line(tmp_path):
    from engine.presets.preset_format import read_preset_file

    for name in ("two\nlines.json", b"bad\xff.json"):
        path = tmp_path / (
            name if isinstance(name, str) else name.decode("utf-8", "surrogateescape")
        )
        path.write_bytes(b"{")
        with pytest.raises(PresetError) as info:
            read_preset_file(path)
        assert "\n" not in str(info.value)
        str(info.value).encode("utf-8")
