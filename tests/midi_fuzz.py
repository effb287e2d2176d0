"""Hostile MIDI files and the judge of what Quanta does with them, shared by the fuzz tests
(tests/test_midifile_fuzz.py, a bounded number of cases) and the long run
(bench/fuzz_midi.py, N cases).

- :func:`hostile_file` builds structured hostile files from a ``random.Random``: tempo 0
  and other odd tempos and signatures, gaps of 2^28 - 1 ticks (thousands of them), huge
  declared chunk and event lengths, 5-byte numbers, truncated chunks, header counts that
  disagree with the chunks, missing or data-carrying end-of-track, RMID wrappers, SMPTE
  divisions (valid and not), stray bytes, many tracks.
- :func:`mutated_file` damages valid files byte by byte and chunk by chunk.
- :func:`judge` reads a file the way the app does and returns ``"accepted"`` or
  ``"reject"``; anything else raises :class:`Fault`: an exception that is not Quanta's
  one-line error, a message that is not one line naming the file, a file that cannot be
  saved, or a saved file that does not read back the same.
- :class:`Worker` runs :func:`judge` in a child process whose address space may grow by
  at most :data:`MEMORY_LIMIT` over its start, so a case that would eat memory is reported
  as ``"over 1 GB"`` instead of taking the test run down. A case where reading and saving
  took over :data:`CASE_SECONDS` is a ``"hang"``, and so is one the child does not answer
  within :data:`HARD_SECONDS` (it is killed); a child that dies is a ``"crash"``.
"""

from __future__ import annotations

import json
import os
import random
import select
import signal
import struct
import subprocess
import sys
from pathlib import Path

from tests import procs
from tests.midi_corpus import meta, vlq

ROOT = Path(__file__).resolve().parents[1]

MEMORY_LIMIT = 1 << 30  #: address space a case may add (1 GiB)
CASE_SECONDS = 10.0  #: longest Quanta may take to read and save a case
HARD_SECONDS = 60.0  #: longest a case may take with the harness's own checks
OUTCOMES = ("accepted", "reject", "crash", "hang", "over 1 GB")

GAP = (1 << 28) - 1  # the longest delta one variable-length number holds


class Fault(AssertionError):
    """Quanta did something with a file that it must never do."""


# -- the judge ----------------------------------------------------------------------------------


def _same_song(a, b) -> str:
    """Empty when two songs hold the same music and file extras, else what differs."""
    if (a.ppq, a.format, a.smpte, a.file_extras) != (b.ppq, b.format, b.smpte, b.file_extras):
        return "header, timing or file extras"
    if len(a.tracks) != len(b.tracks):
        return f"{len(a.tracks)} tracks became {len(b.tracks)}"
    for number, (x, y) in enumerate(zip(a.tracks, b.tracks, strict=True), start=1):
        same = (
            x.notes.tobytes() == y.notes.tobytes()
            and x.events.tobytes() == y.events.tobytes()
            and x.payload.tobytes() == y.payload.tobytes()
            and (x.end_tick, x.smf_tail, x.smf_end) == (y.end_tick, y.smf_tail, y.smf_end)
        )
        if not same:
            return f"track {number}"
    return ""


def judge(data: bytes, name: str = "fuzz.mid") -> str:
    """``"accepted"`` (read, saved, read back equal) or ``"reject"`` (one clean line)."""
    return timed_judge(data, name)[0]


def timed_judge(data: bytes, name: str = "fuzz.mid") -> tuple[str, float]:
    """:func:`judge`, and the seconds Quanta itself spent: reading, and saving what it read
    (the checks after that are the harness's own work)."""
    from time import perf_counter

    from engine.errors import QuantaError
    from engine.smf.midifile import load_song_bytes, song_to_bytes

    t0 = perf_counter()
    try:
        song = load_song_bytes(data, name=name)
    except QuantaError as exc:
        text = str(exc)
        if "\n" in text or not text.startswith(f"{name}: "):
            raise Fault(f"error is not one line naming the file: {text!r}") from None
        return "reject", perf_counter() - t0
    except MemoryError:
        raise
    except Exception as exc:
        raise Fault(f"read raised {type(exc).__name__}: {exc}") from exc
    try:
        out = song_to_bytes(song)
    except QuantaError as exc:
        raise Fault(f"accepted but cannot be saved: {exc}") from None
    except MemoryError:
        raise
    except Exception as exc:
        raise Fault(f"save raised {type(exc).__name__}: {exc}") from exc
    seconds = perf_counter() - t0
    try:
        back = load_song_bytes(out, name="resaved.mid")
    except QuantaError as exc:
        raise Fault(f"Quanta refuses the file it saved: {exc}") from None
    diff = _same_song(song, back)
    if diff:
        raise Fault(f"the saved file reads back different ({diff})")
    if song_to_bytes(back) != out:
        raise Fault("saving the read-back song gives other bytes")
    return "accepted", seconds


