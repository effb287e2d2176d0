"""The groove library: factory grooves (package data) plus the user's own folder.

Mirrors the preset library (:mod:`app.preset_store`) and shares its machinery: files are named
with the same sanitiser (a name is never used as a path: ``../x`` or ``CON`` are safe), written
with the same atomic write (temp file, fsync, rename), and a user groove named like a factory
one shadows it (both listed, flagged). Names compare like file names on macOS and Windows
(case and Unicode form ignored). User grooves live in ``grooves`` inside the preset folder
(:func:`app.paths.groove_dir`), so ``QUANTA_PRESET_DIR`` moves both. A broken file in the user
folder is reported in :attr:`GrooveCatalog.problems` and skipped.

:func:`install` hands :func:`load_groove` to the quantizer as its groove-name resolver, so a
preset (or ``--groove NAME``) that names a groove finds it here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from app.paths import groove_dir
from app.preset_store import atomic_write_bytes, free_path
from engine.errors import GrooveError, PresetError
from engine.presets import (
    GrooveFile,
    groove_file_bytes,
    groove_from_json,
    kind_of,
    read_groove_file,
    same_name,
)
from engine.quantize import GrooveTemplate, set_groove_resolver

FACTORY_PACKAGE = "presets.grooves"
GROOVE_FILE_SUFFIXES = (".json", ".agr", ".rgt")


@dataclass(frozen=True)
class GrooveEntry:
    """One groove of the list: ``source`` is ``factory`` or ``user``; ``shadowed`` marks a
    factory groove hidden by a user groove of the same name, ``shadows_factory`` that user
    groove."""

    template: GrooveTemplate
    source: str
    path: Path | None = None
    shadowed: bool = False
    shadows_factory: bool = False

    @property
    def name(self) -> str:
        return self.template.name


@dataclass(frozen=True)
class GrooveCatalog:
    """Every groove that loaded, and one line per file that did not."""

    entries: tuple[GrooveEntry, ...]
    problems: tuple[str, ...] = ()

    def find(self, name: str) -> GrooveEntry | None:
        """The groove a name means: the user's if one shadows the factory groove."""
        for e in self.entries:
            if not e.shadowed and same_name(e.name, name):
                return e
        return None


