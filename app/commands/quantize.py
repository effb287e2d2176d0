"""``quanta quantize``: quantize MIDI files, one or a whole folder at a time.

    quanta quantize IN.mid -o OUT.mid [quantize options] [--tracks 2,3] [--channels 10]
    quanta quantize DIR_OR_GLOB... -o OUT_DIR [--jobs N]

Only notes move; every other event is written back where it was (the end of a track moves
only when a quantized note now ends after it, so no note is cut off). The input file is never
changed (writing over it is refused). In batch mode a file that cannot be read is reported in
one line and skipped; the others are still written, and the exit code is 2. A batch uses
every core (``--jobs N`` to choose): the same per-file function runs in a process pool, and
the per-file lines come out in input order, exactly as with ``--jobs 1``.
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
import time
from pathlib import Path

from app.quantize_batch import available_cores, batch_results, quantize_file
from app.quantize_options import add_quantize_options, settings_from_args, settings_summary
from engine.errors import QuantaError, missing_file_message, output_folder_problem
from engine.quantize import NoteFilter, resolve_groove

MIDI_SUFFIXES = (".mid", ".midi", ".smf", ".kar", ".rmi")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "quantize",
        help="quantize MIDI files (one file, or folders/globs into an output folder)",
        description="Quantize MIDI files: one file to -o FILE, or folders/globs to -o FOLDER. "
        "Only notes move; every other event stays where it was.",
        epilog="Track numbers are the ones `quanta info` shows (1 = first track); channels "
        "are 1–16. Example: quanta quantize take.mid -o tight.mid --grid 1/16 --swing 58 "
        "--exclude-within 10",
    )
    p.add_argument("inputs", nargs="+", metavar="IN", help="MIDI file(s), folder(s) or globs")
    p.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUT",
        help="output file (one input) or folder (several inputs, a folder or a glob)",
    )
    f = p.add_argument_group("which notes")
    f.add_argument(
        "--tracks",
        type=_int_list(1, 65535, "tracks"),
        metavar="LIST",
        help="only these tracks, e.g. 2,4-6 (1 = first track; default all)",
    )
    f.add_argument(
        "--channels",
        type=_int_list(1, 16, "channels"),
        metavar="LIST",
        help="only notes on these MIDI channels 1–16, e.g. 10 or 1-4 (default all)",
    )
    f.add_argument(
        "--pitches",
        type=_pitch_range,
        metavar="LO-HI",
        help="only notes with MIDI note numbers LO..HI inclusive, 0–127, e.g. 36-51 (default all)",
    )
    p.add_argument("--dry-run", action="store_true", help="report what would move; write nothing")
    p.add_argument(
        "-j",
        "--jobs",
        type=_jobs,
        default=0,
        metavar="N",
        help="files quantized at once, each in its own process (default: all cores)",
    )
    add_quantize_options(p)
    p.set_defaults(func=run)


# -- option parsing ---------------------------------------------------------------------------
def _int_list(lo: int, hi: int, what: str):
    def parse(text: str) -> frozenset[int]:
        out: set[int] = set()
        for part in text.split(","):
            part = part.strip()
            try:
                if "-" in part:
                    a, b = (int(x) for x in part.split("-", 1))
                else:
                    a = b = int(part)
            except ValueError:
                raise argparse.ArgumentTypeError(
                    f"{text!r}: write {what} as numbers and ranges, e.g. 1,3-5"
                ) from None
            if not (lo <= a <= b <= hi):
                raise argparse.ArgumentTypeError(f"{part!r}: {what} go from {lo} to {hi}")
            out.update(range(a, b + 1))
        return frozenset(out)

    return parse


def _jobs(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = -1
    if not 1 <= n <= 512:
        raise argparse.ArgumentTypeError(f"{text!r}: give a number of processes from 1 to 512")
    return n


def _pitch_range(text: str) -> tuple[int, int]:
    try:
        lo, hi = (int(x) for x in text.split("-", 1)) if "-" in text else (int(text),) * 2
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: write LO-HI, e.g. 36-51") from None
    if not 0 <= lo <= hi <= 127:
        raise argparse.ArgumentTypeError(f"{text!r}: pitches go from 0 to 127, LO <= HI")
    return lo, hi


def note_filter(args: argparse.Namespace) -> NoteFilter:
    """The musician's 1-based track and channel numbers → the engine's 0-based filter."""
    return NoteFilter(
        tracks=None if args.tracks is None else frozenset(t - 1 for t in args.tracks),
        channels=None if args.channels is None else frozenset(c - 1 for c in args.channels),
        pitches=args.pitches,
    )


# -- inputs and outputs -----------------------------------------------------------------------
def _expand(inputs: list[str]) -> tuple[list[Path], bool]:
    """Files to quantize, and whether this is a batch (folder, glob or several inputs)."""
    files: list[Path] = []
    batch = len(inputs) > 1
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            batch = True
            files += sorted(p for p in path.iterdir() if p.suffix.lower() in MIDI_SUFFIXES)
        elif path.exists():
            files.append(path)
        elif glob.has_magic(item):
            batch = True
            files += sorted(Path(p) for p in glob.glob(item) if Path(p).is_file())
        else:
            raise QuantaError(missing_file_message(item))
    if not files:
        raise QuantaError(f"no MIDI files found in {' '.join(inputs)}")
    return files, batch


def _plan(args: argparse.Namespace) -> tuple[list[tuple[Path, Path]], bool]:
    """(input, output) pairs, and whether the output is a folder (batch mode)."""
    files, batch = _expand(args.inputs)
    out = Path(args.output)
    batch = batch or args.output.endswith(("/", os.sep))  # "-o out/" names a folder
    batch = batch or out.is_dir()
    if not batch:
        problem = output_folder_problem(out)
        if problem is not None:
            raise QuantaError(f"{out.name}: cannot save: {problem}")
        pairs = [(files[0], out)]
    else:
        if out.exists() and not out.is_dir():
            raise QuantaError(f"{out}: several inputs need an output folder, not a file")
        pairs = [(f, out / f.name) for f in files]
        names = [o.name for _, o in pairs]
        clash = {n for n in names if names.count(n) > 1}
        if clash:
            raise QuantaError(f"two inputs would both be written as {sorted(clash)[0]}")
    for src, dst in pairs:
        if dst.exists() and os.path.samefile(src, dst):
            raise QuantaError(f"{dst}: refusing to overwrite the input; pick another -o")
    return pairs, batch


class ProgressBar:
    """A one-line text bar on stderr, redrawn in place on a terminal; nothing otherwise (a log
    or a pipe gets the per-file lines and the summary only)."""

    def __init__(self, total: int, stream=None, width: int = 24):
        self.total = total
        self.stream = stream or sys.stderr
        self.width = width
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def show(self, done: int, label: str) -> None:
        if not self.tty:
            return
        filled = self.width * done // max(1, self.total)
        bar = "#" * filled + "." * (self.width - filled)
        line = f"[{bar}] {done}/{self.total} {label}"
        self.stream.write("\r\x1b[2K" + line[:200])
        self.stream.flush()

    def clear(self) -> None:
        """Wipe the bar so that a summary line can be printed in its place."""
        if self.tty:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


# -- the command --------------------------------------------------------------------------------
def run(args: argparse.Namespace) -> int:
    # A groove name is looked up once, here: an unknown name is one error before any file, and
    # the worker processes of a batch get the template itself (they have no groove store).
    settings = resolve_groove(settings_from_args(args))
    flt = note_filter(args)
    pairs, batch = _plan(args)
    print(f"quantize: {settings_summary(settings)}", flush=True)
    if not batch:
        src, dst = pairs[0]
        print(quantize_file(src, None if args.dry_run else dst, settings, flt))
        return 0
    if not args.dry_run:
        Path(args.output).mkdir(parents=True, exist_ok=True)
    workers = min(args.jobs or available_cores(), len(pairs))
    jobs = [(src, None if args.dry_run else dst, settings, flt) for src, dst in pairs]
    bar = ProgressBar(len(pairs))
    failed = 0
    started = time.perf_counter()
    bar.show(0, pairs[0][0].name)
    for i, (ok, line) in enumerate(batch_results(jobs, workers)):
        failed += not ok
        bar.clear()
        print(line, file=sys.stdout if ok else sys.stderr, flush=True)
        bar.show(i + 1, pairs[i + 1][0].name if i + 1 < len(pairs) else "done")
    bar.close()
    elapsed = time.perf_counter() - started
    rate = len(pairs) / elapsed if elapsed > 0 else float("inf")
    print(
        f"{len(pairs) - failed} of {len(pairs)} files quantized in {elapsed:.1f} s "
        f"({rate:.1f} files/s, {workers} process{'es' if workers > 1 else ''})"
    )
    return 2 if failed else 0
