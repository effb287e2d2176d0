"""The plugin host: instruments (MIDI in, audio out) and effects (audio in, audio out).

- :mod:`.base`: the interface (``Instrument``, ``Effect``, ``PluginInfo``, parameters, state).
- :mod:`.builtin_synth` (+ ``builtin_programs``, ``builtin_drums``, ``synth_core``, ``synth_consts``): the
  embedded default synth and GM drum kit.
- :mod:`.lv2`: LV2 through our ctypes binding to liblilv.
- :mod:`.vst3` and :mod:`.effects`: VST3 and the stock effects through pedalboard.
- :mod:`.sf2`: SoundFonts through FluidSynth.
- :mod:`.scan` (+ ``probe_child``): probing plugins in a child process with a timeout; the
  bad-plugin memory.
- :mod:`.loader`: plugin specs (``builtin:pad``, ``lv2:URI``, ``vst3:PATH``, ``sf2:PATH``) and
  ``--effect`` specs (``make_effect``).
"""

from engine.public import lazy_exports

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "base": ("Effect", "Instrument", "Plugin", "PluginInfo"),
        "loader": ("load_instrument", "load_effect", "make_effect"),
        "effects": ("stock_names",),
        "builtin_programs": ("PROGRAM_NAMES",),
        "scan": ("scan_installed",),
        "sf2": ("fluidsynth_available",),
    },
)
