"""Engine timing on real JACK ports: scheduled-output lateness and live-thru latency.

    .venv/bin/python bench/bench_engine.py [--quick] [--no-realtime]

1. Scheduled output. ``tests/engine_player.py`` plays a 1/16 line through the engine in its own
   process (optionally next to a busy Python thread); a JACK recorder in this process stores the
   frame of every note-on. Lateness of a note = its recorded frame minus its ideal frame, where
   the ideal line is fitted to the recording (the dummy driver's frame clock is not locked to
   the engine clock) and shifted so the earliest note is 0 (no note can be early). Lost =
   notes sent minus notes recorded. For the rtmidi output (lookahead 0) the floor is one
   period (rtmidi places every event at the start of the next period); the frame-exact JACK
   output (engine.ports.jack_midi, lookahead > 0) should be within a few frames. Goal: p99 within
   one period + 1 ms, zero lost, at 128 and 256-frame periods, idle and busy.
2. Live thru. A JACK sender writes note events at exact frames into a thru process; the recorder
   stores when they come out. Compared: a plain python-rtmidi thru (callback → send) and Quanta's
   engine thru (quantize off) on the same rtmidi JACK ports. Goal: Quanta adds p99 ≤ 1 ms.

Runs jackd with SCHED_FIFO (``--realtime``, needs root/rtprio) unless ``--no-realtime``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import JackServer  # noqa: E402
from tests.jack_tools import JackMidiRecorder, JackMidiSender  # noqa: E402

RATE = 48000


# -- helpers -----------------------------------------------------------------------------------
def stats(values) -> dict:
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        return {"p50": float("nan"), "p99": float("nan"), "max": float("nan")}
    p50, p99 = np.percentile(v, [50, 99])
    return {"p50": float(p50), "p99": float(p99), "max": float(v.max())}


def ms(frames: float) -> float:
    return frames * 1000.0 / RATE


def start_child(args: list[str]) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, *args],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    line = proc.stdout.readline().split(maxsplit=1)
    if not line or line[0] != "READY":
        proc.kill()
        raise RuntimeError(f"child did not start: {line}")
    return proc, line[1].strip()


# -- 1. scheduled output -------------------------------------------------------------------------
def scheduled(server: JackServer, sink: str, busy: bool, notes: int, bpm: float) -> dict:
    from tests.engine_player import humanized_line

    rec = JackMidiRecorder("bench-rec", servername=server.name).start()
    try:
        args = ["-m", "tests.engine_player", "--sink", sink, "--notes", str(notes)]
        args += ["--bpm", str(bpm), "--client", "bench-play"] + (["--busy"] if busy else [])
        proc, port = start_child(args)
        rec.connect_from(port)
        proc.stdin.write("go\n")
        proc.stdin.flush()
        engine_stats = json.loads(proc.stdout.readline())
        proc.wait(60)
        rec.settle(0.2)
        _song, grid, track = humanized_line(notes, bpm)
        ons = [f for f, k, _p, _v in rec.notes() if k == 0x90]
        pitches = [p for _f, k, p, _v in rec.notes() if k == 0x90]
        lost = notes - len(ons)
        want = [int(p) for p in track.notes["pitch"]]
        order_ok = pitches == want
        first_diff = next(
            (i for i, (a, b) in enumerate(zip(pitches, want, strict=False)) if a != b), None
        )
        late = []
        slope = float("nan")
        if order_ok and len(ons) >= 2:
            expected = grid * RATE * 60 / bpm / 480
            got = np.asarray(ons, dtype=np.float64)
            slope = float(np.polyfit(expected, got, 1)[0])
            resid = got - slope * expected
            late = [ms(x) for x in resid - resid.min()]
        return {
            "sink": sink,
            "busy": busy,
            "period": server.period,
            "lost": lost,
            "order_ok": order_ok,
            "first_wrong_note": first_diff,
            "clock_slope": slope,
            "late_ms": stats(late),
            "engine_handover_ms": engine_stats,
        }
    finally:
        rec.close()


# -- 2. live thru ----------------------------------------------------------------------------------
def thru_child(kind: str) -> int:
    """Child process: a thru on rtmidi JACK ports, plain or through Quanta's engine."""
    import rtmidi

    from engine.realtime import clock
    mi = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, name=f"thru-{kind}")
    mo = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name=f"thru-{kind}-out")
    mi.open_virtual_port("in")
    mo.open_virtual_port("out")
    engine = None
    if kind == "plain":
        send = mo.send_message
        mi.set_callback(lambda ev, _d=None: send(ev[0]))
    else:
        from engine.realtime.transport import Engine

        class Out:
            name, lookahead = "thru-out", 0.0

            def send_at(self, when, data):
                send(data)

            def panic(self):
                pass

            def close(self):
                pass

        class In:
            name = "thru-in"
            cb = None

            def set_callback(self, cb):
                In.cb = cb

            def close(self):
                pass

        send = mo.send_message
        src = In()
        engine = Engine().start()
        engine.set_outputs([Out()])
        engine.set_input(src)
        now = clock.now
        mi.set_callback(lambda ev, _d=None: In.cb and In.cb(bytes(ev[0]), now()))
    print(f"READY thru-{kind}:in thru-{kind}-out:out", flush=True)
    sys.stdin.readline()
    mi.cancel_callback()
    if engine is not None:
        engine.shutdown()
    mi.close_port()
    mo.close_port()
    return 0


