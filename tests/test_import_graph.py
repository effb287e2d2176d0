"""The package structure holds: no import circle in engine/, app/ or ui/, the engine's
subpackages import only downwards, and ui/ and app/ use the subpackages' public names.

Imports are read with ``ast`` (nothing is executed), including imports inside functions: a
deferred import still ties two modules together. Only ``if TYPE_CHECKING:`` blocks are
skipped (they never run).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOPS = ("engine", "app", "ui")

#: Rank of each part of engine/: a part may import only parts of a lower rank (and itself).
#: Reads as the data flow: file -> model -> quantize -> engine -> ports/audio.
ENGINE_RANKS = {
    "errors": 0,
    "atomic_write": 1,  # the one atomic-save helper: MIDI, projects, presets, renders
    "public": 0,
    "model": 1,
    "plugins": 2,  # instruments and effects: below the audio that drives them
    "smf": 2,
    "quantize": 2,
    "build": 2,
    "demo": 3,
    "presets": 3,
    "project": 4,  # a project's quantize settings get the presets' strict checks
    "realtime": 4,
    "ports": 5,
    "audio": 5,
}


def _modules() -> dict[str, Path]:
    found = {}
    for top in TOPS:
        for path in (ROOT / top).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _lazy_table(module: str) -> dict[str, str]:
    """Name -> submodule for a package whose ``__init__`` calls ``lazy_exports``."""
    path = MODULES[module]
    if path.name != "__init__.py":
        return {}
    table = {}
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "lazy_exports":
            for key, value in zip(node.args[1].keys, node.args[1].values, strict=True):
                for name in value.elts:
                    table[name.value] = f"{module}.{key.value}"
    return table


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return getattr(test, "id", None) == "TYPE_CHECKING" or getattr(test, "attr", None) == (
        "TYPE_CHECKING"
    )


def _imports(module: str) -> list[tuple[str, int, str]]:
    """(target module, line, how it was named) for every import ``module`` runs."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in MODULES:
                    found.append((alias.name, node.lineno, alias.name))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            lazy = _lazy_table(base) if base in MODULES else {}
            for alias in node.names:
                full = f"{base}.{alias.name}"
                if full in MODULES:
                    found.append((full, node.lineno, full))
                elif alias.name in lazy:
                    found.append((lazy[alias.name], node.lineno, full))
                elif base in MODULES:
                    found.append((base, node.lineno, full))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text()))
    return [f for f in found if f[0] != module]


GRAPH = {m: _imports(m) for m in MODULES}


def _cycles() -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    result = []
    counter = 0
    for root in sorted(GRAPH):
        if root in index:
            continue
        work = [(root, iter(sorted({t for t, _, _ in GRAPH[root]})))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted({t for t, _, _ in GRAPH[child]}))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    component.append(top)
                    if top == node:
                        break
                if len(component) > 1:
                    result.append(sorted(component))
    return result


def _engine_part(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "engine" or len(parts) < 2:
        return None
    return parts[1]


def test_the_graph_sees_the_packages():
    assert "engine.realtime.transport" in GRAPH and "ui.main_window" in GRAPH
    targets = {t for t, _, _ in GRAPH["engine.realtime.transport"]}
    assert "engine.realtime.schedule" in targets  # the walk really reads imports


def test_no_import_circles():
    assert _cycles() == []


def test_the_cycle_finder_finds_a_cycle():
    saved = dict(GRAPH)
    try:
        GRAPH["engine.model.notes"] = [*GRAPH["engine.model.notes"], ("engine.model.song", 0, "")]
        assert ["engine.model.notes", "engine.model.song"] in _cycles()
    finally:
        GRAPH.clear()
        GRAPH.update(saved)


def test_engine_parts_are_all_ranked():
    parts = {_engine_part(m) for m in MODULES} - {None}
    assert parts == set(ENGINE_RANKS)


def test_engine_imports_only_downwards():
    wrong = []
    for module, imports in GRAPH.items():
        part = _engine_part(module)
        if part is None:
            continue
        for target, line, _ in imports:
            if target.split(".")[0] in ("app", "ui"):
                wrong.append(f"{module}:{line} imports {target}")
                continue
            other = _engine_part(target)
            if other in (None, part):
                continue
            if ENGINE_RANKS[other] >= ENGINE_RANKS[part]:
                wrong.append(f"{module}:{line} imports {target} (not below {part})")
    assert wrong == []


def test_ui_and_app_use_public_names():
    """ui/ and app/ import a subpackage's exports or the subpackage itself, never a module
    inside it (``from engine.audio.mixer import Mixer`` is ``from engine.audio import Mixer``)."""
    wrong = []
    for module in GRAPH:
        if module.split(".")[0] not in ("app", "ui"):
            continue
        path = MODULES[module]
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
                names = [n for n in names if n in MODULES or n == node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                parts = name.split(".")
                if parts[0] == "engine" and len(parts) > 2 and name != "engine.realtime.clock":
                    wrong.append(f"{module}:{node.lineno} uses {name}")
    assert wrong == []


def test_every_public_name_resolves():
    """Each export names a real object in the module it points to (a typo would otherwise
    fail only when the GUI first reaches for it)."""
    import importlib

    for module, path in MODULES.items():
        table = _lazy_table(module)
        if not table:
            continue
        package = importlib.import_module(module)
        assert all(isinstance(v, str) for v in table.values())
        for name in table:
            assert getattr(package, name) is not None, f"{module}.{name}"
        assert set(table) <= set(dir(package)), path
