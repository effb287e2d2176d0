"""The quantizer: one definition of quantize (../shared/QUANTIZE_SPEC.md) used everywhere."""

from engine.public import lazy_exports
from engine.quantize.settings import ENDS_MODES, GRID_TYPES, QuantizeSettings

__all__ = ["ENDS_MODES", "GRID_TYPES", "QuantizeSettings"]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "settings": ("DIVISIONS", "parse_grid_text", "CONTROLLER_MODES", "NOISE_KINDS"),
        "groove_template": (
            "BASES",
            "GroovePoint",
            "GrooveTemplate",
            "exact_beats",
            "slot_of",
            "template_from_document",
        ),
        "groove": ("GrooveResolver", "resolve_groove", "set_groove_resolver"),
        "groove_extract": ("default_length", "extract_from_notes", "extract_groove"),
        "controllers": ("follow_notes",),
        "core": ("QuantizeReport", "quantize_notes"),
        "grid": ("grid_points", "nearest_grid"),
        "analysis": ("grid_offsets", "offset_stats"),
        "apply": ("NoteFilter", "quantize_song"),
    },
)
