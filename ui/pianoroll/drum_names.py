"""General MIDI percussion names (GM Level 1 key map, notes 35–81 on channel 10), as drum
editors label the rows of a drum track. Short forms so they fit the keyboard's width."""

from __future__ import annotations

from engine.model import Track

DRUM_CHANNEL = 9  #: MIDI channel 10, counted from 0

GM_DRUMS: dict[int, str] = {
    35: "Kick 2",
    36: "Kick",
    37: "Side Stick",
    38: "Snare",
    39: "Clap",
    40: "Snare 2",
    41: "Low Tom 2",
    42: "Closed Hat",
    43: "Low Tom",
    44: "Pedal Hat",
    45: "Mid Tom 2",
    46: "Open Hat",
    47: "Mid Tom",
    48: "High Tom 2",
    49: "Crash",
    50: "High Tom",
    51: "Ride",
    52: "China",
    53: "Ride Bell",
    54: "Tambourine",
    55: "Splash",
    56: "Cowbell",
    57: "Crash 2",
    58: "Vibraslap",
    59: "Ride 2",
    60: "Hi Bongo",
    61: "Low Bongo",
    62: "Mute Conga",
    63: "Open Conga",
    64: "Low Conga",
    65: "High Timbale",
    66: "Low Timbale",
    67: "High Agogo",
    68: "Low Agogo",
    69: "Cabasa",
    70: "Maracas",
    71: "Short Whistle",
    72: "Long Whistle",
    73: "Short Guiro",
    74: "Long Guiro",
    75: "Claves",
    76: "Hi Wood Block",
    77: "Low Wood Block",
    78: "Mute Cuica",
    79: "Open Cuica",
    80: "Mute Triangle",
    81: "Open Triangle",
}


def is_drum_track(track: Track | None) -> bool:
    """A track whose notes are all on channel 10 (GM percussion) — the same rule the track
    list uses to call its instrument "GM Drums"."""
    return track is not None and bool(track.notes.size) and track.channels == [DRUM_CHANNEL]


def drum_name(pitch: int) -> str | None:
    """The GM drum at ``pitch``, or None outside the GM key map."""
    return GM_DRUMS.get(int(pitch))
