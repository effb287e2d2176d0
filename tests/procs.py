"""Child processes for tests: each in its own process group, killed as a group, never left over.

Why: a test that times out while a ``quanta play`` child runs used to leave that child (and
whatever it started) running for minutes after the suite. Every child a test starts goes
through :func:`spawn` (or :func:`run`), which

- starts it in a new session (``start_new_session=True``), so its group holds the child and
  everything it starts, and ``os.killpg`` ends them all at once;
- asks the kernel to send it SIGKILL if the test process dies (``PR_SET_PDEATHSIG``), so a
  test run killed by ``scripts/run_tests.py``'s per-file timeout takes its children with it
  (they are in other process groups, so killing pytest's group alone would not reach them);
- remembers it, so the conftest can kill (and report) any child still alive after its test
  and fail the session if one outlived it (tests/conftest.py).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field

PR_SET_PDEATHSIG = 1

try:  # resolved before any fork: the child only makes the calls
    _libc = ctypes.CDLL(None, use_errno=True)
    _prctl = _libc.prctl
    _signal = _libc.signal
    _signal.argtypes = [ctypes.c_int, ctypes.c_void_p]
except (OSError, AttributeError):  # not Linux
    _prctl = _signal = None

#: Signals a test sends to its children as a user would (Ctrl-C, a closed terminal, kill).
#: A test run started in the background (``cmd &`` without job control, ``nohup``) has them
#: ignored, and ignored signals stay ignored across exec: the child gets the defaults back,
#: as a program started from a terminal has them.
_USER_SIGNALS = (signal.SIGINT, signal.SIGHUP, signal.SIGTERM, signal.SIGQUIT)


def _child_setup(death_signal: int) -> None:
    if _signal is not None:
        for sig in _USER_SIGNALS:
            _signal(int(sig), None)  # SIG_DFL
    if _prctl is not None:
        _prctl(PR_SET_PDEATHSIG, death_signal)


@dataclass
class Child:
    proc: subprocess.Popen
    args: list[str]
    #: kept across tests (a session JACK server): not reported at the end of each test
    keep: bool = False
    started: float = field(default_factory=time.monotonic)

    @property
    def pgid(self) -> int:
        return self.proc.pid  # a new session's leader: its pid is the group id

    def group_alive(self) -> bool:
        """Whether any process of the child's group is still running (the child itself may
        have exited and left grandchildren behind)."""
        self.proc.poll()  # reap the leader if it exited, so it does not count as alive
        try:
            os.killpg(self.pgid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        # A zombie leader still counts for killpg(0); a reaped one with no members does not.
        return True


#: Every child started through this module in this process, oldest first.
CHILDREN: list[Child] = []


def spawn(args, *, keep: bool = False, death_signal: int = signal.SIGKILL, **kw) -> subprocess.Popen:
    """``subprocess.Popen(args, **kw)`` in a new process group that dies with the test
    process; ``keep`` for children that outlive one test on purpose (session servers)."""
    if kw.get("preexec_fn") is not None:
        raise ValueError("spawn sets preexec_fn itself")
    kw["start_new_session"] = True
    kw["preexec_fn"] = lambda: _child_setup(death_signal)
    proc = subprocess.Popen(args, **kw)
    CHILDREN.append(Child(proc, [str(a) for a in (args if not isinstance(args, str) else [args])], keep))
    return proc


def kill_group(proc: subprocess.Popen, sig: int = signal.SIGKILL, wait: float = 5.0) -> None:
    """Send ``sig`` to the child's whole process group and reap the child."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(wait)
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    # Grandchildren that ignored ``sig``: the group must be empty when this returns.
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            break
        time.sleep(0.01)


def communicate(proc: subprocess.Popen, input=None, timeout: float | None = None):
    """``proc.communicate`` that kills the whole group on a timeout (then re-raises)."""
    try:
        return proc.communicate(input, timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        proc.communicate()
        raise


def run(args, *, timeout: float = 120.0, input=None, check: bool = False, **kw):
    """``subprocess.run`` with the child in its own group, killed as a group on timeout."""
    if kw.pop("capture_output", False):
        kw["stdout"] = subprocess.PIPE
        kw["stderr"] = subprocess.PIPE
    if input is not None:
        kw["stdin"] = subprocess.PIPE
    proc = spawn(args, **kw)
    out, err = communicate(proc, input, timeout)
    done = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    if check:
        done.check_returncode()
    return done


def kill_leftovers(include_kept: bool = False) -> list[Child]:
    """Kill the group of every child still alive; return those children (oldest first)."""
    left = []
    for child in list(CHILDREN):
        if child.keep and not include_kept:
            continue
        if child.group_alive():
            left.append(child)
            kill_group(child.proc)
        CHILDREN.remove(child)
    return left
