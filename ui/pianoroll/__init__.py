"""The piano roll: a fast, editable view of one track's notes (see widget.PianoRoll)."""

from ui.pianoroll.widget import PianoRoll

__all__ = ["PianoRoll"]
