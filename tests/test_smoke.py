from fractions import Fraction

import pytest

from app.cli import main
from engine.errors import SettingsError
from engine.quantize.settings import QuantizeSettings


def test_grid_steps_are_exact():
    assert QuantizeSettings().grid_step(480) == 120
    assert QuantizeSettings(division=8, grid_type="triplet").grid_step(480) == 160
    assert QuantizeSettings(division=16, grid_type="dotted").grid_step(96) == 36
    assert QuantizeSettings(division=16, grid_type="tuplet", tuplet=(5, 4)).grid_step(
        96
    ) == Fraction(96, 5)


def test_swing_on_triplet_grid_is_an_error_naming_swing():
    with pytest.raises(SettingsError, match="swing"):
        QuantizeSettings(grid_type="triplet", swing=58)


def test_cli_help_exits_zero(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    assert "quanta" in capsys.readouterr().out


def test_version_is_printed(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out.startswith("quanta ")


def test_options_without_a_command_go_to_the_gui(monkeypatch):
    import app.commands.gui as gui

    seen = {}

    def record(args):  # stands in for opening a window: records what the GUI would get
        seen["screenshot"] = args.screenshot
        return 0

    monkeypatch.setattr(gui, "handler", record)
    assert main(["--screenshot", "x.png"]) == 0
    assert seen == {"screenshot": "x.png"}
