"""The package has no import cycle, counting imports under ``TYPE_CHECKING`` and inside functions.

A cycle is read from the source (``ast``), not from what Python happened to import: ``from pkg import
name`` is an edge to ``pkg.name`` when that is a module, else to ``pkg``. The sources are parsed in a
process of their own: CPython 3.11's parser can fail with "AST constructor recursion depth mismatch"
in a process whose stack has been deep before (a test worker), which says nothing about the code.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def _modules() -> dict[str, Path]:
    modules = {}
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    return modules


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, *([node.module] if node.module else [])])
            subs = {f"{base}.{alias.name}" for alias in node.names} & modules.keys()
            found |= subs if len(subs) == len(node.names) else {base, *subs}
    return {target for target in found if target in modules and target != name}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def package_cycles() -> list[list[str]]:
    modules = _modules()
    return _cycles({name: _imports(name, path, modules) for name, path in modules.items()})


def test_the_package_has_no_import_cycle() -> None:
    done = subprocess.run(
        [sys.executable, __file__], capture_output=True, text=True, timeout=120, check=True, cwd=SRC.parent
    )
    assert json.loads(done.stdout) == []


def test_a_cycle_is_found() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


if __name__ == "__main__":
    print(json.dumps(package_cycles()))
