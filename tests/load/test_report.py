"""The load report: Markdown and JSON from one summary, no credential in either, none left in any file."""

from __future__ import annotations

import json
from pathlib import Path

from infsh_harness.load.arrivals import ArrivalCounts
from infsh_harness.load.metrics import METRIC
from infsh_harness.load.report import (
    REDACTED,
    ScenarioReport,
    build_summary,
    public_url,
    render_markdown,
    scrub_files,
    verdict_of,
    write_summary,
)
from infsh_harness.load.results import EntryStats, Failure, GeneratorReport, ProcessReport, ScenarioResult
from infsh_harness.load.slo import Objective, evaluate
from infsh_harness.load.validity import Validity

SETTINGS = {"users": 4, "spawn_rate": 4.0, "run_time_s": 3.0, "workers": 0, "slo_file": "load/slo.yaml"}


def _report(p50_ms: float, status: str = "completed") -> ScenarioReport:
    result = ScenarioResult(
        "run_wait",
        [
            EntryStats("POST", "/run", 10, 1, {p50_ms: 10}, 10 * p50_ms, p50_ms, p50_ms, 0.0, 2.0),
            EntryStats(METRIC, "time_to_terminal", 9, 0, {p50_ms: 9}, 9 * p50_ms, p50_ms, p50_ms, 0.0, 2.0),
        ],
        [Failure("POST", "/run", "[run-waits-by-default] runTask 200: status 7 (Running) is not terminal", 1)],
    )
    checks = evaluate([Objective("run_wait", "time_to_terminal", "p50", 40.0)], result.targets())
    return ScenarioReport("run_wait", status, 0, 3.2, result, checks, {"html": "run_wait.html"})


def test_public_url_drops_credentials_only() -> None:
    assert public_url("http://user:inf_secret@127.0.0.1:8080/base") == "http://127.0.0.1:8080/base"
    assert public_url("https://[::1]:9000") == "https://[::1]:9000"
    assert public_url("http://127.0.0.1:8080") == "http://127.0.0.1:8080"


def test_summary_verdicts_follow_the_objectives_and_the_run() -> None:
    target = {"host": "http://127.0.0.1:1", "embedded_mock": True}
    assert build_summary([_report(17.0)], SETTINGS, target, interrupted=False)["verdict"] == "pass"
    failed = build_summary([_report(55.0)], SETTINGS, target, interrupted=False)
    assert failed["verdict"] == "fail"
    assert failed["breaches"] == ["run_wait time_to_terminal p50 = 55 ms > ceiling 40 ms (over by 15 ms, 38%)"]
    assert build_summary([_report(17.0, "error")], SETTINGS, target, interrupted=False)["verdict"] == "error"
    assert build_summary([_report(17.0)], SETTINGS, target, interrupted=True)["verdict"] == "interrupted"


def test_markdown_shows_every_entry_the_breach_and_the_failures(tmp_path: Path) -> None:
    summary = build_summary([_report(55.0)], SETTINGS, {"host": "http://127.0.0.1:1"}, interrupted=False)
    json_path, md_path = write_summary(tmp_path, summary)
    assert json.loads(json_path.read_text(encoding="utf-8"))["verdict"] == "fail"
    markdown = md_path.read_text(encoding="utf-8")
    assert markdown == render_markdown(summary)
    assert markdown.startswith("# Load run: FAIL")
    assert "| all HTTP requests | ms | 10 | 1 | 10.00% | 55 |" in markdown
    assert "| `time_to_terminal` | ms | 9 | 0 | 0.00% | 55 |" in markdown
    assert "- **BREACH**: run_wait time_to_terminal p50 = 55 ms > ceiling 40 ms" in markdown
    assert "[run-waits-by-default] runTask 200" in markdown
    assert "[HTML report](run_wait.html)" in markdown


def test_scrub_files_replaces_the_key_in_text_files_only(tmp_path: Path) -> None:
    key = "inf_secret_key_123"
    log = tmp_path / "logs" / "run.log"
    log.parent.mkdir()
    log.write_text(f"Authorization: Bearer {key}\n", encoding="utf-8")
    png = tmp_path / "plot.png"
    png.write_bytes(b"\x89PNG" + key.encode())
    clean = tmp_path / "summary.md"
    clean.write_text("nothing to hide\n", encoding="utf-8")
    changed = scrub_files(tmp_path.rglob("*"), [key])
    assert changed == [log]
    assert log.read_text(encoding="utf-8") == f"Authorization: Bearer {REDACTED}\n"
    assert png.read_bytes().endswith(key.encode())  # binary files are left alone


def _invalid(report: ScenarioReport) -> ScenarioReport:
    report.validity = Validity(False, ("the load generator's CPU was saturated",))
    return report


def test_verdicts_rank_could_not_run_over_not_valid_over_breach() -> None:
    target = {"host": "http://127.0.0.1:1", "embedded_mock": True}
    assert build_summary([_invalid(_report(55.0))], SETTINGS, target, interrupted=False)["verdict"] == "invalid"
    both = [_invalid(_report(17.0)), _report(17.0, "error")]
    assert build_summary(both, SETTINGS, target, interrupted=False)["verdict"] == "error"
    assert build_summary([], SETTINGS, target, interrupted=False)["verdict"] == "error"  # nothing ran
    unjudged = _report(17.0)
    unjudged.checks = []
    assert build_summary([unjudged], SETTINGS, target, interrupted=False, judged=False)["verdict"] == "unjudged"
    assert verdict_of([_report(17.0)], False, regressions=1) == "fail"


def test_markdown_says_when_the_measurement_is_not_valid_and_shows_the_schedule() -> None:
    report = _invalid(_report(17.0))
    arrivals = ArrivalCounts(10.0, planned=30, due=30, started=27, dropped=3, lag={1.0: 26, 80.0: 1})
    report.result.generator = GeneratorReport("open", 0.0, 3.0, [ProcessReport("local", True, [0.5], arrivals)])
    summary = build_summary([report], {**SETTINGS, "model": "open", "rate": 10.0}, {"host": "h"}, interrupted=False)
    (scenario,) = summary["scenarios"]
    assert scenario["arrivals"] == {
        "asked_rate": 10.0, "achieved_rate": 9.0, "planned": 30, "due": 30, "started": 27, "late": 1,
        "late_threshold_ms": 50.0, "dropped": 3, "unfinished": 0, "lag_ms": {"p50": 1.0, "p99": 80.0, "max": 80.0},
    }  # fmt: skip
    markdown = render_markdown(summary)
    assert "open model: 10 tasks started per second per scenario" in markdown
    assert "## The measurement is not valid" in markdown and "## run_wait: NOT VALID" in markdown
    assert "Schedule: asked 10/s, achieved 9/s; 27 of 30 due starts made, 1 late (> 50 ms), 3 dropped" in markdown
