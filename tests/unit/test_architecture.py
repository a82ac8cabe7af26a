"""The package's import graph: no module imports one that (directly or not) imports it back.

Only imports run at import time count (module level, outside ``if TYPE_CHECKING``):
an import inside a function is how a cold path defers a dependency on purpose.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "cwlogs"


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    name = ".".join(("cwlogs", *parts))
    return name.removesuffix(".__init__")


def _imports_at_import_time(tree: ast.Module) -> set[str]:
    found: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.dump(node.test):
            continue
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        for sub in ast.walk(node):
            if isinstance(sub, ast.ImportFrom) and sub.module and sub.level == 0:
                found.add(sub.module)
            elif isinstance(sub, ast.Import):
                found.update(alias.name for alias in sub.names)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in SRC.rglob("*.py")}
    return {
        name: {m for m in _imports_at_import_time(ast.parse(path.read_text())) if m in modules}
        for name, path in modules.items()
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` as a path ending where it starts, or None."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        for target in sorted(graph[node]):
            if target in path:
                return [*path[path.index(target) :], target]
            if target not in done:
                found = visit(target, [*path, target])
                if found:
                    return found
        done.add(node)
        return None

    for start in sorted(graph):
        if start not in done:
            found = visit(start, [start])
            if found:
                return found
    return None


def test_the_package_has_no_import_cycle() -> None:
    """A cycle between cwlogs modules fails here, naming the modules on it."""
    assert find_cycle(import_graph()) is None


def test_a_cycle_is_found_when_there_is_one() -> None:
    """The checker itself: a two-module cycle and a longer one are reported."""
    assert find_cycle({"a": {"b"}, "b": {"a"}}) == ["a", "b", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
