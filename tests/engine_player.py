"""Plays a test song through the engine in its own process, for JACK tests and benchmarks.

Why a separate process: the JACK recorder in the test process runs a Python process callback
that needs the GIL; a busy thread next to it would make the *recorder* drop events. Here the
busy thread competes with the engine only, which is what the tests and benchmarks measure.

Protocol: prints ``READY <port>`` once its output port exists, waits for a line on stdin
(the test connects the port meanwhile), plays, then prints one JSON line with the engine's
lateness statistics and exits. With ``--sink jack`` the line also holds every event's
scheduled frame (``scheduled``: [frame, hex bytes] in hand-over order) and the port's count
of events that went out late (``late``).

    python -m tests.engine_player --sink rtmidi|jack [--busy] [--notes N] [--bpm BPM]
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time

import numpy as np

from engine.build import add_track, new_song
from engine.model.notes import make_notes
from engine.quantize.settings import QuantizeSettings

PPQ = 480


def humanized_line(n: int, bpm: float, seed: int = 3):
    """A humanized 1/16 line with playback quantize 1/16: every note should land on the grid."""
    rng = np.random.default_rng(seed)
    grid = np.arange(n, dtype=np.int64) * 120
    starts = np.maximum(0, grid + rng.integers(-40, 41, n))
    song = new_song(ppq=PPQ, bpm=bpm)
    track = add_track(song, make_notes(starts, starts + 80, 36 + (np.arange(n) * 5) % 60))
    track.quantize = QuantizeSettings(division=16)
    return song, grid, track


def busy(stop: threading.Event) -> None:
    a = np.random.default_rng(1).random(200_000)
    while not stop.is_set():
        sum(i * i for i in range(20_000))
        np.sort(a)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sink", choices=["rtmidi", "jack"], default="rtmidi")
    ap.add_argument("--busy", action="store_true")
    ap.add_argument("--notes", type=int, default=32)
    ap.add_argument("--bpm", type=float, default=240)
    ap.add_argument("--client", default="quanta-player")
    ap.add_argument("--connect", help="connect the output to this JACK port")
    args = ap.parse_args(argv)

    from engine.realtime.transport import Engine

    if args.sink == "rtmidi":
        from tests.test_engine_jack import RtmidiJackOut

        out = RtmidiJackOut(args.client)
        port = out.port_name
        if args.connect:
            from engine.ports.jack_client import Client as JackClient

            helper = JackClient(f"{args.client}-wire")
            helper.connect(port, args.connect)
            helper.close()
    else:
        from engine.ports.jack_midi import JackMidiOutput

        class LoggedJackOut(JackMidiOutput):
            """Keeps the frame each event was queued for: Quanta's own account to check
            the recorded frames against."""

            scheduled: list = []

            def send_at(self, when: float, data: bytes) -> None:
                self.scheduled.append((self.schedule(when, data), bytes(data).hex()))

        out = LoggedJackOut(args.connect, client_name=args.client, port_name="out")
        port = out.name
    song, _grid, _track = humanized_line(args.notes, args.bpm)
    print(f"READY {port}", flush=True)
    sys.stdin.readline()
    time.sleep(0.2)  # let the new connection settle before the first note
    stop = threading.Event()
    worker = threading.Thread(target=busy, args=(stop,), daemon=True)
    engine = Engine().start()
    try:
        engine.set_outputs([out])
        engine.set_song(song)
        if args.busy:
            worker.start()
        engine.play()
        engine.wait_until_stopped(args.notes * 60 / args.bpm + 30)
    finally:
        stop.set()
        engine.shutdown()
    p50, p99, mx, count = engine.lateness_ms()
    time.sleep(0.2)  # let the last period go out before the port closes
    stats = {"p50_ms": p50, "p99_ms": p99, "max_ms": mx, "events": count}
    if args.sink == "jack":
        stats.update(scheduled=out.scheduled, late=out.late, period=out.period)
    out.close()
    print(json.dumps(stats), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
