"""The mixer: per track an instrument, an effect chain, volume, pan, mute/solo; a master bus.

The same ``Mixer.process`` renders live (from the audio callback) and offline (from
:mod:`engine.render`), so a song sounds the same both ways. MIDI for the next block is queued
per track with :meth:`Mixer.queue` (sample offset + bytes) into preallocated arrays; channel-10
notes go to the track's drum kit when its instrument does not play drums itself.

Meters are plain attributes (``Track.peak``, ``Mixer.master_peak``: linear peak per channel of
the last block) that the UI may read at any time; :meth:`Mixer.meters` gives a snapshot copy.
Nothing here allocates per block except what third-party effects do (pedalboard returns new
arrays), and nothing locks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from engine.mixer_kernels import limit, strip_to_bus, warm_up
from engine.plugins.base import BLOCK_EVENT_DTYPE, Effect, Instrument

DRUM_CHANNEL = 9
EVENT_CAPACITY = 2048  # per track and block; more in one block are dropped (and counted)


def db_to_gain(db: float) -> float:
    return float(10 ** (db / 20))


class MasterLimiter:
    """A block-rate peak limiter for the master bus: a safety net, not a mastering tool.

    Each block's gain is the lower of the previous gain (recovering with ``release`` seconds)
    and what keeps the block's peak under ``ceiling``; a rising gain is ramped across the
    block to avoid zipper noise, a falling one applies at once, and a final clip guarantees
    the ceiling. One compiled pass (:func:`engine.mixer_kernels.limit`), no allocation.
    """

    def __init__(self, sample_rate: int, max_block: int, ceiling_db: float = -0.3, release=0.2):
        self.ceiling = db_to_gain(ceiling_db)
        self.sample_rate = sample_rate
        self.release = release
        self.gain = 1.0
        self.gain_reduction_db = 0.0
        self._peaks = np.zeros(2, dtype=np.float32)

    def process(self, buf: np.ndarray, peak_out: np.ndarray | None = None) -> None:
        n = buf.shape[1]
        if n == 0:
            return
        recover = 1.0 - math.exp(-n / (self.release * self.sample_rate))
        peaks = self._peaks if peak_out is None else peak_out
        self.gain = limit(buf, n, self.gain, recover, self.ceiling, peaks)
        self.gain_reduction_db = -20 * math.log10(max(self.gain, 1e-9))


@dataclass(eq=False)
class Track:
    """One mixer channel strip. ``pan`` is -1 (left) .. +1 (right); ``volume_db`` in dB."""

    name: str
    instrument: Instrument
    effects: list[Effect] = field(default_factory=list)
    drums: Instrument | None = None
    volume_db: float = 0.0
    pan: float = 0.0
    mute: bool = False
    solo: bool = False
    peak: np.ndarray = field(default_factory=lambda: np.zeros(2, dtype=np.float32))
    dropped_events: int = 0

    def gains(self) -> tuple[float, float]:
        """Left/right gains: volume and a constant-power pan law (unity at centre)."""
        g = 10.0 ** (self.volume_db / 20.0) * math.sqrt(2.0)
        a = (min(max(self.pan, -1.0), 1.0) + 1.0) * math.pi / 4
        return g * math.cos(a), g * math.sin(a)


class Mixer:
    """Tracks summed into a master bus with volume and a limiter. Planar stereo float32."""

    def __init__(self, sample_rate: int = 48000, max_block: int = 1024):
        self.sample_rate = int(sample_rate)
        self.max_block = int(max_block)
        self.tracks: list[Track] = []
        warm_up()
        self.master_volume_db = 0.0
        self.limiter: MasterLimiter | None = MasterLimiter(self.sample_rate, self.max_block)
        #: Effects on the master bus, in order, before the limiter.
        self.master_effects: list[Effect] = []
        self.master_peak = np.zeros(2, dtype=np.float32)
        self._bufs: list[np.ndarray] = []
        self._drum_buf = np.zeros((2, self.max_block), dtype=np.float32)
        self._abs = np.zeros((2, self.max_block), dtype=np.float32)
        self._events: list[np.ndarray] = []
        self._drum_events: list[np.ndarray] = []
        self._counts: list[int] = []
        self._drum_counts: list[int] = []

    # -- setup (not real-time) --------------------------------------------------------------
    def add_track(
        self,
        name: str,
        instrument: Instrument,
        effects: list[Effect] | None = None,
        drums: Instrument | None = None,
    ) -> int:
        """Add a strip; ``drums`` plays channel 10 when ``instrument`` lacks a drum kit."""
        if drums is None and not instrument.handles_drums:
            from engine.plugins.builtin_synth import BuiltinDrumKit

            drums = BuiltinDrumKit(self.sample_rate, self.max_block)
        self.tracks.append(Track(name, instrument, list(effects or []), drums))
        self._bufs.append(np.zeros((2, self.max_block), dtype=np.float32))
        self._events.append(np.zeros(EVENT_CAPACITY, dtype=BLOCK_EVENT_DTYPE))
        self._drum_events.append(np.zeros(EVENT_CAPACITY, dtype=BLOCK_EVENT_DTYPE))
        self._counts.append(0)
        self._drum_counts.append(0)
        return len(self.tracks) - 1

    def close(self) -> None:
        for t in self.tracks:
            for p in (t.instrument, t.drums, *t.effects):
                if p is not None:
                    p.close()
        for fx in self.master_effects:
            fx.close()

    # -- real-time --------------------------------------------------------------------------
    def queue(self, track: int, offset: int, status: int, data1: int, data2: int = 0) -> None:
        """Queue one MIDI message for the next ``process`` call at sample ``offset``.

        Messages must be queued in offset order per track (the callers sort them).
        """
        t = self.tracks[track]
        to_drums = t.drums is not None and (status & 0x0F) == DRUM_CHANNEL and status < 0xF0
        if to_drums and (status & 0xF0) in (0x80, 0x90):
            arr, counts = self._drum_events[track], self._drum_counts
        else:
            arr, counts = self._events[track], self._counts
            if to_drums:  # CCs on channel 10 (volume, all-notes-off) reach the kit too
                self._put(
                    self._drum_events[track], self._drum_counts, track, offset, status, data1, data2
                )
        self._put(arr, counts, track, offset, status, data1, data2)

    def _put(self, arr, counts, track, offset, status, data1, data2) -> None:
        c = counts[track]
        if c >= EVENT_CAPACITY:
            self.tracks[track].dropped_events += 1
            return
        row = arr[c]
        row["offset"] = offset
        row["status"] = status
        row["data1"] = data1
        row["data2"] = data2
        counts[track] = c + 1

    def process(self, out: np.ndarray) -> None:
        """Render one block of ``out.shape[1]`` frames into ``out`` (2, n) float32."""
        n = out.shape[1]
        out.fill(0.0)
        any_solo = any(t.solo for t in self.tracks)
        for i, t in enumerate(self.tracks):
            idle = (
                not t.effects
                and self._counts[i] == 0
                and self._drum_counts[i] == 0
                and t.instrument.is_silent()
                and (t.drums is None or t.drums.is_silent())
            )
            if idle:  # nothing to play and nothing ringing: skip the strip
                t.peak.fill(0.0)
                continue
            buf = self._bufs[i][:, :n]
            t.instrument.process(self._events[i][: self._counts[i]], buf)
            self._counts[i] = 0
            if t.drums is not None:
                d = self._drum_buf[:, :n]
                t.drums.process(self._drum_events[i][: self._drum_counts[i]], d)
                self._drum_counts[i] = 0
                buf += d
            for fx in t.effects:
                fx.process(buf)
            gl, gr = t.gains()
            strip_to_bus(buf, n, gl, gr, t.peak, out, not t.mute and (t.solo or not any_solo))
        if self.master_volume_db:
            out *= db_to_gain(self.master_volume_db)
        for fx in self.master_effects:
            fx.process(out)
        if self.limiter is not None:
            self.limiter.process(out, self.master_peak)
        else:
            np.abs(out, out=self._abs[:, :n])
            np.max(self._abs[:, :n], axis=1, out=self.master_peak)

    def panic(self) -> None:
        """Silence every instrument at once (all sound off)."""
        for t in self.tracks:
            for p in (t.instrument, t.drums):
                if p is not None:
                    p.reset()

    def meters(self) -> dict:
        """A copy of the meters for the UI: peaks in dBFS per track and master."""

        def db(x: np.ndarray) -> list[float]:
            return [float(20 * np.log10(max(float(v), 1e-9))) for v in x]

        return {
            "tracks": [db(t.peak) for t in self.tracks],
            "master": db(self.master_peak),
            "limiter_db": self.limiter.gain_reduction_db if self.limiter else 0.0,
        }


def build_mixer(
    names: list[str],
    instrument: str = "builtin",
    effects: list[str] | None = None,
    sample_rate: int = 48000,
    max_block: int = 1024,
    cache_path=None,
    probe_timeout: float | None = None,
) -> Mixer:
    """A mixer with one strip per name, each with its own ``instrument`` (a plugin spec), and
    ``effects`` (specs) on the master bus: what ``quanta render`` and live playback both use.

    Third-party plugins are probed once in a child process (see :mod:`engine.plugins.scan`)
    before anything is built, so a bad one fails here with a one-line error.
    """
    from engine.plugins.effects import make_effect
    from engine.plugins.loader import load_instrument

    opts = {"cache_path": cache_path, "timeout": probe_timeout}
    load_instrument(instrument, sample_rate, max_block, **opts).close()
    master = [make_effect(spec, sample_rate, max_block, **opts) for spec in effects or []]
    mixer = Mixer(sample_rate, max_block)
    try:
        for name in names:
            mixer.add_track(name, load_instrument(instrument, sample_rate, max_block, probe=False))
    except Exception:
        mixer.close()
        for fx in master:
            fx.close()
        raise
    mixer.master_effects = master
    return mixer
