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


def display_path(path) -> str:
    """A path fit for a one-line message: bytes that are not UTF-8 (``surrogateescape``)
    and control characters (a line break in a file name) shown as ``\\xNN``."""
    import os
    import re

    text = os.fspath(path)
    if isinstance(text, bytes):
        text = text.decode("utf-8", "surrogateescape")
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    text = re.sub("[\ud800-\udfff]", "?", text)
    return re.sub(r"[\x00-\x1f\x7f-\x9f]", lambda m: f"\\x{ord(m.group()):02x}", text)
