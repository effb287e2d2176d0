"""After app.warmup, the live audio path compiles nothing: numba compiles one version per
argument layout, and a compile inside the first audio callback was seconds of silence."""

import numpy as np

from app.warmup import warm_up
from engine.audio import audio_native as an
from engine.audio import mixer_kernels as mk
from engine.audio.mixer import Mixer
from engine.plugins import synth_core as sc
from engine.plugins.builtin_synth import BuiltinSynth
from engine.plugins.loader import make_effect


def _kernels():
    return [
        mk.strip_to_bus, mk.limit, mk.peaks, mk.interleave, mk.queue_event, mk.mix_native,
        mk.delay_line, an.queue_block, an.write_ahead, an.prepare_block, an.finish_block,
        sc.process_rows, sc.process_records, sc.event, sc.render,
    ]  # fmt: skip


def test_live_audio_blocks_use_only_warmed_up_kernels():
    warm_up()
    kernels = _kernels()
    before = [set(k.signatures) for k in kernels]
    for effects in ([], [make_effect("lowpass", 48000, 1024)]):  # compiled and Python mixes
        mixer = Mixer(48000, 1024)
        mixer.add_track("keys", BuiltinSynth(48000, 1024, program="organ"), effects)
        assert mixer.native == (not effects)
        mixer.queue(0, 0, 0x90, 60, 100)
        mixer.queue(0, 10, 0x99, 36, 100)  # a drum on channel 10
        scratch = np.zeros((2, 1024), np.float32)
        for frames in (256, 128):  # as the audio callback does: views of a preallocated buffer
            buf = scratch[:, :frames]
            mixer.process(buf)
            mk.interleave(buf, frames, np.zeros((frames, 2), np.float32))
        assert np.abs(scratch).max() > 0  # it really played
    for kernel, old in zip(kernels, before, strict=True):
        assert set(kernel.signatures) == old, kernel.__name__
