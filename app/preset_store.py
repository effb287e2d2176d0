"""The preset library: factory presets (package data) plus the user's own folder.

The small API the CLI and the GUI share:

- :func:`list_presets` / :func:`load_catalog`: every preset, factory and user, with shadowing
  visible (a user preset named like a factory one hides it; both are listed, flagged).
- :func:`load` a preset by name, :func:`resolve_preset` a name, a ``.json`` path or a one-line
  text form (what ``--preset`` accepts).
- :func:`save_user_preset`, :func:`delete_user_preset`, :func:`export_preset`,
  :func:`import_preset`.

Names compare without regard to case (see :func:`engine.presets.preset_format.same_name`), so a preset
library copied to macOS or Windows keeps working. A broken file in the user folder is reported
in :attr:`Catalog.problems` and skipped; it never stops the other presets from loading. Every
write is atomic (temp file in the same folder, fsync, rename), so a crash leaves either the old
file or the new one, never half a preset.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from app.paths import preset_dir
from engine.atomic_write import atomic_write_bytes as _atomic_write_bytes
from engine.atomic_write import is_disk_full
from engine.errors import PresetError
from engine.presets import (
    SCHEMA_FILES,
    Preset,
    is_preset_text,
    preset_filename,
    preset_from_document,
    preset_from_json,
    preset_from_text,
    preset_to_document,
    preset_to_json,
    preset_to_text,
    read_preset_file,
    same_name,
)
from engine.presets import check_name as _check_name

__all__ = [
    "Catalog",
    "Preset",
    "PresetEntry",
    "atomic_write_bytes",
    "atomic_write_text",
    "delete_user_preset",
    "export_preset",
    "factory_presets",
    "free_path",
    "import_preset",
    "list_presets",
    "load",
    "load_catalog",
    "resolve_preset",
    "save_user_preset",
]

#: JSON Schemas shipped beside the factory presets (not presets themselves).
_SCHEMAS = {name.casefold() for name in SCHEMA_FILES}


@dataclass(frozen=True)
class PresetEntry:
    """One line of the preset list.

    ``shadowed``: a factory preset hidden by a user preset of the same name (listed so the user
    sees what they replaced). ``shadows_factory``: a user preset that hides a factory one.
    """

    preset: Preset
    shadowed: bool = False
    shadows_factory: bool = False

    @property
    def name(self) -> str:
        return self.preset.name

    @property
    def source(self) -> str:
        return self.preset.source

    @property
    def description(self) -> str:
        return self.preset.description


@dataclass(frozen=True)
class Catalog:
    """Every preset that loaded, and one line per file that did not."""

    entries: tuple[PresetEntry, ...]
    problems: tuple[str, ...] = ()

    def find(self, name: str) -> Preset | None:
        """The preset a name means: the user's if one shadows the factory preset."""
        for entry in self.entries:
            if not entry.shadowed and same_name(entry.name, name):
                return entry.preset
        return None


# -- reading -----------------------------------------------------------------------------------
def _preset_files(folder) -> list:
    """Preset files in a folder, in name order; hidden files (our temp files) and the schema
    are not presets."""
    try:
        items = list(folder.iterdir())
    except FileNotFoundError:
        return []
    return sorted(
        (
            p
            for p in items
            if p.name.endswith(".json")
            and not p.name.startswith(".")
            and p.name.casefold() not in _SCHEMAS
            and p.is_file()
        ),
        key=lambda p: p.name,
    )


def _load_folder(folder, source: str) -> tuple[list[Preset], list[str]]:
    presets: list[Preset] = []
    problems: list[str] = []
    try:
        files = _preset_files(folder)
    except OSError as exc:
        return [], [f"cannot read the {source} preset folder {folder} ({exc.strerror})"]
    for path in files:
        try:
            if source == "factory":  # package data: may live in a zip, so no stat checks
                preset = preset_from_json(
                    path.read_bytes(),
                    path.name,
                    "factory",
                    path if isinstance(path, Path) else None,
                )
            else:
                preset = read_preset_file(path, source)
        except PresetError as exc:
            problems.append(f"skipped {source} preset {exc}")
            continue
        twin = next((p for p in presets if same_name(p.name, preset.name)), None)
        if twin is not None:
            where = twin.path.name if twin.path else "another file"
            problems.append(
                f"skipped {source} preset {path.name}: name {preset.name!r} is already used by "
                f"{where}"
            )
            continue
        presets.append(preset)
    return presets, problems


def factory_presets() -> list[Preset]:
    """The presets shipped with Quanta, in their file order."""
    return _load_folder(resources.files("presets"), "factory")[0]


def user_presets() -> tuple[list[Preset], list[str]]:
    """The user's presets and one line per file in the user folder that could not be loaded."""
    return _load_folder(preset_dir(), "user")


def load_catalog() -> Catalog:
    """Factory then user presets, with shadowing flagged on both sides."""
    factory, factory_problems = _load_folder(resources.files("presets"), "factory")
    user, user_problems = user_presets()
    entries = []
    for f in factory:
        hidden = any(same_name(u.name, f.name) for u in user)
        entries.append(PresetEntry(f, shadowed=hidden))
    for u in user:
        hides = any(same_name(u.name, f.name) for f in factory)
        entries.append(PresetEntry(u, shadows_factory=hides))
    return Catalog(tuple(entries), tuple(factory_problems + user_problems))


