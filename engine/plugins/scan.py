"""Probing plugins in a child process with a timeout, and remembering the bad ones.

Loading a plugin runs its code in our process; a plugin that hangs (ZamVerb.vst3 in
pedalboard's loader), crashes or loads a GUI toolkit and dies would take Quanta with it. So,
as Bitwig and Reaper do, plugins are first loaded in a child Python process that reports back
one JSON line per plugin. A plugin that does not answer within ``timeout`` seconds has its
child killed and is recorded as hung; a child that dies mid-plugin marks it as crashed; the
scan then goes on with the rest in a fresh child. LV2 plugins are found by a discovery that
runs in child processes too (:mod:`engine.plugins.lv2_discovery`): a bundle whose code crashes
is reported once, by name, and skipped.

Results are kept in a JSON cache (path chosen by the caller, e.g. ``app.paths``) keyed by
format and identity plus a stamp of the plugin's files: for LV2, every file of the bundles
that describe the plugin (path, size, mtime); for VST3 and SF2, the file's mtime. So a bad
plugin is not tried again on every start, and an updated, replaced or removed one is.
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
from engine.plugins.child_proc import child_env, exit_reason, read_lines

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
    """What changes when the plugin is updated: for LV2 a digest of its bundles' files (the
    current discovery knows which), for files their size and mtime. Parent process only."""
    if fmt == "lv2":
        from engine.plugins import lv2_discovery

        found = lv2_discovery.current()
        return found.plugin_stamp(ident) if found and ident in found.plugins else ""
    if fmt in ("vst3", "sf2") and os.path.exists(ident):
        st = os.stat(ident)
        return f"{st.st_size}:{st.st_mtime_ns}"
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
        stamp = _stamp(fmt, ident)
        if not e or not stamp or e.get("stamp", "") != stamp:
            return None
        try:
            return ProbeResult(**e)
        except TypeError:
            return None

    def put(self, result: ProbeResult) -> None:
        self.entries[result.key] = asdict(result)

    def forget(self, fmt: str, ident: str) -> None:
        self.entries.pop(f"{fmt}:{ident}", None)

    def get_extra(self, key: str) -> dict | None:
        """Other remembered data (e.g. the LV2 discovery), stored beside the probe results."""
        return self.entries.get(key)

    def put_extra(self, key: str, value: dict) -> None:
        self.entries[key] = value

    def save(self) -> None:
        if not self.path:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".plugins-", suffix=".json")
        with os.fdopen(fd, "w") as f:
            json.dump(self.entries, f, indent=1, sort_keys=True)
        os.replace(tmp, self.path)


def _hints(items: list[tuple[str, str]]) -> dict[str, list[str]]:
    """For the child: which bundles to load for each LV2 plugin (it must not search)."""
    from engine.plugins import lv2_discovery

    found = lv2_discovery.current()
    uris = [ident for fmt, ident in items if fmt == "lv2"]
    if not uris:
        return {}
    if found is None or any(u not in found.plugins for u in uris):
        found = lv2_discovery.discover()
    return {u: found.bundles_for(u) for u in uris if u in found.plugins}


def _lv2_description(uri: str) -> dict:
    from engine.plugins import lv2_discovery

    found = lv2_discovery.current()
    return found.plugins.get(uri, {}) if found else {}


def probe_many(
    items: list[tuple[str, str]],
    timeout: float = DEFAULT_TIMEOUT,
    progress=None,
) -> list[ProbeResult]:
    """Probe ``(fmt, ident)`` pairs in child processes; one result per item, in order.

    ``progress(done, total, result)`` is called once with ``(0, total, None)`` at the start
    and then as each result comes in."""
    results: dict[int, ProbeResult] = {}
    todo = list(range(len(items)))
    hints = _hints(items)
    if progress and items:
        progress(0, len(items), None)

    def finish(i: int, result: ProbeResult) -> None:
        result.stamp = _stamp(result.fmt, result.ident)
        if result.fmt == "lv2" and not result.name:  # crashed: name it as the discovery did
            d = _lv2_description(result.ident)
            result.name, result.vendor = d.get("name", ""), d.get("vendor", "")
            result.kind = result.kind or d.get("kind", "")
        results[i] = result
        if progress:
            progress(len(results), len(items), result)

    while todo:
        batch = todo
        proc = subprocess.Popen(
            [sys.executable, "-m", "engine.plugins.probe_child", "--child"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=child_env(),
            start_new_session=True,
        )
        assert proc.stdin and proc.stdout
        request = {"items": [[i, *items[i]] for i in batch], "lv2_bundles": hints}
        try:
            proc.stdin.write(json.dumps(request))
            proc.stdin.close()
        except BrokenPipeError:
            pass
        q: queue.Queue = queue.Queue()
        threading.Thread(target=read_lines, args=(proc.stdout, q), daemon=True).start()
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
                    finish(current, ProbeResult(
                        fmt, ident, False, error=f"hung while loading (no answer in {timeout:g} s)",
                        seconds=timeout,
                    ))  # fmt: skip
                break
            if line is None:  # child ended
                code = proc.wait()
                if current is not None and current not in results:
                    fmt, ident = items[current]
                    finish(current, ProbeResult(
                        fmt, ident, False, error=f"crashed while loading ({exit_reason(code)})",
                        seconds=time.monotonic() - started,
                    ))  # fmt: skip
                break
            try:
                msg = json.loads(line)
            except ValueError:
                continue  # not ours
            if "begin" in msg:
                current = int(msg["begin"])
                started = time.monotonic()
                deadline = started + timeout
            elif "done" in msg:
                i = int(msg.pop("done"))
                finish(i, ProbeResult(**msg))
                current = None
                deadline = time.monotonic() + timeout
        if not results and current is None:  # the child could not even start
            for i in batch:
                fmt, ident = items[i]
                finish(i, ProbeResult(fmt, ident, False, error="probe process failed to start"))
        todo = [i for i in batch if i not in results]
    return [results[i] for i in range(len(items))]


def _discover_lv2(cache: ProbeCache, timeout: float, rescan: bool = False, progress=None):
    from engine.plugins import lv2_discovery

    return lv2_discovery.discover(cache, timeout=timeout, rescan=rescan, progress=progress)


def _save(cache: ProbeCache) -> None:
    try:
        cache.save()
    except OSError:
        pass  # cannot remember: still correct, only slower next time


def ensure_loadable(
    fmt: str,
    ident: str,
    cache_path: str | os.PathLike | None = None,
    timeout: float | None = None,
) -> ProbeResult:
    """Probe (or recall) one plugin; raise a one-line DeviceError if it is bad."""
    cache = ProbeCache(cache_path)
    if fmt == "lv2":
        found = _discover_lv2(cache, timeout or DEFAULT_TIMEOUT)
        if ident not in found.plugins:
            _save(cache)
            raise DeviceError(f"LV2 plugin {ident} is not installed (see `quanta plugins`)")
    result = cache.get(fmt, ident)
    if result is None:
        result = probe_many([(fmt, ident)], timeout or DEFAULT_TIMEOUT)[0]
        cache.put(result)
    _save(cache)
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
    """Every installed LV2 and VST3 plugin and system SoundFont, probed (or from the cache).

    An LV2 bundle whose code crashed or hung during discovery is one result of format
    ``lv2-bundle`` (ident: its path) with the reason; its plugins are not listed.
    ``progress(done, total, result)`` is called per plugin probed."""
    cache = ProbeCache(cache_path)
    items: list[tuple[str, str]] = []
    bad: list[ProbeResult] = []
    try:
        found = _discover_lv2(cache, timeout, rescan)
    except DeviceError:
        found = None  # no liblilv: no LV2
    if found is not None:
        items += [("lv2", uri) for uri in sorted(found.plugins)]
        for path, why in sorted(found.bad.items()):
            name = os.path.basename(path)
            bad.append(ProbeResult("lv2-bundle", path, False, name=name, error=why))
    from engine.plugins.sf2 import find_soundfonts
    from engine.plugins.vst3 import find_vst3

    items += [("vst3", p) for p in find_vst3()]
    items += [("sf2", p) for p in find_soundfonts()]
    known = {} if rescan else {i: cache.get(*it) for i, it in enumerate(items)}
    missing = [i for i in range(len(items)) if known.get(i) is None]
    fresh = probe_many([items[i] for i in missing], timeout, progress) if missing else []
    for i, r in zip(missing, fresh, strict=True):
        known[i] = r
        cache.put(r)
    _save(cache)
    return bad + [known[i] for i in range(len(items))]
