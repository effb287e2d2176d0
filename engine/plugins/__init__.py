"""The plugin host: instruments (MIDI in, audio out) and effects (audio in, audio out).

- :mod:`.base`: the interface (``Instrument``, ``Effect``, ``PluginInfo``, parameters, state).
- :mod:`.builtin_synth` (+ ``builtin_programs``, ``builtin_drums``, ``synth_core``, ``synth_consts``): the
  embedded default synth and GM drum kit.
- :mod:`.lv2`: hosting LV2 instruments and effects; :mod:`.lv2_world`: our ctypes binding to
  liblilv, the world and what it says about plugins (ports, UIs, presets, bundles).
- :mod:`.vst3` and :mod:`.effects`: VST3 and the stock effects through pedalboard.
- :mod:`.sf2`: SoundFonts through FluidSynth.
- :mod:`.scan` (+ ``probe_child``): probing plugins in a child process with a timeout; the
  bad-plugin memory.
- :mod:`.loader`: plugin specs (``builtin:pad``, ``lv2:URI``, ``vst3:PATH``, ``sf2:PATH``) and
  ``--effect`` specs (``make_effect``).
- :mod:`.lv2_discovery` (+ ``lv2_discover_child``): finding LV2 plugins in child processes, a
  crashing bundle named and skipped.
- :mod:`.fault_note` (+ ``child_proc``): naming the plugin that killed a child process.
- :mod:`.lv2_ui`, :mod:`.control_link`, :mod:`.lv2_presets`, :mod:`.vst3_editor`: plugin
  editors (LV2 UIs, lock-free control rings, presets, VST3 editors in a child process).
- :mod:`.vst3_presets` (programs, ``.vstpreset`` files), :mod:`.plugin_presets` (presets
  whatever the format).
"""

from engine.public import lazy_exports

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "base": ("Effect", "Instrument", "Plugin", "PluginInfo", "empty_block_events"),
        "loader": ("load_instrument", "load_effect", "make_effect", "load_direct"),
        "effects": ("stock_names",),
        "builtin_programs": ("PROGRAM_NAMES",),
        "scan": ("scan_installed", "ensure_loadable", "ProbeCache"),
        "sf2": ("fluidsynth_available",),
        "child_proc": ("child_env", "exit_reason", "protocol_writer", "read_lines", "spawn_child"),
        "fault_note": ("FaultNote", "guard"),
        "lv2_discovery": ("discover",),
        "lv2_ui": ("LV2UIHost", "choose_ui"),
        "lv2_presets": ("list_presets", "load_preset", "save_preset"),
        "vst3": ("load_vst3",),
        "vst3_editor": ("VST3Editor",),
        "vst3_presets": ("PresetFileError", "check_preset"),
        "plugin_presets": (
            "has_presets", "list_plugin_presets", "load_plugin_preset", "save_plugin_preset",
        ),
    },
)
