"""A subpackage's public names, imported on first use.

Each subpackage's ``__init__`` lists what the GUI and the command line may use, by module.
The module is imported only when a name is first asked for, so importing a package costs
nothing: starting the GUI still loads neither JACK, PortAudio nor the compiled kernels until
they are needed, exactly as when callers imported the modules themselves.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable


def lazy_exports(
    package: str, table: dict[str, tuple[str, ...]]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package`` exporting ``table``'s names.

    ``table`` maps a submodule to the names it exports; a submodule listing its own name
    exports the module itself (``from engine.realtime import clock``).
    """
    where = {name: module for module, names in table.items() for name in names}

    def __getattr__(name: str) -> object:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        loaded = importlib.import_module(f"{package}.{module}")
        return loaded if name == module else getattr(loaded, name)

    def __dir__() -> list[str]:
        return sorted(where)

    return __getattr__, __dir__
