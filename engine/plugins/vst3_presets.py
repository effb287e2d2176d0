"""VST3 presets through pedalboard: the plugin's factory programs, ``.vstpreset`` files, and
the current state saved as a user preset.

What pedalboard (0.9) gives: no program list call, but a plugin's program-change parameter
(``current_program``, its valid values are the program names) and ``preset_data``, the
plugin's state in the ``.vstpreset`` format (get and set). So:

- factory programs are the program parameter's values. Setting it changes the edit
  controller only (a DPF plugin such as ZamComp does not load the program into its
  processor), so every other parameter the program set is sent again as a change, which
  reaches the processor at the next block: the program is heard at once;
- presets are ``.vstpreset`` files: Quanta's user presets (one folder per plugin under the
  user data folder; real ``.vstpreset`` files, so other hosts can import them), and the
  standard VST3 preset folders on Linux (``~/.vst3/presets``, ``/usr/share/vst3/presets``,
  ``/usr/local/share/vst3/presets``, by vendor and plugin), read only;
- a ``.vstpreset`` is checked (header, chunk list in bounds, the plugin's own class id)
  before the plugin sees it: pedalboard warns that bad data may crash the plugin.

Functions take Quanta's VST3 wrapper (``PedalboardEffect`` or ``VST3Instrument``; a mono
plugin run as two instances gets everything twice) and run on the thread that owns it.
"""

from __future__ import annotations

import os
import re
import struct
from pathlib import Path

from engine.errors import DeviceError

PROGRAM_PREFIX = "program:"
SUFFIX = ".vstpreset"
SYSTEM_DIRS = ("~/.vst3/presets", "/usr/share/vst3/presets", "/usr/local/share/vst3/presets")
_HEADER = struct.Struct("<4si32sq")  # 'VST3', version, class id (ASCII hex), list offset
_ENTRY = struct.Struct("<4sqq")  # chunk id, offset, size
MAX_PRESET_BYTES = 64 << 20


class PresetFileError(DeviceError):
    """A ``.vstpreset`` file Quanta will not hand to a plugin (one line, naming the file)."""


def _instances(plugin) -> list:
    mono = getattr(plugin, "_mono", None)
    return list(mono) if mono else [plugin.plugin]


def _program_parameter(pb) -> tuple[str, list[str]] | None:
    """The program-change parameter's Python name and program names, if it has one."""
    for name, par in getattr(pb, "parameters", {}).items():
        values = getattr(par, "valid_values", None) or []
        if "program" in name.lower() and values and all(isinstance(v, str) for v in values):
            return name, list(values)
    return None


def factory_programs(plugin) -> list[str]:
    """The plugin's factory program names (its program-change parameter's values)."""
    found = _program_parameter(plugin.plugin)
    return found[1] if found else []


def _safe(text: str) -> str:
    """A folder or file name: the characters the VST3 preset spec forbids become '_'."""
    return re.sub(r'[\\*?/:<>|"\x00-\x1f]', "_", text).strip(" .") or "_"


def plugin_folder(plugin) -> Path:
    """``<vendor>/<plugin>``: where its presets sit below a preset root."""
    pb = plugin.plugin
    vendor = getattr(pb, "manufacturer_name", "") or "Unknown"
    return Path(_safe(vendor)) / _safe(getattr(pb, "name", "") or plugin.info.name)


def preset_files(plugin, user_root: Path) -> list[Path]:
    """Every ``.vstpreset`` for this plugin: Quanta's user folder first, then the standard
    folders (sorted by name within each)."""
    sub = plugin_folder(plugin)
    roots = [Path(user_root)] + [Path(os.path.expanduser(d)) for d in SYSTEM_DIRS]
    out: list[Path] = []
    for root in roots:
        folder = root / sub
        if folder.is_dir():
            out += sorted(p for p in folder.rglob(f"*{SUFFIX}") if p.is_file())
    return out


def list_presets(plugin, user_root: Path) -> list[tuple[str, str]]:
    """``(label, ident)``: factory programs (ident ``program:NAME``) then preset files
    (ident: the path), as :func:`load_preset` takes them."""
    out = [(name, PROGRAM_PREFIX + name) for name in factory_programs(plugin)]
    out += [(p.name[: -len(SUFFIX)], str(p)) for p in preset_files(plugin, user_root)]
    return out


def find_preset(plugin, name: str, user_root: Path) -> str:
    """The ident of the preset called ``name`` (label, case-insensitive; or its ident)."""
    if name.endswith(SUFFIX) and os.path.isfile(os.path.expanduser(name)):
        return os.path.expanduser(name)
    presets = list_presets(plugin, user_root)
    for label, ident in presets:
        if name == ident or name.lower() == label.lower():
            return ident
    names = ", ".join(label for label, _ in presets) or "none"
    raise DeviceError(f"{plugin.info.name}: no preset named {name!r} (presets: {names})")


def _class_id(data: bytes) -> bytes:
    return _HEADER.unpack_from(data)[2]