def list_presets() -> list[PresetEntry]:
    """Every preset, factory then user; see :class:`PresetEntry` for the shadowing flags."""
    return list(load_catalog().entries)


def load(name: str) -> Preset:
    """The preset called ``name`` (a user preset wins over a factory one of the same name)."""
    found = load_catalog().find(name)
    if found is None:
        raise PresetError(f"no preset named {name!r}; `quanta presets list` shows them")
    return found


def resolve_preset(name_or_path: str | os.PathLike) -> Preset:
    """What ``--preset`` means: a one-line text form, a preset name, or a path to a .json file.

    Names are tried before paths because names often contain ``/`` ("Swing 58 1/16"); a file is
    used when no preset has that name and the path exists (or ends in ``.json``).
    """
    text = os.fspath(name_or_path)
    if is_preset_text(text):
        return preset_from_text(text, origin="--preset text")
    found = load_catalog().find(text)
    if found is not None:
        return found
    path = Path(text).expanduser()
    if path.exists() or text.lower().endswith(".json"):
        return read_preset_file(path, "file")
    raise PresetError(
        f"no preset named {text!r} and no such file; `quanta presets list` shows the presets"
    )


# -- writing -----------------------------------------------------------------------------------
def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` so a crash leaves the old file or the new one, never half."""
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: validation should have refused it
        raise PresetError(f"{path}: cannot write text that is not valid Unicode") from None
    return atomic_write_bytes(path, data)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` so a crash leaves the old file or the new one, never half
    (engine.atomic_write: temp file in the same folder, fsync, rename, the mode kept)."""
    path = Path(path)
    try:
        return _atomic_write_bytes(path, data)
    except OSError as exc:
        if is_disk_full(exc):
            raise PresetError(f"disk full: could not write {path}") from None
        raise PresetError(f"{path}: cannot write ({exc.strerror or exc})") from None


def _validated(preset: Preset, origin: str) -> Preset:
    """Run a preset built in code through the same strict checks as a file (name, lengths)."""
    return preset_from_document(preset_to_document(preset), origin, preset.source, preset.path)


def free_path(folder: Path, name: str) -> Path:
    """A new file for ``name``: its sanitised file name, numbered if another file has it (the
    groove store names its files the same way)."""
    first = folder / preset_filename(name)
    if not first.exists():
        return first
    stem = first.name[: -len(".json")]
    n = 2
    while (folder / f"{stem} ({n}).json").exists():
        n += 1
    return folder / f"{stem} ({n}).json"


def save_user_preset(preset: Preset, force: bool = False) -> Preset:
    """Save to the user folder; returns the saved preset (source ``user``, with its path).

    An existing user preset of the same name is replaced only with ``force``. Saving under a
    factory preset's name is allowed: the user preset then shadows it (``list`` shows both).
    """
    preset = _validated(preset, f"preset {preset.name!r}")
    folder = preset_dir()
    users, _ = user_presets()
    existing = next((u for u in users if same_name(u.name, preset.name)), None)
    if existing is not None and not force:
        raise PresetError(
            f"a user preset named {existing.name!r} already exists ({existing.path}); "
            "use --force to replace it"
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PresetError(f"{folder}: cannot create the preset folder ({exc.strerror})") from None
    path = existing.path if existing is not None else free_path(folder, preset.name)
    saved = preset.replace(source="user", path=path)
    atomic_write_text(path, preset_to_json(saved))
    return saved


def delete_user_preset(name: str) -> Path:
    """Delete a user preset (a factory preset it shadowed becomes visible again)."""
    users, _ = user_presets()
    found = next((u for u in users if same_name(u.name, name)), None)
    if found is None:
        if any(same_name(f.name, name) for f in factory_presets()):
            raise PresetError(f"{name!r} is a factory preset; factory presets cannot be deleted")
        raise PresetError(f"no user preset named {name!r}; `quanta presets list` shows them")
    try:
        found.path.unlink()
    except OSError as exc:
        raise PresetError(f"{found.path}: cannot delete ({exc.strerror})") from None
    return found.path


def export_preset(name: str, path: str | os.PathLike, text: bool = False) -> Path:
    """Write the named preset (user or factory) to a file anyone can import: JSON, or with
    ``text`` the one-line text form (what ``presets export --text`` prints) plus a newline."""
    preset = load(name)
    return atomic_write_text(
        path, preset_to_text(preset) + "\n" if text else preset_to_json(preset)
    )


def import_preset(
    path_or_text: str | os.PathLike, as_name: str | None = None, force: bool = False
) -> Preset:
    """Validate a preset file (or one-line text form) fully, then save it as a user preset.

    ``as_name`` renames it on the way in; an existing user preset of that name is kept unless
    ``force``.
    """
    source = os.fspath(path_or_text)
    if is_preset_text(source):
        preset = preset_from_text(source, origin="pasted preset")
    else:
        preset = read_preset_file(source, "file")
    if as_name is not None:
        preset = preset.replace(name=_check_name(as_name, field="--as"))
    return save_user_preset(preset, force=force)
