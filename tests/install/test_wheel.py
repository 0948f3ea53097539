"""The wheel a team installs: built from this checkout, installed into a fresh virtual environment
outside it, and used from an empty folder — ``infsh-harness run`` (mock, contract, load, drift), the
pytest plugin against the installed mock, and the ``infsh_respx`` fixture in a team's own test.

About a minute and a half (``slow``; it is part of ``make test``): the install reuses pip's cache and
its configured wheel folders, and skips byte-compiling; ``run`` takes the quick contract profile
(``INFSH_CONTRACT_PROFILE=quick``) and one second of load per scenario.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from infsh_harness._version import __version__

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
TEAM_TEST = """
import httpx


def test_my_client_sees_a_cancelled_task(infsh_respx):
    headers = {"Authorization": "Bearer inf_test_key", "X-API-Version": "2"}
    with httpx.Client(base_url=infsh_respx.base_url, headers=headers) as client:
        run = {"app": "infsh/sleep", "input": {"seconds": 9}}
        task = client.post("/run", params={"wait": "false"}, json=run).json()
        infsh_respx.advance(1)
        assert client.post(f"/tasks/{task['id']}/cancel").json()["status"] == 11
        infsh_respx.fail_next(status=503)
        assert client.get(f"/tasks/{task['id']}").status_code == 503
"""


def _env() -> dict[str, str]:
    """The machine's environment without this checkout's settings: no INFSH_*, no PYTHONPATH, no venv."""
    drop = ("INFSH_", "PYTEST_", "PYTHON", "VIRTUAL_ENV", "GITHUB_STEP_SUMMARY")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


def _check(command: list[str], cwd: Path, timeout: float, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=cwd, env={**_env(), **env}, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``bin`` folder of a fresh virtual environment with the wheel installed."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"  # a copy: building leaves nothing in the checkout
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    # this environment's setuptools when it is recent enough (no download), else pip's isolated build
    isolation = ["--no-build-isolation"] if _setuptools_major() >= 77 else []
    built = _check([*pip, "wheel", "--no-deps", *isolation, "-q", "-w", str(work / "dist"), str(source)],
                   work, 180)  # fmt: skip
    assert built.returncode == 0, built.stderr[-3000:]
    [wheel] = (work / "dist").glob("infsh_harness-*.whl")
    _shipped(wheel)
    venv = work / "venv"
    made = _check([sys.executable, "-m", "venv", "--without-pip", str(venv)], work, 60)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    done = _check([*pip, "--python", str(python), "install", "-q", "--no-compile", str(wheel)], work, 300)
    assert done.returncode == 0, done.stderr[-3000:]
    return venv / "bin"


def _setuptools_major() -> int:
    try:
        return int(importlib.metadata.version("setuptools").split(".")[0])
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return 0


def _shipped(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "infsh_harness/data/openapi/tasks.yaml", "infsh_harness/data/apps.yaml", "infsh_harness/data/slo.yaml",
        "infsh_harness/data/wire.yaml", "infsh_harness/contract/suite/conftest.py",
        "infsh_harness/contract/suite/pytest.ini", "infsh_harness/load/scenarios/run_wait.py",
        "infsh_harness/testing/respx_mock.py", "infsh_harness/report/templates/report.css",
    ):  # fmt: skip
        assert needed in names, f"{needed} is not in the wheel"
    [entry_points] = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "[pytest11]" in text and "infsh_harness.contract.plugin" in text


@pytest.fixture
def team(tmp_path: Path) -> Path:
    """An empty folder of a team's own repository, far from this checkout."""
    folder = tmp_path / "team"
    folder.mkdir()
    return folder


def test_the_installed_tool_is_its_own(installed: Path, team: Path) -> None:
    version = _check([str(installed / "infsh-harness"), "--version"], team, 30)
    assert version.returncode == 0 and version.stdout.strip() == f"infsh-harness {__version__}"
    where = _check([str(installed / "python"), "-c", "import infsh_harness; print(infsh_harness.__file__)"], team, 30)
    assert Path(where.stdout.strip()).is_relative_to(installed.parent), where.stdout  # not the checkout


def test_run_from_an_empty_folder_writes_every_report(installed: Path, team: Path) -> None:
    done = _check([str(installed / "infsh-harness"), "run", "--out", "reports", "--load-time", "1s"], team, 240,
                  INFSH_CONTRACT_PROFILE="quick")  # fmt: skip
    reports = team / "reports"
    record = json.loads((reports / "run.json").read_text(encoding="utf-8"))
    steps = {s["name"]: s for s in record["steps"]}
    assert set(steps) == {"contract", "load", "drift", "drift-wire"}, done.stdout
    for written in ("index.md", "index.html", "contract/summary.json", "contract/junit.xml", "load/summary.json",
                    "drift/drift.json", "drift/drift.md", "drift-wire/drift.json"):  # fmt: skip
        assert (reports / written).is_file(), f"{written} missing; {done.stdout[-2000:]}"
    # every part ran from the installed package and passed: the documented mock honours the four pages
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert {s: steps[s]["exit_code"] for s in ("contract", "load", "drift")} == dict.fromkeys(
        ("contract", "load", "drift"), 0
    ), steps
    contract = json.loads((reports / "contract" / "summary.json").read_text(encoding="utf-8"))
    assert contract["exit_code"] == 0 and contract["broken"] == [] and not contract["stopped"]
    honoured = [r for r in contract["rules"] if r["verdict"] == "honoured"]
    assert len(honoured) >= 50, contract["unchecked"]  # the suite judged the mock, nearly every rule
    drift = json.loads((reports / "drift" / "drift.json").read_text(encoding="utf-8"))
    assert drift["findings"] == [], drift["findings"][:3]


@pytest.fixture
def mock_url(installed: Path, team: Path) -> Iterator[str]:
    """The installed ``infsh-harness mock`` on a free port."""
    proc = subprocess.Popen(
        [str(installed / "infsh-harness"), "mock", "--port", "0"],
        cwd=team, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        url = None
        for _ in range(50):  # bounded: the line comes within a few lines of output
            line = proc.stdout.readline()
            if not line:
                break
            found = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
            if found:
                url = found.group(1)
                break
        assert url, "the mock did not say where it listens"
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_the_plugin_in_a_teams_pytest_against_the_installed_mock(installed: Path, team: Path, mock_url: str) -> None:
    done = _check(
        [str(installed / "python"), "-m", "pytest", "-p", "no:cacheprovider", "--infsh-base-url", mock_url,
         "--infsh-profile", "quick", "--infsh-seed", "11", "--infsh-report-dir", "contract",
         "-k", "unknown-task-404 or terminal-final or cancel"],
        team, 180,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    summary = json.loads((team / "contract" / "summary.json").read_text(encoding="utf-8"))
    verdicts = {r["id"]: r["verdict"] for r in summary["rules"]}
    assert verdicts["unknown-task-404"] == "honoured" and verdicts["terminal-final"] == "honoured"
    assert summary["target"] == mock_url
    assert (team / "contract" / "junit.xml").is_file() and (team / "contract" / "summary.md").is_file()


def test_the_respx_fixture_in_a_teams_own_test(installed: Path, team: Path) -> None:
    (team / "test_client.py").write_text(TEAM_TEST, encoding="utf-8")
    done = _check([str(installed / "python"), "-m", "pytest", "-p", "no:cacheprovider", "-q"], team, 120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "1 passed" in done.stdout
    assert not (team / "reports").exists()  # the plugin stayed inert
