"""Audio: the output stream and its compiled callback, the mixer and its kernels, render, and
grooves from audio loops (onset detection)."""

from engine.public import lazy_exports

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "output": ("AudioOutput", "audio_available", "choose_device", "list_devices", "output_devices"),
        "mixer": ("Mixer", "build_mixer"),
        "onset_groove": ("AudioGroove", "extract_audio_groove"),
        "render": (
            "AudioWriter",
            "BIT_DEPTHS",
            "DITHERS",
            "MAX_AUTO_TAIL",
            "MAX_RENDER_HOURS",
            "SILENCE_DBFS",
            "check_render_length",
            "duration_text",
            "render_schedule",
            "render_song",
            "track_map",
        ),
    },
)
