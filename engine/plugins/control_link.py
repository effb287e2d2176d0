"""Control-port values between a plugin's editor (GUI thread) and its DSP (audio thread).

Two single-producer single-consumer rings of ``(port index, value)`` in preallocated numpy
arrays: the GUI writes what the user turned into one (the LV2 UI's port-write function), the
audio thread applies it before the next ``run``; after ``run`` the audio thread publishes the
control values that changed (output ports such as meters, and inputs set from elsewhere) into
the other, which the GUI drains on a timer and hands to the UI (``port_event``). Neither side
ever waits for the other: a full ring drops the value (counted) rather than block, and the
audio thread allocates nothing (the rings and the "last published" copy are made up front).

Each ring's counters are only ever advanced by one side (the writer moves ``written``, the
reader moves ``read``), and a slot is filled before ``written`` moves past it; with the GIL
every store is seen in program order by the other thread.
"""

from __future__ import annotations

import numpy as np


class ControlRing:
    """A bounded SPSC queue of (index, value) pairs; ``push`` never blocks."""

    def __init__(self, capacity: int = 1024):
        self.capacity = capacity
        self.index = np.zeros(capacity, dtype=np.int32)
        self.value = np.zeros(capacity, dtype=np.float32)
        self.written = 0
        self.read = 0
        self.dropped = 0

    def push(self, index: int, value: float) -> bool:
        """Producer side. False (and counted) when the consumer is a full ring behind."""
        w = self.written
        if w - self.read >= self.capacity:
            self.dropped += 1
            return False
        slot = w % self.capacity
        self.index[slot] = index
        self.value[slot] = value
        self.written = w + 1
        return True

    def pending(self) -> int:
        return self.written - self.read

    def pop_all_into(self, controls: np.ndarray, seen: np.ndarray | None = None) -> int:
        """Consumer side (audio thread): apply every pending pair to ``controls`` (and record
        it in ``seen``, so it is not published back); how many were applied."""
        r, w = self.read, self.written
        cap = self.capacity
        n = w - r
        for k in range(r, w):
            slot = k % cap
            i = self.index[slot]
            controls[i] = self.value[slot]
            if seen is not None:
                seen[i] = self.value[slot]
        self.read = w
        return n

    def drain(self) -> dict[int, float]:
        """Consumer side (GUI thread): every pending pair, the last value per index."""
        r, w = self.read, self.written
        out: dict[int, float] = {}
        for k in range(r, w):
            slot = k % self.capacity
            out[int(self.index[slot])] = float(self.value[slot])
        self.read = w
        return out


class ControlLink:
    """Both directions for one plugin instance whose control ports live in ``controls``."""

    def __init__(self, controls: np.ndarray, watched: list[int], capacity: int = 1024):
        self.to_dsp = ControlRing(capacity)
        self.to_ui = ControlRing(capacity)
        #: ports whose changes are published to the UI (every control port, in and out)
        self.watched = np.asarray(watched, dtype=np.int32)
        self.last = controls.astype(np.float32, copy=True)

    # -- GUI thread ------------------------------------------------------------------------
    def write(self, index: int, value: float) -> bool:
        """What the editor sets: applied by the audio thread before its next block."""
        return self.to_dsp.push(index, value)

    def changes(self) -> dict[int, float]:
        """What the DSP side published since the last call (last value per port)."""
        return self.to_ui.drain()

    # -- audio thread ----------------------------------------------------------------------
    def apply(self, controls: np.ndarray) -> int:
        """Before ``run``: take the editor's values."""
        if self.to_dsp.written == self.to_dsp.read:
            return 0
        return self.to_dsp.pop_all_into(controls, self.last)

    def publish(self, controls: np.ndarray) -> None:
        """After ``run``: queue every watched port whose value changed since last published."""
        last = self.last
        for i in self.watched:
            v = controls[i]
            if v != last[i]:
                if self.to_ui.push(int(i), float(v)):
                    last[i] = v
