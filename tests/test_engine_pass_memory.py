"""The engine's "already played" bookkeeping (engine.realtime.pass_memory): same behaviour as keeping
every played note, in memory bounded by the notes a quantize change moves across the horizon.

The engine's own dispatch and release code runs here on a simulated clock (this thread plays
the engine thread's part; the builder thread builds each change, then the swap happens at the
next step), so every run is exact and repeatable. Sinks are in-memory fakes (engine_fakes).
"""

from __future__ import annotations

import numpy as np
import pytest

from engine.build import add_track, new_song
from engine.model.notes import make_notes
from engine.quantize.settings import QuantizeSettings
from engine.realtime.transport import Engine
from tests.engine_fakes import FakeSink, assert_every_note_closed

PPQ = 480
TICK = 60 / 120 / PPQ  # 120 BPM
STEP = 0.005  # the simulated engine wakes every 5 ms


class Sim:
    """An engine driven by hand: ``advance(seconds)`` runs its dispatch/release loop."""

    def __init__(self, song, lookahead=0.0):
        self.engine = Engine()
        self.sink = FakeSink(lookahead=lookahead)
        self.now = 100.0
        self.engine.set_outputs([self.sink])
        self.engine.set_song(song)
        self._drain()
        self.swaps = []  # (horizon_sec at the swap, the new timeline)
        original = self.engine._swap

        def swap(now, tl, *rest):
            self.swaps.append((self.engine._rt.horizon_sec, tl))
            original(now, tl, *rest)

        self.engine._swap = swap

    def _drain(self):
        e = self.engine
        while not e._cmds.empty():
            name, args = e._cmds.get_nowait()
            e._command(name, args, self.now)

    def command(self, name, *args):
        self.engine._command(name, args, self.now)
        self.engine._publish(self.now)

    def quantize(self, track, settings):
        self.engine.set_track_quantize(track, settings)
        assert self.engine.wait_rebuilt(30)
        self._drain()

    def advance(self, seconds):
        end = self.now + seconds
        e = self.engine
        while self.now < end:
            self.now += STEP
            self._drain()
            if e._rt.playing:
                e._dispatch(self.now)
            e._release(self.now)
            e._publish(self.now)  # the state snapshot (the builder asks if a pass is on)

    def close(self):
        self.engine._closing = True
        self.engine._build_wanted.set()

    def ons(self):
        """(pitch, velocity) of every note-on, in send order: each names one note."""
        return [(p, v) for _, k, p, v in self.sink.notes() if k == 0x90]


def unique_song(starts, length=60):
    """One track; note k has pitch 40 + k % 40 and velocity 1 + k: unique per note."""
    n = len(starts)
    song = new_song(ppq=PPQ, bpm=120)
    starts = np.asarray(starts, dtype=np.int64)
    add_track(
        song,
        make_notes(starts, starts + length, 40 + np.arange(n) % 40, velocities=1 + np.arange(n)),
    )
    return song


@pytest.fixture
def sims():
    made = []
    yield lambda *a, **k: made.append(Sim(*a, **k)) or made[-1]
    for s in made:
        s.close()


def test_a_note_played_then_moved_ahead_of_the_playhead_is_not_played_again(sims):
    # A 1/1 grid (1920 ticks) with offset 500 has points at 500 and 2420: note 0 (tick 100)
    # moves 400 ticks later, note 1 (tick 2000) to 2420.
    sim = sims(unique_song([100, 2000]))
    sim.command("play")
    sim.advance(0.2)  # 0.2 s = 192 ticks: note 0 (tick 100) has played
    assert sim.ons() == [(40, 1)]
    sim.quantize(1, QuantizeSettings(division=1, offset=500))  # note 0 → tick 500 (ahead)
    assert len(sim.engine._rt.played) == 1  # exactly that note is remembered
    sim.advance(3.0)
    assert sim.ons() == [(40, 1), (41, 2)]  # never twice
    assert len(sim.engine._rt.played) == 0  # forgotten once the playhead passed it
    assert_every_note_closed(sim.sink.notes())


