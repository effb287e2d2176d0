"""Quanta's engine: note data, MIDI files, the quantizer, real-time playback, sound.

Nothing in this package imports Qt; the GUI talks to it through narrow interfaces: each
subpackage's public names (its ``__init__``). Subpackages, lowest first (a package imports
only packages below it; tests/test_import_graph.py checks):

- :mod:`.model`: notes and events (numpy arrays), songs and tracks, tempo and meter maps.
- :mod:`.smf`: Standard MIDI Files (compiled reader and writer); :mod:`.quantize`: the
  quantizer; :mod:`.plugins`: instruments and effects (built-in synth, LV2, VST3, SF2).
- :mod:`.presets`: quantize preset files; :mod:`.project`: the project file.
- :mod:`.realtime`: the real-time engine (transport, schedule, clock, live quantize/thru,
  recorder, metronome).
- :mod:`.ports`: MIDI ports (rtmidi, JACK MIDI, the watcher); :mod:`.audio`: audio output,
  mixer, render.

Top-level modules: :mod:`.errors` (every error a user can see), :mod:`.build` and
:mod:`.demo` (building songs in code), :mod:`.public` (lazy public names).
"""
