"""Proof of detection, as on a foreign server: the suite fails a server that breaks a documented rule,
naming the rule, and reports a convention done otherwise as ``differs``.

Each seeded bug of ``tests/servers/bugs.py`` runs in the seeded proxy (``tests/servers/seeded.py``)
in front of a clean mock whose phases are slowed by its own config; the suite sees no ``/_mock/``
(``--mock-controls no``) and runs as its own process, quick profile, only the tests of the rule the
bug breaks (``--rule``), the cases two at a time. The clean mock behind the same proxy honours every
rule, checked, schemathesis included.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from infsh_harness.spec import load_spec
from tests.contract.runs import FAST, run_suite, seeded, summary, verdicts
from tests.servers.bugs import BUGS

SPEC = load_spec()
# seeded bug -> the rule it breaks
DETECTS: dict[str, str] = {name: bug.rule for name, bug in BUGS.items() if bug.rule is not None}
Detection = tuple[subprocess.CompletedProcess[str], dict[str, Any] | None]


def detect(bug: str, report_dir: Path) -> Detection:
    """The suite's verdict on the proxy seeded with ``bug``, run for the rule the bug breaks."""
    with seeded([bug]) as url:
        result = run_suite(url, report_dir, "--rule", DETECTS[bug], *FAST)
    path = report_dir / "summary.json"
    return result, summary(report_dir) if path.exists() else None


def test_every_rule_is_broken_by_a_seeded_bug() -> None:
    assert set(DETECTS.values()) == set(SPEC.rules), "a rule no seeded bug breaks (or a bug naming no rule)"


@pytest.fixture(scope="module")
def detections(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Future[Detection]]]:
    """The selected cases, run two at a time (each is mostly a process starting up)."""
    bugs = [
        item.callspec.params["bug"]
        for item in request.session.items
        if getattr(item, "originalname", "") == "test_suite_names_the_rule_a_seeded_bug_breaks"
    ]
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="detect") as pool:
        yield {bug: pool.submit(detect, bug, tmp_path_factory.mktemp(bug)) for bug in bugs}


@pytest.mark.parametrize("bug", sorted(DETECTS))
def test_suite_names_the_rule_a_seeded_bug_breaks(bug: str, detections: dict[str, Future[Detection]]) -> None:
    rule = SPEC.rule(DETECTS[bug])
    result, data = detections[bug].result(timeout=300)
    output = result.stdout + result.stderr
    assert data is not None, output
    judged = next(r for r in data["rules"] if r["id"] == rule.id)
    assert judged["evidence"] >= 1 and judged["reason"], judged
    assert judged["source"]["kind"] == rule.source.kind
    if rule.is_convention:  # reported with its evidence, and not failing by default
        assert (result.returncode, data["exit_code"], judged["verdict"]) == (0, 0, "differs"), output
        assert data["broken"] == [], output
    else:  # failing, naming it (a bug may break another documented rule on the way: a cancel answering 12)
        assert (result.returncode, data["exit_code"], judged["verdict"]) == (1, 1, "broken"), output
        assert rule.id in data["broken"] and all(not SPEC.rule(r).is_convention for r in data["broken"]), output
        failed = [t for t in data["tests"] if t["outcome"] == "failed"]
        assert failed and all(t["message"].startswith(rule.describe()) for t in failed), output


def test_a_convention_done_otherwise_fails_in_strict_mode(tmp_path: Path) -> None:
    with seeded(["cancel_terminal_409"]) as url:
        result = run_suite(url, tmp_path, "--rule", "cancel-idempotent", "--contract-strict", *FAST)
    data = summary(tmp_path)
    assert (result.returncode, data["mode"], verdicts(data)) == (1, "strict", {"cancel-idempotent": "broken"})


def test_a_finished_task_read_back_as_running_fails_at_once(tmp_path: Path) -> None:
    """The walk stops at the first read that goes back: with a ten-minute task deadline the run still
    ends within the subprocess' bound, naming the rule."""
    with seeded(["finished_reads_running"]) as url:
        result = run_suite(url, tmp_path, "--rule", "terminal-final", "--task-deadline", "600", *FAST)
    data = summary(tmp_path)
    assert result.returncode == 1 and data["broken"] == ["terminal-final"], result.stdout
    assert "is now 7 (Running)" in next(r["reason"] for r in data["rules"] if r["id"] == "terminal-final")


def test_schemathesis_findings_name_the_rule(tmp_path: Path) -> None:
    """The same rules run inside schemathesis: its findings fold into them, naming them."""
    with seeded(["text_errors"]) as url:
        result = run_suite(url, tmp_path, "-m", "schemathesis", "--max-examples", "5")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "json-content-type" in summary(tmp_path)["broken"], output
    assert SPEC.rule("json-content-type").describe() in output


def test_clean_mock_behind_the_proxy_honours_every_rule(tmp_path: Path) -> None:
    """No /_mock/, no seeded bug: every rule is checked and honoured, schemathesis included."""
    with seeded() as url:
        result = run_suite(url, tmp_path, "--require-all", *FAST)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    data = summary(tmp_path)
    assert verdicts(data) == dict.fromkeys(SPEC.rules, "honoured"), output
    assert all(r["evidence"] >= 1 for r in data["rules"])
    assert data["schemathesis"]["exit_code"] == 0 and all(data["schemathesis"]["scenarios"].values())


def test_embedded_mock_honours_every_rule(tmp_path: Path) -> None:
    """The embedded mock (its /_mock/ controls on): every rule checked and honoured, reports written."""
    result = run_suite("", tmp_path, "--require-all", foreign=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    data = summary(tmp_path)
    assert data["target"] == "embedded mock" and verdicts(data) == dict.fromkeys(SPEC.rules, "honoured")
    assert [t["id"] for t in data["tests"] if t["outcome"] != "passed"] == []
    for name in ("junit.xml", "summary.md", "schemathesis/schemathesis.har"):
        assert (tmp_path / name).stat().st_size > 0
