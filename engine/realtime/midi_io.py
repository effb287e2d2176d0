"""The narrow interfaces between the engine and whatever carries MIDI in and out.

Outputs (rtmidi ports, JACK MIDI ports, the audio instrument host) are ``MidiSink``s; inputs
are ``MidiSource``s. Times are on the engine clock (:mod:`engine.realtime.clock`, seconds).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

#: ``callback(data, when)``: raw MIDI bytes and their arrival time on the engine clock.
MidiCallback = Callable[[bytes, float], None]


@runtime_checkable
class MidiSink(Protocol):
    """Something the engine sends timed MIDI to.

    ``lookahead`` says how far ahead of ``engine.realtime.clock.now()`` the sink accepts events: a JACK
    port or the audio host places them at their exact frame/sample, so the engine may hand them
    over early; a sink with ``lookahead == 0`` (a plain rtmidi port) sends on arrival, so the
    engine calls ``send_at`` when the event is due.
    """

    name: str
    lookahead: float

    def send_at(self, when: float, data: bytes) -> None: ...

    def panic(self) -> None:
        """Note-off for every sounding note, then all-notes-off/all-sound-off on all channels."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class MidiSource(Protocol):
    name: str

    def set_callback(self, callback: MidiCallback | None) -> None: ...

    def close(self) -> None: ...
