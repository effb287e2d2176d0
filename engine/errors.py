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


class RenderLimitError(QuantaError):
    """A render would last longer than the render limit (a song with a silence of years)."""


class GrooveError(QuantaError, ValueError):
    """A groove template (or a groove file's field) is invalid; the message names the field."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.detail = message


# -- one wording for file problems, everywhere (command line and window) ------------------------
def missing_file_message(path: object) -> str:
    """The one message for an input that does not exist: ``PATH: no such file or folder``."""
    return f"{path}: no such file or folder"


def output_folder_problem(path: object) -> str | None:
    """Why ``path`` cannot be created in its folder (missing, or not a folder), else ``None``.

    A failed write of ``/missing/dir/x.mid`` is about the folder, not about ``x.mid``: the
    message names the folder so the musician knows what to create or fix.
    """
    import os

    folder = os.path.dirname(os.fspath(path)) or "."
    if not os.path.exists(folder):
        return f"folder {folder} does not exist"
    if not os.path.isdir(folder):
        return f"{folder} is not a folder"
    return None


def write_failure_message(path: object, exc: OSError, shown: str | None = None) -> str:
    """One line for a write that failed: ``NAME: cannot save: folder F does not exist`` when
    the folder is the problem, else ``NAME: cannot save (reason)``. ``shown`` is how the file
    is named in the message (default: the path as given)."""
    shown = str(path) if shown is None else shown
    problem = output_folder_problem(path)
    if problem is not None:
        return f"{shown}: cannot save: {problem}"
    return f"{shown}: cannot save ({exc.strerror or exc})"


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
