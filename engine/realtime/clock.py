"""The engine clock: one monotonic time base shared by the engine, MIDI I/O and audio.

All times the engine hands to sinks, and sources report, are ``time.monotonic()`` seconds.
Other clocks are mapped onto it where they meet it: JACK's ``jack_get_time()`` is not the same
clock here (measured ~250 ms apart), so ``engine.ports.jack_midi.JackClock`` measures and refreshes
the offset; the audio output maps PortAudio's stream time the same way.
"""

import time

now = time.monotonic
