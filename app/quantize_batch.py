"""Quantizing many files: the per-file function, and running it on every core.

``quanta quantize`` runs :func:`quantize_job` for each file, in this process (``--jobs 1``) or
in a process pool; either way the results come back in input order, so the output is the same.
On Linux the workers are forked from this process once it has the kernels loaded, so they
start warm (see :func:`_pool`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from engine.errors import QuantaError
from engine.quantize import NoteFilter, quantize_song

#: What a batch job is: (input, output or None for a dry run, settings, note filter).
Job = tuple[Path, "Path | None", object, NoteFilter]


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def quantize_file(src: Path, dst: Path | None, settings, flt: NoteFilter) -> str:
    """Quantize one file (``dst=None``: dry run) and return its summary line."""
    from engine.smf import load_song, save_song

    song = load_song(src)
    if flt.tracks is not None and max(flt.tracks) >= len(song.tracks):
        raise QuantaError(
            f"{src.name}: there is no track {max(flt.tracks) + 1}; "
            f"the file has {len(song.tracks)} tracks"
        )
    quantized, report = quantize_song(song, settings, flt)
    if dst is not None:
        save_song(quantized, dst)
    where = f"{src} -> {dst}" if dst is not None else f"{src} (dry run)"
    return f"{where}: {report.summary()}"


def quantize_job(src: Path, dst: Path | None, settings, flt: NoteFilter) -> tuple[bool, str]:
    """:func:`quantize_file` for a batch (in this process or a worker): ``(ok, line)``, the
    error of a bad file as its line, so one bad file never stops the others."""
    try:
        return True, quantize_file(src, dst, settings, flt)
    except QuantaError as exc:
        return False, f"quanta: error: {exc}"


def _pool(workers: int):
    """A process pool whose workers start warm.

    On Linux the workers are forked from this process after it has loaded the MIDI file and
    quantize kernels, so none of them imports numpy and numba or loads the kernels again
    (about a second each); the pool forks all of them before it starts its own threads, and
    this command runs none (checked). Elsewhere (macOS, Windows) they are spawned.
    """
    import multiprocessing as mp
    import sys
    import threading
    from concurrent.futures import ProcessPoolExecutor

    if sys.platform == "linux" and threading.active_count() == 1:
        from app.warmup import FILE_KERNELS, warm_up

        warm_up(FILE_KERNELS)
        ctx = mp.get_context("fork")
    else:
        ctx = mp.get_context("spawn")
    return ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init)


def _worker_init() -> None:
    """Ctrl+C reaches the whole process group: the parent stops the batch, workers stay quiet."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def batch_results(jobs: list[Job], workers: int) -> Iterator[tuple[bool, str]]:
    """``quantize_job`` results in input order, from ``workers`` processes (1: this one)."""
    if workers <= 1:
        for job in jobs:
            yield quantize_job(*job)
        return
    from concurrent.futures.process import BrokenProcessPool

    pool = _pool(workers)
    try:
        futures = [pool.submit(quantize_job, *job) for job in jobs]
        for (src, *_), fut in zip(jobs, futures, strict=True):
            try:
                yield fut.result()
            except BrokenProcessPool:
                raise QuantaError(f"{src}: a quantize worker process died") from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
