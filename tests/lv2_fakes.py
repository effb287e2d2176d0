"""Real LV2 bundles that misbehave, compiled for the tests (needs a C compiler).

- :func:`effect_bundle`: a mono pass-through effect with a ``gain`` control port whose code can
  ``abort()`` in ``instantiate`` or after N calls to ``run`` (it passes a one-block probe);
  optionally with a UI whose binary is garbage.
- :func:`dyn_manifest_bundle`: a bundle with a dynamic manifest that aborts while lilv loads
  the bundle (``open``) or while it reads the plugin's description (``get_data``).
- :func:`garbage_bundle`: a plugin whose binary is not a shared library at all.
- :func:`mda_only_plugins`: a plugin world of one private LV2 folder with the mda bundle.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine.plugins import lv2_discovery
from tests import procs

LV2_DESCRIPTOR_C = r"""
#include <stdlib.h>
#include <stdint.h>
typedef struct {
    const char* URI;
    void* (*instantiate)(const void*, double, const char*, const void* const*);
    void (*connect_port)(void*, uint32_t, void*);
    void (*activate)(void*);
    void (*run)(void*, uint32_t);
    void (*deactivate)(void*);
    void (*cleanup)(void*);
    const void* (*extension_data)(const char*);
} Descriptor;
"""
"""The LV2 C ABI a test plugin needs: ``lv2_descriptor`` returns one of these."""

EFFECT_C = LV2_DESCRIPTOR_C + r"""typedef struct { float* in; float* out; float* gain; } Fx;
static int runs = 0;
static void* instantiate(const void* d, double r, const char* p, const void* const* f) {
#ifdef ABORT_IN_INSTANTIATE
    abort();
#endif
    return calloc(1, sizeof(Fx));
}
static void connect(void* h, uint32_t i, void* d) {
    Fx* fx = (Fx*)h;
    if (i == 0) fx->in = d; else if (i == 1) fx->out = d; else fx->gain = d;
}
static void run(void* h, uint32_t n) {
    Fx* fx = (Fx*)h;
#ifdef ABORT_AFTER_RUNS
    if (++runs > ABORT_AFTER_RUNS) abort();
#endif
    for (uint32_t i = 0; i < n; ++i) fx->out[i] = fx->in[i] * *fx->gain;
}
static void noop(void* h) {}
static void cleanup(void* h) { free(h); }
static const Descriptor desc = {PLUGIN_URI, instantiate, connect, noop, run, noop, cleanup, 0};
__attribute__((visibility("default"))) const Descriptor* lv2_descriptor(uint32_t i) {
    return i == 0 ? &desc : 0;
}
"""

EFFECT_TTL = """@prefix lv2: <http://lv2plug.in/ns/lv2core#> .
@prefix doap: <http://usefulinc.com/ns/doap#> .
@prefix ui: <http://lv2plug.in/ns/extensions/ui#> .
<{uri}> a lv2:Plugin ;
    lv2:binary <fx.so> ;
    doap:name "{name}" ;
    lv2:port [ a lv2:AudioPort, lv2:InputPort ; lv2:index 0 ; lv2:symbol "in" ; lv2:name "In" ] ,
             [ a lv2:AudioPort, lv2:OutputPort ; lv2:index 1 ; lv2:symbol "out" ;
               lv2:name "Out" ] ,
             [ a lv2:ControlPort, lv2:InputPort ; lv2:index 2 ; lv2:symbol "gain" ;
               lv2:name "Gain" ; lv2:default 1.0 ; lv2:minimum 0.0 ; lv2:maximum 2.0 ] {ui_ref}.
{ui_block}"""

UI_BLOCK = """<{uri}#ui> a ui:X11UI ;
    ui:binary <ui.so> .
"""

UI_C = r"""
#include <stdlib.h>
#include <stdint.h>
#include <unistd.h>
typedef struct {
    const char* URI;
    void* (*instantiate)(const void*, const char*, const char*, void*, void*, void**,
                         const void* const*);
    void (*cleanup)(void*);
    void (*port_event)(void*, uint32_t, uint32_t, uint32_t, const void*);
    const void* (*extension_data)(const char*);
} UIDescriptor;
static void* instantiate(const void* d, const char* p, const char* b, void* w, void* c,
                         void** widget, const void* const* f) {
#ifdef UI_ABORT
    abort();
#endif
    for (;;) pause();
}
static void cleanup(void* h) {}
static const UIDescriptor desc = {UI_URI, instantiate, cleanup, 0, 0};
__attribute__((visibility("default"))) const UIDescriptor* lv2ui_descriptor(uint32_t i) {
    return i == 0 ? &desc : 0;
}
"""

DYN_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
typedef void* Handle;
__attribute__((visibility("default"))) int lv2_dyn_manifest_open(Handle* h, const void* f) {
#ifdef ABORT_IN_OPEN
    abort();
#endif
#ifdef HANG_IN_OPEN
    for (;;) pause();
#endif
    *h = 0;
    return 0;
}
__attribute__((visibility("default"))) int lv2_dyn_manifest_get_subjects(Handle h, FILE* fp) {
    fprintf(fp, "@prefix lv2: <http://lv2plug.in/ns/lv2core#> .\n<%s> a lv2:Plugin .\n",
            PLUGIN_URI);
    return 0;
}
__attribute__((visibility("default"))) int lv2_dyn_manifest_get_data(Handle h, FILE* fp,
                                                                       const char* uri) {
    abort();
}
__attribute__((visibility("default"))) void lv2_dyn_manifest_close(Handle h) {}
"""

