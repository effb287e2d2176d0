"""Compiling Quanta's numba kernels ahead of first use.

numba compiles each kernel the first time it runs after an install (several seconds in all)
and caches the machine code next to the sources. ``scripts/setup`` calls this once so a
musician's first file open, quantize or note does not stall; the GUI also calls it from a
background thread at start-up, where it only loads the cache (well under a second).
"""

from __future__ import annotations

import importlib

KERNEL_MODULES = (
    "engine.smf.midifile",
    "engine.quantize.core",
    "engine.plugins.synth_consts",
    "engine.audio.mixer",
    "engine.audio.audio_native",
)


#: The kernels a file quantize runs (``quanta quantize`` warms these before forking workers).
FILE_KERNELS = ("engine.smf.midifile", "engine.quantize.core")


def warm_up(modules: tuple[str, ...] = KERNEL_MODULES) -> None:
    for name in modules:
        importlib.import_module(name).warm_up()


if __name__ == "__main__":
    warm_up()
