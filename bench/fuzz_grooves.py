#!/usr/bin/env python3
"""Long-run fuzz of the groove readers (.json, .agr, .rgt).

    .venv/bin/python bench/fuzz_grooves.py [--cases 20000] [--timeout 5] [--kinds json,agr,rgt]

Cases come from the strategies in tests/groove_fuzz_inputs.py (valid files mutated at the byte,
line and field level, gzip included). Each is parsed in a worker process limited to 1 GB of
address space above its start, with a per-case timeout; a worker that hangs or dies is replaced.
Prints, per reader: tried / accepted / clean reject / crash / hang / over 1 GB. "accepted" also
means the groove saved and read back equal (tests/test_groove_fuzz.check_one).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

GB = 1024**3


def _worker(conn) -> None:
    import resource

    from tests.test_groove_fuzz import check_one

    with open("/proc/self/statm") as fh:
        vm = int(fh.read().split()[0]) * resource.getpagesize()
    resource.setrlimit(resource.RLIMIT_AS, (vm + GB, vm + GB))
    while True:
        item = conn.recv()
        if item is None:
            return
        kind, data = item
        try:
            conn.send(check_one(kind, data))
        except MemoryError:
            conn.send("over 1 GB")
        except BaseException as exc:  # noqa: BLE001 - a crash is what we count
            conn.send(f"crash: {type(exc).__name__}: {str(exc)[:120]}")


class Runner:
    def __init__(self, timeout: float):
        self.timeout = timeout
        self._start()

    def _start(self) -> None:
        self.conn, child = mp.Pipe()
        self.proc = mp.get_context("fork").Process(target=_worker, args=(child,), daemon=True)
        self.proc.start()

    def run(self, kind: str, data: bytes) -> str:
        self.conn.send((kind, data))
        if not self.conn.poll(self.timeout):
            self.proc.kill()
            self.proc.join()
            self._start()
            return "hang"
        try:
            return self.conn.recv()
        except EOFError:
            self.proc.join()
            self._start()
            return "crash: worker died"

    def close(self) -> None:
        self.conn.send(None)
        self.proc.join(5)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=20_000, help="cases per reader")
    ap.add_argument("--timeout", type=float, default=5.0, help="seconds before a case is a hang")
    ap.add_argument("--kinds", default="json,agr,rgt")
    args = ap.parse_args()

    from hypothesis import HealthCheck, given, settings

    from tests.groove_fuzz_inputs import READERS

    runner = Runner(args.timeout)
    crashes = []
    print(f"{'reader':<6} {'tried':>7} {'accepted':>9} {'clean reject':>13} {'crash':>6} "
          f"{'hang':>5} {'over 1 GB':>10} {'seconds':>8}")  # fmt: skip
    for kind in args.kinds.split(","):
        counts = {"accepted": 0, "rejected": 0, "crash": 0, "hang": 0, "over 1 GB": 0}
        t0 = time.perf_counter()

        def one(data, kind=kind, counts=counts):
            result = runner.run(kind, data)
            if result.startswith("crash"):
                counts["crash"] += 1
                crashes.append((kind, result, data[:200]))
            else:
                counts[result] += 1

        fuzz = settings(
            max_examples=args.cases,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )(given(READERS[kind]())(lambda data: one(data)))
        fuzz()
        tried = sum(counts.values())
        print(
            f"{kind:<6} {tried:>7} {counts['accepted']:>9} {counts['rejected']:>13} "
            f"{counts['crash']:>6} {counts['hang']:>5} {counts['over 1 GB']:>10} "
            f"{time.perf_counter() - t0:>8.1f}"
        )
    runner.close()
    for kind, result, data in crashes[:10]:
        print(f"{kind}: {result}\n  input: {data!r}")
    return 1 if crashes else 0


if __name__ == "__main__":
    raise SystemExit(main())
