"""`quanta play --audio` and `quanta live --audio` as a user runs them, on a real JACK server.

The commands run as subprocesses (a fresh PortAudio that sees the JACK server); their sound is
recorded from PortAudio's JACK ports by a JACK client (tests/jack_audio_tools.py), and live
input is played into them by a JACK MIDI sender writing at exact frames. Onset positions are
compared in recorded samples, so they are exact up to the synth's attack.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from engine.build import add_track, new_song
from engine.model.notes import make_notes
from tests import procs
from tests.jack_audio_tools import AudioRecorder, onsets
from tests.jack_tools import JackMidiRecorder, JackMidiSender

pytestmark = pytest.mark.jack
ROOT = Path(__file__).resolve().parent.parent
SR = 48000
ORGAN = "builtin:organ"  # steady tone, short release: clean onsets
SUMMARY = re.compile(r"^quanta: audio: (\d+) underruns, (\d+) late events .*\(system, 48000 Hz")


def quanta(*args: str, env: dict | None = None) -> subprocess.Popen:
    return procs.spawn(
        [sys.executable, "-m", "app.cli", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def reported_late(err: str) -> int:
    """Late events in the summary line quanta prints when its audio device closes."""
    counts = [int(m.group(2)) for m in map(SUMMARY.match, err.splitlines()) if m]
    assert len(counts) == 1, err
    return counts[0]


def wait_for_ports(client, pattern: str, timeout: float = 30.0, **kind) -> list:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = client.get_ports(pattern, **kind)
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"no JACK port matching {pattern!r}")


def save(song, path: Path) -> Path:
    from engine.smf.midifile import save_song

    save_song(song, path)
    return path


def stop(proc: subprocess.Popen, timeout: float = 20.0) -> tuple[str, str]:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        procs.kill_group(proc)
        out, err = proc.communicate()
        raise AssertionError(f"quanta did not stop: {err}") from None


# -- quanta play --audio ------------------------------------------------------------------
@pytest.fixture
def rt_server(jack_server_factory):
    """A JACK server with SCHED_FIFO threads (JACK_DEFAULT_SERVER names it) for the timing
    tests: on 2 shared cores a non-realtime dummy driver's cycles wander by milliseconds."""
    return jack_server_factory(realtime=True)


def test_play_sounds_each_track_quantized_at_the_right_times(rt_server, tmp_path):
    """Humanized keys quantized to 1/8 and a channel-10 snare, through the default device."""
    song = new_song(ppq=480, bpm=120)  # 1/8 = 240 ticks = 0.25 s = 12000 frames
    grid = 2880 + 240 * np.arange(6)  # from 3 s on: time for the recorder to connect first
    played = grid + np.array([25, -30, 12, -18, 30, -7])
    add_track(song, make_notes(played, played + 60, [60, 62, 64, 65, 67, 69]), name="keys")
    add_track(song, make_notes([2880 + 240 * 8], [2880 + 240 * 8 + 60], 38, channels=9))
    path = save(song, tmp_path / "song.mid")

    rec = AudioRecorder(12.0)
    proc = quanta("play", str(path), "--grid", "1/8", "--audio", "--instrument", ORGAN)
    try:
        wait_for_ports(rec.client, "PortAudio", is_audio=True, is_output=True)
        rec.connect_from("PortAudio")
        rec.start()
        out, err = procs.communicate(proc, timeout=40)
        rec.wait(0.0)
    finally:
        stop(proc)
        rec.close()
    assert proc.returncode == 0, err
    assert "playing" in err and "audio 'system' (builtin:organ)" in err
    summary = [line for line in err.splitlines() if SUMMARY.match(line)]
    assert len(summary) == 1, err

    x = rec.data[0, : rec.pos]
    found = onsets(x, 0.01, 2400)
    assert found.size == 7, found  # six keys notes, then the drum kit's snare
    # Each onset against the one before it, in recorded frames. Most land within a few
    # samples; on 2 shared cores a loaded dummy driver runs its frame clock up to 0.5 % slow
    # and a stalled thread can make a note late by some ms, so the bound for every note is
    # 10 ms: unquantized, the file's notes are 30 to 55 ms off their neighbours' distance.
    ticks = np.append(grid, 2880 + 240 * 8)
    step_err = (np.diff(found) - np.diff(ticks) * SR / 960) / SR * 1000  # ms; 960 ticks/s
    assert np.median(np.abs(step_err[:5])) <= 2.0, (step_err, err)  # keys: the same attack
    if reported_late(err) == 0:  # Quanta's own count: a late note may be off by more
        assert np.abs(step_err).max() <= 10.0, (step_err, err)  # keys, and keys to the snare
    snare = x[found[6] : found[6] + 2400]
    assert np.sqrt(np.mean(np.square(snare))) > 0.01
    # The song rang out before the device closed: the last note is whole, not cut.
    assert np.abs(x[found[6] + 2400 :]).max() < np.abs(snare).max()