def check_preset(data: bytes, where: str, class_id: bytes | None = None) -> None:
    """Raise PresetFileError unless ``data`` is a well-formed ``.vstpreset`` (for the plugin
    whose class id is ``class_id``, when given)."""

    def bad(why: str) -> PresetFileError:
        return PresetFileError(f"VST3 preset {where}: {why}")

    if len(data) < _HEADER.size or data[:4] != b"VST3":
        raise bad("not a .vstpreset file (no VST3 header)")
    _magic, _version, cid, list_at = _HEADER.unpack_from(data)
    if not re.fullmatch(rb"[0-9A-Fa-f]{32}", cid):
        raise bad("its class id is not 32 hex digits")
    if class_id is not None and cid.upper() != class_id.upper():
        raise bad("it is for another plugin (class id differs)")
    if not _HEADER.size <= list_at <= len(data) - 8 or data[list_at : list_at + 4] != b"List":
        raise bad("its chunk list is missing or out of the file")
    (count,) = struct.unpack_from("<i", data, list_at + 4)
    if not 0 < count <= (len(data) - list_at - 8) // _ENTRY.size:
        raise bad(f"its chunk list has a bad entry count ({count})")
    ids = set()
    for k in range(count):
        chunk, offset, size = _ENTRY.unpack_from(data, list_at + 8 + k * _ENTRY.size)
        if offset < _HEADER.size or size < 0 or offset + size > list_at:
            raise bad(f"chunk {chunk!r} lies outside the data area")
        ids.add(chunk)
    if b"Comp" not in ids:
        raise bad("it holds no component state ('Comp' chunk)")


def read_preset_file(path: str | Path, plugin=None) -> bytes:
    """A checked ``.vstpreset`` file's bytes (for ``plugin``'s class id if given)."""
    where = os.path.basename(str(path))
    try:
        size = os.path.getsize(path)
        if size > MAX_PRESET_BYTES:
            raise PresetFileError(f"VST3 preset {where}: too large ({size} bytes)")
        data = Path(path).read_bytes()
    except OSError as exc:
        raise PresetFileError(f"VST3 preset {where}: cannot be read ({exc.strerror})") from None
    own = _class_id(plugin.plugin.preset_data) if plugin is not None else None
    check_preset(data, where, own)
    return data


def _values(pb) -> dict[str, float]:
    out = {}
    for name in pb.parameters:
        try:
            value = getattr(pb, name)
        except (AttributeError, RuntimeError, ValueError):
            continue
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[name] = float(value)
    return out


def _resend(pb, names: list[str]) -> None:
    """Send these parameters' current (controller) values to the processor as changes. A
    value equal to the one the host caches is not sent, so each goes to another value first;
    both land in the same parameter queue and the last one holds at the next block."""
    for name in names:
        try:
            value = getattr(pb, name)
            par = pb.parameters[name]
            lo, hi = float(par.min_value), float(par.max_value)
            setattr(pb, name, hi if value != hi else lo)
            setattr(pb, name, value)
        except (AttributeError, KeyError, TypeError, ValueError, RuntimeError):
            continue  # odd ranges: nothing to send


def load_program(plugin, name: str) -> None:
    """Switch to a factory program, heard from the next block. Only the parameters the
    program changed are sent again (the plugin's own read-only ones, such as DPF's sample
    rate, must not be touched)."""
    for pb in _instances(plugin):
        found = _program_parameter(pb)
        if found is None or name not in found[1]:
            progs = ", ".join(found[1]) if found else "none"
            raise DeviceError(f"{plugin.info.name}: no program {name!r} (programs: {progs})")
        before = _values(pb)
        setattr(pb, found[0], name)
        after = _values(pb)
        _resend(pb, [k for k, v in after.items() if before.get(k) != v])


def load_preset(plugin, name: str, user_root: Path) -> str:
    """Load a factory program or a ``.vstpreset`` (by label, ident or path); the ident.
    The plugin then runs a few silent frames so its state (``raw_state``) holds the preset:
    load into an instance no audio thread is running (a copy, as the editors do)."""
    ident = find_preset(plugin, name, user_root)
    if ident.startswith(PROGRAM_PREFIX):
        load_program(plugin, ident[len(PROGRAM_PREFIX) :])
    else:
        data = read_preset_file(ident, plugin)
        for pb in _instances(plugin):
            try:
                pb.preset_data = data
            except (RuntimeError, ValueError) as exc:
                raise DeviceError(
                    f"{plugin.info.name}: preset {os.path.basename(ident)} was refused ({exc})"
                ) from None
    current_preset_data(plugin)
    return ident


def current_preset_data(plugin) -> bytes:
    """The plugin's state as ``.vstpreset`` bytes, parameter changes included: a VST3 folds
    changes into its component state only when it processes, so a few silent frames run
    first (call this where the plugin is not running on an audio thread)."""
    import numpy as np

    pb = plugin.plugin
    sr = int(getattr(plugin, "sample_rate", 48000) or 48000)
    # A mono plugin runs as two instances (PedalboardEffect._mono); a call with the wrong
    # channel count must not be tried: it fails after taking the queued parameter changes.
    channels = 1 if getattr(plugin, "_mono", None) else 2
    pb.process(np.zeros((channels, 64), np.float32), sr, buffer_size=64, reset=False)
    return pb.preset_data


def save_preset(plugin, label: str, user_root: Path) -> Path:
    """Save the current state as ``<user_root>/<vendor>/<plugin>/<label>.vstpreset``."""
    label = label.strip()
    if not label or any(ord(c) < 32 for c in label) or _safe(label) != label:
        raise DeviceError(
            f"preset name {label!r}: use printable characters other than \\*?/:<>|\""
        )
    data = current_preset_data(plugin)
    check_preset(data, label)  # what we write we can load again
    folder = Path(user_root) / plugin_folder(plugin)
    path = folder / f"{label}{SUFFIX}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".part")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as exc:
        raise DeviceError(f"could not save preset {label!r} in {folder}: {exc.strerror}") from None
    return path