def thru(server: JackServer, kind: str, events: int, busy: bool) -> dict:
    rec = JackMidiRecorder("bench-rec", servername=server.name).start()
    snd = JackMidiSender("bench-snd", servername=server.name)
    try:
        args = [str(Path(__file__)), "--thru-child", kind] + (["--busy-child"] if busy else [])
        proc, ports = start_child(args)
        inp, out = ports.split()
        snd.connect_to(inp)
        rec.connect_from(out)
        time.sleep(0.3)
        start = snd.now_frame() + RATE // 10
        gap = RATE // 100  # 10 ms apart
        sent = []
        for i in range(events):
            frame = start + i * gap + (i * 37) % server.period  # spread over the period
            data = bytes(
                (0x90 if i % 2 == 0 else 0x80, 60 + (i // 2) % 24, 100 if i % 2 == 0 else 0)
            )
            snd.send_at_frame(frame, data)
            sent.append(frame)
        time.sleep(events * gap / RATE + 0.5)
        rec.settle(0.2)
        proc.stdin.write("quit\n")
        proc.stdin.flush()
        proc.wait(10)
        got = [f for f, _d in rec.events]
        n = min(len(got), len(sent))
        lat = [ms(g - s) for g, s in zip(got[:n], sent[:n], strict=True)]
        return {"kind": kind, "busy": busy, "lost": len(sent) - len(got), "latency_ms": stats(lat)}
    finally:
        snd.close()
        rec.close()


def start_server(period: int, realtime: bool) -> JackServer:
    """A dummy-driver jackd; a realtime one is retried (a busy machine can refuse it once)."""
    for _ in range(3 if realtime else 0):
        server = JackServer(RATE, period, realtime=True)
        try:
            server.start()
            return server
        except RuntimeError:
            time.sleep(1)
    server = JackServer(RATE, period)
    server.start()
    return server


def busy_thread() -> None:
    def run():
        a = np.random.default_rng(1).random(200_000)
        while True:
            sum(i * i for i in range(20_000))
            np.sort(a)

    threading.Thread(target=run, daemon=True).start()


# -- main ------------------------------------------------------------------------------------------
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer notes (a smoke run)")
    ap.add_argument("--no-realtime", action="store_true", help="run jackd without SCHED_FIFO")
    ap.add_argument("--periods", default="128,256", help="JACK periods to test (frames)")
    ap.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    ap.add_argument("--thru-child", help=argparse.SUPPRESS)
    ap.add_argument("--busy-child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.thru_child:
        if args.busy_child:
            busy_thread()
        return thru_child(args.thru_child)

    notes = 48 if args.quick else 192
    events = 100 if args.quick else 400
    results = {"scheduled": [], "thru": []}
    for period in [int(p) for p in args.periods.split(",")]:
        server = start_server(period, realtime=not args.no_realtime)
        mode = "realtime" if server.realtime else "NOT realtime (numbers include starvation)"
        print(f"jackd {period} frames @ {RATE} Hz, {mode}", flush=True)
        os.environ["JACK_DEFAULT_SERVER"] = server.name
        try:
            for sink in ("rtmidi", "jack"):
                for busy in (False, True):
                    r = scheduled(server, sink, busy, notes, bpm=480)
                    results["scheduled"].append(r)
                    print(_line_scheduled(r), flush=True)
            if period == 256:
                for busy in (False, True):
                    for kind in ("plain", "quanta"):
                        r = thru(server, kind, events, busy)
                        results["thru"].append(r)
                        print(_line_thru(r), flush=True)
        finally:
            server.stop()
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
        print(f"wrote {args.json}")
    return 0


def _line_scheduled(r: dict) -> str:
    s = r["late_ms"]
    order = "ok" if r["order_ok"] else f"WRONG from note {r['first_wrong_note']}"
    return (
        f"scheduled {r['sink']:6s} period {r['period']:3d} {'busy' if r['busy'] else 'idle'}: "
        f"late p50 {s['p50']:.2f} p99 {s['p99']:.2f} max {s['max']:.2f} ms, lost {r['lost']}, "
        f"order {order}; "
        "engine handover p99 "
        f"{r['engine_handover_ms']['p99_ms']:.2f} ms"
    )


def _line_thru(r: dict) -> str:
    s = r["latency_ms"]
    return (
        f"thru {r['kind']:6s} {'busy' if r['busy'] else 'idle'}: latency p50 {s['p50']:.2f} "
        f"p99 {s['p99']:.2f} max {s['max']:.2f} ms, lost {r['lost']}"
    )


if __name__ == "__main__":
    sys.exit(main())
