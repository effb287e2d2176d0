"""Port path benchmarks on a real JACK server (dummy driver, 48 kHz, 256 frames).

1. Output precision: how far from its intended time each note lands, for
   JackMidiOutput (handed over ahead, sample-exact) and rtmidi on JACK (sent when due).
2. Live thru latency: a note enters a JACK port at an exact frame, goes through a thru path,
   and is recorded at the frame it comes out; paths: plain python-rtmidi thru (callback ->
   send_message), Quanta's RtMidiInput -> RtMidiOutput, and Quanta's JackMidiInput ->
   JackMidiOutput. "Added" is Quanta's p99 minus the plain rtmidi p99.

Run: ``.venv/bin/python bench/bench_ports.py [--notes 300] [--busy] [--json]``.
``--busy`` adds a thread doing pure-Python and numpy work (GIL contention).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import rtmidi  # noqa: E402

from engine.ports.api import quiet_libjack
from engine.ports.jack_midi import JackClock, JackMidiInput, JackMidiOutput  # noqa: E402
from engine.ports.rtmidi_io import RtMidiInput, RtMidiOutput
from engine.realtime import clock  # noqa: E402
from tests.conftest import JackServer  # noqa: E402
from tests.jack_tools import JackMidiRecorder, JackMidiSender, free_stale_jack_slots  # noqa: E402


def _stats(values_us) -> dict:
    a = np.abs(np.asarray(values_us, dtype=float))
    if a.size == 0:
        return {"n": 0}
    return {
        "n": int(a.size),
        "p50": round(float(np.percentile(a, 50)), 1),
        "p99": round(float(np.percentile(a, 99)), 1),
        "max": round(float(a.max()), 1),
    }


def _sleep_until(t: float) -> None:
    while True:
        left = t - clock.now()
        if left <= 0:
            return
        time.sleep(left - 0.002 if left > 0.003 else 0)


def output_precision(notes: int, rate: int) -> dict:
    results = {}
    rec = JackMidiRecorder("bench-rec").start()
    jclock = JackClock(rec.client)
    us_per_frame = 1e6 / rate
    try:
        out = JackMidiOutput(rec.port_name, client_name="bench-jack-out")
        start = clock.now() + 0.1
        wanted = []
        for k in range(notes):
            when = start + k * 0.00437
            _sleep_until(when - out.lookahead * 0.75)
            wanted.append(jclock.engine_to_frame(when))
            out.send_at(when, bytes((0x90, k % 128, 64)))
        got = rec.wait_for(notes, timeout=10)
        out.close()
        err = [(f - w) * us_per_frame for (f, _), w in zip(got, wanted, strict=False)]
        results["jack_client_output_error_us"] = _stats(err) | {"lost": notes - len(got)}

        rec.clear()
        rt = RtMidiOutput("jack", rec.port_name, client_name="bench-rt-out")
        start = clock.now() + 0.1
        wanted = []
        for k in range(notes):
            when = start + k * 0.00437
            _sleep_until(when)
            wanted.append(jclock.engine_to_frame(when))
            rt.send_at(when, bytes((0x90, k % 128, 64)))
        got = rec.wait_for(notes, timeout=10)
        rt.close()
        err = [(f - w) * us_per_frame for (f, _), w in zip(got, wanted, strict=False)]
        results["rtmidi_jack_output_error_us"] = _stats(err) | {"lost": notes - len(got)}
    finally:
        rec.close()
    return results


def _measure_thru(sender, rec, in_port_name, notes, rate):
    sender.connect_to(in_port_name)
    base = sender.now_frame() + 10 * sender.period
    plan = [base + k * 211 for k in range(notes)]
    for k, f in enumerate(plan):
        sender.send_at_frame(f, bytes((0x90, k % 128, 1 + k % 127)))
    got = rec.wait_for(notes, timeout=10 + notes * 211 / rate)
    lat = [(f - p) * 1e6 / rate for (f, _), p in zip(got, plan, strict=False)]
    return _stats(lat) | {"lost": notes - len(got)}


def thru_latency(notes: int, rate: int) -> dict:
    results = {}
    # plain python-rtmidi thru: the baseline a user could write in ten lines
    rec = JackMidiRecorder("bench-thru-rec").start()
    sender = JackMidiSender("bench-thru-send")
    mi = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, name="bench-plain")
    mo = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name="bench-plain")
    mi.open_virtual_port("in")
    outs = mo.get_ports()
    mo.open_port(outs.index(rec.port_name), name="out")
    mi.set_callback(lambda ev, data=None: mo.send_message(ev[0]))
    time.sleep(0.2)
    results["plain_rtmidi_thru_us"] = _measure_thru(sender, rec, "bench-plain:in", notes, rate)
    mi.cancel_callback()
    mi.close_port()
    mo.close_port()
    mi.delete()
    mo.delete()
    sender.close()
    rec.close()

    # Quanta rtmidi source -> rtmidi sink (engine callback sends when due: now)
    rec = JackMidiRecorder("bench-thru-rec").start()
    sender = JackMidiSender("bench-thru-send")
    src = RtMidiInput("jack", "in", virtual=True, client_name="bench-qrt")
    sink = RtMidiOutput("jack", rec.port_name, client_name="bench-qrt-out")
    src.set_callback(lambda data, when: sink.send_at(clock.now(), data))
    time.sleep(0.2)
    results["quanta_rtmidi_thru_us"] = _measure_thru(sender, rec, "bench-qrt:in", notes, rate)
    src.close()
    sink.close()
    sender.close()
    rec.close()

    # Quanta JACK-Client source -> JACK-Client sink
    rec = JackMidiRecorder("bench-thru-rec").start()
    sender = JackMidiSender("bench-thru-send")
    src = JackMidiInput(client_name="bench-qj", port_name="in")
    sink = JackMidiOutput(rec.port_name, client_name="bench-qj-out")
    src.set_callback(lambda data, when: sink.send_at(clock.now(), data))
    time.sleep(0.2)
    results["quanta_jack_client_thru_us"] = _measure_thru(sender, rec, src.name, notes, rate)
    src.close()
    sink.close()
    sender.close()
    rec.close()

    base = results["plain_rtmidi_thru_us"].get("p99", 0)
    for key in ("quanta_rtmidi_thru_us", "quanta_jack_client_thru_us"):
        results[key]["added_p99_over_plain_us"] = round(results[key].get("p99", 0) - base, 1)
    return results


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--notes", type=int, default=300)
    ap.add_argument("--busy", action="store_true", help="run a busy Python thread meanwhile")
    ap.add_argument("--realtime", action="store_true", help="JACK server with RT threads")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    quiet_libjack()
    free_stale_jack_slots()
    server = JackServer(realtime=args.realtime)
    server.start()
    os.environ["JACK_DEFAULT_SERVER"] = server.name
    stop = threading.Event()
    if args.busy:
        sys.setswitchinterval(0.0005)

        def spin():
            a = np.random.default_rng(0).random(20000)
            while not stop.is_set():
                total = 0
                for i in range(20000):
                    total += i * i
                a = np.sort(a * 1.0001)

        threading.Thread(target=spin, daemon=True).start()
    try:
        report = {
            "server": {
                "rate": server.rate,
                "period": server.period,
                "realtime": args.realtime,
                "busy_thread": args.busy,
            }
        }
        report |= output_precision(args.notes, server.rate)
        report |= thru_latency(args.notes, server.rate)
    finally:
        stop.set()
        server.stop()
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for key, value in report.items():
            print(f"{key:32s} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
