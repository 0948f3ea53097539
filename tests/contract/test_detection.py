"""Proof of detection, as on a foreign server: the suite fails a server that breaks a documented rule,
naming the rule, and reports a convention done otherwise as ``differs``.

Each seeded bug of ``tests/servers/bugs.py`` runs in the seeded proxy (``tests/servers/seeded.py``)
in front of a clean server; the suite sees no ``/_mock/`` (``--mock-controls no``) and runs as its
own process, quick profile, only the tests of the rule the bug breaks (``--rule``), the cases two at
a time. The clean server is the mock, whose phases are slowed by its own config, except for a bug
whose rule is one of the mock's gaps (``MOCK_GAPS``: broken, done otherwise or not served there
already, so the bug could hide behind the gap): that one runs in front of the independent server,
which honours those rules. The clean mock behind the same proxy shows exactly its gaps and honours
every other rule that has a check, schemathesis included; the rules awaiting their checks are unchecked.

The REST overview's bugs run in batches (``BATCHES``), one suite run for several bugs that each break
a rule of their own, in front of the independent server; two proxies make that server speak one API
version only (``ONE_VERSION``): the other version's rules are then unchecked, never broken.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from infsh_harness.mock.config import MockConfig
from infsh_harness.mock.server import serve_in_thread
from infsh_harness.spec import load_spec
from tests.contract.runs import (
    AWAITING_CHECKS,
    FAST,
    INDEPENDENT_CHOICES,
    KEYS,
    MOCK_GAPS,
    PROBE,
    READ_KEY,
    WITHOUT_PROBE,
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
# Several bugs in one run, each breaking a rule of its own that none of the others touches (the REST
# overview's: versions, errors, rate limits, with the rate-limit probe), in front of the independent
# server, which honours every one of them (tests/contract/test_foreign.py): one run proves each.
BATCHES: dict[str, tuple[str, ...]] = {
    "overview-a": ("v1_success_bare", "v2_problem_as_json", "bad_run_422", "reset_as_delta", "retry_after_text",
                   "webhook_wrapped_v1"),
    "overview-b": ("v1_created_at_off", "problem_type_blank", "error_body_says_400", "remaining_over_limit",
                   "limited_without_headers"),
    "overview-c": ("limit_not_enforced",),  # a read served after one that said none was left
}  # fmt: skip
BATCHED = frozenset(bug for bugs in BATCHES.values() for bug in bugs)
# a server speaking one version only (the independent server behind a proxy that drops or forces the
# header) -> the version whose rules are then unchecked, never broken
ONE_VERSION = {"speaks_only_v1": "2", "speaks_only_v2": "1"}
VERSION_RULES = ("version-shape", "version-same-fields", "error-shape", "problem-type-code", "error-code-status",
                 "error-body-status")  # fmt: skip


def detect(bug: str, report_dir: Path) -> Detection:
    """The suite's verdict on the proxy seeded with ``bug``, run for the rule the bug breaks."""
    upstream = "independent" if bug in ON_INDEPENDENT else "mock"
    return run_seeded([bug], [DETECTS[bug]], report_dir, upstream)


def run_seeded(
    bugs: list[str], rules: list[str], report_dir: Path, upstream: str, extra: tuple[str, ...] = ()
) -> Detection:
    with seeded(bugs, upstream=upstream) as url:
        result = run_suite(url, report_dir, *(a for r in rules for a in ("--rule", r)), *FAST, *extra)
    path = report_dir / "summary.json"
    return result, summary(report_dir) if path.exists() else None


def detect_batch(batch: str, report_dir: Path) -> Detection:
    bugs = list(BATCHES[batch])
    return run_seeded(bugs, [DETECTS[b] for b in bugs], report_dir, "independent", PROBE)


def detect_one_version(server: str, report_dir: Path) -> Detection:
    return run_seeded([server], list(VERSION_RULES), report_dir, "independent")


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
    """The selected cases (single bugs, batches, one-version servers), run two at a time (each is mostly
    a process starting up)."""
    runs = {
        "test_suite_names_the_rule_a_seeded_bug_breaks": ("bug", detect),
        "test_suite_names_each_rule_a_batch_of_seeded_bugs_breaks": ("batch", detect_batch),
        "test_a_server_speaking_one_version_leaves_the_others_rules_unchecked": ("server", detect_one_version),
    }
    cases = [
        (runs[name][1], item.callspec.params[runs[name][0]])
        for item in request.session.items
        if (name := getattr(item, "originalname", "")) in runs
    ]
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="detect") as pool:
        yield {case: pool.submit(run, case, tmp_path_factory.mktemp(case)) for run, case in cases}


@pytest.mark.parametrize("bug", sorted(set(DETECTS) - BATCHED))
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


def test_batches_hold_one_bug_per_rule() -> None:
    for bugs in BATCHES.values():
        assert len({DETECTS[bug] for bug in bugs}) == len(bugs)