def test_play_to_a_port_and_the_audio_device_at_once(jack_server, midi_recorder, tmp_path):
    song = new_song(ppq=480, bpm=240)
    add_track(song, make_notes([960, 1200], [1060, 1300], [60, 67]))
    path = save(song, tmp_path / "two.mid")
    proc = quanta("play", str(path), "--out", midi_recorder.port_name, "--audio")
    out, err = procs.communicate(proc, timeout=40)
    assert proc.returncode == 0, err
    assert [p for _, k, p, _ in midi_recorder.notes() if k == 0x90] == [60, 67]
    assert "to Quanta:out + audio 'system' (builtin)" in err
    assert any(SUMMARY.match(line) for line in err.splitlines()), err


def test_play_metronome_clicks_on_the_audio_device(jack_server, tmp_path):
    """With no port at all, --metronome still clicks: on its own strip, on the drum kit."""
    song = new_song(ppq=480, bpm=120)
    add_track(song, make_notes([2880], [2940], [72]))  # one note on beat 7
    path = save(song, tmp_path / "click.mid")
    rec = AudioRecorder(8.0)
    proc = quanta("play", str(path), "--audio", "--metronome")
    try:
        wait_for_ports(rec.client, "PortAudio", is_audio=True, is_output=True)
        rec.connect_from("PortAudio")
        rec.start()
        out, err = procs.communicate(proc, timeout=40)
        rec.wait(0.0)
    finally:
        stop(proc)
        rec.close()
    assert proc.returncode == 0, err
    # The kit's wood blocks ring longer than a beat: find attacks as sharp rises of the
    # envelope (5 ms windows) over the 20 ms before the window before them (an attack may
    # straddle two windows).
    x = np.abs(rec.data[0, : rec.pos])
    env = x[: x.size // 240 * 240].reshape(-1, 240).max(axis=1)
    before = np.max([np.roll(env, k) for k in (2, 3, 4, 5)], axis=0)
    rises = np.flatnonzero((env > 1.4 * before) & (env > 0.01)) * 240
    assert rises.size, "no sound"
    beats = (rises - rises[0]) / 24000  # 0.5 s per beat at 120 BPM
    on_beat = np.round(beats[np.abs(beats - np.round(beats)) < 0.03]).astype(int)
    # A click on every beat up to the note (beat 6; the recorder may join after beat 0).
    assert set(range(5)) <= set(on_beat.tolist()), (rises, err)


# -- quanta live --audio ------------------------------------------------------------------
def _live_onsets(jack_server, name: str, *options: str):
    """Start `quanta live --in NAME --virtual --audio ...`, play four notes into it at known
    frames, record its sound; return the onsets (JACK frames), the played frames (offsets)
    and stderr."""
    rec = AudioRecorder(12.0)
    sender = JackMidiSender(f"{name}-player", servername=jack_server.name)
    proc = quanta("live", "--in", name, "--virtual", "--audio", "--instrument", ORGAN, *options)
    try:
        banner = proc.stderr.readline()  # printed once the ports are open and wired
        assert banner.startswith("live:"), banner + proc.stderr.read()
        rec.connect_from("PortAudio")
        in_port = wait_for_ports(rec.client, name, is_midi=True, is_input=True)[0].name
        sender.connect_to(in_port)
        rec.start()
        time.sleep(1.5)  # connecting reorders the JACK graph: let the stream clock settle
        first = sender.now_frame() + 4800
        # Far off any 1/16 grid (6000 frames at 120 BPM), and 3 steps or more apart so that
        # each onset rises out of silence (the organ's release lasts about 0.2 s).
        offsets = [0, 20000, 39500, 57100]
        for off in offsets:
            sender.send_at_frame(first + off, bytes((0x90, 72, 100)))
            sender.send_at_frame(first + off + 1200, bytes((0x80, 72, 0)))
        rec.wait(2.0)
    finally:
        out, err = stop(proc)
        sender.close()
        rec.close()
    assert proc.returncode == 0, err
    return onsets(rec.data[0, : rec.pos], 0.01, 2400), offsets, banner + err


def test_live_quantized_notes_sound_on_the_grid(rt_server):
    found, played, err = _live_onsets(
        rt_server, "qla-grid", "--grid", "1/16", "--mode", "next", "--tempo", "120"
    )
    assert "live: " in err and "audio 'system' (builtin:organ), quantize 1/16 (next)" in err
    assert found.size == 4, (found, err)
    steps = np.diff(found) / 6000  # 1/16 at 120 BPM
    off_ms = np.abs(steps - np.round(steps)) * 125
    # Each note waited for the next 1/16 point: onsets whole steps apart, within 2 ms but for
    # a stalled thread or a dummy driver's slow clock (10 ms at most); as played, they were 8
    # to 42 ms off whole steps.
    assert np.all(np.round(steps) >= 3), (steps, err)
    assert np.median(off_ms) <= 2.0, (steps, err)
    if reported_late(err) == 0:  # Quanta's own count: a late note may be off by more
        assert off_ms.max() <= 10.0, (steps, err)
    assert any(SUMMARY.match(line) for line in err.splitlines()), err


@pytest.mark.parametrize("effect", [[], ["--effect", "gain"]], ids=["compiled", "plugin-mix"])
def test_live_thru_keeps_the_played_timing(rt_server, effect):
    """No grid: every note sounds a fixed latency after it was played, so the distances
    between onsets are the played ones (not rounded to audio blocks). Also through a mix
    with an effect, which needs Python every block (rendered in the callback for live)."""
    found, played, err = _live_onsets(rt_server, "qla-thru", *effect)
    assert ", thru;" in err
    assert found.size == 4, (found, err)
    gaps = np.diff(found) - np.diff(played)
    # Every note sounds the same latency after it was played: the played distances, to the
    # sample (a note that missed its place counts as late and sounds at once, so a loaded
    # machine may put one off by up to 10 ms; played at once, they would wander by a block).
    assert np.median(np.abs(gaps)) <= 96, (gaps, err)
    if reported_late(err) == 0:  # Quanta's own count: a late note may be off by more
        assert np.abs(gaps).max() <= 480, (gaps, err)


# -- problems: one line, exit 2 -----------------------------------------------------------
def test_no_audio_device_is_one_line(tmp_path):
    song = new_song()
    add_track(song, make_notes([0], [480], [60]))
    path = save(song, tmp_path / "s.mid")
    env = dict(os.environ, JACK_DEFAULT_SERVER="quanta-no-server", JACK_NO_START_SERVER="1")
    for args in (["play", str(path), "--audio"], ["live", "--in", "kbd", "--audio"]):
        proc = quanta(*args, env=env)
        out, err = procs.communicate(proc, timeout=40)
        assert proc.returncode == 2, err
        assert err.strip() == (
            "quanta: error: --audio: no audio output device found "
            "(no sound card, and no JACK server running)"
        )


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--audio", "nosuch"], "no audio output device matches 'nosuch'; available: system"),
        (["--audio", "--rate", "44100"], "'system' does not play 44100 Hz in blocks of 256"),
        (["--audio", "--instrument", "lv2:urn:quanta:none"], "urn:quanta:none is not installed"),
        (["--audio", "--instrument", "sf2:/nope.sf2"], "SoundFont /nope.sf2 does not exist"),
        (["--audio", "--effect", "nope"], "no stock effect 'nope'"),
        (["--audio", "--block", "8"], "--block 8: use 16 to 8192 frames"),
        ([], "nowhere to play: give --out PORT, --audio [DEVICE], or both"),
        (["--instrument", "builtin:piano"], "--instrument needs --audio"),
    ],
)
def test_sound_problems_are_one_line_and_exit_2(jack_server, tmp_path, args, needle):
    song = new_song()
    add_track(song, make_notes([0], [480], [60]))
    path = save(song, tmp_path / "s.mid")
    proc = quanta("play", str(path), *args)
    out, err = procs.communicate(proc, timeout=40)
    assert proc.returncode == 2, err
    assert len(err.strip().splitlines()) == 1 and needle in err, err
    assert "Traceback" not in err


