"""Probing plugins in a child process with a timeout, and remembering the bad ones.

Loading a plugin runs its code in our process; a plugin that hangs (ZamVerb.vst3 in
pedalboard's loader), crashes or loads a GUI toolkit and dies would take Quanta with it. So,
as Bitwig and Reaper do, plugins are first loaded in a child Python process that reports back
one JSON line per plugin. A plugin that does not answer within ``timeout`` seconds has its
child killed and is recorded as hung; a child that dies mid-plugin marks it as crashed; the
scan then goes on with the rest in a fresh child.

Results are kept in a JSON cache (path chosen by the caller, e.g. ``app.paths``) keyed by
format and identity plus the file's modification time, so a bad plugin is not tried again on
every start, and an updated one is.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from engine.errors import DeviceError

DEFAULT_TIMEOUT = 10.0
#: Extra time for the child to start (imports numpy, pedalboard) before its first answer.
STARTUP_ALLOWANCE = 20.0


@dataclass
class ProbeResult:
    fmt: str
    ident: str
    ok: bool
    kind: str = ""
    name: str = ""
    vendor: str = ""
    error: str = ""
    seconds: float = 0.0
    stamp: str = ""

    @property
    def key(self) -> str:
        return f"{self.fmt}:{self.ident}"


def _stamp(fmt: str, ident: str) -> str:
    """What changes when the plugin is updated: the file's mtime (LV2: the URI is enough)."""
    if fmt in ("vst3", "sf2") and os.path.exists(ident):
        return str(os.stat(ident).st_mtime_ns)
    return ""


class ProbeCache:
    """The remembered probe results; ``path=None`` keeps them in memory only."""

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path) if path else None
        self.entries: dict[str, dict] = {}
        if self.path and self.path.is_file():
            try:
                data = json.loads(self.path.read_text())
                if isinstance(data, dict):
                    self.entries = {k: v for k, v in data.items() if isinstance(v, dict)}
            except (OSError, ValueError):
                self.entries = {}  # a broken cache is only a cache: probe again

    def get(self, fmt: str, ident: str) -> ProbeResult | None:
        e = self.entries.get(f"{fmt}:{ident}")
        if not e or e.get("stamp", "") != _stamp(fmt, ident):
            return None
        try:
            return ProbeResult(**e)
        except TypeError:
            return None

    def put(self, result: ProbeResult) -> None:
        self.entries[result.key] = asdict(result)

    def forget(self, fmt: str, ident: str) -> None:
        self.entries.pop(f"{fmt}:{ident}", None)

    def save(self) -> None:
        if not self.path:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".plugins-", suffix=".json")
        with os.fdopen(fd, "w") as f:
            json.dump(self.entries, f, indent=1, sort_keys=True)
        os.replace(tmp, self.path)


def _reader(stream, q: queue.Queue) -> None:
    for line in stream:
        q.put(line)
    q.put(None)


def _child_env() -> dict:
    env = dict(os.environ)
    env["QT_QPA_PLATFORM"] = "offscreen"  # plugins that load Qt must not need a display
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    return env


def probe_many(
    items: list[tuple[str, str]],
    timeout: float = DEFAULT_TIMEOUT,
    progress=None,
) -> list[ProbeResult]:
    """Probe ``(fmt, ident)`` pairs in child processes; one result per item, in order."""
    results: dict[int, ProbeResult] = {}
    todo = list(range(len(items)))
    while todo:
        batch = todo
        proc = subprocess.Popen(
            [sys.executable, "-m", "engine.plugins.probe_child", "--child"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=_child_env(),
        )
        assert proc.stdin and proc.stdout
        proc.stdin.write(json.dumps([[i, *items[i]] for i in batch]))
        proc.stdin.close()
        q: queue.Queue = queue.Queue()
        threading.Thread(target=_reader, args=(proc.stdout, q), daemon=True).start()
        current: int | None = None
        started = time.monotonic()
        deadline = started + timeout + STARTUP_ALLOWANCE
        while True:
            try:
                line = q.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                proc.kill()
                proc.wait()
                if current is not None:
                    fmt, ident = items[current]
                    results[current] = ProbeResult(
                        fmt, ident, False, error=f"hung while loading (no answer in {timeout:g} s)",
                        seconds=timeout, stamp=_stamp(fmt, ident),
                    )  # fmt: skip
                break
            if line is None:  # child ended
                code = proc.wait()
                if current is not None and current not in results:
                    fmt, ident = items[current]
                    how = f"signal {-code}" if code < 0 else f"exit code {code}"
                    results[current] = ProbeResult(
                        fmt, ident, False, error=f"crashed while loading ({how})",
                        seconds=time.monotonic() - started, stamp=_stamp(fmt, ident),
                    )  # fmt: skip
                break
            try:
                msg = json.loads(line)
            except ValueError:
                continue  # a plugin printed to stdout: not ours
            if "begin" in msg:
                current = int(msg["begin"])
                started = time.monotonic()
                deadline = started + timeout
            elif "done" in msg:
                i = int(msg.pop("done"))
                results[i] = ProbeResult(**msg)
                if progress:
                    progress(results[i])
                current = None
                deadline = time.monotonic() + timeout
        if not results and current is None:  # the child could not even start
            for i in batch:
                fmt, ident = items[i]
                results[i] = ProbeResult(fmt, ident, False, error="probe process failed to start")
        todo = [i for i in batch if i not in results]
    return [results[i] for i in range(len(items))]


def ensure_loadable(
    fmt: str,
    ident: str,
    cache_path: str | os.PathLike | None = None,
    timeout: float | None = None,
) -> ProbeResult:
    """Probe (or recall) one plugin; raise a one-line DeviceError if it is bad."""
    cache = ProbeCache(cache_path)
    result = cache.get(fmt, ident)
    if result is None:
        result = probe_many([(fmt, ident)], timeout or DEFAULT_TIMEOUT)[0]
        cache.put(result)
        try:
            cache.save()
        except OSError:
            pass  # cannot remember: still correct, only slower next time
    if not result.ok:
        name = result.name or os.path.basename(ident.rstrip("/")) or ident
        raise DeviceError(f"{fmt} plugin {name} is not usable: {result.error}")
    return result


def scan_installed(
    cache_path: str | os.PathLike | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    rescan: bool = False,
    progress=None,
) -> list[ProbeResult]:
    """Every installed LV2 and VST3 plugin and system SoundFont, probed (or from the cache)."""
    items: list[tuple[str, str]] = []
    try:
        from engine.plugins import lv2

        items += [("lv2", d["uri"]) for d in lv2.describe()]
    except DeviceError:
        pass
    from engine.plugins.sf2 import find_soundfonts
    from engine.plugins.vst3 import find_vst3

    items += [("vst3", p) for p in find_vst3()]
    items += [("sf2", p) for p in find_soundfonts()]
    cache = ProbeCache(cache_path)
    known = {} if rescan else {i: cache.get(*it) for i, it in enumerate(items)}
    missing = [i for i in range(len(items)) if known.get(i) is None]
    fresh = probe_many([items[i] for i in missing], timeout, progress) if missing else []
    for i, r in zip(missing, fresh, strict=True):
        known[i] = r
        cache.put(r)
    try:
        cache.save()
    except OSError:
        pass
    return [known[i] for i in range(len(items))]
