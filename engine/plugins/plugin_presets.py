"""Plugin presets whatever the format: one list/load/save for the track list, the Settings
dialog and ``quanta plugins presets``. LV2 through lilv (:mod:`.lv2_presets`), VST3 through
pedalboard (:mod:`.vst3_presets`); other formats have none.

``vst3_root`` is the folder of Quanta's user VST3 presets (the caller knows the user data
folder; the engine does not). LV2 user presets go where other LV2 hosts look (``~/.lv2``).
"""

from __future__ import annotations

from pathlib import Path

from engine.errors import DeviceError

FORMATS = ("lv2", "vst3")


def has_presets(fmt: str) -> bool:
    return fmt in FORMATS


def list_plugin_presets(plugin, vst3_root: Path) -> list[tuple[str, str]]:
    """``(label, ident)`` of every preset of ``plugin`` ([] for a format without presets)."""
    fmt = plugin.info.format
    if fmt == "lv2":
        from engine.plugins.lv2_presets import list_presets

        return list_presets(plugin)
    if fmt == "vst3":
        from engine.plugins.vst3_presets import list_presets

        return list_presets(plugin, vst3_root)
    return []


def load_plugin_preset(plugin, name: str, vst3_root: Path) -> None:
    """Apply the preset ``name`` (label, URI, program or file) to ``plugin``."""
    fmt = plugin.info.format
    if fmt == "lv2":
        from engine.plugins.lv2_presets import load_preset

        load_preset(plugin, name)
    elif fmt == "vst3":
        from engine.plugins.vst3_presets import load_preset

        load_preset(plugin, name, vst3_root)
    else:
        raise DeviceError(f"{plugin.info.name}: {fmt} plugins have no presets")


def save_plugin_preset(plugin, label: str, vst3_root: Path) -> str:
    """Save the current settings as a user preset called ``label``; where it was written."""
    fmt = plugin.info.format
    if fmt == "lv2":
        from engine.plugins.lv2_presets import save_preset

        return save_preset(plugin, label)
    if fmt == "vst3":
        from engine.plugins.vst3_presets import save_preset

        return str(save_preset(plugin, label, vst3_root))
    raise DeviceError(f"{plugin.info.name}: {fmt} plugins have no presets")