# -- building blocks ----------------------------------------------------------------------------


def _chunk(cid: bytes, body: bytes, length: int | None = None) -> bytes:
    return cid + (len(body) if length is None else length).to_bytes(4, "big") + body


def _delta(rng: random.Random) -> int:
    return rng.choice((0, 0, 0, 1, 1, 2, 5, 30, 96, 480, 200_000, 1 << 21, GAP - 1, GAP))


def _event(rng: random.Random, damage: bool = False) -> bytes:
    """One event; with ``damage`` one that breaks the track (or, rarely, does not)."""
    ch = rng.randrange(3)
    pitch = rng.choice((60, 61, 127, 0))
    pick = rng.randrange(17, 21) if damage else rng.choice((*range(17), *range(21, 30)))
    if pick < 8:
        return bytes((0x90 | ch, pitch, rng.choice((0, 1, 64, 127))))
    if pick < 12:
        return bytes((0x80 | ch, pitch, rng.randrange(128)))
    if pick == 12:
        usec = rng.choice((0, 0, 1, 2, 500_000, 0xFFFFFF))
        size = rng.choice((3, 3, 3, 0, 2, 4))
        return meta(0x51, usec.to_bytes(3, "big")[:size].ljust(size, b"\x00"))
    if pick == 13:
        num, den = rng.choice((0, 1, 4, 255)), rng.choice((0, 2, 3, 7, 8, 31, 255))
        return meta(0x58, bytes((num, den, 24, 8))[: rng.choice((4, 4, 2, 1, 0))])
    if pick == 14:
        return meta(rng.choice((0x01, 0x03, 0x05, 0x06, 0x7F, 0x20, 0x54, 0x59)), rng.randbytes(rng.randrange(6)))
    if pick == 15:
        return b"\xf0" + vlq(3) + b"\x7e\x7f\xf7"
    if pick == 16:
        return b"\xf7" + vlq(2) + b"\x01\x02"
    if pick == 17:  # a declared length far beyond the chunk
        return b"\xff\x01" + rng.choice((vlq(GAP), b"\xff\xff\xff\xff\x7f", vlq(1 << 20))) + b"ab"
    if pick == 18:  # a 5-byte number
        return b"\xff\x01\x80\x80\x80\x80\x00"
    if pick == 19:
        return bytes((rng.randrange(0xF1, 0xFF),))  # a status that cannot appear in a file
    if pick == 20:
        return bytes((rng.randrange(128),))  # a data byte: running status, or none
    if pick == 21:
        return bytes((0xC0 | ch, rng.randrange(128)))
    if pick == 22:
        return bytes((0xE0 | ch, rng.randrange(128), rng.randrange(128)))
    if pick == 23:
        return bytes((0xB0 | ch, rng.randrange(128), rng.choice((0, 127))))
    if pick == 24:
        return meta(0x2F, b"")  # an end-of-track in the middle
    return bytes((0x90 | ch, pitch, 64))


def _track(rng: random.Random) -> bytes:
    body = bytearray()
    if rng.random() < 0.15:  # long silences: many maximal gaps
        for k in range(rng.choice((10, 100, 3000))):
            body += vlq(GAP) + (b"\x90\x3c\x40" if k % 2 == 0 else b"\x80\x3c\x00")
    for _ in range(rng.choice((0, 1, 2, 5, 20, 60))):
        body += vlq(_delta(rng)) + _event(rng)
    if rng.random() < 0.2:
        at = rng.randrange(len(body) + 1)
        body[at:at] = vlq(_delta(rng)) + _event(rng, damage=True)
    ending = rng.randrange(10)
    if ending < 6:
        body += vlq(_delta(rng)) + b"\xff\x2f\x00"
    elif ending == 6:
        body += vlq(_delta(rng)) + b"\xff\x2f" + vlq(3) + b"end"
    elif ending == 7:
        body += b"\x00\xff\x2f\x00" + rng.randbytes(rng.randrange(1, 6))  # bytes after the end
    # 8, 9: no end-of-track at all
    length = None
    if rng.random() < 0.1:
        length = rng.choice((len(body) + 1, len(body) + 1000, max(0, len(body) - 1), 0xFFFFFFFF))
    return _chunk(b"MTrk", bytes(body), length)


