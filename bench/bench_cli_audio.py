"""Benchmark `quanta live --audio` and `quanta play --audio` as a user runs them, on JACK.

Measures, on a private JACK dummy server (48 kHz, 256 frames):

- live: the time from a note played into `quanta live --in ... --audio` (a JACK MIDI sender
  writing at exact frames) to its onset in the audio Quanta plays (recorded from PortAudio's
  JACK ports), per note; p50/p99/max and the spread (max - min). Target: constant latency,
  spread under 1 ms, p50 about the input's period + one audio block (+ the graph's period);
- play: seconds from starting `quanta play song.mid --audio` to its "playing" line (device
  open, instruments loaded, engine started). Target: under 5 s on a cold process.

    .venv/bin/python bench/bench_cli_audio.py                 # blocks 256 and 128, 12 notes
    .venv/bin/python bench/bench_cli_audio.py --notes 60 --blocks 64 128 256 --realtime
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.build import add_track, new_song  # noqa: E402
from engine.model.notes import make_notes  # noqa: E402
from engine.smf.midifile import save_song  # noqa: E402
from tests.conftest import JackServer  # noqa: E402
from tests.jack_audio_tools import AudioRecorder, onsets  # noqa: E402
from tests.jack_tools import JackMidiSender, free_stale_jack_slots  # noqa: E402

SR = 48000
SUMMARY = re.compile(r"audio: (\d+) underruns, (\d+) late events")


def _quanta(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", *args],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _summary(err: str) -> dict:
    m = SUMMARY.search(err)
    return {"underruns": int(m.group(1)), "late_events": int(m.group(2))} if m else {}


def bench_live(
    server: JackServer, block: int, notes: int, spacing: float = 0.4, effects: tuple = ()
) -> dict:
    """Latency from played frame to recorded onset, note by note."""
    rec = AudioRecorder(notes * spacing + 6.0, name="bench-rec")
    sender = JackMidiSender("bench-player", servername=server.name)
    proc = _quanta(
        "live", "--in", "bench-in", "--virtual", "--audio", "--instrument", "builtin:organ",
        "--block", str(block), *(a for fx in effects for a in ("--effect", fx)),
    )  # fmt: skip
    try:
        seen = [proc.stderr.readline() for _ in range(1)]
        while not seen[-1].startswith("live:"):  # plugins may print their own lines first
            if not seen[-1] or len(seen) > 50:
                raise RuntimeError("".join(seen))
            seen.append(proc.stderr.readline())
        rec.connect_from("PortAudio")
        sender.connect_to(next(p.name for p in rec.client.get_ports("bench-in", is_midi=True)))
        rec.start()
        time.sleep(1.5)
        first = sender.now_frame() + 4800
        sent = [first + int(i * spacing * SR) + (i * 37) % 256 for i in range(notes)]
        for f in sent:
            sender.send_at_frame(f, bytes((0x90, 72, 100)))
            sender.send_at_frame(f + 1200, bytes((0x80, 72, 0)))
        rec.wait(notes * spacing + 1.5)
    finally:
        proc.send_signal(2)
        _, err = proc.communicate(timeout=20)
        sender.close()
        rec.close()
    found = onsets(rec.data[0, : rec.pos], 0.01, 2400) + rec.first_frame
    if found.size != notes:
        return {"block": block, "error": f"{found.size} onsets for {notes} notes"}
    lat = (found - np.asarray(sent)) / SR * 1000
    return {
        "block": block,
        "effects": list(effects),
        "notes": notes,
        "latency_ms_p50": round(float(np.percentile(lat, 50)), 3),
        "latency_ms_p99": round(float(np.percentile(lat, 99)), 3),
        "latency_ms_max": round(float(lat.max()), 3),
        "spread_ms": round(float(lat.max() - lat.min()), 3),
        **_summary(err),
    }


def bench_play_startup(runs: int = 3) -> dict:
    song = new_song(ppq=480, bpm=120)
    add_track(song, make_notes([0, 480], [240, 720], [60, 64]))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.mid"
        save_song(song, path)
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            proc = _quanta("play", str(path), "--audio")
            line = proc.stderr.readline()
            times.append(time.perf_counter() - t)
            proc.communicate(timeout=30)
            if not line.startswith("playing"):
                return {"error": line}
    return {"runs": runs, "seconds_to_playing": [round(x, 2) for x in times]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--notes", type=int, default=12)
    ap.add_argument("--blocks", type=int, nargs="+", default=[256, 128])
    ap.add_argument("--realtime", action="store_true", help="SCHED_FIFO JACK server")
    ap.add_argument(
        "--effect", action="append", default=[], help="master effect for the live runs, e.g. "
        "vst3:/usr/lib/vst3/ZaMaximX2.vst3 (a latent plugin: its delay adds to the latency)",
    )  # fmt: skip
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    free_stale_jack_slots()
    server = JackServer(SR, 256, realtime=args.realtime)
    server.start()
    import os

    os.environ["JACK_DEFAULT_SERVER"] = server.name
    try:
        results = {
            "live": [
                bench_live(server, b, args.notes, effects=tuple(args.effect)) for b in args.blocks
            ],
            "play_startup": bench_play_startup(),
        }
    finally:
        server.stop()
    print(json.dumps(results, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