DYN_TTL = """@prefix dman: <http://lv2plug.in/ns/ext/dynmanifest#> .
@prefix lv2: <http://lv2plug.in/ns/lv2core#> .
<urn:quanta:test:dynmanifest> a dman:DynManifest ;
    lv2:binary <dyn.so> .
"""


def mda_only_plugins(tmp_path: Path, monkeypatch) -> Path:
    """Make the plugin world one LV2 folder under ``tmp_path`` holding Debian's mda bundle
    (linked in: quick to probe), with no VST3 or SoundFont folders, a private cache, and
    the discovery this process remembers reset. Returns the folder (add bundles to it)."""
    folder = tmp_path / "lv2"
    folder.mkdir()
    (folder / "mda.lv2").symlink_to("/usr/lib/lv2/mda.lv2")
    monkeypatch.setenv("LV2_PATH", str(folder))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr("engine.plugins.vst3.VST3_DIRS", ())
    monkeypatch.setattr("engine.plugins.sf2.SOUNDFONT_DIRS", ())
    monkeypatch.setattr(lv2_discovery, "_current", None)
    return folder


def compiler() -> str:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler to build the test plugins")
    return cc


def _compile(source: str, out: Path, defines: dict[str, str]) -> None:
    src = out.with_suffix(".c")
    src.write_text(source)
    flags = [f"-D{k}={v}" if v else f"-D{k}" for k, v in defines.items()]
    procs.run(
        [compiler(), "-shared", "-fPIC", "-O1", *flags, "-o", str(out), str(src)],
        check=True,
        timeout=120,
    )
    src.unlink()


def effect_bundle(
    folder: Path,
    name: str,
    uri: str,
    abort_in_instantiate: bool = False,
    abort_after_runs: int | None = None,
    garbage_ui: bool = False,
    ui: str | None = None,
) -> Path:
    """A mono gain effect bundle ``folder/name.lv2``; see the module docstring. ``ui``:
    "garbage" (the UI binary is text), "abort" or "hang" (its ``instantiate`` aborts or
    never returns)."""
    if garbage_ui:
        ui = "garbage"
    garbage_ui = ui is not None
    bundle = folder / f"{name}.lv2"
    bundle.mkdir(parents=True)
    defines = {"PLUGIN_URI": f'"{uri}"'}
    if abort_in_instantiate:
        defines["ABORT_IN_INSTANTIATE"] = ""
    if abort_after_runs is not None:
        defines["ABORT_AFTER_RUNS"] = str(abort_after_runs)
    _compile(EFFECT_C, bundle / "fx.so", defines)
    ui_ref = f"; ui:ui <{uri}#ui> " if garbage_ui else ""
    ui_block = UI_BLOCK.format(uri=uri) if garbage_ui else ""
    if ui == "garbage":
        (bundle / "ui.so").write_bytes(b"this is not a shared library\n" * 40)
    elif ui is not None:
        ui_defines = {"UI_URI": f'"{uri}#ui"'}
        if ui == "abort":
            ui_defines["UI_ABORT"] = ""
        _compile(UI_C, bundle / "ui.so", ui_defines)
    (bundle / "manifest.ttl").write_text(
        EFFECT_TTL.format(uri=uri, name=name, ui_ref=ui_ref, ui_block=ui_block)
    )
    return bundle


def dyn_manifest_bundle(
    folder: Path, name: str, uri: str, abort_in_open: bool, hang_in_open: bool = False
) -> Path:
    """A bundle whose dynamic manifest aborts in ``open`` (while the bundle is loaded) or,
    with ``abort_in_open=False``, in ``get_data`` (while the plugin is described); with
    ``hang_in_open`` it never returns from ``open``."""
    bundle = folder / f"{name}.lv2"
    bundle.mkdir(parents=True)
    defines = {"PLUGIN_URI": f'"{uri}"'}
    if abort_in_open:
        defines["ABORT_IN_OPEN"] = ""
    if hang_in_open:
        defines["HANG_IN_OPEN"] = ""
    _compile(DYN_C, bundle / "dyn.so", defines)
    (bundle / "manifest.ttl").write_text(DYN_TTL)
    return bundle


def garbage_bundle(folder: Path, name: str, uri: str) -> Path:
    """A plugin bundle whose binary is text, not a shared library."""
    bundle = folder / f"{name}.lv2"
    bundle.mkdir(parents=True)
    (bundle / "fx.so").write_bytes(b"\x7fELF but not really" + b"\0" * 200)
    (bundle / "manifest.ttl").write_text(
        EFFECT_TTL.format(uri=uri, name=name, ui_ref="", ui_block="")
    )
    return bundle
