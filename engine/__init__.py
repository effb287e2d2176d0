"""Quanta's engine: note data, MIDI files, the quantizer, real-time playback, sound.

Nothing in this package imports Qt; the GUI talks to it through narrow interfaces.
"""
