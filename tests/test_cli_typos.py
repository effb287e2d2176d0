"""Mistyped commands and options: named with the nearest real one, exit 2, no window; file
names (existing or path-like) still open the window."""

from __future__ import annotations

import pytest

import app.commands.gui as gui_command
from app.cli import main
from app.cli_typos import looks_like_file, nearest, unknown_options_message
from engine.demo import demo_song
from engine.smf import save_song


@pytest.fixture
def opened(monkeypatch):
    """The files the window would have opened (the window itself is not started)."""
    files: list[str | None] = []

    def fake_handler(args) -> int:
        files.append(args.file)
        return 0

    monkeypatch.setattr(gui_command, "handler", fake_handler)
    return files


def _run(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:  # argparse's --help/--version
        return int(exc.code or 0)


@pytest.mark.parametrize(
    "argv,message",
    [
        (
            ["quantise", "song.mid", "-o", "x.mid"],
            "quanta: error: unknown command 'quantise' (did you mean 'quantize'?)",
        ),
        (["quantise"], "quanta: error: unknown command 'quantise' (did you mean 'quantize'?)"),
        (["rendr", "a.mid"], "quanta: error: unknown command 'rendr' (did you mean 'render'?)"),
        (["plugin"], "quanta: error: unknown command 'plugin' (did you mean 'plugins'?)"),
        (["xyzzy"], "quanta: error: 'xyzzy' is neither a command nor a file; commands: groove, gui,"),
    ],
)
def test_unknown_command_names_itself_and_the_nearest_and_opens_no_window(
    opened, capsys, tmp_path, monkeypatch, argv, message
):
    monkeypatch.chdir(tmp_path)
    assert _run(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: quanta ")
    assert message in err
    assert opened == []


def test_file_names_still_open_the_window(opened, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    save_song(demo_song(), tmp_path / "song.mid")
    (tmp_path / "take").write_bytes((tmp_path / "song.mid").read_bytes())  # no extension
    assert _run(["song.mid"]) == 0
    assert _run(["take"]) == 0  # exists: a file, even without an extension
    assert _run(["path/to/x.quanta"]) == 0  # missing, but a path: the window says so
    assert _run(["new.mid"]) == 0  # missing, but a file name
    assert _run([]) == 0
    assert opened == ["song.mid", "take", "path/to/x.quanta", "new.mid", None]


def test_misspelled_option_shows_the_subcommand_usage_and_the_nearest_option(opened, capsys):
    assert _run(["quantize", "a.mid", "-o", "b.mid", "--strenght", "50"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: quanta quantize ")
    assert err.rstrip().splitlines()[-1] == (
        "quanta quantize: error: unknown option: --strenght (did you mean --strength?)"
    )
    assert _run(["render", "a.mid", "-o", "b.wav", "--tial=3", "--bitdepth", "24"]) == 2
    assert capsys.readouterr().err.rstrip().splitlines()[-1] == (
        "quanta render: error: unknown options: --tial (did you mean --tail?), "
        "--bitdepth (did you mean --bit-depth?)"
    )
    assert _run(["song.mid", "--screnshot", "x.png"]) == 2
    assert "quanta gui: error: unknown option: --screnshot (did you mean --screenshot?)" in (
        capsys.readouterr().err
    )
    assert opened == []


def test_left_over_words_are_named_as_they_are(capsys, tmp_path):
    assert _run(["info", str(tmp_path / "a.mid"), "extra"]) == 2
    assert (
        capsys.readouterr()
        .err.rstrip()
        .endswith("quanta info: error: unrecognized arguments: extra")
    )


def test_helpers():
    assert looks_like_file("song.mid") and looks_like_file("./take") and looks_like_file("~/x")
    assert not looks_like_file("quantise") and not looks_like_file(".hidden")
    assert nearest("quantise", ["quantize", "info"]) == "quantize"
    assert nearest("zzz", ["quantize", "info"]) is None
    assert unknown_options_message(["--x-y"], ["--grid"]) == "unknown option: --x-y"


def test_a_misspelled_choice_or_nested_command_gets_the_nearest(capsys):
    assert _run(["presets", "improt", "x.json"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: quanta presets ")
    assert "invalid choice: 'improt' (choose from 'list'," in err
    assert err.rstrip().endswith("; did you mean 'import'?")
    assert _run(["quantize", "a.mid", "-o", "b.mid", "--ends", "keep-lenght"]) == 2
    assert capsys.readouterr().err.rstrip().endswith("did you mean 'keep-length'?")
    assert _run(["presets", "list", "--jsn"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: quanta presets list ")
    assert err.rstrip().endswith(
        "quanta presets list: error: unknown option: --jsn (did you mean --json?)"
    )
