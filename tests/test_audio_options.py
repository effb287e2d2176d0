"""The sound options of `quanta play`/`quanta live` and how a song is laid out on mixer strips.

Parsed by the real `quanta` parser; the strips are planned from real songs. What they sound
like on a device is tests/test_cli_audio.py's job.
"""

from __future__ import annotations

import pytest

from app.audio_options import AudioRequest, audio_request
from app.audio_session import input_period, song_strips
from app.cli import build_parser
from engine.build import add_track, new_song
from engine.errors import DeviceError
from engine.model.notes import make_notes


def parse(*argv: str):
    return build_parser().parse_args(list(argv))


@pytest.mark.parametrize("command", [["play", "song.mid"], ["live", "--in", "kbd"]])
def test_audio_alone_means_the_default_device_and_sound(command):
    assert audio_request(parse(*command, "--audio")) == AudioRequest(
        device=None, instrument="builtin", effects=[], rate=None, block=256
    )
    assert audio_request(parse(*command)) is None


def test_every_sound_option_reaches_the_request():
    args = parse(
        "play", "song.mid", "--audio", "JACK", "--instrument", "sf2", "--effect", "reverb",
        "--effect", "delay:time=0.25", "--rate", "44100", "--block", "128",
    )  # fmt: skip
    assert audio_request(args) == AudioRequest(
        "JACK", "sf2", ["reverb", "delay:time=0.25"], 44100, 128
    )
    assert audio_request(parse("play", "song.mid", "--audio", "2")).device == "2"  # an index


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--instrument", "sf2"], "--instrument needs --audio"),
        (["--effect", "reverb", "--block", "64"], "--effect, --block need --audio"),
        (["--block", "0"], "--block needs --audio"),  # 0 is given, not absent
        (["--audio", "--rate", "4000"], "--rate 4000: use a sample rate from 8000 to 192000 Hz"),
        (["--audio", "--block", "9000"], "--block 9000: use 16 to 8192 frames"),
    ],
)
def test_sound_option_mistakes_name_the_option(extra, message):
    with pytest.raises(DeviceError, match="^" + message.replace("-", r"\-")):
        audio_request(parse("play", "song.mid", *extra))


def test_each_track_with_notes_gets_its_own_strip_and_the_click_one_more():
    song = new_song()  # track 0: tempo and meta only
    add_track(song, make_notes([0], [480], [60]), name="Bass")
    add_track(song)  # no notes (e.g. controllers only): no strip
    add_track(song, make_notes([0], [120], [36], channels=9))  # drums, unnamed
    strips = song_strips(song, clicks=True)
    bass = next(i for i, t in enumerate(song.tracks) if t.name == "Bass")
    drums = len(song.tracks) - 1
    assert strips.tracks == {bass: 0, drums: 1}
    assert strips.names == ["Bass", f"Track {drums + 1}", "Click"]
    assert strips.click == 2
    assert song_strips(song, clicks=False).click is None
    assert song_strips(song, clicks=False).names == ["Bass", f"Track {drums + 1}"]


@pytest.mark.jack
def test_live_latency_counts_a_jack_inputs_period(jack_server):
    from engine.ports.jack_midi import JackMidiInput

    port = JackMidiInput(client_name="qa-period", port_name="in")
    try:
        assert input_period(port) == 256 / 48000
    finally:
        port.close()
    assert input_period(object()) == 0.0  # rtmidi ports stamp messages when they arrive


def test_audio_before_the_file_does_not_swallow_it():
    from app.commands.play import _file_taken_by_audio
    from engine.errors import QuantaError

    args = parse("play", "--audio", "Song.MID")  # --audio took the file as a device name
    _file_taken_by_audio(args)
    assert args.file == "Song.MID"
    assert audio_request(args).device is None  # the default device, as `--audio` alone
    args = parse("play", "--audio", "JACK")
    with pytest.raises(QuantaError, match="give the MIDI file to play"):
        _file_taken_by_audio(args)
