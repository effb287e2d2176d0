"""The mixer: per track an instrument, an effect chain, volume, pan, mute/solo; a master bus.

The same ``Mixer.process`` renders live (from the audio callback) and offline (from
:mod:`engine.audio.render`), so a song sounds the same both ways. MIDI for the next block is queued
per track with :meth:`Mixer.queue` (sample offset + bytes) into preallocated arrays; channel-10
notes go to the track's drum kit when its instrument does not play drums itself.

Everything the audio thread reads or writes lives in flat arrays (:mod:`engine.audio.mixer_kernels`
defines the layout): volume/pan/mute/solo as gains and an audible flag, meters, the limiter's
state, event queues. Setting ``Track.volume_db`` (or pan, mute, solo) from the UI stores new
gains there at once, one float store each. When every strip is a built-in synth with no
effects the whole mix is one compiled call, :func:`engine.audio.mixer_kernels.mix_native`, that the
GIL-free audio callback also runs (see :attr:`Mixer.native`); otherwise strips with plugins
and effects run in Python, per block.

Meters are views into those arrays (``Track.peak``, ``Mixer.master_peak``: linear peak per
channel of the last block) that the UI may read at any time; :meth:`Mixer.meters` gives a
snapshot. Nothing here allocates per block except what third-party effects do (pedalboard
returns new arrays), and nothing locks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from engine.audio import mixer_kernels as mk
from engine.plugins.base import BLOCK_EVENT_DTYPE, Effect, Instrument

EVENT_CAPACITY = 2048  # per track and block; more in one block are dropped (and counted)
_TRACK_PARAMS = frozenset(("volume_db", "pan", "mute", "solo"))
_PLUGINS = frozenset(("instrument", "drums"))


def db_to_gain(db: float) -> float:
    return float(10 ** (db / 20))


class MasterLimiter:
    """A block-rate peak limiter for the master bus: a safety net, not a mastering tool.

    Each block's gain is the lower of the previous gain (recovering with ``release`` seconds)
    and what keeps the block's peak under ``ceiling``; a rising gain is ramped across the
    block to avoid zipper noise, a falling one applies at once, and a final clip guarantees
    the ceiling. One compiled pass (:func:`engine.audio.mixer_kernels.limit`), no allocation.
    ``state`` (gain, ceiling, release, rate) may be a view into a mixer's control array.
    """

    def __init__(
        self,
        sample_rate: int,
        max_block: int,
        ceiling_db: float = -0.3,
        release: float = 0.2,
        state: np.ndarray | None = None,
    ):
        self.state = np.zeros(4) if state is None else state
        self.state[:] = (1.0, db_to_gain(ceiling_db), release, sample_rate)
        self.sample_rate = sample_rate
        self._peaks = np.zeros(2)

    @property
    def gain(self) -> float:
        return float(self.state[0])

    @property
    def ceiling(self) -> float:
        return float(self.state[1])

    @property
    def release(self) -> float:
        return float(self.state[2])

    @property
    def gain_reduction_db(self) -> float:
        return -20 * math.log10(max(self.gain, 1e-9))

    def process(self, buf: np.ndarray, peak_out: np.ndarray | None = None) -> None:
        n = buf.shape[1]
        if n:
            mk.limit(buf, n, self.state, self._peaks if peak_out is None else peak_out)


@dataclass(eq=False)
class Track:
    """One mixer channel strip. ``pan`` is -1 (left) .. +1 (right); ``volume_db`` in dB.

    Setting volume, pan, mute or solo takes effect at the next block (also while playing)."""

    name: str
    instrument: Instrument
    effects: list[Effect] = field(default_factory=list)
    drums: Instrument | None = None
    volume_db: float = 0.0
    pan: float = 0.0
    mute: bool = False
    solo: bool = False
    peak: np.ndarray = field(default_factory=lambda: np.zeros(2))

    def __setattr__(self, name, value) -> None:
        object.__setattr__(self, name, value)
        hook = "_on_change" if name in _TRACK_PARAMS else "_on_plugins" if name in _PLUGINS else ""
        on_change = self.__dict__.get(hook)
        if on_change is not None:
            on_change()

    def gains(self) -> tuple[float, float]:
        """Left/right gains: volume and a constant-power pan law (unity at centre)."""
        g = 10.0 ** (self.volume_db / 20.0) * math.sqrt(2.0)
        a = (min(max(self.pan, -1.0), 1.0) + 1.0) * math.pi / 4
        return g * math.cos(a), g * math.sin(a)

    @property
    def dropped_events(self) -> int:
        """Events lost because one block held more than ``EVENT_CAPACITY`` for this strip."""
        return int(self.__dict__.get("_dropped", lambda: 0)())

    @property
    def latency(self) -> int:
        """Samples this strip's plugins delay it by (instrument + effect chain)."""
        return int(getattr(self.instrument, "latency", 0) or 0) + sum(
            int(getattr(fx, "latency", 0) or 0) for fx in self.effects
        )

    @property
    def native(self) -> bool:
        """True when the compiled mix can play this strip (built-in instruments, no effects)."""
        return (
            not self.effects
            and getattr(self.instrument, "native", False)
            and (self.drums is None or getattr(self.drums, "native", False))
        )


