"""The child side of LV2 discovery (see :mod:`engine.plugins.lv2_discovery`).

Reads ``{"bundles": [...], "skip": [...]}`` on stdin, then writes one JSON line before and
after each step, so the parent can name the bundle that was being read if this process dies:

- ``{"load": BUNDLE}`` … ``{"loaded": BUNDLE}`` for each bundle (its dynamic manifest, if any,
  runs in between),
- ``{"describe": URI, "bundle": BUNDLE}`` … ``{"plugin": {...}}`` for each plugin not in
  ``skip`` (reading a description may run the dynamic manifest's ``get_data``),
- ``{"end": true}``.

Plugin libraries may print; the protocol goes to a private copy of stdout, and the process's
own stdout is pointed at stderr (which the parent discards).
"""

from __future__ import annotations

import json
import os
import sys

from engine.plugins.child_proc import protocol_writer


def main() -> None:
    request = json.loads(sys.stdin.read())
    say = protocol_writer()  # whatever a plugin library prints must not corrupt the protocol

    from engine.plugins import lv2_world

    w = lv2_world._World()
    for bundle in request["bundles"]:
        say({"load": bundle})
        w.load_bundle(bundle)
        say({"loaded": bundle})
    skip = set(request.get("skip", ()))
    for p in list(w.iter_plugins()):
        uri = w.string(w.lib.lilv_plugin_get_uri(p))
        if uri in skip:
            continue
        bundle = lv2_world.uri_path(w.string(w.lib.lilv_plugin_get_bundle_uri(p)))
        say({"describe": uri, "bundle": bundle})
        d = lv2_world.describe_plugin(w, p)
        d["bundles"] = lv2_world.plugin_bundles(w, p)
        d["uis"] = lv2_world.plugin_uis(w, p)
        say({"plugin": d})
    say({"end": True})
    os._exit(0)  # no plugin library destructors: they have nothing to give us and may hang


if __name__ == "__main__":
    main()