def _division(rng: random.Random) -> int:
    if rng.random() < 0.15:
        return rng.choice((0xE728, 0xE350, 0xE804, 0xE201, 0xE3FF, 0xE501, 0x8000, 0xFF01))
    return rng.choice((1, 1, 2, 3, 24, 96, 480, 960, 0x7FFF, 1, 96, 0))


def hostile_file(rng: random.Random, many_tracks: bool = True) -> bytes:
    """A structured hostile file (see the module doc). ``many_tracks`` allows the rare case of
    65,534–65,536 track chunks (about 5 s a case: kept for the long run)."""
    fmt = rng.choice((0, 1, 1, 1, 2, 0, 1, 2, 1, 3))
    if many_tracks and rng.random() < 0.01:
        count = rng.choice((0xFFFE, 0xFFFF, 0x10000))
        tracks = [_chunk(b"MTrk", b"\x00\xff\x2f\x00")] * count
    else:
        tracks = [_track(rng) for _ in range(rng.choice((0, 1, 1, 2, 3, 5)))]
    declared = len(tracks) + rng.choice((0, 0, 0, 0, -1, 1, -3))
    if rng.random() < 0.03:
        declared = 0xFFFF
    declared = min(max(declared, 0), 0xFFFF)
    body = struct.pack(">HHH", fmt, declared, _division(rng))
    header_length = None
    if rng.random() < 0.1:
        body += rng.randbytes(rng.randrange(1, 5))  # a longer header
    if rng.random() < 0.02:
        header_length = rng.choice((0, 5, 0xFFFFFFFF))
    parts = [_chunk(b"MThd", body, header_length)]
    for tr in tracks:
        if rng.random() < 0.05:
            parts.append(_chunk(rng.choice((b"XFIH", b"abcd", b"MThd")), rng.randbytes(4)))
        parts.append(tr)
    if rng.random() < 0.1:
        parts.append(rng.choice((b"\x00" * 3, b"junk" * 5, b"XFKM\x00\x00\x01\x00ab")))
    data = b"".join(parts)
    if rng.random() < 0.05:
        data = data[: rng.randrange(len(data) + 1)]
    if rng.random() < 0.1:
        data = _rmid(rng, data)
    return data


def _rmid(rng: random.Random, smf: bytes) -> bytes:
    size = len(smf) if rng.random() < 0.9 else rng.choice((0, len(smf) + 10, 0xFFFFFFFF))
    body = b"RMID" + b"data" + size.to_bytes(4, "little") + smf + b"\x00" * (len(smf) % 2)
    if rng.random() < 0.3:
        body += b"LIST\x04\x00\x00\x00INFO"
    riff_size = len(body) if rng.random() < 0.9 else 0xFFFFFFFF
    return b"RIFF" + riff_size.to_bytes(4, "little") + body


_SEEDS: list[bytes] = []


def seeds() -> list[bytes]:
    """Valid files to damage: mido-written ones with every kind of event, raw ones without
    running status, and a few accepted hostile files."""
    if not _SEEDS:
        from tests import midi_corpus as mc

        _SEEDS.extend(
            (
                mc.every_kind_mido(480, 1),
                mc.every_kind_mido(96, 0),
                mc.no_running_status_raw(96),
                mc.fifo_overlap_mido(),
            )
        )
        rng = random.Random(14)
        while len(_SEEDS) < 12:
            data = hostile_file(rng, many_tracks=False)
            try:
                if judge(data) == "accepted":
                    _SEEDS.append(data)
            except Fault:
                pass
    return _SEEDS


_INTERESTING = (0x00, 0x01, 0x7F, 0x80, 0x81, 0xFF, 0x2F, 0x51, 0xF0, 0xF7, 0x90, 0xC0)


