"""The project file: a song with its quantize, mixer and view settings in one document."""