def _json_files(folder) -> list:
    try:
        items = list(folder.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(
        (p for p in items if p.name.endswith(".json") and not p.name.startswith(".") and p.is_file()),
        key=lambda p: p.name,
    )


def _load_folder(folder, source: str) -> tuple[list[GrooveEntry], list[str]]:
    entries: list[GrooveEntry] = []
    problems: list[str] = []
    try:
        files = _json_files(folder)
    except OSError as exc:
        return [], [f"cannot read the {source} groove folder {folder} ({exc.strerror})"]
    for path in files:
        try:
            if source == "factory":  # package data: may live in a zip, so no stat checks
                template = groove_from_json(path.read_bytes(), path.name)
            else:
                template = read_groove_file(path).template
        except GrooveError as exc:
            problems.append(f"skipped {source} groove {exc}")
            continue
        twin = next((e for e in entries if same_name(e.name, template.name)), None)
        if twin is not None:
            problems.append(
                f"skipped {source} groove {path.name}: name {template.name!r} is already used by "
                f"{twin.path.name if twin.path else 'another file'}"
            )
            continue
        entries.append(
            GrooveEntry(template, source, path if isinstance(path, Path) else None)
        )
    return entries, problems


@cache
def _factory() -> tuple[tuple[GrooveEntry, ...], tuple[str, ...]]:
    entries, problems = _load_folder(resources.files(FACTORY_PACKAGE), "factory")
    return tuple(entries), tuple(problems)


def factory_grooves() -> list[GrooveEntry]:
    """The grooves shipped with Quanta, in file order."""
    return list(_factory()[0])


def load_catalog() -> GrooveCatalog:
    """Factory then user grooves, with shadowing flagged on both sides."""
    factory, factory_problems = _factory()
    user, user_problems = _load_folder(groove_dir(), "user")
    entries = [
        GrooveEntry(f.template, f.source, f.path, shadowed=any(same_name(u.name, f.name) for u in user))
        for f in factory
    ]
    entries += [
        GrooveEntry(
            u.template, u.source, u.path, shadows_factory=any(same_name(u.name, f.name) for f in factory)
        )
        for u in user
    ]
    return GrooveCatalog(tuple(entries), tuple(factory_problems) + tuple(user_problems))


def load_groove(name: str) -> GrooveTemplate:
    """The groove called ``name`` (a user groove wins over a factory one of the same name)."""
    found = load_catalog().find(name)
    if found is None:
        raise GrooveError("groove", f"no groove named {name!r}; `quanta groove list` shows them")
    return found.template


def install() -> None:
    """Make groove names in presets and ``--groove NAME`` resolve through this store."""
    set_groove_resolver(load_groove)


def looks_like_file(text: str) -> bool:
    """``--groove`` and ``show``: a groove file's name (by extension) or an existing file."""
    return text.lower().endswith(GROOVE_FILE_SUFFIXES) or Path(text).expanduser().is_file()


def resolve(name_or_path: str) -> GrooveTemplate:
    """A groove name from the library, or a .json/.agr/.rgt file read strictly."""
    if looks_like_file(name_or_path) and load_catalog().find(name_or_path) is None:
        return read_groove_file(Path(name_or_path).expanduser()).template
    return load_groove(name_or_path)


# -- writing -----------------------------------------------------------------------------------
def _user_entries() -> list[GrooveEntry]:
    return _load_folder(groove_dir(), "user")[0]


def save_user_groove(template: GrooveTemplate, force: bool = False) -> GrooveEntry:
    """Save to the user folder. An existing user groove of that name is replaced only with
    ``force``; saving under a factory groove's name shadows it."""
    folder = groove_dir()
    existing = next((u for u in _user_entries() if same_name(u.name, template.name)), None)
    if existing is not None and not force:
        raise GrooveError(
            "groove",
            f"a user groove named {existing.name!r} already exists ({existing.path}); "
            "use --force to replace it",
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PresetError(f"{folder}: cannot create the groove folder ({exc.strerror})") from None
    path = existing.path if existing is not None and existing.path else free_path(folder, template.name)
    atomic_write_bytes(path, groove_file_bytes(template, "json"))
    shadows = any(same_name(f.name, template.name) for f in factory_grooves())
    return GrooveEntry(template, "user", path, shadows_factory=shadows)


def import_groove(
    path: str | os.PathLike,
    as_name: str | None = None,
    base: str | None = None,
    force: bool = False,
) -> tuple[GrooveEntry, GrooveFile]:
    """Validate a .json/.agr/.rgt file fully, then save it as a user groove."""
    loaded = read_groove_file(path, name=as_name, base=base)
    return save_user_groove(loaded.template, force=force), loaded


def delete_user_groove(name: str) -> Path:
    """Delete a user groove (a factory groove it shadowed becomes visible again)."""
    found = next((u for u in _user_entries() if same_name(u.name, name)), None)
    if found is None or found.path is None:
        if any(same_name(f.name, name) for f in factory_grooves()):
            raise GrooveError("groove", f"{name!r} is a factory groove; factory grooves cannot be deleted")
        raise GrooveError("groove", f"no user groove named {name!r}; `quanta groove list` shows them")
    try:
        found.path.unlink()
    except OSError as exc:
        raise GrooveError(str(found.path), f"cannot delete ({exc.strerror})") from None
    return found.path


def export_groove(name: str, path: str | os.PathLike, **options) -> Path:
    """Write the named groove to a file whose extension picks the format (.json/.agr/.rgt)."""
    kind = kind_of(path)
    if kind is None:
        raise GrooveError(str(path), "export to .json, .agr or .rgt")
    data = groove_file_bytes(load_groove(name), kind, **options)
    return atomic_write_bytes(path, data)
