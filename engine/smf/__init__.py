"""Standard MIDI Files: the compiled reader and writer kernels and load/save of songs."""
