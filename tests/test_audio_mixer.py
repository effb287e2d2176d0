"""The mixer: volume, pan, mute/solo, master limiter, meters, drum routing, event capacity."""

from __future__ import annotations

import numpy as np

from engine.audio.mixer import EVENT_CAPACITY, MasterLimiter, Mixer
from engine.plugins.base import Effect, PluginInfo
from engine.plugins.builtin_synth import BuiltinSynth

SR = 48000


def _mixer(n_tracks=2):
    m = Mixer(SR, 512)
    for i in range(n_tracks):
        m.add_track(f"t{i}", BuiltinSynth(SR, 512, program="organ"))
    return m


def _render(m, blocks=20, notes=((0, 60), (1, 67))):
    for track, pitch in notes:
        m.queue(track, 0, 0x90, pitch, 100)
    out = np.zeros((2, 512 * blocks), np.float32)
    for b in range(blocks):
        m.process(out[:, b * 512 : (b + 1) * 512])
    return out


def test_hard_pan_puts_a_track_on_one_side():
    m = _mixer(1)
    m.tracks[0].pan = -1.0
    out = _render(m, notes=((0, 60),))
    assert np.abs(out[0]).max() > 0.01 and np.abs(out[1]).max() < 1e-6


def test_volume_in_db():
    a = _render(_mixer(1), notes=((0, 60),))
    m = _mixer(1)
    m.tracks[0].volume_db = -12.0
    b = _render(m, notes=((0, 60),))
    ratio = 20 * np.log10(np.sqrt(np.mean(b**2)) / np.sqrt(np.mean(a**2)))
    assert abs(ratio + 12.0) < 0.2


def test_mute_and_solo():
    both = _render(_mixer())
    m = _mixer()
    m.tracks[1].mute = True
    only0 = _render(m)
    m = _mixer()
    m.tracks[0].solo = True
    solo0 = _render(m)
    assert np.array_equal(only0, solo0)
    assert not np.allclose(only0, both)
    assert m.tracks[1].peak.max() > 0  # a silenced track still meters (pre-fader view)


def test_master_limiter_holds_the_ceiling():
    m = Mixer(SR, 512)
    for i in range(8):
        m.add_track(f"t{i}", BuiltinSynth(SR, 512, program="organ"))
        m.tracks[i].volume_db = 20.0
    out = _render(m, notes=[(i, 48 + i) for i in range(8)])
    assert np.abs(out).max() <= m.limiter.ceiling + 1e-6
    assert m.limiter.gain_reduction_db > 3
    assert m.meters()["limiter_db"] > 3


def test_limiter_recovers_after_a_peak():
    lim = MasterLimiter(SR, 512)
    loud = np.full((2, 512), 2.0, np.float32)
    lim.process(loud)
    assert lim.gain < 0.5
    for _ in range(200):
        quiet = np.full((2, 512), 0.1, np.float32)
        lim.process(quiet)
    assert lim.gain > 0.99 and np.allclose(quiet, 0.1 * lim.gain)


def test_meters_snapshot_in_dbfs():
    m = _mixer()
    _render(m)
    snap = m.meters()
    assert len(snap["tracks"]) == 2 and all(-40 < v < 0 for v in snap["master"])


def test_too_many_events_in_one_block_are_dropped_and_counted():
    m = _mixer(1)
    for i in range(EVENT_CAPACITY + 5):
        m.queue(0, 0, 0xB0, 7, i % 128)
    m.process(np.zeros((2, 512), np.float32))
    assert m.tracks[0].dropped_events == 5


def test_builtin_synth_plays_its_own_drums():
    m = _mixer(1)
    assert m.tracks[0].drums is None  # BuiltinSynth handles channel 10 itself
    m.queue(0, 100, 0x99, 36, 127)
    out = np.zeros((2, 512), np.float32)
    m.process(out)
    assert np.all(out[:, :100] == 0) and np.abs(out).max() > 0.05


class _Identity(Effect):
    """A real effect that passes audio through unchanged: it only makes the mixer take its
    Python path, so the two paths can be compared sample for sample."""

    info = PluginInfo("identity", "tests", "builtin", "effect", "identity")

    def process(self, buf):
        return None


def _song_blocks(m, block=256, blocks=40):
    rng = np.random.default_rng(3)
    out = np.zeros((2, block * blocks), np.float32)
    for b in range(blocks):
        for t in range(len(m.tracks)):
            offs = np.sort(rng.integers(0, block, 3))
            for o in offs:
                if rng.random() < 0.5:
                    m.queue(
                        t,
                        int(o),
                        0x90 | (9 if rng.random() < 0.3 else t),
                        int(rng.integers(36, 84)),
                        100,
                    )
                else:
                    m.queue(t, int(o), 0x80 | t, int(rng.integers(36, 84)), 0)
        m.process(out[:, b * block : (b + 1) * block])
    return out


def test_compiled_mix_equals_the_python_mix_sample_for_sample():
    """Live playback of built-in mixes runs the compiled mix (and the GIL-free callback);
    mixes with plugins run the Python path. Same notes, same gains: same samples."""

    def build(python_path: bool):
        m = Mixer(SR, 512)
        for i, prog in enumerate(("piano", "bass", "pad")):
            fx = [_Identity()] if python_path and i == 1 else []
            m.add_track(prog, BuiltinSynth(SR, 512, program=prog), fx)
        m.tracks[0].pan = -0.5
        m.tracks[2].volume_db = -6.0
        m.tracks[1].solo = True
        m.tracks[2].solo = True
        return m

    native, python = build(False), build(True)
    assert native.native and not python.native
    a, b = _song_blocks(native), _song_blocks(python)
    assert np.abs(a).max() > 0.05
    assert np.array_equal(a, b)
    assert native.meters() == python.meters()


def test_replacing_a_strips_instrument_reaches_the_compiled_mix():
    m = _mixer(1)
    m.tracks[0].instrument = BuiltinSynth(SR, 512, program="bass")
    fresh = Mixer(SR, 512)
    fresh.add_track("t0", BuiltinSynth(SR, 512, program="bass"))
    a = _render(m, notes=((0, 40),))
    b = _render(fresh, notes=((0, 40),))
    assert m.native and np.abs(a).max() > 0.01
    assert np.array_equal(a, b)
