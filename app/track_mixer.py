"""Building a mixer where each track has its own instrument, effects, volume and pan.

:func:`build_track_mixer` is what ``quanta render`` uses (and ``play``/``live`` can) once
:mod:`app.sound_options` has resolved the ``--track-*`` options. It goes through the mixer's
public API only (``Mixer``, ``add_track``, ``tracks[i].volume_db/.pan/.mute/.solo``,
``master_effects``).

Every third-party plugin is probed in a child process before it is loaded here (the loaders
in :mod:`engine.plugins` do that and remember the result, so a spec used on several tracks is
probed once), and a plugin that hangs or crashes is refused with one line naming the track and
the plugin, before a single sample is rendered. A failure part-way closes whatever was loaded.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from app.sound_options import TrackSound
from engine.audio import Mixer
from engine.errors import DeviceError
from engine.plugins import Effect, Instrument, Plugin


def track_label(index: int, name: str) -> str:
    """``track 3 "Bass"``: how messages name a track (its number as ``quanta info`` shows)."""
    return f'track {index + 1} "{name}"' if name else f"track {index + 1}"


@contextmanager
def _blame(label: str) -> Iterator[None]:
    """Prefix a plugin's one-line error with the track it was meant for."""
    try:
        yield
    except DeviceError as exc:
        raise DeviceError(f"{label}: {exc}") from None


def _close_all(plugins: list[Plugin]) -> None:
    for p in plugins:
        p.close()
    plugins.clear()


def _load_strip(
    sound: TrackSound, default: str, pending: list[Plugin], sample_rate: int, max_block: int, opts
) -> tuple[Instrument, list[Effect]]:
    """The track's instrument and effects, each appended to ``pending`` as soon as it exists
    so the caller can close them if a later one fails."""
    from engine.plugins import load_instrument, make_effect

    if sound.instrument is None:  # the default was probed once up front
        inst = load_instrument(default, sample_rate, max_block, probe=False)
    else:
        inst = load_instrument(sound.instrument, sample_rate, max_block, **opts)
    pending.append(inst)
    effects = []
    for spec in sound.effects:
        fx = make_effect(spec, sample_rate, max_block, **opts)
        pending.append(fx)
        effects.append(fx)
    return inst, effects


def build_track_mixer(
    tracks: list[int],
    names: list[str],
    sounds: dict[int, TrackSound],
    instrument: str = "builtin",
    master_effects: list[str] | None = None,
    sample_rate: int = 48000,
    max_block: int = 1024,
    cache_path=None,
    probe_timeout: float | None = None,
) -> Mixer:
    """A mixer with one strip per song track in ``tracks`` (in that order), each set up from
    ``sounds`` (0-based song track → :class:`TrackSound`) or, for tracks not in it, with the
    default ``instrument``; ``master_effects`` specs go on the master bus.

    ``names`` are every song track's names (for strip names and messages). A track in
    ``sounds`` but not in ``tracks`` (it plays nothing) is still loaded once and closed, so a
    mistyped plugin is reported even there.
    """
    from engine.plugins import load_instrument, make_effect

    opts = {"cache_path": cache_path, "timeout": probe_timeout}
    # The default instrument and master effects keep the loaders' own messages: they already
    # name the spec, and there is no track to blame.
    load_instrument(instrument, sample_rate, max_block, **opts).close()
    mixer = Mixer(sample_rate, max_block)
    pending: list[Plugin] = []
    try:
        for spec in master_effects or []:
            mixer.master_effects.append(make_effect(spec, sample_rate, max_block, **opts))
        for index in tracks:
            sound = sounds.get(index, TrackSound())
            with _blame(track_label(index, names[index])):
                inst, effects = _load_strip(
                    sound, instrument, pending, sample_rate, max_block, opts
                )
            strip = mixer.add_track(names[index] or f"Track {index + 1}", inst, effects)
            pending.clear()  # the mixer owns them now
            track = mixer.tracks[strip]
            track.volume_db, track.pan = sound.volume_db, sound.pan
            track.mute, track.solo = sound.mute, sound.solo
        for index in sorted(set(sounds) - set(tracks)):
            with _blame(track_label(index, names[index])):
                _load_strip(sounds[index], instrument, pending, sample_rate, max_block, opts)
            _close_all(pending)
    except BaseException:
        _close_all(pending)
        mixer.close()
        raise
    return mixer
