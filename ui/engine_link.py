"""The narrow bridge between the window and the real-time engine.

The GUI thread never touches the engine thread's data: it calls :class:`engine.realtime.transport.Engine`
commands (which only post messages) and reads the engine's immutable state snapshot from a
QTimer at 30 Hz. Document changes are forwarded as commands: a new song or edited notes hand
the engine the song (coalesced, so a burst of edits costs one rebuild), a playback-quantize
change rebuilds only that track, and mute/solo re-route tracks (a muted track is routed to no
output, so its notes are not sent at all; auditioning follows the same rule, :meth:`audible`).

Auditioning (a key or note clicked in the piano roll) sends a note-on/off straight to the
current track's outputs — its MIDI out ports and its instrument on the audio device — from the
GUI thread, without going through the engine thread. That is safe because every output is
handed to the engine wrapped in a :class:`engine.realtime.sounding.TrackedSink` made here: the engine
and the audition share that wrapper's lock, so their messages never interleave on a port, and
the engine's stop/panic also closes an auditioned note it did not start.

Ports are opened here from the saved settings through :mod:`engine.ports`; whatever fails is
reported once, by name, in :attr:`port_errors` and the status bar, and the engine keeps
running without it.
"""

from __future__ import annotations

import math
from collections import deque

from PySide6.QtCore import QObject, QTimer, Signal

from engine.errors import QuantaError
from engine.realtime import TrackedSink, clock
from ui.song_document import SongDocument

POLL_HZ = 30
MIXER_BLOCK = 1024


def volume_db(track) -> float:
    """The track list's volume (0–1, default 0.8 = unity) in dB for the mixer."""
    from ui.track_list import DEFAULT_VOLUME, track_volume

    v = track_volume(track)
    return -120.0 if v <= 0 else 20.0 * math.log10(v / DEFAULT_VOLUME)


def track_sound(track, sample_rate: int, block: int):
    """The track's instrument and effects (``Track.extra``), loaded with their saved state."""
    from engine.plugins import load_instrument
    from ui.plugin_loading import load_plugin

    inst = track.extra.get("instrument")
    if isinstance(inst, dict) and inst.get("format"):
        instrument = load_plugin(dict(inst, kind="instrument"), sample_rate, block)
    else:
        instrument = load_instrument("builtin", sample_rate, block, probe=False)
    effects = [
        load_plugin(dict(fx, kind="effect"), sample_rate, block)
        for fx in track.extra.get("effects") or []
        if isinstance(fx, dict) and fx.get("format")
    ]
    return instrument, effects


def _sound_key(track) -> str:
    return repr((track.extra.get("instrument"), track.extra.get("effects")))


def _chain_key(track) -> str:
    """The track's plugins without their stored state: equal keys mean the same chain, so a
    change is one of parameter values only (applied to the playing instances)."""

    def bare(entry):
        return (
            {k: v for k, v in entry.items() if k != "state"} if isinstance(entry, dict) else entry
        )

    fx = track.extra.get("effects") or []
    return repr((bare(track.extra.get("instrument")), [bare(e) for e in fx]))


