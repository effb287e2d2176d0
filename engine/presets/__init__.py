"""Preset and groove files: the JSON preset format, the groove file formats (quanta-groove
JSON, Ableton .agr, REAPER SWS .rgt), their validation and names."""

from engine.public import lazy_exports

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "preset_format": ("MAX_PRESET_BYTES", "SCHEMA_FILE", "SCHEMA_FILES", "Preset", "check_name", "describe_settings", "display_name", "is_preset_text", "preset_filename", "preset_from_bytes", "preset_from_document", "preset_from_json", "preset_from_text", "preset_to_document", "preset_to_json", "preset_to_text", "read_preset_file", "same_name"),
        "groove_files": ("GrooveFile", "groove_file_bytes", "groove_from_bytes", "kind_of", "name_from_filename", "read_groove_file"),
        "groove_json": ("MAX_GROOVE_BYTES", "groove_from_json", "groove_schema", "groove_to_json"),
        "groove_agr": ("AgrAmounts", "groove_from_agr", "groove_to_agr"),
        "groove_rgt": ("groove_from_rgt", "groove_to_rgt"),
    },
)
