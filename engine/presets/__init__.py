"""Preset files: the JSON preset format, its validation and preset names."""

from engine.public import lazy_exports

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "preset_format": ("MAX_PRESET_BYTES", "Preset", "check_name", "describe_settings", "is_preset_text", "preset_filename", "preset_from_document", "preset_from_json", "preset_from_text", "preset_to_document", "preset_to_json", "preset_to_text", "read_preset_file", "same_name"),
    },
)
