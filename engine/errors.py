"""Errors that carry a message fit to show a musician (one line, names the problem)."""


class QuantaError(Exception):
    """Base of every error Quanta reports to the user without a traceback."""


class MidiFileError(QuantaError):
    """A MIDI file could not be read or written; the message names the file and the problem."""


class SettingsError(QuantaError, ValueError):
    """A quantize setting is out of range or inconsistent; the message names the field."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field


class PresetError(QuantaError):
    """A preset could not be loaded, validated or saved; the message names the field."""


class DeviceError(QuantaError):
    """A MIDI port, audio device or plugin is missing or failed."""


class GrooveError(QuantaError, ValueError):
    """A groove template (or a groove file's field) is invalid; the message names the field."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.detail = message
