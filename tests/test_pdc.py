"""Plugin delay compensation: a strip with a latent plugin (ZaMaximX2, a look-ahead limiter
that reports and really has 480 samples of latency) stays in time with the others, and the
whole mix lands on the scheduled samples offline. The live side is in test_audio_jack."""

from __future__ import annotations

import numpy as np
import pytest

from engine.audio.mixer import Mixer
from engine.audio.render import render_song
from engine.build import add_track, new_song
from engine.model.notes import make_notes
from engine.plugins.builtin_synth import BuiltinSynth
from engine.plugins.loader import make_effect

SR = 48000
MAXIMIZER = "vst3:/usr/lib/vst3/ZaMaximX2.vst3"
HIT_SEC = 0.5  # 120 bpm, ppq 480: tick 480


def _song():
    song = new_song(ppq=480, bpm=120)
    for _ in range(2):
        add_track(song, make_notes([480], [540], [36], 110, 9))  # a kick on each track
    return song


def _onset(x: np.ndarray) -> int:
    env = np.abs(x).max(axis=0)
    return int(np.flatnonzero(env > 0.05 * env.max())[0])


def _render(track_fx: bool, master_fx: bool, solo: int | None = None) -> tuple[np.ndarray, int]:
    pdc = {}

    def make(tracks):
        m = Mixer(SR, 512)
        for i, t in enumerate(tracks):
            fx = [make_effect(MAXIMIZER, SR, 512)] if track_fx and i == 0 else []
            m.add_track(f"t{t}", BuiltinSynth(SR, 512), fx)
        if master_fx:
            m.master_effects = [make_effect(MAXIMIZER, SR, 512)]
        if solo is not None:
            m.tracks[solo].solo = True
        pdc["samples"] = m.update_latency()
        return m

    audio, _ = render_song(_song(), make, tail=0.5)
    return audio, pdc["samples"]


@pytest.fixture(scope="module")
def maximizer_latency():
    fx = make_effect(MAXIMIZER, SR, 512)
    try:
        return fx.latency
    finally:
        fx.close()


def test_the_plugin_really_is_latent(maximizer_latency):
    assert maximizer_latency == 480
    fx = make_effect(MAXIMIZER, SR, 512)
    x = np.zeros((2, 4096), np.float32)
    x[:, 1000] = 0.5
    for b in range(8):
        fx.process(x[:, b * 512 : (b + 1) * 512])
    fx.close()
    assert int(np.argmax(np.abs(x[0]))) == 1000 + maximizer_latency


def test_a_latent_track_stays_in_time_with_a_dry_one(maximizer_latency):
    latent, pdc = _render(track_fx=True, master_fx=False, solo=0)
    dry, _ = _render(track_fx=True, master_fx=False, solo=1)
    assert pdc == maximizer_latency
    want = round(HIT_SEC * SR)
    assert abs(_onset(latent) - want) <= 2  # compensated: on its sample, not 480 late
    assert abs(_onset(dry) - want) <= 2  # the dry track is delayed to match, then trimmed
    assert latent.shape == dry.shape


def test_master_bus_latency_is_trimmed_from_the_render(maximizer_latency):
    audio, pdc = _render(track_fx=False, master_fx=True)
    plain, pdc0 = _render(track_fx=False, master_fx=False)
    assert (pdc, pdc0) == (maximizer_latency, 0)
    assert abs(_onset(audio) - round(HIT_SEC * SR)) <= 2
    assert audio.shape == plain.shape  # the same length as without the plugin


def test_compensation_follows_a_latency_change():
    m = Mixer(SR, 256)
    m.add_track("a", BuiltinSynth(SR, 256))
    m.add_track("b", BuiltinSynth(SR, 256))
    assert m.update_latency() == 0

    class Latent:  # a stand-in effect: only its latency matters here
        latency = 100

        def process(self, buf):
            return None

        def close(self):
            return None

    fx = Latent()
    m.tracks[0].effects.append(fx)
    assert m.update_latency() == 100
    fx.latency = 40
    assert m.update_latency() == 40
    out = np.zeros((2, 256), np.float32)
    m.queue(1, 0, 0x99, 36, 127)  # the dry track, delayed by 40 to meet the latent one
    m.process(out)
    assert np.all(out[:, :40] == 0) and np.abs(out[:, 40:]).max() > 0.05
