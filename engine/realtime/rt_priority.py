"""Real-time scheduling for Quanta's own time-critical Python threads.

A normal-priority thread waits for a CPU behind every busy process on a small machine; a
real-time (SCHED_FIFO) one is woken on time and then only has to win the GIL. Used by the
engine thread, the audio render-ahead thread and the MIDI input dispatchers, all below
JACK's own threads (10 and up).
"""

from __future__ import annotations

import os
import threading

#: SCHED_FIFO priority of Quanta's threads (below JACK's, 10 and up).
RT_PRIORITY = 5


def raise_thread_priority(priority: int = RT_PRIORITY) -> bool:
    """Ask for SCHED_FIFO for the calling thread (Linux; needs root or an rtprio limit).
    Refused, or ``QUANTA_NO_RT`` set → False, and the thread runs at normal priority."""
    if os.environ.get("QUANTA_NO_RT") or not hasattr(os, "sched_setscheduler"):
        return False
    try:
        os.sched_setscheduler(threading.get_native_id(), os.SCHED_FIFO, os.sched_param(priority))
    except (OSError, AttributeError):
        return False
    return True