# -- the JACK server dies while playing -----------------------------------------------------
def _long_song(tmp_path) -> Path:
    song = new_song(ppq=480, bpm=120)
    starts = 480 * np.arange(12)  # 6 s of quarter notes
    add_track(song, make_notes(starts, starts + 240, 60 + np.arange(12) % 12))
    return save(song, tmp_path / "long.mid")


def test_server_dies_audio_alone_says_so_once_and_exits_2(jack_server_factory, tmp_path):
    server = jack_server_factory(48000, 256)
    proc = quanta("play", str(_long_song(tmp_path)), "--audio")
    banner = proc.stderr.readline()
    assert banner.startswith("playing"), banner + proc.stderr.read()
    time.sleep(0.5)
    server.stop()
    t = time.monotonic()
    out, err = procs.communicate(proc, timeout=20)
    assert time.monotonic() - t < 5.0  # noticed at once, closed without hanging
    assert proc.returncode == 2, err
    assert err.count("audio output lost") == 1, err
    assert err.strip().endswith(
        "quanta: error: audio output lost: 'system' stopped (did the JACK server quit?)"
    )
    assert "device lost" in err and "Traceback" not in err


def test_server_dies_midi_goes_on_as_before(jack_server_factory, tmp_path):
    """MIDI and sound on one server that dies: the port reports its loss as it always did,
    the audio says so once, and the song plays on to its end (exit 0, no hang)."""
    server = jack_server_factory(48000, 256)
    midi = JackMidiRecorder("qa-midi", servername=server.name).start()
    try:
        proc = quanta("play", str(_long_song(tmp_path)), "--out", midi.port_name, "--audio")
        banner = proc.stderr.readline()
        assert banner.startswith("playing"), banner + proc.stderr.read()
        midi.wait_for(2, 5.0)
    finally:
        midi.close()  # before its server goes
    server.stop()
    out, err = procs.communicate(proc, timeout=30)
    assert proc.returncode == 0, err
    assert err.count("audio output lost") == 1, err
    # Said while playing ("; MIDI continues") or, if PortAudio still called the stream active
    # until it was closed, at the end: once either way.
    assert "quanta: warning: audio output lost: 'system' stopped (did the JACK server quit?)" in err
    assert "Traceback" not in err
