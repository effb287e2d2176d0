"""Factory quantize presets, shipped as package data."""
