"""MIDI ports through python-rtmidi, on a real JACK server (dummy driver): API choice, listing,
opening by name and index, virtual ports, real traffic into the frame recorder, and the
``quanta ports`` command."""

from __future__ import annotations

import json
import os
import time

import pytest

from app.cli import main as quanta
from engine.errors import DeviceError
from engine.ports.api import api_problem, available_apis, choose_api, compiled_apis, list_ports
from engine.ports.jack_midi import JackClock, JackMidiInput, JackMidiOutput
from engine.ports.rtmidi_io import RtMidiInput, RtMidiOutput, open_input, open_output
from engine.ports.watch import SoundingNotes
from engine.realtime import clock
from engine.realtime.midi_io import MidiSink, MidiSource
from tests import procs
from tests.jack_tools import unmatched_notes

pytestmark = pytest.mark.jack

NO_ALSA_SEQ = not os.path.exists("/dev/snd/seq")


def _wait(pred, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not pred() and time.monotonic() < deadline:
        time.sleep(0.01)
    return pred()


# --- choosing an API ---------------------------------------------------------------------------
def test_jack_is_chosen_when_a_server_runs(jack_server, monkeypatch):
    monkeypatch.delenv("QUANTA_MIDI_API", raising=False)
    assert "jack" in compiled_apis()
    assert available_apis()[0] == "jack"
    choice = choose_api()
    assert choice.name == "jack"
    assert "JACK server is running" in choice.reason


def test_explicit_api_and_environment_override(jack_server, monkeypatch):
    monkeypatch.setenv("QUANTA_MIDI_API", "JACK")
    choice = choose_api()
    assert choice.name == "jack" and "QUANTA_MIDI_API" in choice.reason
    assert choose_api("jack").reason == "JACK (requested)"


def test_unknown_api_is_a_clear_error():
    with pytest.raises(DeviceError, match="unknown MIDI API 'beos'.*jack, alsa"):
        choose_api("beos")


@pytest.mark.skipif(not NO_ALSA_SEQ, reason="this machine has an ALSA sequencer")
def test_alsa_without_sequencer_is_one_clear_line_not_a_traceback(capfd):
    with pytest.raises(DeviceError) as info:
        choose_api("alsa")
    message = str(info.value)
    assert "ALSA" in message and "/dev/snd/seq" in message and "\n" not in message
    assert "alsa" not in available_apis()
    # alsa-lib's own stderr chatter is silenced: Quanta's message is the only one
    assert "ALSA lib" not in capfd.readouterr().err


def test_no_jack_server_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("JACK_DEFAULT_SERVER", "qt-nosuchserver")
    assert api_problem("jack") == "JACK: no JACK server is running"
    with pytest.raises(DeviceError, match="JACK: no JACK server is running"):
        choose_api("jack")
    with pytest.raises(DeviceError, match="no JACK server"):
        JackMidiOutput(client_name="quanta-none")


# --- listing and opening ---------------------------------------------------------------------
def test_list_ports_shows_other_clients_ports(midi_recorder, midi_sender):
    inputs, outputs = list_ports("jack")
    assert midi_recorder.port_name in [p.name for p in outputs]
    assert midi_sender.port_name in [p.name for p in inputs]
    assert [p.index for p in outputs] == list(range(len(outputs)))


@pytest.mark.parametrize("frame_exact", [False, True])
@pytest.mark.parametrize("how", ["name", "index", "part of name"])
def test_open_output_by_name_or_index_sends_real_notes(midi_recorder, how, frame_exact):
    outputs = list_ports("jack")[1]
    target = {
        "name": midi_recorder.port_name,
        "index": [p.index for p in outputs if p.name == midi_recorder.port_name][0],
        "part of name": "RECORDER:i",
    }[how]
    out = open_output(target, api="jack", frame_exact=frame_exact)
    try:
        assert isinstance(out, MidiSink)
        assert isinstance(out, JackMidiOutput if frame_exact else RtMidiOutput)
        assert out.lookahead > 0 if frame_exact else out.lookahead == 0
        sent = [bytes((0x90, 60 + k, 100)) for k in range(5)]
        sent += [bytes((0x80, 60 + k, 0)) for k in range(5)]
        when = clock.now() + out.lookahead
        for data in sent:
            out.send_at(when, data)
        got = midi_recorder.wait_for(len(sent))
        assert [d for _, d in got] == sent
        assert unmatched_notes(midi_recorder.notes()) == []
    finally:
        out.close()


def test_missing_port_names_port_and_api(jack_server):
    with pytest.raises(DeviceError, match="MIDI output 'Nope Synth' not found on JACK"):
        open_output("Nope Synth", api="jack")
    with pytest.raises(DeviceError, match="MIDI input #99 does not exist on JACK"):
        open_input(99, api="jack", frame_exact=False)


def test_ambiguous_part_of_name_is_an_error(jack_server):
    a = JackMidiOutput(client_name="quanta-amb", port_name="one")
    b = JackMidiOutput(client_name="quanta-amb", port_name="two")
    try:
        with pytest.raises(DeviceError, match="ambiguous"):
            open_input("quanta-amb", api="jack")
    finally:
        a.close()
        b.close()


# --- virtual ports ---------------------------------------------------------------------------
@pytest.mark.parametrize("frame_exact", [False, True])
def test_virtual_output_is_visible_and_other_programs_receive_from_it(
    jack_server, midi_recorder, frame_exact
):
    out = open_output(
        "quanta-virt-out", api="jack", virtual=True, client_name="QV", frame_exact=frame_exact
    )
    try:
        lsp = procs.run(["jack_lsp", "-s", jack_server.name], capture_output=True, text=True)
        assert "QV:quanta-virt-out" in lsp.stdout.splitlines()
        assert "QV:quanta-virt-out" in [p.name for p in list_ports("jack")[0]]
        midi_recorder.connect_from("QV:quanta-virt-out")  # another client connects to Quanta
        out.send_at(clock.now() + out.lookahead, b"\x90\x45\x50")
        assert [d for _, d in midi_recorder.wait_for(1)] == [b"\x90\x45\x50"]
    finally:
        out.close()


@pytest.mark.parametrize("frame_exact", [False, True])
def test_virtual_input_receives_from_a_program_that_connects(jack_server, midi_sender, frame_exact):
    inp = open_input(
        "quanta-virt-in", api="jack", virtual=True, client_name="QVI", frame_exact=frame_exact
    )
    got = []
    inp.set_callback(lambda data, when: got.append((data, when)))
    try:
        assert isinstance(inp, MidiSource)
        assert isinstance(inp, JackMidiInput if frame_exact else RtMidiInput)
        assert "QVI:quanta-virt-in" in [p.name for p in list_ports("jack")[1]]
        midi_sender.connect_to("QVI:quanta-virt-in")
        before = clock.now()
        for k in range(10):
            midi_sender.send_now(bytes((0x90, 50 + k, 64)))
        assert _wait(lambda: len(got) == 10)
        assert [d for d, _ in got] == [bytes((0x90, 50 + k, 64)) for k in range(10)]
        # arrival times are on the engine clock, around when they were sent
        assert all(before - 0.05 < when < clock.now() for _, when in got)
    finally:
        inp.close()


def test_rtmidi_input_by_name_gets_sysex_too(jack_server, midi_sender):
    inp = open_input(midi_sender.port_name, api="jack", frame_exact=False)
    got = []
    inp.set_callback(lambda data, when: got.append(data))
    try:
        midi_sender.send_now(b"\xf0\x7e\x7f\x06\x01\xf7")
        midi_sender.send_now(b"\xb0\x40\x7f")
        assert _wait(lambda: len(got) == 2)
        assert got == [b"\xf0\x7e\x7f\x06\x01\xf7", b"\xb0\x40\x7f"]
    finally:
        inp.close()


# --- precision of the rtmidi path ------------------------------------------------------------
def test_rtmidi_jack_output_lands_within_one_period(midi_recorder):
    out = open_output(midi_recorder.port_name, api="jack", frame_exact=False)
    jclock = JackClock(midi_recorder.client)
    try:
        sent_frames = []
        for k in range(60):
            time.sleep(0.0037)
            t = clock.now()
            out.send_at(t, bytes((0x90, 40 + k % 40, 1 + k)))
            sent_frames.append(jclock.engine_to_frame(t))
        events = midi_recorder.wait_for(60)
        assert len(events) == 60
        period = midi_recorder.period
        errors = [f - s for (f, _), s in zip(events, sent_frames, strict=True)]
        assert all(f % period == 0 for f, _ in events)  # rtmidi: always offset 0
        assert max(errors) <= period + 2 and min(errors) > -period
    finally:
        out.close()


# --- sounding notes and panic ----------------------------------------------------------------
def test_sounding_notes_close_exactly_what_is_open():
    notes = SoundingNotes()
    for data in (b"\x90\x3c\x64", b"\x90\x3c\x64", b"\x91\x40\x64", b"\x90\x3e\x64"):
        notes.track(data)
    notes.track(b"\x80\x3c\x00")  # one of the two C4s
    notes.track(b"\x90\x3e\x00")  # velocity 0 = note-off
    notes.track(b"\x80\x30\x00")  # never on: ignored
    assert notes.sounding() == [(0, 0x3C), (1, 0x40)]
    msgs = notes.panic_messages()
    assert msgs[:2] == [b"\x80\x3c\x00", b"\x81\x40\x00"]
    assert msgs[2:] == [bytes((0xB0 | ch, cc, 0)) for ch in range(16) for cc in (123, 120)]
    assert notes.sounding() == []


def test_rtmidi_panic_reaches_the_port(midi_recorder):
    out = open_output(midi_recorder.port_name, api="jack", frame_exact=False)
    try:
        out.send_at(0, b"\x92\x30\x60")
        out.panic()
        events = midi_recorder.wait_for(1 + 1 + 32)
        assert [d for _, d in events[:2]] == [b"\x92\x30\x60", b"\x82\x30\x00"]
        assert len(events) == 34
    finally:
        out.close()


# --- quanta ports ----------------------------------------------------------------------------
def test_cli_lists_chosen_api_and_ports(midi_recorder, capsys, monkeypatch):
    monkeypatch.delenv("QUANTA_MIDI_API", raising=False)
    assert quanta(["ports"]) == 0
    out = capsys.readouterr().out
    assert "MIDI API: JACK (a JACK server is running)" in out
    assert midi_recorder.port_name in out


def test_cli_json_all_apis(midi_recorder, midi_sender, capsys):
    assert quanta(["ports", "--api", "all", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["chosen"]["api"] == "jack"
    by_api = {e["api"]: e for e in data["apis"]}
    assert set(by_api) == set(compiled_apis())
    jack_entry = by_api["jack"]
    assert jack_entry["available"] is True
    assert {"index": 0, "name": midi_sender.port_name} in jack_entry["inputs"] or any(
        p["name"] == midi_sender.port_name for p in jack_entry["inputs"]
    )
    assert any(p["name"] == midi_recorder.port_name for p in jack_entry["outputs"])
    if NO_ALSA_SEQ and "alsa" in by_api:
        assert by_api["alsa"]["available"] is False
        assert "/dev/snd/seq" in by_api["alsa"]["problem"]


@pytest.mark.skipif(not NO_ALSA_SEQ, reason="this machine has an ALSA sequencer")
def test_cli_unusable_api_exits_2_with_one_line(capsys):
    assert quanta(["ports", "--api", "alsa"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("quanta: error: MIDI API ALSA")


def test_cli_no_api_works_exits_2(capsys, monkeypatch):
    monkeypatch.setenv("JACK_DEFAULT_SERVER", "qt-nosuchserver")
    monkeypatch.delenv("QUANTA_MIDI_API", raising=False)
    if not NO_ALSA_SEQ:
        pytest.skip("ALSA works here")
    assert quanta(["ports"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no MIDI system works" in err


def test_cli_subprocess_runs_without_traceback(jack_server):
    r = procs.run(
        [".venv/bin/python", "-m", "app.cli", "ports", "--json"],
        capture_output=True,
        text=True,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["chosen"]["api"] == "jack"
