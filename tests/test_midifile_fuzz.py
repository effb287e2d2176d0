"""Property tests: random valid files round-trip exactly; random bytes only ever give
MidiFileError; whatever the writer makes from random edits is valid MIDI; hostile and
damaged files (tests/midi_fuzz.py) end in one clean line or are saved and read back equal,
each within 10 s and 1 GB in a child process (the long run is bench/fuzz_midi.py)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.model.notes import EVENT_DTYPE, NOTE_DTYPE
from engine.model.song import Song, Track
from engine.smf.midifile import load_song_bytes, song_to_bytes
from tests import midi_corpus as mc
from tests.midi_fuzz import SELFTEST_ENV, Worker, hostile_file, judge, mutated_file

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

data7 = st.integers(0, 127)
channel = st.integers(0, 2)
pitch = st.integers(60, 62)  # few keys: lots of overlaps, re-strikes and same-tick pairs


def _channel_msg():
    return st.one_of(
        st.builds(lambda c, p, v: bytes((0x90 | c, p, v)), channel, pitch, data7),
        st.builds(lambda c, p, v: bytes((0x90 | c, p, v)), channel, pitch, st.just(0)),
        st.builds(lambda c, p, v: bytes((0x80 | c, p, v)), channel, pitch, data7),
        st.builds(lambda c, a, b: bytes((0xB0 | c, a, b)), channel, data7, data7),
        st.builds(lambda c, a: bytes((0xC0 | c, a)), channel, data7),
        st.builds(lambda c, a: bytes((0xD0 | c, a)), channel, data7),
        st.builds(lambda c, a, b: bytes((0xA0 | c, a, b)), channel, data7, data7),
        st.builds(lambda c, a, b: bytes((0xE0 | c, a, b)), channel, data7, data7),
    )


def _other_event():
    # Not unknown meta types: mido 1.3 reads those with delta 0, whatever the file says.
    text_type = st.sampled_from([0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x7F])
    return st.one_of(
        st.builds(mc.meta, text_type, st.binary(max_size=20)),
        st.builds(lambda d: mc.sysex(bytes(d) + b"\xf7"), st.lists(data7, max_size=10)),
    )


# ... up to the longest delta a file can hold (2^28 - 1), which must save back as it was
delta = st.one_of(
    st.integers(0, 3), st.integers(0, 500), st.integers(0, 1 << 21), st.just((1 << 28) - 1)
)
event = st.tuples(delta, st.one_of(_channel_msg(), _channel_msg(), _other_event()))
track_events = st.lists(event, max_size=40)


@st.composite
def valid_files(draw) -> bytes:
    fmt = draw(st.sampled_from([0, 1, 2]))
    n_tracks = 1 if fmt == 0 else draw(st.integers(1, 3))
    running = draw(st.booleans())
    tracks = [
        mc.raw_track(draw(track_events), running, end_delta=draw(st.integers(0, 1000)))
        for _ in range(n_tracks)
    ]
    return mc.raw_smf(fmt, draw(st.sampled_from([24, 96, 480, 960, 32767])), tracks)


@FUZZ
@given(valid_files())
def test_random_valid_files_round_trip_exactly(data):
    song = load_song_bytes(data)
    for tr in song.tracks:
        assert np.all(tr.notes["end"] > tr.notes["start"])
    assert song_to_bytes(song) == data
    assert mc.song_view(song) == mc.mido_view(data)


foreign_chunk = st.builds(
    lambda cid, body: cid + len(body).to_bytes(4, "big") + body,
    st.sampled_from([b"XFIH", b"XFKM", b"MThd", b"abcd", b"    "]),
    st.binary(max_size=12),
)


def _split_chunks(data: bytes) -> list[bytes]:
    out, pos = [], 0
    while pos < len(data):
        size = int.from_bytes(data[pos + 4 : pos + 8], "big")
        out.append(data[pos : pos + 8 + size])
        pos += 8 + size
    return out


@st.composite
def dressed_files(draw) -> tuple[bytes, bytes]:
    """``(file, plain)``: a valid file with foreign chunks between any chunks, maybe a longer
    header, bytes after end-of-track in its tracks, trailing bytes, an SMPTE division and an
    RMID envelope; and the same music plain."""
    plain = draw(valid_files())
    header, *tracks = _split_chunks(plain)
    if draw(st.booleans()):
        smpte = draw(st.sampled_from([0xE728, 0xE350, 0xE804, 0xE201]))
        header = header[:12] + smpte.to_bytes(2, "big")
    tail = draw(st.binary(max_size=3))
    long_header = b"MThd" + (6 + len(tail)).to_bytes(4, "big") + header[8:] + tail
    parts = [long_header]
    for tr in tracks:
        tail = draw(st.sampled_from([b"", b"\x00", b"\x00\xff\x2f\x00", b"\x90junk"]))
        tr = b"MTrk" + (len(tr) - 8 + len(tail)).to_bytes(4, "big") + tr[8:] + tail
        parts += draw(st.lists(foreign_chunk, max_size=2)) + [tr]
    parts += draw(st.lists(foreign_chunk, max_size=2))
    parts.append(draw(st.sampled_from([b"", bytes(3), b"\x1a" * 7, b"\xff" * 20])))
    data = b"".join(parts)
    if draw(st.booleans()):
        body = b"RMID" + b"data" + len(data).to_bytes(4, "little") + data
        body += b"\x00" * (len(data) % 2) + draw(
            st.sampled_from([b"", b"LIST\x04\x00\x00\x00INFO"])
        )
        data = b"RIFF" + len(body).to_bytes(4, "little") + body
    return data, plain


@FUZZ
@given(dressed_files())
def test_files_with_chunks_stray_bytes_smpte_and_rmid_round_trip_exactly(files):
    data, plain = files
    song = load_song_bytes(data)
    assert song_to_bytes(song) == data
    assert mc.song_view(song) == mc.song_view(load_song_bytes(plain))


@FUZZ
@given(st.binary(max_size=60), st.sampled_from([b"RMID", b"WAVE", b"RMI"]), st.binary(max_size=300))
def test_random_riff_files_only_raise_midifile_error(riff_body, form, midi):
    body = form + riff_body + b"data" + len(midi).to_bytes(4, "little") + midi
    _assert_only_midifile_error(b"RIFF" + len(body).to_bytes(4, "little") + body)


def _assert_only_midifile_error(data: bytes) -> None:
    """One clean line, or: saved, read back equal, saved again to the same bytes."""
    assert judge(data, name="fuzz.mid") in ("accepted", "reject")


@FUZZ
@given(st.binary(max_size=400))
def test_random_bytes_only_raise_midifile_error(data):
    _assert_only_midifile_error(data)


@FUZZ
@given(st.binary(max_size=300), st.integers(0, 3), st.sampled_from([b"MTrk", b"XXXX", b""]))
def test_random_track_bodies_only_raise_midifile_error(body, ntrks, chunk_id):
    header = b"MThd\x00\x00\x00\x06\x00\x01" + ntrks.to_bytes(2, "big") + b"\x01\xe0"
    length = len(body) + (0 if chunk_id != b"XXXX" else 3)
    _assert_only_midifile_error(header + chunk_id + length.to_bytes(4, "big") + body)


SEEDS = [mc.every_kind_mido(480, 1), mc.no_running_status_raw(96), mc.fifo_overlap_mido()]


@FUZZ
@given(
    st.sampled_from(range(len(SEEDS))),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=6),
    st.one_of(st.none(), st.integers(0, 10_000)),
)
def test_mutated_files_only_raise_midifile_error(seed, changes, cut):
    data = bytearray(SEEDS[seed])
    for pos, value in changes:
        data[pos % len(data)] = value
    if cut is not None:
        data = data[: cut % (len(data) + 1)]
    _assert_only_midifile_error(bytes(data))


@st.composite
def edited_tracks(draw) -> Track:
    n = draw(st.integers(0, 30))
    notes = np.zeros(n, dtype=NOTE_DTYPE)
    notes["start"] = draw(st.lists(st.integers(-50, 2000), min_size=n, max_size=n))
    notes["end"] = notes["start"] + draw(st.lists(st.integers(-5, 300), min_size=n, max_size=n))
    notes["pitch"] = draw(st.lists(st.integers(0, 255), min_size=n, max_size=n))
    notes["velocity"] = draw(st.lists(st.integers(0, 255), min_size=n, max_size=n))
    notes["off_velocity"] = draw(st.lists(st.integers(0, 255), min_size=n, max_size=n))
    notes["channel"] = draw(st.lists(st.integers(0, 20), min_size=n, max_size=n))
    notes["flags"] = draw(st.lists(st.integers(0, 15), min_size=n, max_size=n))
    notes["on_seq"] = draw(st.lists(st.integers(-1, 80), min_size=n, max_size=n))
    notes["off_seq"] = draw(st.lists(st.integers(-1, 80), min_size=n, max_size=n))
    m = draw(st.integers(0, 10))
    events = np.zeros(m, dtype=EVENT_DTYPE)
    events["tick"] = draw(st.lists(st.integers(-10, 2000), min_size=m, max_size=m))
    events["seq"] = draw(st.lists(st.integers(-1, 80), min_size=m, max_size=m))
    events["status"] = draw(
        st.lists(st.sampled_from([0xB0, 0xC3, 0xE1, 0xD0, 0xA2, 0xFF]), min_size=m, max_size=m)
    )
    events["data1"] = draw(st.lists(st.integers(0, 255), min_size=m, max_size=m))
    events["data2"] = draw(st.lists(st.integers(0, 255), min_size=m, max_size=m))
    events["flags"] = draw(st.lists(st.integers(0, 1), min_size=m, max_size=m))
    payload = np.frombuffer(draw(st.binary(min_size=8, max_size=8)), dtype=np.uint8).copy()
    events["offset"] = draw(st.lists(st.integers(0, 4), min_size=m, max_size=m))
    events["length"] = draw(st.lists(st.integers(0, 4), min_size=m, max_size=m))
    events["data1"] = np.where(events["status"] == 0xFF, events["data1"] & 0x7F, events["data1"])
    events["data1"] = np.where(events["data1"] == 0x2F, 0x01, events["data1"])
    return Track(notes=notes, events=events, payload=payload, end_tick=draw(st.integers(0, 3000)))


@FUZZ
@given(st.lists(edited_tracks(), min_size=1, max_size=3))
def test_any_edited_model_saves_as_valid_midi(tracks):
    song = Song(ppq=480, format=1, tracks=tracks)
    data = song_to_bytes(song)
    back = load_song_bytes(data)  # strict enough: raises on anything malformed
    assert song_to_bytes(back) == data
    for before, after in zip(song.tracks, back.tracks, strict=True):
        # Every note comes back as a note-on and (unless flagged) a note-off at sane ticks.
        ons_out = Counter()
        for tick, _, raw in (r for r in _channel_rows(after)):
            if raw[0] & 0xF0 == 0x90 and raw[2] > 0:
                ons_out[(tick, raw[0] & 0x0F, raw[1])] += 1
        ons_in = Counter(
            (max(int(n["start"]), 0), int(n["channel"]) & 0x0F, min(int(n["pitch"]), 127))
            for n in before.notes
        )
        assert ons_out == ons_in


def _channel_rows(track: Track):
    view = mc.song_view(Song(tracks=[track]))[0]
    return [row for row in view if row[1] == "msg"]


def _reference_notes(data: bytes) -> list[list[tuple]]:
    """The documented pairing rule, written plainly over mido's messages."""
    import io
    from collections import deque

    import mido

    out = []
    for tr in mido.MidiFile(file=io.BytesIO(data)).tracks:
        tick, sounding, notes = 0, {}, []
        for msg in tr:
            tick += msg.time
            if msg.type == "end_of_track":
                break
            if msg.type not in ("note_on", "note_off"):
                continue
            key = (msg.channel, msg.note)
            if msg.type == "note_on" and msg.velocity > 0:
                sounding.setdefault(key, deque()).append((tick, msg.velocity, len(notes)))
                notes.append(None)
            elif sounding.get(key):
                start, vel, slot = sounding[key].popleft()
                if start < tick:  # same tick: a zero-length note, left as plain events
                    off_vel = msg.velocity if msg.type == "note_off" else 0
                    notes[slot] = (start, tick, msg.note, vel, off_vel, msg.channel)
        for (ch, pitch), queue in sounding.items():
            for start, vel, slot in queue:
                notes[slot] = (start, max(tick, start + 1), pitch, vel, 0, ch)
        out.append([n for n in notes if n is not None])
    return out


