"""The runtime dependencies are what the installed tool imports: every third-party module a file of
the package imports belongs to a distribution in ``[project.dependencies]``; the harness' own test
and lint tools are only in the ``dev`` extra."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "infsh_harness"


def _name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group(0)).lower()


def _project() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _imported() -> dict[str, set[str]]:
    """Top-level third-party module -> the files importing it."""
    found: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top != "infsh_harness":
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_imported_module_is_a_declared_dependency() -> None:
    declared = {_name(r) for r in _project()["dependencies"]}  # type: ignore[attr-defined]
    distributions = importlib.metadata.packages_distributions()
    missing = {}
    for module, files in _imported().items():
        owners = {_name(d) for d in distributions.get(module, [])}
        assert owners, f"{module} (imported by {sorted(files)}) is not installed"
        if not owners & declared:
            missing[module] = sorted(files)
    assert not missing, f"imported but not in [project.dependencies]: {missing}"


def test_test_and_lint_tools_stay_in_the_dev_extra() -> None:
    project = _project()
    declared = {_name(r) for r in project["dependencies"]}  # type: ignore[attr-defined]
    dev = {_name(r) for r in project["optional-dependencies"]["dev"]}  # type: ignore[index]
    tools = {"ruff", "mypy", "pytest-timeout", "types-pyyaml", "types-jsonschema", "openapi-spec-validator", "selenium"}
    assert tools <= dev
    assert not tools & declared
