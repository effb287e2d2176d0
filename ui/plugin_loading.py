"""Loading a track's stored instrument or effect (its ``Track.extra`` entry) with its saved
state: shared by the engine link, the Settings dialog and the plugin editors (a module of its
own so the dialog and the editors it opens do not import each other)."""

from __future__ import annotations


def load_plugin(entry: dict, sample_rate: int = 48000, max_block: int = 1024):
    """Load a stored instrument/effect (``Track.extra`` form) with its saved state applied."""
    fmt, ident = entry["format"], entry.get("ident", "")
    spec = ident if fmt == "stock" else f"{fmt}:{ident}" if ident else fmt
    if entry.get("kind") == "effect":
        from engine.plugins import make_effect

        plugin = make_effect(spec, sample_rate, max_block)
    else:
        from engine.plugins import load_instrument

        plugin = load_instrument(spec, sample_rate, max_block, probe=False)
    if entry.get("state"):
        plugin.set_state(entry["state"])
    return plugin
