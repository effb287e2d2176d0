"""The recorder and sender themselves: frames must be exact or every other test is moot."""

from tests.jack_tools import unmatched_notes


def test_sender_lands_on_exact_frames_in_recorder(midi_sender, midi_recorder):
    midi_sender.connect_to(midi_recorder.port_name)
    start = midi_sender.now_frame() + 4 * midi_sender.period
    frames = [start + k * 37 for k in range(40)]
    for k, f in enumerate(frames):
        midi_sender.send_at_frame(f, bytes([0x90 if k % 2 == 0 else 0x80, 60 + k // 2, 100]))
    events = midi_recorder.wait_for(40)
    assert [f for f, _ in events] == frames
    assert midi_sender.late == 0
    assert unmatched_notes(midi_recorder.notes()) == []


def test_unmatched_notes_reports_open_note():
    notes = [(0, 0x90, 60, 100), (10, 0x90, 62, 100), (20, 0x80, 60, 0)]
    assert unmatched_notes(notes) == [(10, 62)]