@FUZZ
@given(valid_files())
def test_pairing_follows_the_documented_fifo_rule(data):
    song = load_song_bytes(data)
    expected = _reference_notes(data)
    assert [mc.note_table(song, i) for i in range(len(song.tracks))] == expected


# -- hostile and damaged files in a bounded child process (tests/midi_fuzz.py) -----------------

BOUNDED = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def worker():
    w = Worker()
    yield w
    w.close()


def _bounded(worker: Worker, data: bytes) -> None:
    outcome, detail = worker.run(data)
    assert outcome in ("accepted", "reject"), f"{outcome}: {detail} (file: {data[:200].hex()})"


@BOUNDED
@given(st.randoms(use_true_random=False))
def test_hostile_files_end_cleanly_within_time_and_memory(worker, rng):
    _bounded(worker, hostile_file(rng, many_tracks=False))


@BOUNDED
@given(st.randoms(use_true_random=False))
def test_damaged_files_end_cleanly_within_time_and_memory(worker, rng):
    _bounded(worker, mutated_file(rng))


@pytest.mark.timeout(120)
def test_the_harness_reports_crashes_hangs_and_memory_hogs(monkeypatch):
    """Each kind of failure is seen as such (a harness that cannot fail proves nothing)."""
    monkeypatch.setenv(SELFTEST_ENV, "1")
    w = Worker(timeout=3.0)
    try:
        assert w.run(b"MThd")[0] == "reject"
        assert w.run(b"selftest: hog")[0] == "over 1 GB"
        assert w.run(b"selftest: raise") == ("crash", "KeyError: 'boom'")
        assert w.run(b"selftest: hang")[0] == "hang"
        outcome, detail = w.run(b"selftest: die")
        assert (outcome, detail) == ("crash", "the reader's process died (signal SIGABRT)")
        assert w.run(mc.every_kind_mido(480, 1))[0] == "accepted"
    finally:
        w.close()


