"""The contract suite as a pytest plugin: inert in a run that does not ask for it, the suite with
``--infsh-*`` options, rules selected with ``-k`` / ``-m``, the same summary files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

TEAM_TEST = "def test_the_teams_own():\n    assert True\n"


def _pytest(folder: Path, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INFSH_", "PYTEST_"))} | extra_env
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=folder, env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip


def test_a_run_that_does_not_ask_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / "test_team.py").write_text(TEAM_TEST, encoding="utf-8")
    # the suite's environment alone does not ask for it: only the --infsh-* options do
    done = _pytest(tmp_path, "-q", "--co", INFSH_BASE_URL="http://127.0.0.1:9", INFSH_CONTRACT_PROFILE="quick")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "test_team.py::test_the_teams_own" in done.stdout
    assert "1 test collected" in done.stdout
    assert not (tmp_path / "reports").exists()


def test_the_suite_runs_in_a_teams_pytest_with_rules_picked_by_k_and_m(tmp_path: Path) -> None:
    (tmp_path / "test_team.py").write_text(TEAM_TEST, encoding="utf-8")
    common = ("--infsh-contract", "--infsh-profile", "quick", "--infsh-seed", "5")
    by_k = _pytest(tmp_path, *common, "--infsh-report-dir", "k", "-k", "unknown-task-404")
    assert by_k.returncode == 0, by_k.stdout[-3000:] + by_k.stderr[-2000:]
    assert "test_the_teams_own" not in by_k.stdout  # no paths given: the suite alone
    summary = json.loads((tmp_path / "k" / "summary.json").read_text(encoding="utf-8"))
    verdicts = {r["id"]: r["verdict"] for r in summary["rules"]}
    assert verdicts["unknown-task-404"] == "honoured"
    assert verdicts["auth-required"] == "unchecked"  # not selected
    assert (tmp_path / "k" / "summary.md").is_file() and (tmp_path / "k" / "junit.xml").is_file()

    # paths given: the suite beside them; the team's test is not the suite's
    by_m = _pytest(
        tmp_path, *common, "--infsh-report-dir", "m", "-m", "auth-required or not infsh_contract", "test_team.py"
    )
    assert by_m.returncode == 0, by_m.stdout[-3000:] + by_m.stderr[-2000:]
    assert "2 passed" in by_m.stdout
    summary = json.loads((tmp_path / "m" / "summary.json").read_text(encoding="utf-8"))
    verdicts = {r["id"]: r["verdict"] for r in summary["rules"]}
    assert verdicts["auth-required"] == "honoured" and verdicts["unknown-task-404"] == "unchecked"


def test_bad_plugin_input_is_one_line_naming_the_option(tmp_path: Path) -> None:
    done = _pytest(tmp_path, "--infsh-base-url", "ftp://host")
    assert done.returncode == 4  # pytest's usage error
    assert "--infsh-base-url must be an http:// or https:// URL" in done.stderr
    assert "Traceback" not in done.stderr
    no_key = _pytest(tmp_path, "--infsh-contract", "--infsh-api-key-env", "TEAM_KEY_NOT_SET")
    assert no_key.returncode == 4
    assert "--infsh-api-key-env names TEAM_KEY_NOT_SET, which is not set" in no_key.stderr
