"""Every command that quantizes reads the same options the same way (app.quantize_options)."""

import pytest

from app.cli import build_parser
from app.commands.play import quantize_from_args


@pytest.mark.parametrize(
    "command",
    [
        ["play", "x.mid", "--out", "p"],
        ["render", "x.mid", "-o", "y.wav"],
        ["live", "--in", "a", "--out", "b"],
    ],
)
def test_options_override_the_preset_in_every_command(command):
    args = build_parser().parse_args(
        command + ["--preset", "Swing 1/16 58", "--strength", "70", "--exclude-within", "10"]
    )
    s = quantize_from_args(args)
    assert (s.division, s.swing, s.strength, s.exclude_within) == (16, 58.0, 70.0, 10.0)


def test_no_quantize_option_means_play_as_recorded():
    args = build_parser().parse_args(["play", "x.mid", "--out", "p"])
    assert quantize_from_args(args) is None
