"""Standard MIDI Files: the compiled reader and writer kernels and loading/saving songs."""

from engine.public import lazy_exports

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "midifile": ("load_song", "save_song", "song_to_bytes"),
    },
)
