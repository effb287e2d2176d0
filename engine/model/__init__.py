"""The song model: note and event arrays, songs and tracks, the tempo and meter maps."""

from engine.public import lazy_exports

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "notes": ("EVENT_DTYPE", "NOTE_DTYPE", "STATUS_META", "empty_notes", "make_notes", "sort_notes"),
        "song": ("META_TEMPO", "META_TIME_SIGNATURE", "META_TRACK_NAME", "Song", "Track"),
        "tempo": ("TempoMap", "TimeSignature", "TimeSignatureMap"),
    },
)
