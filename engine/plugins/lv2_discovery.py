"""Finding installed LV2 plugins without running any plugin code in Quanta's process.

lilv runs code while it reads bundles: a bundle may declare a *dynamic manifest*, a shared
library lilv loads and calls (``lv2_dyn_manifest_open``/``get_subjects`` while loading the
bundle, ``get_data`` when the plugin's description is first read). One such library that
crashes anywhere on ``LV2_PATH`` used to abort ``quanta plugins`` itself, because
``lilv_world_load_all`` ran in Quanta's process.

So discovery runs in a child process (:mod:`engine.plugins.lv2_discover_child`) that loads
the bundles one at a time, announcing each bundle (and then each plugin it describes) on
stdout before touching it. When the child dies or stops answering, the bundle it was on is
the culprit: it is recorded as bad with one line naming it, and a fresh child goes on without
it. The good plugins keep their descriptions and stay usable.

Quanta's own process (render, play, the probe child) never calls ``lilv_world_load_all``:
:mod:`engine.plugins.lv2` loads only the bundles that hold data for the plugin it hosts
(``lilv_world_load_bundle``), and only bundles this discovery loaded without harm.

The result is cached (in the probe cache file) under a stamp of every bundle's files (path,
size, modification time), so it is re-read only when a bundle is added, removed or changed;
:func:`Discovery.plugin_stamp` gives the same kind of stamp for one plugin's bundles, which
keys its probe result (see :mod:`engine.plugins.scan`).
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from engine.errors import DeviceError
from engine.plugins.child_proc import child_env, exit_reason, read_lines

#: lilv's default search path on Linux when ``LV2_PATH`` is not set (Debian builds it with the
#: multiarch folder; other distributions use lib64).
DEFAULT_PATH = (
    "~/.lv2",
    "/usr/lib/x86_64-linux-gnu/lv2",
    "/usr/lib/aarch64-linux-gnu/lv2",
    "/usr/lib64/lv2",
    "/usr/lib/lv2",
    "/usr/local/lib64/lv2",
    "/usr/local/lib/lv2",
)
#: Seconds one bundle (or one plugin's description) may take in the child.
DEFAULT_TIMEOUT = 10.0
#: Extra time for the child to start before its first answer.
STARTUP_ALLOWANCE = 20.0
#: A bundle with more files than this is stamped by its first files only (still by name, size
#: and time): a stamp must stay cheap to compute on every start.
MAX_STAMP_FILES = 4000
CACHE_KEY = "lv2-discovery"


def search_path() -> list[str]:
    """The folders lilv would search: ``$LV2_PATH`` or the platform default, in order."""
    raw = os.environ.get("LV2_PATH")
    parts = raw.split(os.pathsep) if raw else list(DEFAULT_PATH)
    seen, out = set(), []
    for p in parts:
        p = os.path.expanduser(p.strip())
        if p and p not in seen:
            seen.add(p)
            out.append(p)
    return out


def find_bundles() -> list[str]:
    """Every bundle (a folder holding ``manifest.ttl``) on the search path, in search order;
    within a folder by name. A bundle reached twice (symlinks) is listed once."""
    found, seen = [], set()
    for folder in search_path():
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            continue
        for name in names:
            path = os.path.join(folder, name)
            if not os.path.isfile(os.path.join(path, "manifest.ttl")):
                continue
            real = os.path.realpath(path)
            if real not in seen:
                seen.add(real)
                found.append(os.path.abspath(path))
    return found


def bundle_stamp(path: str) -> str:
    """A digest of the bundle's files (relative path, size, mtime in ns): it changes when any
    file in the bundle is added, removed, replaced or touched. Only ``stat`` is called."""
    h = hashlib.sha1(path.encode("utf-8", "surrogateescape"))
    count = 0
    for root, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            full = os.path.join(root, name)
            try:
                st = os.stat(full)
            except OSError:
                continue
            rel = os.path.relpath(full, path)
            h.update(f"\0{rel}\0{st.st_size}\0{st.st_mtime_ns}".encode("utf-8", "surrogateescape"))
            count += 1
            if count >= MAX_STAMP_FILES:
                return h.hexdigest()
    return h.hexdigest()


@dataclass
class Discovery:
    """What the discovery found: plugin descriptions by URI and the bundles that failed."""

    stamp: str
    bundle_stamps: dict[str, str]
    plugins: dict[str, dict] = field(default_factory=dict)
    #: bundle path → one-line reason (crashed, hung) for bundles whose plugins are skipped
    bad: dict[str, str] = field(default_factory=dict)

    def bundles_for(self, uri: str) -> list[str]:
        """The bundles holding data for ``uri`` (its own first), all of them loaded safely."""
        d = self.plugins.get(uri)
        return list(d["bundles"]) if d else []

    def plugin_stamp(self, uri: str) -> str:
        """Digest of the files of every bundle the plugin's description comes from."""
        h = hashlib.sha1(uri.encode())
        for b in self.bundles_for(uri):
            h.update(f"\0{b}\0{self.bundle_stamps.get(b) or bundle_stamp(b)}".encode())
        return h.hexdigest()

    def to_json(self) -> dict:
        return {"stamp": self.stamp, "plugins": self.plugins, "bad": self.bad}


