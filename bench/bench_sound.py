"""Benchmark the sound engine: synth cost, audio callback timing and underruns, render speed.

Targets: the built-in synth renders 64 voices at 48 kHz in under 25 % of a 256-frame block's
time; audio callback p50/p99 at 128 and 256 frames with no underruns at 256 during 60 s with
a busy GUI-like thread; offline render of a 5-minute multitrack song at >= 20x real time.

    .venv/bin/python bench/bench_sound.py              # everything (about 2.5 minutes)
    .venv/bin/python bench/bench_sound.py --quick      # 10 s callback runs
    .venv/bin/python bench/bench_sound.py --only synth|callback|render
    .venv/bin/python bench/bench_sound.py --only callback --path compiled --blocks 256
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.audio.mixer import Mixer  # noqa: E402
from engine.audio.render import render_song  # noqa: E402
from engine.build import add_channel_event, add_track, new_song  # noqa: E402
from engine.model.notes import make_notes  # noqa: E402
from engine.plugins.base import empty_block_events  # noqa: E402
from engine.plugins.builtin_synth import BuiltinSynth  # noqa: E402

SR = 48000


def bench_synth(block: int = 256, voices: int = 64, repeat: int = 2000) -> dict:
    """Steady-state cost of ``voices`` sustained notes (no voice ends during the run)."""
    synth = BuiltinSynth(SR, block, voices=voices, program="pad")
    ev = empty_block_events(voices)
    for i in range(voices):
        ev[i] = (i, 0x90 | (i % 8), 30 + i, 100)
    out = np.zeros((2, block), np.float32)
    synth.process(ev[:voices], out)
    none = ev[:0]
    for _ in range(50):
        synth.process(none, out)
    times = np.empty(repeat)
    for i in range(repeat):
        t = time.perf_counter()
        synth.process(none, out)
        times[i] = time.perf_counter() - t
    assert synth.k == voices
    budget = block / SR
    return {
        "voices": voices,
        "block": block,
        "p50_us": float(np.percentile(times, 50) * 1e6),
        "p99_us": float(np.percentile(times, 99) * 1e6),
        "budget_fraction_p50": float(np.percentile(times, 50) / budget),
    }


def _busy_gui(stop: threading.Event) -> None:
    """A GUI-like thread: ~8 ms of Python work per 16 ms frame (layout, painting, signals)."""
    while not stop.is_set():
        t = time.perf_counter()
        while time.perf_counter() - t < 0.008:
            d = {i: str(i) for i in range(200)}
            sorted(d.values())
        time.sleep(0.008)


def bench_callback(
    block: int, seconds: float, realtime: bool = False, tracks: int = 4, mode: str = "compiled"
) -> dict:
    """Callback durations and underruns with ``tracks`` synth tracks playing (``tracks=0``:
    an empty mixer, the baseline that shows the xruns the machine makes by itself).
    ``mode``: "compiled" (the GIL-free callback of built-in mixes), "render-ahead" or
    "python" (the two ways mixes with plugins run; see engine.audio.output.AudioOutput)."""
    from engine.audio import output as audio
    from engine.realtime import clock
    from tests.conftest import JackServer

    server = JackServer(SR, block, realtime=realtime)
    server.start()
    os.environ["JACK_DEFAULT_SERVER"] = server.name
    audio.reinitialize()
    mixer = Mixer(SR, 1024)
    for prog in ("piano", "bass", "pad", "e-piano")[:tracks]:
        mixer.add_track(prog, BuiltinSynth(SR, 1024, program=prog))
    out = audio.AudioOutput(
        mixer,
        block_size=block,
        lookahead=0.1,
        native=mode == "compiled",
        render_ahead=0.0 if mode == "python" else None,
    )
    assert out.mode == mode
    stop = threading.Event()
    gui = threading.Thread(target=_busy_gui, args=(stop,), daemon=True)
    out.start()
    time.sleep(0.5)
    warmup_underruns = out.underruns
    gui.start()
    sinks = [out.sink(i) for i in range(tracks)]
    t_end = time.monotonic() + seconds
    rng = np.random.default_rng(0)
    n = 0
    while time.monotonic() < t_end:  # a steady stream of notes, ~16 voices sounding
        now = clock.now()
        for s in sinks:
            p = int(rng.integers(40, 80))
            s.send_at(now + 0.05, bytes((0x90, p, 100)))
            s.send_at(now + 0.35, bytes((0x80, p, 0)))
        n += 1
        time.sleep(0.1)
    stop.set()
    gui.join()
    stats = out.stats()
    out.close()
    import sounddevice as sd

    sd._terminate()
    server.stop()
    os.environ["JACK_DEFAULT_SERVER"] = "quanta-no-server"
    os.environ["JACK_NO_START_SERVER"] = "1"
    sd._initialize()
    return {
        "block": block,
        "seconds": seconds,
        "callback_p50_us": stats.callback_p50_us,
        "callback_p99_us": stats.callback_p99_us,
        "budget_us": block / SR * 1e6,
        "underruns": stats.underruns - warmup_underruns,
        "underruns_at_start": warmup_underruns,
        "late_events": stats.late_events,
        "notes": n * tracks,
        "mode": mode,
        "starved": stats.starved,
    }


def five_minute_song(seconds: float = 300.0, bpm: float = 120.0):
    """Drums (16th hats, kick, snare), bass 8ths, e-piano chords, pad, lead: 5 tracks."""
    ppq = 480
    song = new_song(ppq, bpm)
    bars = int(seconds / (4 * 60 / bpm))
    rng = np.random.default_rng(7)
    q = ppq
    beats = np.arange(bars * 4) * q
    hats = np.arange(bars * 16) * (q // 4)
    kick = beats[::2]
    snare = beats[1::2]
    drums = np.concatenate([hats, kick, snare])
    pitches = np.concatenate(
        [np.full(hats.size, 42), np.full(kick.size, 36), np.full(snare.size, 38)]
    )
    add_track(song, make_notes(drums, drums + 60, pitches, 100, 9), "Drums")
    eighths = np.arange(bars * 8) * (q // 2)
    bass = make_notes(eighths, eighths + 200, 36 + rng.integers(0, 12, eighths.size), 100, 1)
    add_track(song, bass, "Bass")
    chord_t = np.repeat(np.arange(bars * 2) * 2 * q, 4)
    chord_p = (60 + np.tile([0, 4, 7, 11], bars * 2)).astype(np.uint8)
    keys = make_notes(chord_t, chord_t + 2 * q - 40, chord_p, 80, 2)
    add_track(song, keys, "Keys")
    pad_t = np.repeat(np.arange(bars) * 4 * q, 3)
    pad = make_notes(pad_t, pad_t + 4 * q, np.tile([48, 55, 64], bars), 70, 3)
    add_track(song, pad, "Pad")
    lead_t = np.arange(bars * 4) * q
    lead = make_notes(lead_t, lead_t + 400, 72 + rng.integers(0, 12, lead_t.size), 90, 4)
    add_track(song, lead, "Lead")
    for ch, prog in ((1, 33), (2, 4), (3, 89), (4, 80)):
        add_channel_event(song.tracks[-1], 0, 0xC0 | ch, prog)
    return song


def bench_render(seconds: float = 300.0) -> dict:
    song = five_minute_song(seconds)

    def make(tracks):  # what `quanta render` builds: 4096-frame blocks offline
        m = Mixer(SR, 4096)
        for t in tracks:
            m.add_track(f"t{t}", BuiltinSynth(SR, 4096))
        return m

    t = time.perf_counter()
    audio, stats = render_song(song, make, tail=2.0)
    wall = time.perf_counter() - t
    return {
        "song_seconds": round(stats.seconds, 1),
        "notes": song.note_count(),
        "render_seconds": round(wall, 2),
        "x_real_time": round(stats.seconds / wall, 1),
        "peak": float(np.abs(audio).max()),
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", choices=("synth", "callback", "render"))
    ap.add_argument(
        "--realtime", action="store_true", help="jackd --realtime (SCHED_FIFO; needs rtprio)"
    )
    ap.add_argument("--path", choices=("all", "compiled", "render-ahead", "python"), default="all")
    ap.add_argument("--blocks", type=int, nargs="+", default=[128, 256])
    args = ap.parse_args()
    if args.only in (None, "synth"):
        r = bench_synth()
        print(
            f"synth: {r['voices']} voices x {r['block']} frames: p50 {r['p50_us']:.0f} us, "
            f"p99 {r['p99_us']:.0f} us = {r['budget_fraction_p50'] * 100:.1f} % of the block "
            f"(target < 25 %)"
        )
    if args.only in (None, "callback"):
        secs = 10.0 if args.quick else 60.0
        modes = ("compiled", "render-ahead", "python") if args.path == "all" else (args.path,)
        for mode in modes:
            label = {"compiled": "compiled GIL-free", "render-ahead": "render-ahead 20 ms"}.get(
                mode, "Python"
            )
            for block in args.blocks:
                base = bench_callback(block, secs, args.realtime, tracks=0, mode=mode)
                r = bench_callback(block, secs, args.realtime, mode=mode)
                print(
                    f"{label} callback @{block}{' (RT JACK)' if args.realtime else ''}: "
                    f"p50 {r['callback_p50_us']:.0f} us, p99 {r['callback_p99_us']:.0f} us "
                    f"(budget {r['budget_us']:.0f} us); underruns in {secs:.0f} s with a busy "
                    f"GUI thread: {r['underruns']} (+{r['underruns_at_start']} at stream "
                    f"start); late events {r['late_events']}; baseline with an empty mixer: "
                    f"{base['underruns']} underruns; blocks not rendered in time {r['starved']}",
                    flush=True,
                )
    if args.only in (None, "render"):
        r = bench_render(60.0 if args.quick else 300.0)
        print(
            f"render: {r['song_seconds']} s song, {r['notes']} notes, 5 tracks: "
            f"{r['render_seconds']} s = {r['x_real_time']}x real time (target >= 20x)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
