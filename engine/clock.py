"""The engine clock: one monotonic time base shared by the engine, MIDI I/O and audio.

``time.monotonic()`` reads CLOCK_MONOTONIC on Linux, the same clock ``jack_get_time()`` uses,
so JACK frame times, rtmidi arrival times and audio callback times can all be mapped onto it.
"""

import time

now = time.monotonic