@FUZZ
@given(
    st.lists(
        st.tuples(st.integers(0, 1 << 40), st.integers(1, 1 << 30), st.integers(0, 127)),
        min_size=1,
        max_size=12,
    ),
    st.integers(0, 1 << 41),
)
def test_far_apart_edited_notes_save_and_read_back_at_their_ticks(rows, end_tick):
    """Gaps far beyond one MIDI delta (edits, projects) are bridged: every note comes back
    at its exact ticks, the saved file reads back and saves to the same bytes."""
    from engine.model.notes import make_notes, sort_notes

    starts, lengths, pitches = (list(c) for c in zip(*rows, strict=True))
    ends = [s + n for s, n in zip(starts, lengths, strict=True)]
    notes = make_notes(starts, ends, pitches, channels=np.arange(len(rows)) % 16)
    song = Song(ppq=1, format=0, tracks=[Track(notes=notes, end_tick=end_tick)])
    data = song_to_bytes(song)
    back = load_song_bytes(data)
    got = sort_notes(back.tracks[0].notes)
    want = sort_notes(notes)
    assert got["start"].tolist() == want["start"].tolist()
    assert got["pitch"].tolist() == want["pitch"].tolist()
    # FIFO pairing may swap the ends of overlapping notes on one key and channel: compare
    # the multiset of (pitch, channel, end)
    assert _ends(got) == _ends(want)
    assert back.tracks[0].end_tick == max(end_tick, max(ends))
    assert song_to_bytes(back) == data


def _ends(notes: np.ndarray) -> list[tuple[int, int, int]]:
    cols = (notes["pitch"].tolist(), notes["channel"].tolist(), notes["end"].tolist())
    return sorted(zip(*cols, strict=True))
