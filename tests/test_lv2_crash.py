"""A plugin that crashes on load is reported, remembered, and does not take Quanta down.

The crashing plugin is real: a minimal LV2 bundle compiled here whose ``instantiate`` calls
``abort()`` (skipped where no C compiler exists).
"""

from __future__ import annotations

import os
import shutil

import pytest

from engine.errors import DeviceError
from engine.plugins.scan import ensure_loadable, probe_many
from tests import lv2_fakes, procs

URI = "urn:quanta:test:crash-on-load"

SOURCE = lv2_fakes.LV2_DESCRIPTOR_C + r"""static void* instantiate(const void* d, double r, const char* p, const void* const* f) {
    abort();
}
static void noop(void* h) {}
static void connect(void* h, uint32_t i, void* d) {}
static void run(void* h, uint32_t n) {}
static const Descriptor desc = {"urn:quanta:test:crash-on-load", instantiate, connect, noop,
                                run, noop, noop, 0};
__attribute__((visibility("default"))) const Descriptor* lv2_descriptor(uint32_t i) {
    return i == 0 ? &desc : 0;
}
"""

TTL = """@prefix lv2: <http://lv2plug.in/ns/lv2core#> .
@prefix doap: <http://usefulinc.com/ns/doap#> .
<urn:quanta:test:crash-on-load> a lv2:Plugin ;
    lv2:binary <crash.so> ;
    doap:name "Crash On Load" ;
    lv2:port [ a lv2:AudioPort, lv2:OutputPort ; lv2:index 0 ; lv2:symbol "out" ;
               lv2:name "Out" ] .
"""


@pytest.fixture
def crashing_bundle(tmp_path, monkeypatch):
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler to build the crashing test plugin")
    bundle = tmp_path / "lv2" / "crash.lv2"
    bundle.mkdir(parents=True)
    (bundle / "crash.c").write_text(SOURCE)
    procs.run(
        [cc, "-shared", "-fPIC", "-o", str(bundle / "crash.so"), str(bundle / "crash.c")],
        check=True,
    )
    (bundle / "manifest.ttl").write_text(TTL)
    paths = [str(tmp_path / "lv2"), "/usr/lib/lv2", os.path.expanduser("~/.lv2")]
    monkeypatch.setenv("LV2_PATH", os.pathsep.join(paths))
    return bundle


def test_crash_on_load_is_reported_and_the_scan_goes_on(crashing_bundle):
    results = probe_many(
        [("lv2", URI), ("lv2", "http://drobilla.net/plugins/mda/EPiano")], timeout=10
    )
    assert not results[0].ok and "crashed while loading (signal 6, SIGABRT)" in results[0].error
    assert results[1].ok  # a fresh child probed the rest


def test_crash_is_remembered_and_refused_in_one_line(crashing_bundle, tmp_path):
    cache = tmp_path / "plugins.json"
    for _ in range(2):
        with pytest.raises(DeviceError, match="lv2 plugin .* is not usable: crashed"):
            ensure_loadable("lv2", URI, cache_path=cache)
    assert cache.is_file()
