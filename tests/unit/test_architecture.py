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


def _private(module: str) -> bool:
    return any(part.startswith("_") and part != "__init__" for part in module.split("."))


def private_imports() -> list[str]:
    """``from cwlogs.x import _name`` anywhere in src: a private name crossing modules."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if not node.module.startswith("cwlogs"):
                    continue
                for alias in node.names:
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        found.append(f"{_module_name(path)} imports {node.module}.{alias.name}")
    return found


def test_no_private_name_is_imported_across_modules() -> None:
    """A module uses another's public names only; private helpers stay where they live."""
    assert private_imports() == []


def test_every_public_module_lists_its_public_face() -> None:
    """Public modules (no underscore on their path) say what they export in ``__all__``."""
    missing = []
    for path in sorted(SRC.rglob("*.py")):
        name = _module_name(path)
        if _private(name) or name.endswith("__main__"):
            continue
        tree = ast.parse(path.read_text())
        assigned = {
            target.id
            for node in tree.body
            if isinstance(node, ast.Assign | ast.AnnAssign)
            for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
            if isinstance(target, ast.Name)
        }
        if "__all__" not in assigned:
            missing.append(name)
    assert missing == []


#: Over this, a module's docstring must say why it is one module ("one job: ...").
MAX_LINES = 600


def test_long_modules_say_why_they_are_one_module() -> None:
    """No module over 600 lines unless its docstring explains its single job."""
    too_long = []
    for path in sorted(SRC.rglob("*.py")):
        text = path.read_text()
        if text.count("\n") <= MAX_LINES:
            continue
        doc = ast.get_docstring(ast.parse(text)) or ""
        if "one job" not in doc.lower():
            too_long.append(f"{_module_name(path)} ({text.count(chr(10))} lines)")
    assert too_long == []
