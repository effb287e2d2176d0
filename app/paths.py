"""Where Quanta keeps the user's files, per platform (``platformdirs``), with env overrides.

Each function returns a path and creates nothing: a folder is made only when something is
written to it, so reading presets never litters a read-only or portable install.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "quanta"

#: Environment variable that replaces the user preset folder (tests, portable installs).
PRESET_DIR_ENV = "QUANTA_PRESET_DIR"


def user_data_dir() -> Path:
    """The platform's per-user data folder for Quanta (e.g. ``~/.local/share/quanta``)."""
    return platformdirs.user_data_path(APP_NAME, appauthor=False)


def preset_dir() -> Path:
    """The user preset folder: ``$QUANTA_PRESET_DIR`` when set (and not empty), else
    ``<user data>/presets``."""
    override = os.environ.get(PRESET_DIR_ENV, "").strip()
    if override:
        return Path(override).expanduser()
    return user_data_dir() / "presets"


def groove_dir() -> Path:
    """The user groove folder: ``grooves`` inside the preset folder, so ``$QUANTA_PRESET_DIR``
    moves presets and grooves together (a portable install or a test keeps both in one place)."""
    return preset_dir() / "grooves"


def plugin_cache_file() -> Path:
    """Where plugin probe results (including the plugins that hung or crashed) are kept."""
    return platformdirs.user_cache_path(APP_NAME, appauthor=False) / "plugins.json"


def vst3_preset_dir() -> Path:
    """Quanta's user VST3 presets (``.vstpreset`` files by vendor and plugin)."""
    return user_data_dir() / "vst3-presets"
