"""MIDI ports: the MIDI API choice and port listing, rtmidi and JACK MIDI, the watcher."""

from engine.public import lazy_exports

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "api": ("ApiChoice", "PortInfo", "api_label", "api_problem", "available_apis", "choose_api", "compiled_apis", "list_ports"),
        "watch": ("PortEvent",),
        "rtmidi_io": ("open_input", "open_output"),
    },
)
