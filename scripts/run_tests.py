#!/usr/bin/env python3
"""Run the test suite one test file per pytest process, then print one total.

Why not one pytest process: python-rtmidi ships its own libjack, which keeps per-process state
for the first JACK server it meets; tests that start further JACK servers (port loss, server
restart, load tests on a real-time server) crashed the whole run with SIGSEGV when they shared
a process with earlier JACK tests. One process per file isolates them, and a crash costs one
file, not the suite. With arguments (test paths, -k, ...) it runs a single pytest as usual.

No retries: a test that passes only on a second try is a defect (real-time tests assert exact
frames or Quanta's own late-event accounting, never wall-clock spreads; see bench/ for those).
Each pytest runs in its own process group with a time limit (``QUANTA_TEST_FILE_TIMEOUT``
seconds, default 900); on timeout the whole group is killed (children of the tests die with
their pytest, see tests/procs.py) and the file counts as failed.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Seconds one test file may take (the slowest take about a minute on a loaded 2-core machine).
FILE_TIMEOUT = float(os.environ.get("QUANTA_TEST_FILE_TIMEOUT", "900"))
COUNT = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed|deselected)")


def run_file(path: Path, extra: list[str]) -> tuple[int, dict[str, int], str]:
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(path), *extra]
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own group: a timeout kills it and all it started
    )
    try:
        stdout, stderr = proc.communicate(timeout=FILE_TIMEOUT)
        timed_out = ""
    except subprocess.TimeoutExpired:
        _kill_group(proc.pid)
        stdout, stderr = proc.communicate()
        timed_out = f"\nTIMEOUT: {path.name} ran longer than {FILE_TIMEOUT:.0f} s; killed\n"
    _kill_group(proc.pid)  # anything the file left in pytest's group
    out = stdout + stderr + timed_out
    counts: dict[str, int] = {}
    tail = [ln for ln in stdout.splitlines() if ln.strip()][-1:] or [""]
    for n, kind in COUNT.findall(tail[0]):
        kind = "errors" if kind.startswith("error") else kind
        counts[kind] = counts.get(kind, 0) + int(n)
    return (proc.returncode if not timed_out else -signal.SIGKILL), counts, out


def _kill_group(pgid: int) -> None:
    """SIGTERM the process group, then SIGKILL whatever is left after 5 s."""
    for sig, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 0.0)):
        try:
            os.killpg(pgid, sig)
        except (ProcessLookupError, PermissionError):
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            try:
                os.killpg(pgid, 0)
            except (ProcessLookupError, PermissionError):
                return
            time.sleep(0.05)


def main(argv: list[str]) -> int:
    if any(not a.startswith("-") for a in argv):  # explicit tests: one ordinary pytest run
        return subprocess.call([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *argv])
    files = sorted((ROOT / "tests").glob("test_*.py"))
    total: dict[str, int] = {}
    bad: list[str] = []
    t0 = time.monotonic()
    for f in files:
        start = time.monotonic()
        rc, counts, out = run_file(f, argv)
        for k, v in counts.items():
            total[k] = total.get(k, 0) + v
        ok = rc in (0, 5)  # 5: every test deselected
        if not ok:
            bad.append(f.name)
            if not counts.get("failed") and not counts.get("errors"):
                total["errors"] = total.get("errors", 0) + 1  # crashed before reporting
            sys.stdout.write(out[-20000:])
        summary = ", ".join(f"{v} {k}" for k, v in counts.items()) or f"exit {rc}"
        if rc < 0:
            summary += f" (killed by signal {-rc})"
        print(
            f"{'ok  ' if ok else 'FAIL'} {f.name:<42} {summary} ({time.monotonic() - start:.0f} s)"
        )
        sys.stdout.flush()
    print(
        f"{len(files)} files in {time.monotonic() - t0:.0f} s"
        + (f"; failing: {', '.join(bad)}" if bad else "")
    )
    parts = [
        f"{total.get('passed', 0)} passed",
        f"{total.get('failed', 0) + total.get('errors', 0)} failed",
    ]
    if total.get("skipped"):
        parts.append(f"{total['skipped']} skipped")
    print(", ".join(parts))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
