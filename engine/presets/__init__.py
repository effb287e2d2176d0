"""Presets and their formats: the JSON preset file, validation and names."""