def _set_stamp(bundles: list[str]) -> tuple[str, dict[str, str]]:
    stamps = {b: bundle_stamp(b) for b in bundles}
    h = hashlib.sha1(b"lv2-discovery-v1")
    for b in bundles:
        h.update(f"\0{b}\0{stamps[b]}".encode("utf-8", "surrogateescape"))
    return h.hexdigest(), stamps


class _Run:
    """One discovery over ``bundles``, restarting the child past each bad bundle."""

    def __init__(self, bundles: list[str], timeout: float, progress):
        self.bundles = bundles
        self.timeout = timeout
        self.progress = progress
        self.plugins: dict[str, dict] = {}
        self.bad: dict[str, str] = {}
        self.loaded: set[str] = set()

    def run(self) -> None:
        # Each pass either finishes or marks one more bundle bad: at most len(bundles) + 1.
        for _ in range(len(self.bundles) + 1):
            if self._one_child():
                return
        raise DeviceError("LV2 discovery did not finish (every pass failed)")

    def _one_child(self) -> bool:
        todo = [b for b in self.bundles if b not in self.bad]
        if not todo:
            return True
        request = {"bundles": todo, "skip": sorted(self.plugins)}
        proc = subprocess.Popen(
            [sys.executable, "-m", "engine.plugins.lv2_discover_child"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=child_env(),
            start_new_session=True,
        )
        assert proc.stdin and proc.stdout
        try:
            proc.stdin.write(json.dumps(request))
            proc.stdin.close()
        except BrokenPipeError:
            pass
        q: queue.Queue = queue.Queue()
        threading.Thread(target=read_lines, args=(proc.stdout, q), daemon=True).start()
        step: tuple[str, str] | None = None  # ("bundle"|"plugin", bundle path)
        deadline = time.monotonic() + self.timeout + STARTUP_ALLOWANCE
        while True:
            try:
                line = q.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                proc.kill()
                proc.wait()
                return self._failed(step, f"hung (no answer in {self.timeout:g} s)")
            if line is None:
                code = proc.wait()
                return self._failed(step, f"crashed ({exit_reason(code)})") if step else True
            try:
                msg = json.loads(line)
            except ValueError:
                continue  # something a plugin library printed
            deadline = time.monotonic() + self.timeout
            if "load" in msg:
                step = ("bundle", msg["load"])
            elif "loaded" in msg:
                self.loaded.add(msg["loaded"])
                if self.progress:
                    self.progress("bundle", len(self.loaded), len(self.bundles))
                step = None
            elif "describe" in msg:
                step = ("plugin", msg.get("bundle", ""), msg["describe"])
            elif "plugin" in msg:
                d = msg["plugin"]
                self.plugins[d["uri"]] = d
                step = None
            elif "end" in msg:
                try:
                    proc.wait(timeout=self.timeout)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                return True

    def _failed(self, step, what: str) -> bool:
        if step is None:  # died outside any bundle: nothing to blame, nothing to skip
            raise DeviceError(f"LV2 discovery process {what} before reading any bundle")
        bundle = step[1]
        if step[0] == "bundle":
            self.bad[bundle] = f"LV2 bundle {bundle} {what} while loading; its plugins are skipped"
        else:
            self.bad[bundle] = (
                f"LV2 bundle {bundle} {what} while describing <{step[2]}>; its plugins are skipped"
            )
        # Nothing from a bad bundle is kept, and no plugin may depend on its data.
        for uri in [u for u, d in self.plugins.items() if bundle in d.get("bundles", ())]:
            del self.plugins[uri]
        return False


_current: Discovery | None = None
_lock = threading.Lock()


def current() -> Discovery | None:
    """The discovery this process last made or read (None before the first)."""
    return _current


def discover(
    cache=None,
    timeout: float = DEFAULT_TIMEOUT,
    rescan: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
) -> Discovery:
    """Installed LV2 plugins, found in child processes (or recalled from ``cache``, a
    :class:`engine.plugins.scan.ProbeCache`, when no bundle changed since)."""
    global _current
    with _lock:
        bundles = find_bundles()
        stamp, stamps = _set_stamp(bundles)
        if not rescan and _current is not None and _current.stamp == stamp:
            return _current
        if not rescan and cache is not None:
            saved = cache.get_extra(CACHE_KEY)
            if isinstance(saved, dict) and saved.get("stamp") == stamp:
                try:
                    found = Discovery(stamp, stamps, dict(saved["plugins"]), dict(saved["bad"]))
                except (KeyError, TypeError, ValueError):
                    found = None
                if found is not None:
                    _current = found
                    return found
        run = _Run(bundles, timeout, progress)
        run.run()
        found = Discovery(stamp, stamps, run.plugins, run.bad)
        if cache is not None:
            cache.put_extra(CACHE_KEY, found.to_json())
        _current = found
        return found


def bundles_for(uri: str) -> list[str]:
    """The safe bundles to load for ``uri``, discovering (in a child) if not known yet."""
    found = _current if _current is not None and uri in _current.plugins else discover()
    if uri not in found.plugins:
        raise DeviceError(f"LV2 plugin {uri} is not installed (see `quanta plugins`)")
    return found.bundles_for(uri)
