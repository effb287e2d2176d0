"""The real-time engine: transport, schedule, clock, live quantize and thru, recording."""

from engine.public import lazy_exports

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "clock": ("clock",),
        "transport": ("Engine", "EngineState"),
        "schedule": ("build_schedule", "playback_notes"),
        "sounding": ("TrackedSink", "wait_delivered"),
        "live_quantize": ("LIVE_MODES", "LiveSettings"),
    },
)
