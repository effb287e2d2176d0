"""The test suite's own child-process rules (tests/procs.py): a group per child, killed whole."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tests import procs


def _group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def test_a_child_gets_its_own_group_and_is_killed_with_its_grandchildren():
    # The child starts a grandchild and exits: only the group still holds the grandchild.
    proc = procs.spawn(["sh", "-c", "sleep 60 & echo $!"], stdout=subprocess.PIPE, text=True)
    grandchild = int(proc.stdout.readline())
    assert proc.wait(10) == 0
    assert os.getpgid(grandchild) == proc.pid != os.getpgrp()
    child = next(c for c in procs.CHILDREN if c.proc is proc)
    assert child.group_alive()  # the leader is gone, its grandchild is not
    left = procs.kill_leftovers()
    assert [c.proc for c in left] == [proc]
    assert _group_gone(proc.pid)


def test_a_timeout_kills_the_whole_group():
    t0 = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired):
        procs.run(["sh", "-c", "sleep 60 & sleep 60"], timeout=0.5)
    assert time.monotonic() - t0 < 10
    child = procs.CHILDREN[-1]
    assert child.proc.returncode == -signal.SIGKILL
    assert _group_gone(child.proc.pid)


def test_children_die_with_the_test_process():
    """A pytest killed by the runner's timeout takes its children along (PR_SET_PDEATHSIG):
    here a middle process spawns a child through procs, then is SIGKILLed."""
    code = (
        "import sys, time; sys.path.insert(0, sys.argv[1]); from tests import procs; "
        "p = procs.spawn(['sleep', '60']); print(p.pid, flush=True); time.sleep(60)"
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    middle = procs.spawn([sys.executable, "-c", code, root], stdout=subprocess.PIPE, text=True)
    grandchild = int(middle.stdout.readline())
    middle.kill()
    middle.wait(10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not _group_gone(grandchild):
        time.sleep(0.02)
    assert _group_gone(grandchild)


def test_children_get_the_user_signals_back_even_when_the_run_ignores_them():
    """A test run started with ``&`` (no job control) or ``nohup`` ignores SIGINT/SIGHUP, and
    its children would inherit that: a test sending Ctrl-C to ``quanta play`` would hang."""
    code = (
        "import signal; print(signal.getsignal(signal.SIGINT) is signal.default_int_handler, "
        "signal.getsignal(signal.SIGHUP) == signal.SIG_DFL)"
    )
    old = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        done = procs.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    finally:
        signal.signal(signal.SIGHUP, old)
    assert done.stdout.split() == ["True", "True"]
