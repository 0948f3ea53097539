"""Proof of detection, as on a foreign server: the suite fails a server that breaks a documented rule,
naming the rule, and reports a convention done otherwise as ``differs``.

Each seeded bug of ``tests/servers/bugs.py`` runs in the seeded proxy (``tests/servers/seeded.py``)
in front of a clean server; the suite sees no ``/_mock/`` (``--mock-controls no``) and runs as its
own process, quick profile, only the tests of the rule the bug breaks (``--rule``), the cases two at
a time. The clean server is the mock, whose phases are slowed by its own config, except for a bug
whose rule is one of the mock's gaps (``MOCK_GAPS``: broken or done otherwise there already, so the
bug could hide behind the gap): that one runs in front of the independent server, which honours
those rules. The clean mock behind the same proxy breaks exactly its gaps and honours every other
rule that has a check, schemathesis included; the rules awaiting their checks are unchecked.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from infsh_harness.spec import load_spec
from tests.contract.runs import (
    AWAITING_CHECKS,
    FAST,
    INDEPENDENT_CHOICES,
    MOCK_GAPS,
    run_suite,
    seeded,
    summary,
    verdicts,
)
from tests.servers.bugs import BUGS

SPEC = load_spec()
# seeded bug -> the rule it breaks
DETECTS: dict[str, str] = {name: bug.rule for name, bug in BUGS.items() if bug.rule is not None}
Detection = tuple[subprocess.CompletedProcess[str], dict[str, Any] | None]
CleanRuns = dict[str, tuple[subprocess.CompletedProcess[str], Path]]
# the bugs of a rule the mock does not honour yet, proven in front of the independent server instead ...
ON_INDEPENDENT = frozenset(
    bug for bug, rule in DETECTS.items() if rule in MOCK_GAPS and rule not in INDEPENDENT_CHOICES
)
# ... unless that server chooses otherwise on the rule too: then the proof is what only the bug makes
# the server answer, among the rule's violations
SHOWN_BY = {b: shown for b, shown in {"run_201": "runTask answered 201"}.items() if DETECTS[b] in MOCK_GAPS}


def detect(bug: str, report_dir: Path) -> Detection:
    """The suite's verdict on the proxy seeded with ``bug``, run for the rule the bug breaks."""
    upstream = "independent" if bug in ON_INDEPENDENT else "mock"
    with seeded([bug], upstream=upstream) as url:
        result = run_suite(url, report_dir, "--rule", DETECTS[bug], *FAST)
    path = report_dir / "summary.json"
    return result, summary(report_dir) if path.exists() else None


def test_every_rule_is_broken_by_a_seeded_bug() -> None:
    """Every rule but those awaiting their checks: adding a rule without its seeded bug, or giving one
    of those its check and bug without taking it off the list, fails here."""
    assert set(DETECTS.values()) <= set(SPEC.rules), "a seeded bug names a rule the spec does not have"
    assert set(SPEC.rules) - set(DETECTS.values()) == AWAITING_CHECKS


def test_every_bug_of_a_mock_gap_is_proven_elsewhere_or_by_what_it_says() -> None:
    assert set(MOCK_GAPS) <= set(SPEC.rules) and not set(MOCK_GAPS) & AWAITING_CHECKS
    gap_bugs = {bug for bug, rule in DETECTS.items() if rule in MOCK_GAPS}
    assert gap_bugs == ON_INDEPENDENT | set(SHOWN_BY) and not ON_INDEPENDENT & set(SHOWN_BY)


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
    if bug in SHOWN_BY:  # the bug's own answer, not only the gap the clean server has
        assert any(SHOWN_BY[bug] in v for v in judged["violations"]), judged
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


def expected_verdicts() -> dict[str, str]:
    """Every rule of the spec: the mock's gaps as they are, those awaiting a check unchecked, the rest honoured."""
    return {r: MOCK_GAPS.get(r, "unchecked" if r in AWAITING_CHECKS else "honoured") for r in SPEC.rules}


def assert_the_mock_breaks_only_its_gaps(result: subprocess.CompletedProcess[str], data: dict[str, Any]) -> None:
    output = result.stdout + result.stderr
    broken = sorted(r for r, v in MOCK_GAPS.items() if v == "broken")
    code = 1 if broken else 0
    assert (result.returncode, data["exit_code"], sorted(data["broken"])) == (code, code, broken), output
    assert verdicts(data) == expected_verdicts(), output
    for judged in data["rules"]:
        if judged["id"] in AWAITING_CHECKS:  # reported, never honoured
            assert (judged["evidence"], judged["reason"], judged["tests"]) == (0, "no check yet", []), judged
        else:
            assert judged["evidence"] >= 1, judged
    for test in data["tests"]:  # each failure is one of the gaps
        if test["outcome"] == "failed":
            assert set(test["violated"]) <= set(MOCK_GAPS), test


def _behind_the_proxy(report_dir: Path) -> subprocess.CompletedProcess[str]:
    with seeded() as url:
        return run_suite(url, report_dir, *FAST)


@pytest.fixture(scope="module")
def clean_runs(tmp_path_factory: pytest.TempPathFactory) -> CleanRuns:
    """The clean mock behind the proxy and the embedded mock, both at once."""
    dirs = {name: tmp_path_factory.mktemp(name) for name in ("proxied", "embedded")}
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="clean") as pool:
        proxied = pool.submit(_behind_the_proxy, dirs["proxied"])
        embedded = pool.submit(run_suite, "", dirs["embedded"], foreign=False)
        return {"proxied": (proxied.result(timeout=300), dirs["proxied"]),
                "embedded": (embedded.result(timeout=300), dirs["embedded"])}  # fmt: skip


def test_clean_mock_behind_the_proxy_breaks_only_its_gaps(clean_runs: CleanRuns) -> None:
    """No /_mock/, no seeded bug: every rule with a check is checked, and honoured but for the mock's
    gaps against the four pages; schemathesis runs every operation and finds the same gaps."""
    result, report_dir = clean_runs["proxied"]
    data = summary(report_dir)
    assert_the_mock_breaks_only_its_gaps(result, data)
    assert set(data["schemathesis"]["scenarios"]) >= {f"{op.method} {op.path}" for op in SPEC.operations.values()}


def test_embedded_mock_breaks_only_its_gaps(clean_runs: CleanRuns) -> None:
    """The embedded mock (its /_mock/ controls on): the same verdicts, every report written."""
    result, report_dir = clean_runs["embedded"]
    data = summary(report_dir)
    assert data["target"] == "embedded mock"
    assert_the_mock_breaks_only_its_gaps(result, data)
    assert [t["id"] for t in data["tests"] if t["outcome"] not in ("passed", "differs")] == [
        t["id"] for t in data["tests"] if t["outcome"] == "failed"
    ]  # nothing skipped: with its controls, every minimum is seen
    for name in ("junit.xml", "summary.md", "schemathesis/schemathesis.har"):
        assert (report_dir / name).stat().st_size > 0
