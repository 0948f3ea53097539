"""``infsh-harness`` itself: its version, and the CI templates users copy call it with options it has."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
import yaml

from infsh_harness import __version__
from infsh_harness.cli import build_parser, main

TEMPLATES = Path(__file__).resolve().parents[2] / "docs" / "ci"


def test_version_prints_the_one_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"infsh-harness {__version__}"


def _harness_commands(node: object) -> list[str]:
    """Every ``infsh-harness …`` command line in a CI template's YAML."""
    if isinstance(node, dict):
        return [c for v in node.values() for c in _harness_commands(v)]
    if isinstance(node, list):
        return [c for v in node for c in _harness_commands(v)]
    if isinstance(node, str):
        return [
            line.split("||")[0].split("#")[0].strip()
            for line in node.splitlines()
            if line.strip().startswith("infsh-harness ")
        ]
    return []


@pytest.mark.parametrize("template", ["github-actions.yml", "gitlab-ci.yml"])
def test_ci_template_commands_parse(template: str) -> None:
    commands = _harness_commands(yaml.safe_load((TEMPLATES / template).read_text(encoding="utf-8")))
    assert {shlex.split(c)[1] for c in commands} >= {"contract", "drift", "load"}
    parser = build_parser()
    for command in commands:
        # as the shell runs it, with the variable CI sets; an unknown option or a bad value exits 2
        expanded = command.replace("$INFSH_BASE_URL", "https://api.inference.sh")
        parser.parse_args(shlex.split(expanded)[1:])
