"""The engine's layers import downwards only: no module of cowlint imports one that imports it back.

Imports inside functions count (a lazy import hides a cycle, it does not remove it); imports under
``if TYPE_CHECKING:`` do not (they never run).
"""

from __future__ import annotations

import ast
from pathlib import Path

import cowlint

PACKAGE = Path(cowlint.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, known: set[str]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    skipped = {id(node) for top in tree.body if isinstance(top, ast.If) and "TYPE_CHECKING" in ast.dump(top.test) for node in ast.walk(top)}
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and node.module.startswith("cowlint"):
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names if f"{node.module}.{alias.name}" in known)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("cowlint"))
    return found & known


def _graph() -> dict[str, set[str]]:
    files = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    known = set(files)
    return {name: _imports(path, known) - {name} for name, path in files.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of the graph, if it has any (a depth-first search for a back edge)."""
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return path[path.index(target) :] + [target]
            if target not in state and (found := visit(target)) is not None:
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)) is not None:
            return found
    return None


def test_no_module_of_cowlint_imports_one_that_imports_it_back() -> None:
    graph = _graph()
    assert len(graph) > 60  # the walk found the package
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_the_file_driver_never_parses_and_the_module_layer_never_reads_files() -> None:
    graph = _graph()
    module_layer = {name for name in graph if name.startswith("cowlint.engine.module.")}
    files_layer = {name for name in graph if name.startswith("cowlint.engine.files.")}
    assert not any(target in files_layer for name in module_layer for target in graph[name])
    libcst_users = {path for path in (PACKAGE / "engine" / "files").rglob("*.py") if "import libcst" in path.read_text(encoding="utf-8")}
    assert not libcst_users