class EngineLink(QObject):
    """Owns the Engine for the window: start/stop, forwarding edits, polling state."""

    #: The latest EngineState snapshot (emitted at the poll rate while it changes).
    stateChanged = Signal(object)
    #: A one-line message for the user (port lost, end of song, take recorded...).
    message = Signal(str)
    #: Recorded takes (list of engine.model.song.Track) to add to the song.
    takesRecorded = Signal(list)

    def __init__(self, document: SongDocument, engine=None, parent: QObject | None = None):
        super().__init__(parent)
        self.doc = document
        self.engine = engine
        self.outputs: list = []  # MidiSinks the engine plays to (we own and close them)
        self.output_labels: list[str] = []  # what the user chose (the port we connect to)
        self.input = None
        self.input_label = ""
        self.port_errors: list[str] = []
        self.error: str | None = None
        self.audio = None  # engine.audio.output.AudioOutput while sound is on
        self.audio_device: str | None = None
        self.audio_error = ""
        self._audio_conf: tuple | None = None
        self._audio_sinks: dict[int, object] = {}
        self._strips: dict[int, int] = {}
        self._engine_tracks = 0  # tracks in the song the engine was last given
        self._sound_keys: list[str] = []
        self._chain_keys: list[str] = []
        self._last_state = None
        self._fronts: dict[int, TrackedSink] = {}  # id(sink) -> the wrapper the engine gets
        self._front_errors: deque[str] = deque(maxlen=16)
        self._song_pending = False
        self._timer = QTimer(self)
        self._timer.setInterval(1000 // POLL_HZ)
        self._timer.timeout.connect(self.poll)
        document.songReplaced.connect(self._song_changed)
        document.notesChanged.connect(self._song_changed)
        document.trackChanged.connect(self._track_changed)

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> bool:
        """Create and start the engine (if not given one). False, with :attr:`error`, if not."""
        try:
            if self.engine is None:
                from engine.realtime import Engine

                self.engine = Engine(ppq_for_live=self.doc.ppq)
            self.engine.start()
            self.engine.set_song(self.doc.song)
            self._engine_tracks = len(self.doc.song.tracks)
        except (QuantaError, OSError, ImportError, RuntimeError) as exc:
            self.error = str(exc) or type(exc).__name__
            self.engine = None
            return False
        self._apply_routes()
        self._timer.start()
        return True

    @property
    def running(self) -> bool:
        return self.engine is not None

    def shutdown(self) -> None:
        """Stop the engine, then close the ports we opened (in that order: no stuck notes)."""
        self._timer.stop()
        if self.engine is not None:
            try:
                self.engine.stop()
                self.engine.panic()
            finally:
                self.engine.shutdown()
            self.engine = None
        self.close_audio()
        for sink in self.outputs:
            _close(sink)
        self._fronts = {}
        self.outputs = []
        self.output_labels = []
        if self.input is not None:
            _close(self.input)
            self.input = None

    # -- ports ----------------------------------------------------------------------------
    def open_ports(self, output_names: list[str], input_name: str | None, api: str | None) -> None:
        """Open the named ports (from Settings); failures are named in :attr:`port_errors`."""
        self.port_errors = []
        try:
            from engine.ports import open_input, open_output
        except ImportError:
            self.port_errors.append("MIDI ports are not available in this build")
            return
        opened, labels = [], []
        for name in output_names:
            try:
                opened.append(open_output(name, api=api))
                labels.append(name)
            except QuantaError as exc:
                self.port_errors.append(str(exc))
        self.set_outputs(opened, labels)
        if input_name:
            try:
                self.set_input(open_input(input_name, api=api), input_name)
            except QuantaError as exc:
                self.port_errors.append(str(exc))

    def set_outputs(self, sinks: list, labels: list[str] | None = None) -> None:
        """Play every track to ``sinks`` (replacing and closing the ones we had)."""
        old = self.outputs
        self.outputs = list(sinks)
        self.output_labels = list(labels) if labels else [str(s.name) for s in sinks]
        if self.engine is not None:
            self.engine.set_outputs(self._fronted(self.outputs))
            self._apply_routes()
        for s in old:
            if s not in self.outputs:
                self._fronts.pop(id(s), None)
                _close(s)

    def set_input(self, source, label: str | None = None) -> None:
        old, self.input = self.input, source
        self.input_label = label or (str(source.name) if source is not None else "")
        if self.engine is not None:
            self.engine.set_input(source)  # detaches the old one's callback first
        if old is not None and old is not source:
            _close(old)

    # -- audio ------------------------------------------------------------------------------
    def start_audio(self, device: str | None, rate: int, block: int) -> bool:
        """Play every track through its instrument on the audio device; False (with
        :attr:`audio_error`, said once) when there is no device or it cannot open."""
        self._audio_conf = (device, rate, block)
        self.audio_error = ""
        try:
            from engine.audio import AudioOutput, Mixer, audio_available, output_devices

            ok, why = audio_available()
            if not ok:
                self.audio_error = why
                return False
            mixer = Mixer(rate, max(MIXER_BLOCK, block))
            strips = {}
            for i, tr in enumerate(self.doc.song.tracks):
                if tr.notes.size:
                    inst, fx = track_sound(tr, rate, mixer.max_block)
                    strips[i] = mixer.add_track(tr.name or f"Track {i + 1}", inst, fx)
                    mixer.tracks[strips[i]].volume_db = volume_db(tr)
            out = AudioOutput(mixer, device, rate, block)
            out.start()
        except QuantaError as exc:
            self.audio_error = str(exc)
            return False
        self.audio = out
        index = out.stream.device if out.stream is not None else None
        names = {d["index"]: d["name"] for d in output_devices()}
        self.audio_device = names.get(index, str(device or "default"))
        self._strips = strips
        self._audio_sinks = {i: out.sink(s) for i, s in strips.items()}
        self._sound_keys = self._keys()
        self._chain_keys = [_chain_key(t) for t in self.doc.song.tracks]
        self._apply_routes()
        return True

    def _keys(self) -> list[str]:
        return [_sound_key(t) for t in self.doc.song.tracks]

    def _retune(self, index: int) -> bool:
        """Only parameter values of track ``index`` changed (a plugin editor's gesture, its
        undo): set them on the playing instances, heard from the next block, no restart.
        False when more than that changed."""
        keys = self._keys()
        if len(keys) != len(self._sound_keys) or index not in self._strips:
            return False
        if any(
            a != b
            for i, (a, b) in enumerate(zip(self._sound_keys, keys, strict=True))
            if i != index
        ):
            return False
        tracks = self.doc.song.tracks
        if self._chain_keys[index] != _chain_key(tracks[index]):
            return False
        strip = self.audio.mixer.tracks[self._strips[index]]
        extra = tracks[index].extra
        entries = [extra.get("instrument")] + list(extra.get("effects") or [])
        plugins = [strip.instrument] + list(strip.effects)
        try:
            for entry, plugin in zip(entries, plugins, strict=False):
                if isinstance(entry, dict) and entry.get("state"):
                    plugin.set_state(entry["state"])
        except QuantaError:
            return False
        self._sound_keys = keys
        return True

    def _restart_audio(self) -> None:
        conf = self._audio_conf
        self.close_audio()
        if conf is not None:
            self.start_audio(*conf)

    def close_audio(self) -> None:
        audio, self.audio = self.audio, None
        for sink in self._audio_sinks.values():
            self._fronts.pop(id(sink), None)
        self._audio_sinks = {}
        self.audio_device = None
        if audio is not None:
            if self.engine is not None:
                self._apply_routes()  # the engine stops sending to the old sinks first
            audio.close()
            audio.mixer.close()

    @property
    def underruns(self) -> int:
        """Dropouts: the device's underruns plus blocks render-ahead did not make in time."""
        a = self.audio
        return int(a.underruns) + int(a.starved) if a is not None else 0

    # -- forwarding the document ----------------------------------------------------------
    def _song_changed(self, *_):
        if self.engine is None or self._song_pending:
            return
        self._song_pending = True
        QTimer.singleShot(0, self._send_song)  # coalesce a burst of edits into one rebuild

    def _send_song(self) -> None:
        self._song_pending = False
        if self.engine is not None:
            self.engine.set_song(self.doc.song)
            self._engine_tracks = len(self.doc.song.tracks)
            if self.audio is not None and self._sound_keys != self._keys():
                self._restart_audio()
            self._apply_routes()

    def _track_changed(self, index: int) -> None:
        if self.engine is None:
            return
        track = self.doc.song.tracks[index]
        if self._song_pending:
            return  # the whole song is on its way
        if len(self.doc.song.tracks) != self._engine_tracks:
            self._song_changed()  # tracks added or removed: the engine needs the whole song
            return
        if self.audio is not None:
            if self._sound_keys != self._keys() and not self._retune(index):
                self._restart_audio()  # another instrument or effect chain
            elif index in self._strips:  # a float store the audio thread reads as a whole
                self.audio.mixer.tracks[self._strips[index]].volume_db = volume_db(track)
        try:
            self.engine.set_track_quantize(index, track.quantize)
        except QuantaError:
            self._song_changed()
        self._apply_routes()

    def _apply_routes(self) -> None:
        """Mute and solo as routes: an inaudible track plays to no output."""
        if self.engine is None:
            return
        for i in range(len(self.doc.song.tracks)):
            sinks = self._fronted(self._track_sinks(i)) if self.audible(i) else []
            self.engine.set_outputs(sinks, track=i)

    def audible(self, index: int) -> bool:
        """Whether track ``index`` is heard: not muted, and soloed when any track is (the one
        rule for playback routes and for auditioning)."""
        tracks = self.doc.song.tracks
        t = tracks[index]
        if t.extra.get("mute"):
            return False
        return bool(t.extra.get("solo")) or not any(o.extra.get("solo") for o in tracks)

    def _track_sinks(self, index: int) -> list:
        """Where a track plays: the MIDI outputs and its own strip on the audio device."""
        sinks = list(self.outputs)
        if index in self._audio_sinks:
            sinks.append(self._audio_sinks[index])
        return sinks

    def _front(self, sink) -> TrackedSink:
        front = self._fronts.get(id(sink))
        if front is None or front.sink is not sink:
            front = TrackedSink(sink, self._front_failed)
            self._fronts[id(sink)] = front
        return front

    def _fronted(self, sinks: list) -> list[TrackedSink]:
        return [self._front(s) for s in sinks]

    def _front_failed(self, name: str, exc: Exception) -> None:
        self._front_errors.append(f"output {name!r} failed: {exc}")  # said by poll()

    # -- audition -------------------------------------------------------------------------
    def audition(self, track_index: int, pitch: int, velocity: int) -> bool:
        """Sound (``velocity`` > 0) or release (0) ``pitch`` now on the track's outputs, on the
        track's first channel. False when there is no engine or no such track, and for a
        note-on on a track that is muted or silenced by another's solo: auditioning goes
        through the track's channel strip, as in Logic. A release is always sent, so muting
        while a note sounds never leaves it hanging."""
        track = self.doc.track(track_index) if track_index >= 0 else None
        if self.engine is None or track is None:
            return False
        if velocity > 0 and not self.audible(track_index):
            return False
        channels = track.channels
        ch = channels[0] if channels else 0
        pitch = max(0, min(127, int(pitch)))
        if velocity > 0:
            data = bytes((0x90 | ch, pitch, max(1, min(127, int(velocity)))))
        else:
            data = bytes((0x80 | ch, pitch, 0))
        now = clock.now()
        for front in self._fronted(self._track_sinks(track_index)):
            front.send(front.safe_time(now), data)
        return True

    # -- transport commands ---------------------------------------------------------------
    def play(self) -> None:
        if self.engine is not None:
            self.engine.play()

    def stop(self) -> None:
        if self.engine is not None:
            self.engine.stop()

    def pause(self) -> None:
        if self.engine is not None:
            self.engine.pause()

    def locate(self, tick: float) -> None:
        if self.engine is not None:
            self.engine.locate(tick)

    def set_loop(self, loop: tuple[int, int] | None) -> None:
        if self.engine is not None:
            self.engine.set_loop(*(loop or (None,)))

    def set_metronome(self, on: bool) -> None:
        if self.engine is not None:
            self.engine.set_metronome(on)

    def arm_record(self, armed: bool, quantize) -> None:
        if self.engine is not None:
            self.engine.arm_record(armed, quantize)

    def set_live_quantize(self, settings) -> None:
        """Live input correction through the engine's causal live quantize with ``settings``
        (the panel's: grid or groove, humanize and flam as delays), or plain thru (None)."""
        if self.engine is None:
            return
        from engine.realtime import LiveSettings

        try:
            self.engine.set_live(LiveSettings(quantize=settings))
        except QuantaError as exc:  # a groove name that no longer resolves: thru, and say so
            self.engine.set_live(LiveSettings())
            self.message.emit(f"Live quantize off: {exc}")

    def state(self):
        return self.engine.state() if self.engine is not None else None

    def lateness_ms(self) -> tuple[float, float, float, int]:
        return self.engine.lateness_ms() if self.engine is not None else (0.0, 0.0, 0.0, 0)

    # -- polling --------------------------------------------------------------------------
    def poll(self) -> None:
        """Read the snapshot and the engine's messages (GUI thread, from the timer)."""
        if self.engine is None:
            return
        state = self.engine.state()
        if state is not self._last_state:
            self._last_state = state
            self.stateChanged.emit(state)
        while self._front_errors:
            self.message.emit(self._front_errors.popleft())
        for kind, value in self.engine.poll_events():
            if kind == "error":
                self.message.emit(str(value))
            elif kind == "takes":
                takes = self.engine.takes()
                if takes:
                    self.takesRecorded.emit(takes)


def _close(port) -> None:
    try:
        port.close()
    except Exception:  # a port that fails to close must not stop shutdown
        pass
