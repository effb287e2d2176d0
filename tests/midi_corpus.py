"""Test MIDI files: built with mido (an independent writer) or as raw bytes when mido can't.

Raw bytes are needed for what mido never writes: tracks without running status, F7 escape
events, zero-length notes in a chosen order, damaged files. :func:`mido_view` reads any file
back with mido in a form that can be compared with :func:`song_view` of a loaded Song.
"""

from __future__ import annotations

import io

import mido

from engine.model.notes import NOTE_NO_OFF_EVENT, NOTE_OFF_IS_NOTE_ON_V0
from engine.model.song import Song

# -- raw SMF bytes ------------------------------------------------------------------------


def vlq(value: int) -> bytes:
    """Shortest variable-length quantity for ``value``."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def meta(meta_type: int, data: bytes) -> bytes:
    return bytes((0xFF, meta_type)) + vlq(len(data)) + data


def sysex(data: bytes, status: int = 0xF0) -> bytes:
    return bytes((status,)) + vlq(len(data)) + data


def raw_track(events: list[tuple[int, bytes]], running: bool, end_delta: int = 0) -> bytes:
    """An MTrk chunk from ``(delta, event bytes)``; channel messages drop a repeated status
    byte when ``running`` (meta and sysex break running status, as the SMF spec says)."""
    body = bytearray()
    prev = None
    for delta, ev in events:
        body += vlq(delta)
        if ev[0] < 0xF0:
            if running and ev[0] == prev:
                body += ev[1:]
            else:
                body += ev
            prev = ev[0]
        else:
            body += ev
            prev = None
    body += vlq(end_delta) + b"\xff\x2f\x00"
    return b"MTrk" + len(body).to_bytes(4, "big") + bytes(body)


def raw_smf(fmt: int, ppq: int, tracks: list[bytes], ntrks: int | None = None) -> bytes:
    n = len(tracks) if ntrks is None else ntrks
    header = b"MThd" + (6).to_bytes(4, "big") + bytes((0, fmt)) + n.to_bytes(2, "big")
    return header + ppq.to_bytes(2, "big") + b"".join(tracks)


def mido_bytes(mid: mido.MidiFile) -> bytes:
    buf = io.BytesIO()
    mid.save(file=buf)
    return buf.getvalue()


# -- files --------------------------------------------------------------------------------


def every_kind_mido(ppq: int = 480, fmt: int = 1) -> bytes:
    """Every meta kind, sysex, aftertouch, note-off velocities, v0 offs, with running status
    (mido writes it). Type 0 puts everything in one track."""
    mid = mido.MidiFile(type=fmt, ticks_per_beat=ppq)
    conductor = mido.MidiTrack()
    conductor += [
        mido.MetaMessage("sequence_number", number=7),
        mido.MetaMessage("track_name", name="Conductor"),
        mido.MetaMessage("copyright", text="(c) 2026 Quanta"),
        mido.MetaMessage("text", text="some text"),
        mido.MetaMessage("smpte_offset", frame_rate=25, hours=0, minutes=0, seconds=1),
        mido.MetaMessage("time_signature", numerator=6, denominator=8),
        mido.MetaMessage("key_signature", key="Eb"),
        mido.MetaMessage("set_tempo", tempo=600000),
        mido.MetaMessage("marker", text="Verse", time=ppq),
        mido.MetaMessage("cue_marker", text="cue 1", time=ppq // 2),
        mido.MetaMessage("set_tempo", tempo=500000, time=0),
        mido.MetaMessage("sequencer_specific", data=(0x00, 0x21, 0x09, 1, 2)),
        mido.UnknownMetaMessage(type_byte=0x60, data=(9, 8, 7)),
    ]
    music = mido.MidiTrack()
    music += [
        mido.MetaMessage("track_name", name="Keys"),
        mido.MetaMessage("instrument_name", name="EPiano"),
        mido.MetaMessage("channel_prefix", channel=2),
        mido.MetaMessage("midi_port", port=1),
        mido.Message("program_change", channel=2, program=5),
        mido.Message("control_change", channel=2, control=7, value=100),
        mido.Message("sysex", data=(0x7E, 0x7F, 0x09, 0x01)),
        mido.Message("note_on", channel=2, note=60, velocity=90, time=10),
        mido.Message("note_on", channel=2, note=64, velocity=80, time=0),
        mido.MetaMessage("lyrics", text="la", time=0),
        mido.Message("polytouch", channel=2, note=60, value=50, time=5),
        mido.Message("aftertouch", channel=2, value=40, time=5),
        mido.Message("pitchwheel", channel=2, pitch=-8192, time=5),
        mido.Message("pitchwheel", channel=2, pitch=8191, time=0),
        mido.Message("note_off", channel=2, note=60, velocity=64, time=ppq),
        mido.Message("note_on", channel=2, note=64, velocity=0, time=0),
        mido.Message("note_on", channel=3, note=36, velocity=127, time=1),
        mido.Message("note_off", channel=3, note=36, velocity=0, time=ppq * 3),
        mido.Message("control_change", channel=2, control=64, value=0, time=0),
    ]
    if fmt == 0:
        merged = mido.MidiTrack(mido.merge_tracks([conductor, music]))
        mid.tracks.append(merged)
    else:
        mid.tracks += [conductor, music]
    return mido_bytes(mid)


def fifo_overlap_mido() -> bytes:
    """Same pitch struck again while still sounding: on@0, on@100, off@150, off@400;
    plus an off with nothing sounding at 500 and a note left sounding at end of track."""
    mid = mido.MidiFile(type=1, ticks_per_beat=96)
    tr = mido.MidiTrack()
    tr += [
        mido.Message("note_on", note=60, velocity=100, time=0),
        mido.Message("note_on", note=60, velocity=50, time=100),
        mido.Message("note_off", note=60, velocity=10, time=50),
        mido.Message("note_off", note=60, velocity=20, time=250),
        mido.Message("note_off", note=60, velocity=30, time=100),
        mido.Message("note_on", note=72, velocity=70, time=20),
        mido.MetaMessage("end_of_track", time=80),
    ]
    mid.tracks.append(tr)
    return mido_bytes(mid)


def no_running_status_raw(ppq: int = 960) -> bytes:
    """Type 1 without running status, with F7 escapes, zero-length notes and v0 offs."""
    conductor = raw_track(
        [(0, meta(0x51, b"\x07\xa1\x20")), (0, meta(0x58, bytes((3, 2, 24, 8))))], running=False
    )
    events = [
        (0, bytes((0xC1, 10))),
        (0, bytes((0x91, 60, 100))),
        (0, bytes((0x91, 61, 90))),
        (0, bytes((0x81, 61, 0))),  # zero-length note: stays plain events
        (30, sysex(b"\x43\x12\x00\xf7")),
        (0, sysex(b"\x10\x20\xf7", status=0xF7)),  # continuation packet of a split sysex
        (10, bytes((0x91, 60, 0))),
        (0, bytes((0xB1, 1, 64))),
        (5, bytes((0x81, 62, 40))),  # off with nothing sounding
        (0, bytes((0xE1, 0, 64))),
        (0, bytes((0xD1, 30))),
        (0, bytes((0xA1, 60, 20))),
    ]
    return raw_smf(1, ppq, [conductor, raw_track(events, running=False, end_delta=7)])


# -- comparison views ---------------------------------------------------------------------


def _sysex_data(payload: bytes) -> tuple:
    data = payload
    if data[:1] == b"\xf0":
        data = data[1:]
    if data[-1:] == b"\xf7":
        data = data[:-1]
    return ("sysex", bytes(data))


def mido_view(data: bytes) -> list[list[tuple]]:
    """Per track: ``(abs tick, kind, bytes)`` as mido reads the file, end-of-track included."""
    mid = mido.MidiFile(file=io.BytesIO(data))
    out = []
    for tr in mid.tracks:
        tick = 0
        rows = []
        for msg in tr:
            tick += msg.time
            if msg.is_meta:
                raw = bytes(msg.bytes())
                rows.append((tick, "meta", raw[1], _meta_data(raw)))
            elif msg.type == "sysex":
                rows.append((tick, *_sysex_data(bytes(msg.data))))
            else:
                rows.append((tick, "msg", bytes(msg.bytes())))
        out.append(rows)
    return out


def _meta_data(raw: bytes) -> bytes:
    pos = 2
    while raw[pos] & 0x80:
        pos += 1
    return raw[pos + 1 :]


def song_view(song: Song) -> list[list[tuple]]:
    """The same view built from a Song (notes and events merged by ``(tick, seq)``)."""
    out = []
    for tr in song.tracks:
        rows = []
        for ev in tr.events:
            st = int(ev["status"])
            tick, seq = int(ev["tick"]), int(ev["seq"])
            if st == 0xFF:
                payload = tr.payload[int(ev["offset"]) : int(ev["offset"]) + int(ev["length"])]
                rows.append((tick, seq, (tick, "meta", int(ev["data1"]), payload.tobytes())))
            elif st in (0xF0, 0xF7):
                payload = tr.payload[int(ev["offset"]) : int(ev["offset"]) + int(ev["length"])]
                rows.append((tick, seq, (tick, *_sysex_data(payload.tobytes()))))
            else:
                size = 2 if st & 0xF0 in (0xC0, 0xD0) else 3
                msg = bytes((st, int(ev["data1"]), int(ev["data2"])))[:size]
                rows.append((tick, seq, (tick, "msg", msg)))
        for n in tr.notes:
            ch, pitch = int(n["channel"]), int(n["pitch"])
            start, end = int(n["start"]), int(n["end"])
            on = bytes((0x90 | ch, pitch, int(n["velocity"])))
            rows.append((start, int(n["on_seq"]), (start, "msg", on)))
            if not n["flags"] & NOTE_NO_OFF_EVENT:
                if n["flags"] & NOTE_OFF_IS_NOTE_ON_V0:
                    off = bytes((0x90 | ch, pitch, 0))
                else:
                    off = bytes((0x80 | ch, pitch, int(n["off_velocity"])))
                rows.append((end, int(n["off_seq"]), (end, "msg", off)))
        rows.sort(key=lambda r: (r[0], r[1]))
        view = [r[2] for r in rows]
        last = max([r[0] for r in rows], default=0)
        view.append((max(tr.end_tick, last), "meta", 0x2F, b""))
        out.append(view)
    return out


def note_table(song: Song, track: int) -> list[tuple[int, int, int, int, int, int]]:
    """``(start, end, pitch, velocity, off_velocity, channel)`` rows of one track, in order."""
    n = song.tracks[track].notes
    cols = ("start", "end", "pitch", "velocity", "off_velocity", "channel")
    return [tuple(int(v) for v in row) for row in zip(*(n[c] for c in cols), strict=True)]
