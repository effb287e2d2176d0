"""Selecting tracks and reading values for the --track-* options (app.sound_options)."""

from __future__ import annotations

import argparse
import math

import pytest

from app.sound_options import (
    TrackOptionError,
    TrackSound,
    add_track_sound_options,
    describe_tracks,
    select_track,
    track_sounds_from_args,
)

NAMES = ["Conductor", "Keys", "2", " Bass ", ""]


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_track_sound_options(parser)
    return parser.parse_args(argv)


def test_digits_are_a_track_number_even_when_a_track_is_named_so():
    assert select_track("2", NAMES, "--track-pan", "2=1") == 1  # "Keys", not the track named "2"
    assert select_track("3", NAMES, "--track-pan", "3=1") == 2


def test_names_match_whole_ignoring_case_and_spaces():
    assert select_track("keys", NAMES, "--track-pan", "") == 1
    assert select_track(" BASS", NAMES, "--track-pan", "") == 3
    with pytest.raises(TrackOptionError, match='no track is named "Key"'):
        select_track("Key", NAMES, "--track-pan", "Key=1")


def test_the_track_list_in_messages_names_unnamed_tracks_and_stays_short():
    assert describe_tracks(["Conductor", ""]) == '1 "Conductor", 2 (no name)'
    many = describe_tracks([f"T{i}" for i in range(40)])
    assert many.endswith("… (40 in all)") and many.count('"') == 32


def test_options_collect_per_track_in_order():
    args = parse(
        "--track-effect", "keys=reverb", "--track-instrument", "Bass=builtin:organ",
        "--track-effect", "2=delay:delay_seconds=0.25", "--track-volume", "5=-inf",
        "--track-pan", "4=-0.5", "--track-instrument", "4=builtin:pad",
        "--track-solo", "keys", "--track-mute", "1",
    )  # fmt: skip
    sounds = track_sounds_from_args(args, NAMES)
    assert sounds == {
        0: TrackSound(mute=True),
        1: TrackSound(effects=["reverb", "delay:delay_seconds=0.25"], solo=True),
        3: TrackSound(instrument="builtin:pad", pan=-0.5),
        4: TrackSound(volume_db=-math.inf),
    }


def test_a_value_may_contain_equals_signs():
    sounds = track_sounds_from_args(parse("--track-effect", "2=gain:gain_db=-3"), NAMES)
    assert sounds[1].effects == ["gain:gain_db=-3"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--track-volume", "2=-6 dB"], None),
        (["--track-volume", "2=nan"], "volume is in dB"),
        (["--track-volume", "2="], "write SEL=VALUE"),
        (["--track-pan", "=1"], "give a track"),
        (["--track-pan", "2=-1.01"], "pan is a number"),
        (["--track-pan", "2=inf"], "pan is a number"),
    ],
)
def test_values_are_checked(argv, message):
    args = parse(*argv)
    if message is None:
        assert track_sounds_from_args(args, NAMES)[1].volume_db == -6.0
    else:
        with pytest.raises(TrackOptionError, match=message):
            track_sounds_from_args(args, NAMES)