def mutated_file(rng: random.Random) -> bytes:
    """A valid file damaged by one to eight byte- and chunk-level mutations (its first four
    bytes, which only decide "a MIDI file or not", are left alone)."""
    data = bytearray(rng.choice(seeds()))
    for _ in range(rng.choice((1, 1, 2, 3, 8))):
        op = rng.randrange(7) if rng.random() < 0.2 else rng.randrange(6)
        pos = rng.randrange(min(4, len(data)), len(data) + 1)
        if op == 0 and data:
            data[min(pos, len(data) - 1)] ^= 1 << rng.randrange(8)
        elif op == 1 and data:
            data[min(pos, len(data) - 1)] = rng.choice(_INTERESTING)
        elif op == 2:
            data[pos:pos] = rng.randbytes(rng.randrange(1, 5))
        elif op == 3:
            del data[pos : pos + rng.randrange(1, 9)]
        elif op == 4:
            size = rng.randrange(1, 40)
            data[pos:pos] = data[pos : pos + size]
        elif op == 5:  # rewrite the length of a chunk
            starts = [i for i in range(len(data) - 8) if data[i : i + 4] in (b"MTrk", b"MThd")]
            if starts:
                at = rng.choice(starts) + 4
                old = int.from_bytes(data[at : at + 4], "big")
                new = rng.choice((0, 1, min(old + 1, 0xFFFFFFFF), max(old - 1, 0), 0xFFFFFFFF))
                data[at : at + 4] = new.to_bytes(4, "big")
        else:
            data = data[:pos]
    return bytes(data)


# -- the child process ----------------------------------------------------------------------------


def _address_space() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


SELFTEST_ENV = "QUANTA_MIDI_FUZZ_SELFTEST"


def _misbehave(data: bytes) -> None:
    """With :data:`SELFTEST_ENV` set, the child can be told to misbehave, so the tests can
    check that the harness reports each kind of failure."""
    if data == b"selftest: hog":
        hog = bytearray(MEMORY_LIMIT + (256 << 20))
        hog[-1] = 1
    elif data == b"selftest: hang":
        import time

        time.sleep(3600)
    elif data == b"selftest: die":
        os.abort()
    elif data == b"selftest: raise":
        raise KeyError("boom")


def _serve() -> None:
    """Child: judge each length-prefixed file from stdin, answer one JSON line each."""
    import resource

    from engine.smf.midifile import warm_up

    warm_up()
    judge(seeds()[0])  # everything compiled and imported before the limit
    limit = _address_space() + MEMORY_LIMIT
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    inp, out = sys.stdin.buffer, sys.stdout
    out.write("ready\n")
    out.flush()
    while True:
        head = inp.read(4)
        if len(head) < 4:
            return
        data = inp.read(int.from_bytes(head, "big"))
        try:
            if os.environ.get(SELFTEST_ENV):
                _misbehave(data)
            outcome, seconds = timed_judge(data)
            reply = {"outcome": outcome}
            if seconds > CASE_SECONDS:
                reply = {"outcome": "hang", "detail": f"reading and saving took {seconds:.1f} s"}
        except MemoryError:
            reply = {"outcome": "over 1 GB"}
        except Fault as exc:
            reply = {"outcome": "crash", "detail": str(exc)}
        except BaseException as exc:  # noqa: BLE001 - everything else is a crash too
            reply = {"outcome": "crash", "detail": f"{type(exc).__name__}: {exc}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()


class Worker:
    """A child process judging files under a memory limit, restarted after a crash or hang."""

    def __init__(self, timeout: float = HARD_SECONDS):
        self.timeout = timeout
        self.proc: subprocess.Popen | None = None

    def _start(self) -> None:
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        # kept: one worker serves a whole test module (or a long bench run); close() ends it
        self.proc = procs.spawn(
            [sys.executable, "-m", "tests.midi_fuzz"],
            keep=True,
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        line = self._line(120.0)  # imports and numba cache loading, on a loaded machine
        if line != b"ready\n":
            self.close()
            raise RuntimeError(f"fuzz worker did not start ({line!r})")

    def _line(self, timeout: float) -> bytes | None:
        assert self.proc is not None and self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            return None
        return self.proc.stdout.readline()

    def run(self, data: bytes) -> tuple[str, str]:
        """``(outcome, detail)`` for one file (outcome is one of :data:`OUTCOMES`)."""
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        assert self.proc is not None and self.proc.stdin is not None
        try:
            self.proc.stdin.write(len(data).to_bytes(4, "big") + data)
            self.proc.stdin.flush()
        except BrokenPipeError:
            return self._died()
        line = self._line(self.timeout)
        if line is None:
            self.close()
            return "hang", f"no answer in {self.timeout:g} s"
        if not line:
            return self._died()
        reply = json.loads(line)
        return reply["outcome"], reply.get("detail", "")

    def _died(self) -> tuple[str, str]:
        assert self.proc is not None
        code = self.proc.wait()
        self.proc = None
        what = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit {code}"
        return "crash", f"the reader's process died ({what})"

    def close(self) -> None:
        if self.proc is None:
            return
        procs.kill_group(self.proc)
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()
        self.proc = None


if __name__ == "__main__":
    _serve()
