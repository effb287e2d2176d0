"""MIDI ports: the MIDI API choice, port listing, rtmidi and JACK MIDI, the port watcher."""
