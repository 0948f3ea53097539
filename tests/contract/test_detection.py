"""The clean mock passes the whole quick contract suite, schemathesis included, with every rule
checked and nothing skipped; the suite runs against it as a separate ``pytest contract_tests`` process.

(The proof that the suite fails a server breaking each rule lives with the test-only proxy that seeds
the violations.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from infsh_harness.cli.contract import CONTRACT_TESTS
from infsh_harness.mock.config import MockConfig
from infsh_harness.mock.server import serve_in_thread
from infsh_harness.spec import load_spec

ROOT = Path(__file__).resolve().parents[2]
SPEC = load_spec()
KEYS = ("inf_detect_key", "inf_detect_key_2")


@contextmanager
def clean_mock() -> Iterator[str]:
    with serve_in_thread(config=MockConfig(keys=KEYS, seed=7)) as url:
        yield url


def run_suite(base_url: str, report_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``pytest contract_tests`` against ``base_url``, as its own process (no third-party plugins: faster)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INFSH_", "PYTEST_"))}
    env.update(INFSH_API_KEY=KEYS[0], INFSH_API_KEY_2=KEYS[1], PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    command = [
        sys.executable, "-m", "pytest", str(CONTRACT_TESTS),
        "-c", str(CONTRACT_TESTS / "pytest.ini"), "--rootdir", str(CONTRACT_TESTS),
        "--base-url", base_url, "--contract-profile", "quick", "--seed", "7", "--report-dir", str(report_dir),
        "-p", "pytest_timeout", "-q", *args,
    ]  # fmt: skip
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)


def summary(report_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((report_dir / "summary.json").read_text(encoding="utf-8"))
    return data


def test_clean_mock_passes_the_quick_suite(tmp_path: Path) -> None:
    with clean_mock() as url:
        result = run_suite(url, tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    data = summary(tmp_path)
    assert data["broken"] == []
    assert {r: v["verdict"] for r, v in data["rules"].items()} == dict.fromkeys(SPEC.rules, "honoured")
    assert [t["id"] for t in data["tests"] if t["outcome"] != "passed"] == []
    assert data["schemathesis"]["exit_code"] == 0 and all(data["schemathesis"]["scenarios"].values())
    har = json.loads((tmp_path / "schemathesis" / "schemathesis.har").read_text(encoding="utf-8"))
    assert har["log"]["entries"], "schemathesis wrote an empty HAR"
    assert (tmp_path / "junit.xml").exists() and (tmp_path / "summary.md").exists()