def test_a_note_moved_behind_the_playhead_and_back_ahead_plays_once(sims):
    sim = sims(unique_song([300, 2000]))
    sim.command("play")
    sim.advance(0.2)  # horizon ~192 ticks: note 0 (tick 300) not played yet
    sim.quantize(1, QuantizeSettings(division=1, offset=100))  # note 0 → 100: jumped over
    assert len(sim.engine._rt.played) == 1
    sim.quantize(1, None)  # back to 300, ahead again: it was never heard, so it plays
    sim.advance(3.0)
    assert sim.ons() == [(40, 1), (41, 2)]


def test_every_loop_pass_plays_each_note_once_at_its_current_position(sims):
    sim = sims(unique_song([0, 200, 500, 900]))
    sim.command("loop", (0, 960))  # 1 s at 120 BPM
    sim.command("play")
    sim.advance(0.3)  # horizon at 288 ticks: 0 and 200 have played
    assert sim.ons() == [(40, 1), (41, 2)]
    # 1/4 grid: 200 → 0 (behind, played), 500 → 480 (ahead), 900 → 960 (the loop end: out)
    sim.quantize(1, QuantizeSettings(division=4))
    assert len(sim.engine._rt.played) == 0  # nothing crossed the horizon
    sim.advance(0.7 + 1.0 + 0.6)  # the rest of pass 1, pass 2, pass 3 up to 0.6 s
    each_pass = [(40, 1), (41, 2), (42, 3)]  # at 0, 0, 480
    assert sim.ons() == each_pass * 3
    assert sim.engine._rt.loop_pass == 2
    assert_every_note_closed(sim.sink.notes())


def test_locate_starts_a_new_pass(sims):
    sim = sims(unique_song([100, 600, 1100]))
    sim.command("play")
    sim.advance(0.8)
    sim.command("locate", 0.0)
    sim.advance(1.5)
    assert sim.ons() == [(40, 1), (41, 2), (40, 1), (41, 2), (42, 3)]


def test_notes_sounding_at_a_change_keep_their_note_off(sims):
    song = unique_song([100, 200], length=1500)  # both sound through the change
    sim = sims(song)
    sim.command("play")
    sim.advance(0.3)
    sim.quantize(1, QuantizeSettings(division=1, offset=700))  # both move ahead
    sim.advance(3.0)
    notes = sim.sink.notes()
    assert sim.ons() == [(40, 1), (41, 2)]
    offs = [(round((w - notes[0][0]) / TICK), p) for w, k, p, _ in notes if k == 0x80]
    assert sorted(offs) == [(1500, 40), (1600, 41)]  # their own note-offs, where they were
    assert_every_note_closed(notes)


def reference_note_ons(start_sec, swaps, end_sec, first_timeline):
    """What keeping every played note (the previous engine) sends: each timeline plays the
    rows between the horizon where it was swapped in and the next swap, minus played notes."""
    played, out = set(), []
    segments = [(start_sec, first_timeline)] + [(h, tl) for h, tl in swaps]
    for k, (h0, tl) in enumerate(segments):
        h1 = segments[k + 1][0] if k + 1 < len(segments) else end_sec
        rows = tl.rows[(tl.secs >= h0) & (tl.secs < h1) & (tl.rows["kind"] == 3)]
        for r in rows:
            key = (int(r["track"]), int(r["note"]))
            if key not in played:
                played.add(key)
                out.append((int(r["data1"]), int(r["data2"])))
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_quantize_changes_send_what_the_full_played_set_sent(sims, seed):
    rng = np.random.default_rng(seed)
    n = 120
    starts = np.sort(rng.choice(np.arange(0, 7680), n, replace=False))
    sim = sims(unique_song(starts), lookahead=0.02)
    first = sim.engine._rt.timeline
    sim.command("play")
    settings = [
        QuantizeSettings(division=4),
        QuantizeSettings(division=8, strength=60),
        QuantizeSettings(division=2, offset=130),
        QuantizeSettings(division=16, swing=66),
        None,
    ]
    for _ in range(14):
        sim.advance(float(rng.uniform(0.05, 0.4)))
        sim.quantize(1, settings[int(rng.integers(len(settings)))])
    sim.advance(6.0)
    assert not sim.engine._rt.playing
    expected = reference_note_ons(0.0, sim.swaps, float("inf"), first)
    assert sim.ons() == expected
    assert len(set(sim.ons())) == len(sim.ons())  # never a doubled note
    assert_every_note_closed(sim.sink.notes(), allow_retrigger=True)