class Mixer:
    """Tracks summed into a master bus with volume and a limiter. Planar stereo float32."""

    def __init__(self, sample_rate: int = 48000, max_block: int = 1024, max_tracks: int = 64):
        self.sample_rate = int(sample_rate)
        self.max_block = int(max_block)
        self.tracks: list[Track] = []
        #: Effects on the master bus, in order, before the limiter.
        self.master_effects: list[Effect] = []
        self._alloc(max_tracks)
        self.ctl[mk.M_MASTER_GAIN] = 1.0
        self.ctl[mk.M_LIM_ON] = 1.0
        self._limiter: MasterLimiter | None = MasterLimiter(
            self.sample_rate, self.max_block, state=self.ctl[mk.M_LIM_GAIN : mk.M_LIM_GAIN + 4]
        )
        self._master_volume_db = 0.0
        self._dbuf = np.zeros((2, self.max_block), dtype=np.float32)
        self._records = np.zeros(EVENT_CAPACITY, dtype=BLOCK_EVENT_DTYPE)
        self.consts: np.ndarray | None = None  # the built-in synths' shared data, once any
        #: Plugin delay compensation: every strip is delayed to the slowest one's latency, so
        #: the mix as a whole is late by this many samples (plus the master effects'); live
        #: playback schedules that much earlier and offline render trims it off.
        self.pdc_samples = 0
        self._pdc_key: tuple | None = None
        self._delays: list[tuple[np.ndarray, np.ndarray] | None] = []
        warm_up()

    def _alloc(self, capacity: int) -> None:
        """(Re)allocate the arrays the audio thread reads for ``capacity`` tracks (setup only:
        never while a stream plays this mixer)."""
        old_ctl, old_table = getattr(self, "ctl", None), getattr(self, "table", None)
        self.capacity = capacity
        self.ctl = np.zeros(mk.M_HEADER + mk.TF * capacity)
        self.table = np.zeros((capacity, mk.TTF), dtype=np.int64)
        self.ev = np.zeros((capacity, 2, EVENT_CAPACITY, 4))
        self.bufs = np.zeros((capacity, 2, self.max_block), dtype=np.float32)
        if old_ctl is not None:
            self.ctl[: old_ctl.size] = old_ctl
            self.table[: old_table.shape[0]] = old_table
            for i, t in enumerate(self.tracks):
                self._bind(i, t)
            self._limiter.state = self.ctl[mk.M_LIM_GAIN : mk.M_LIM_GAIN + 4]
        self.master_peak = self.ctl[mk.M_PEAK_L : mk.M_PEAK_R + 1]

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
        i = len(self.tracks)
        if i >= self.capacity:
            self._alloc(self.capacity * 2)
        t = Track(name, instrument, list(effects or []), drums)
        self.tracks.append(t)
        self._bind(i, t)
        self.ctl[mk.M_NTRACKS] = len(self.tracks)
        self._sync_params()
        return i

    def _set_table(self, i: int) -> None:
        """Where compiled code finds strip ``i``'s synth states (0: none, -1: a kit that is a
        plugin; channel 10 is still routed to it). Setup only, as for ``add_track``."""
        t = self.tracks[i]
        self.table[i] = 0
        for col, plugin in ((mk.TT_STATE, t.instrument), (mk.TT_KIT, t.drums)):
            state = getattr(plugin, "state", None) if getattr(plugin, "native", False) else None
            if state is not None:
                self.table[i, col] = state.ctypes.data
                self.table[i, col + 1] = state.size
                self.consts = plugin.consts
        if t.drums is not None and self.table[i, mk.TT_KIT] == 0:
            self.table[i, mk.TT_KIT] = -1

    def _bind(self, i: int, t: Track) -> None:
        row = mk.M_HEADER + i * mk.TF
        object.__setattr__(t, "peak", self.ctl[row + mk.T_PEAK_L : row + mk.T_PEAK_R + 1])
        t.__dict__["_dropped"] = lambda: self.ctl[row + mk.T_DROPPED]
        t.__dict__["_on_change"] = self._sync_params
        t.__dict__["_on_plugins"] = lambda: self._set_table(i)
        self._set_table(i)

    def _sync_params(self) -> None:
        """Store every strip's gains and audible flag where the audio thread reads them."""
        any_solo = any(t.solo for t in self.tracks)
        for i, t in enumerate(self.tracks):
            row = mk.M_HEADER + i * mk.TF
            gl, gr = t.gains()
            self.ctl[row + mk.T_GL] = gl
            self.ctl[row + mk.T_GR] = gr
            self.ctl[row + mk.T_AUDIBLE] = float(not t.mute and (t.solo or not any_solo))

    @property
    def limiter(self) -> MasterLimiter | None:
        return self._limiter if self.ctl[mk.M_LIM_ON] else None

    @limiter.setter
    def limiter(self, lim: MasterLimiter | None) -> None:
        if lim is not None and lim is not self._limiter:
            self.ctl[mk.M_LIM_GAIN : mk.M_LIM_GAIN + 4] = lim.state
            lim.state = self.ctl[mk.M_LIM_GAIN : mk.M_LIM_GAIN + 4]
            self._limiter = lim
        self.ctl[mk.M_LIM_ON] = 0.0 if lim is None else 1.0

    @property
    def master_volume_db(self) -> float:
        return self._master_volume_db

    @master_volume_db.setter
    def master_volume_db(self, db: float) -> None:
        self._master_volume_db = float(db)
        self.ctl[mk.M_MASTER_GAIN] = db_to_gain(db)

    @property
    def native(self) -> bool:
        """True when the whole mix is compiled code (built-in instruments, no effects): then
        the audio callback needs no Python and no GIL (see :mod:`engine.audio.audio_native`)."""
        return (
            (self.consts is not None or not self.tracks)
            and not self.master_effects
            and all(t.native for t in self.tracks)
        )

    def latency_key(self) -> tuple:
        return (
            tuple(t.latency for t in self.tracks),
            sum(int(getattr(fx, "latency", 0) or 0) for fx in self.master_effects),
        )

    def update_latency(self) -> int:
        """Recompute plugin delay compensation if a latency changed (a plugin may change its
        latency with a setting); returns the whole mix's latency in samples. Delay lines are
        (re)allocated only then, which a live stream hears as one glitch, as in any DAW."""
        key = self.latency_key()
        if key == self._pdc_key:
            return self.pdc_samples
        per_track, master = key
        slowest = max(per_track, default=0)
        self._delays = []
        for lat in per_track:
            d = slowest - lat
            self._delays.append(
                (np.zeros((2, d), np.float32), np.zeros(1, np.int64)) if d > 0 else None
            )
        self._pdc_key = key
        self.pdc_samples = slowest + master
        return self.pdc_samples

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
        mk.queue_event(self.ctl, self.table, self.ev, track, offset, status, data1, data2)

    def process(self, out: np.ndarray) -> None:
        """Render one block of ``out.shape[1]`` frames into ``out`` (2, n) float32."""
        n = out.shape[1]
        if self.native:
            cs = self.consts if self.consts is not None else self._dbuf[0, :1].astype(np.float64)
            mk.mix_native(self.ctl, self.table, cs, self.ev, self.bufs, self._dbuf, n, out)
            return
        out.fill(0.0)
        ctl = self.ctl
        self.update_latency()
        for i, t in enumerate(self.tracks):
            row = mk.M_HEADER + i * mk.TF
            evn, kevn = int(ctl[row + mk.T_EVN]), int(ctl[row + mk.T_KEVN])
            idle = (
                not t.effects
                and self._delays[i] is None
                and evn == 0
                and kevn == 0
                and t.instrument.is_silent()
                and (t.drums is None or t.drums.is_silent())
            )
            if idle:  # nothing to play and nothing ringing: skip the strip
                t.peak.fill(0.0)
                continue
            buf = self.bufs[i, :, :n]
            self._play(t.instrument, self.ev[i, 0], evn, buf)
            ctl[row + mk.T_EVN] = 0
            if t.drums is not None:
                d = self._dbuf[:, :n]
                self._play(t.drums, self.ev[i, 1], kevn, d)
                ctl[row + mk.T_KEVN] = 0
                buf += d
            for fx in t.effects:
                fx.process(buf)
            delay = self._delays[i]
            if delay is not None:
                mk.delay_line(buf, n, delay[0], delay[1])
            mk.strip_to_bus(
                buf, n, ctl[row + mk.T_GL], ctl[row + mk.T_GR], t.peak, out,
                ctl[row + mk.T_AUDIBLE] != 0.0,
            )  # fmt: skip
        if ctl[mk.M_MASTER_GAIN] != 1.0:
            out *= ctl[mk.M_MASTER_GAIN]
        for fx in self.master_effects:
            fx.process(out)
        if self.limiter is not None:
            self._limiter.process(out, self.master_peak)
        else:
            mk.peaks(out, n, self.master_peak)

    def _play(self, instrument: Instrument, rows: np.ndarray, count: int, buf) -> None:
        if getattr(instrument, "native", False):
            instrument.process_rows(rows, count, buf)
            return
        rec = self._records[:count]
        rec["offset"] = rows[:count, 0]
        rec["status"] = rows[:count, 1]
        rec["data1"] = rows[:count, 2]
        rec["data2"] = rows[:count, 3]
        instrument.process(rec, buf)

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

        lim = self.limiter
        return {
            "tracks": [db(t.peak) for t in self.tracks],
            "master": db(self.master_peak),
            "limiter_db": lim.gain_reduction_db if lim else 0.0,
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
    from engine.plugins.loader import load_instrument, make_effect

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


_warm = False


def warm_up() -> None:
    """Compile (or load) every kernel for both buffer layouts used live: whole arrays and the
    ``buf[:, :frames]`` views the audio callback passes (numba compiles per layout, and a
    compile inside the first audio block was seconds of silence)."""
    global _warm
    if _warm:
        return
    _warm = True
    from engine.plugins.builtin_synth import BuiltinSynth

    p = np.zeros(2)
    lim = np.array([1.0, 0.9, 0.2, 48000.0])
    for b in (np.zeros((2, 4), np.float32), np.zeros((2, 8), np.float32)[:, :4]):
        mk.strip_to_bus(b, 4, 1.0, 1.0, p, b.copy(), True)
        mk.strip_to_bus(b, 4, 1.0, 1.0, p, b, True)
        mk.limit(b, 4, lim, p)
        mk.peaks(b, 4, p)
        mk.interleave(b, 4, np.zeros((4, 2), np.float32))
        mk.delay_line(b, 4, np.zeros((2, 3), np.float32), np.zeros(1, np.int64))
    m = Mixer(48000, 8)
    m.add_track("warm-up", BuiltinSynth(48000, 8, voices=2, drum_voices=2))
    m.queue(0, 0, 0x90, 60, 100)
    for b in (np.zeros((2, 8), np.float32), np.zeros((2, 8), np.float32)[:, :4]):
        m.process(b)
