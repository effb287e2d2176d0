"""Long-run fuzz campaigns: many seeded cases, each classified as the issue-14 campaign did.

A case is a seed; the reader's module builds its input from ``random.Random(seed)`` and runs
the contract (:func:`run_case` in ``bench/fuzz_project.py`` / ``fuzz_presets.py``). Cases run
in a worker process so that what an in-process test cannot survive is still counted:

- **hang**: no answer within ``--timeout`` seconds (the worker is killed and restarted);
- **over 1 GB**: the worker's address space is capped at its start size plus ``--memory-mb``
  (default 1024), so an allocation past it raises MemoryError (or the worker dies);
- **crash**: any exception other than Quanta's one-line error types, an accepted input that
  cannot be saved and read back, or the worker dying.

The parent prints ``tried / accepted / clean reject / crash / hang / over 1 GB`` and the first
seeds of each failure (rerun one with ``--seed N --count 1 -v``).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import resource
import select
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class Hang(Exception):
    pass


def _vm_size() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def worker(run_case, setup, start: int, count: int, timeout: float, memory_mb: int) -> None:
    """Run seeds ``start..start+count`` and print one JSON line per case."""
    setup()
    limit = _vm_size() + memory_mb * 1048576
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    def alarm(*_):
        raise Hang

    signal.signal(signal.SIGALRM, alarm)
    for seed in range(start, start + count):
        t0 = time.perf_counter()
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            result = run_case(seed)
            detail = ""
        except Hang:
            result, detail = "hang", ""
        except MemoryError:
            result, detail = "over1gb", ""
        except BaseException as exc:  # noqa: BLE001 - classifying is the point
            result = "crash"
            detail = f"{type(exc).__name__}: {str(exc)[:160]} | " + " < ".join(
                f"{Path(f.filename).name}:{f.lineno}"
                for f in traceback.extract_tb(exc.__traceback__)[-3:]
            )
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        line = {"seed": seed, "result": result, "s": round(time.perf_counter() - t0, 3)}
        if detail:
            line["detail"] = detail
        print(json.dumps(line), flush=True)


def campaign(module: str, description: str, run_case, setup) -> int:
    """The command line of a campaign script; ``run_case(seed)`` returns "accept" or
    "reject" (or raises), ``setup()`` runs once per worker (imports, warm-up)."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--count", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=0, help="first seed")
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds per case (hang above)")
    ap.add_argument("--memory-mb", type=int, default=1024, help="address space per case")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every failure")
    ap.add_argument("--worker", nargs=2, type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(run_case, setup, args.worker[0], args.worker[1], args.timeout, args.memory_mb)
        return 0
    counts: collections.Counter = collections.Counter()
    examples: dict[str, list[str]] = collections.defaultdict(list)
    next_seed, end = args.seed, args.seed + args.count
    t_start = time.perf_counter()
    slowest = (0.0, None)
    while next_seed < end:
        proc = subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).resolve().parent / f"{module}.py"),
                "--worker",
                str(next_seed),
                str(end - next_seed),
                "--timeout",
                str(args.timeout),
                "--memory-mb",
                str(args.memory_mb),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            while next_seed < end:
                ready, _, _ = select.select([proc.stdout], [], [], args.timeout + 20)
                if not ready:  # stuck where an alarm cannot reach (compiled code)
                    counts["hang"] += 1
                    examples["hang"].append(
                        f"seed {next_seed}: no answer in {args.timeout + 20:.0f} s"
                    )
                    next_seed += 1
                    break
                line = proc.stdout.readline()
                if not line:  # the worker died (signal, abort, out of memory kill)
                    proc.wait()
                    kind = "over1gb" if proc.returncode == -signal.SIGKILL else "crash"
                    counts[kind] += 1
                    examples[kind].append(f"seed {next_seed}: worker died ({proc.returncode})")
                    next_seed += 1
                    break
                rec = json.loads(line)
                counts[rec["result"]] += 1
                if rec["s"] > slowest[0]:
                    slowest = (rec["s"], rec["seed"])
                if rec["result"] not in ("accept", "reject"):
                    examples[rec["result"]].append(f"seed {rec['seed']}: {rec.get('detail', '')}")
                next_seed = rec["seed"] + 1
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            proc.stdout.close()
    tried = sum(counts.values())
    took = time.perf_counter() - t_start
    print(
        f"{module}: tried {tried} / accepted {counts['accept']} / clean reject {counts['reject']}"
        f" / crash {counts['crash']} / hang {counts['hang']} / over 1 GB {counts['over1gb']}"
        f"  ({took:.0f} s, slowest case {slowest[0]:.2f} s: seed {slowest[1]})"
    )
    for kind, lines in examples.items():
        for text in lines[: None if args.verbose else 5]:
            print(f"  {kind}: {text}")
    return 1 if counts["crash"] or counts["hang"] or counts["over1gb"] else 0