@pytest.mark.parametrize("batch", sorted(BATCHES))
def test_suite_names_each_rule_a_batch_of_seeded_bugs_breaks(
    batch: str, detections: dict[str, Future[Detection]]
) -> None:
    """Each rule a bug of the batch breaks is broken (a convention: differs), with its evidence; nothing
    else is, and every failed test names one of them."""
    result, data = detections[batch].result(timeout=300)
    output = result.stdout + result.stderr
    assert data is not None, output
    rules = [SPEC.rule(DETECTS[bug]) for bug in BATCHES[batch]]
    judged = {r["id"]: r for r in data["rules"]}
    for rule in rules:
        expected = "differs" if rule.is_convention else "broken"
        assert judged[rule.id]["verdict"] == expected and judged[rule.id]["evidence"] >= 1, (judged[rule.id], output)
        assert judged[rule.id]["source"]["kind"] == rule.source.kind
    failing = sorted(rule.id for rule in rules if not rule.is_convention)
    assert (result.returncode, data["exit_code"], sorted(data["broken"])) == (1, 1, failing), output
    for test in data["tests"]:
        if test["outcome"] == "failed":
            assert any(test["message"].startswith(SPEC.rule(r).describe()) for r in failing), test


@pytest.mark.parametrize("server", sorted(ONE_VERSION))
def test_a_server_speaking_one_version_leaves_the_others_rules_unchecked(
    server: str, detections: dict[str, Future[Detection]]
) -> None:
    """Version 1 answered as version 2, or the header ignored: what that version owes is unchecked,
    with why; the rules reading either version's body are judged."""
    result, data = detections[server].result(timeout=300)
    output = result.stdout + result.stderr
    assert data is not None, output
    missing = ONE_VERSION[server]
    assert (result.returncode, data["exit_code"], data["broken"]) == (0, 0, []), output
    judged = {r["id"]: r for r in data["rules"]}
    unchecked = ["version-shape", "version-same-fields", "error-shape"] + (
        ["problem-type-code"] if missing == "2" else []
    )
    for rule_id in unchecked:
        assert judged[rule_id]["verdict"] == "unchecked", judged[rule_id]
        assert f"does not speak version {missing}" in judged[rule_id]["reason"], judged[rule_id]
    for rule_id in set(VERSION_RULES) - set(unchecked):
        assert judged[rule_id]["verdict"] == "honoured", judged[rule_id]


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
    """Every rule of the spec: the mock's gaps as they are, those awaiting a check or the rate-limit
    probe unchecked, the rest honoured."""
    unseen = AWAITING_CHECKS | WITHOUT_PROBE
    return {r: MOCK_GAPS.get(r, "unchecked" if r in unseen else "honoured") for r in SPEC.rules}


def assert_the_mock_breaks_only_its_gaps(result: subprocess.CompletedProcess[str], data: dict[str, Any]) -> None:
    output = result.stdout + result.stderr
    broken = sorted(r for r, v in MOCK_GAPS.items() if v == "broken")
    code = 1 if broken else 0
    assert (result.returncode, data["exit_code"], sorted(data["broken"])) == (code, code, broken), output
    assert verdicts(data) == expected_verdicts(), output
    for judged in data["rules"]:
        if judged["id"] in AWAITING_CHECKS:  # reported, never honoured
            assert (judged["evidence"], judged["reason"], judged["tests"]) == (0, "no check yet", []), judged
        elif MOCK_GAPS.get(judged["id"]) == "unchecked" or judged["id"] in WITHOUT_PROBE:  # cannot be seen
            assert judged["reason"] and judged["tests"], judged
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
    # nothing skipped but the tests of what the mock does not serve: with its controls, every minimum is seen
    unseen = {r for r, v in MOCK_GAPS.items() if v == "unchecked"} | WITHOUT_PROBE
    for test in data["tests"]:
        if test["outcome"] not in ("passed", "differs", "failed"):
            assert test["rules"] and set(test["rules"]) <= unseen, test
    for name in ("junit.xml", "summary.md", "schemathesis/schemathesis.har"):
        assert (report_dir / name).stat().st_size > 0


RATE_RULES = ("--rule", "rate-limits", "--rule", "rate-limited-429", "--rule", "retry-after-valid")


def test_the_mock_serving_the_pages_limits_honours_them_under_the_probe(tmp_path: Path) -> None:
    """With the pages' own limits (100 runs, 1000 reads a minute) and the probe, the rules a default
    run cannot see are honoured: the 1001st read within the minute is a 429 with the headers."""
    config = MockConfig(keys=(*KEYS, f"{READ_KEY}=apps:read"), seed=7, rate_limit_scale=1.0)
    with serve_in_thread(config=config) as url:
        result = run_suite(url, tmp_path, *RATE_RULES, *PROBE)
    data = summary(tmp_path)
    assert (result.returncode, data["exit_code"]) == (0, 0), result.stdout + result.stderr
    assert {r: verdicts(data)[r] for r in WITHOUT_PROBE} == dict.fromkeys(WITHOUT_PROBE, "honoured"), data["rules"]
