"""One run against the history: compare it with its baseline, then record it (``--history``, ``--baseline``).

The comparison (``baseline.py``) sees only scenarios that completed with a valid measurement; a
regression turns a passing verdict into ``fail`` and is listed in ``summary["regressions"]``,
each naming the measure, the two values and the change. The run is recorded afterwards with its
final verdict, so ``--baseline last`` never picks the run itself, nor one whose measurement does
not hold (``history.BASELINE_VERDICTS``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from infsh_harness._version import __version__
from infsh_harness.load.baseline import Thresholds, compare
from infsh_harness.load.history import RunInfo, ScenarioRow, measures_of, record_run
from infsh_harness.load.records import MeasureRecord, records_of
from infsh_harness.load.report import REDACTED, ScenarioReport, arrivals_json

__all__ = ["track_run"]


def _notes(baseline: RunInfo, settings: dict[str, Any]) -> list[str]:
    notes = []
    this = {"model": settings["model"], "rate": settings["rate"], "users": settings["users"]}
    then = {"model": baseline.model, "rate": baseline.rate, "users": baseline.users}
    if this != then:
        notes.append(f"the load differs: baseline {then}, this run {this}")
    if baseline.options.get("run_time_s") != settings["run_time_s"]:
        notes.append(f"the duration differs: baseline {baseline.run_time_s:g} s, this run {settings['run_time_s']:g} s")
    return notes


def _compare(summary: dict[str, Any], history: Path, baseline: RunInfo | None, records: Sequence[MeasureRecord],
             thresholds: Thresholds) -> None:  # fmt: skip
    if baseline is None:
        summary["baseline"] = {"run_id": None, "comparisons": [],
                               "message": f"no earlier run in {history} to compare with: nothing compared"}  # fmt: skip
        return
    comparisons = compare(measures_of(history, baseline.id), records, thresholds)
    regressions = [c for c in comparisons if c.verdict == "regression" and c.judged]
    summary["baseline"] = {
        "run_id": baseline.id,
        "started_at": baseline.started_at,
        "git_commit": baseline.git_commit,
        "thresholds": {"min_relative": thresholds.min_relative, "min_ms": thresholds.min_ms,
                       "min_count": thresholds.min_count, "judged": list(thresholds.judged)},  # fmt: skip
        "notes": _notes(baseline, summary["settings"]),
        "comparisons": [c.as_json() for c in comparisons],
    }
    summary["regressions"] = [c.describe() for c in regressions]
    if regressions and summary["verdict"] in ("pass", "unjudged"):
        summary["verdict"] = "fail"
    elif any(c.judged and c.verdict != "not compared" for c in comparisons) and summary["verdict"] == "unjudged":
        summary["verdict"] = "pass"


def _scrubbed(settings: dict[str, Any], secret: str) -> Any:
    if len(secret) < 6:
        return settings
    return json.loads(json.dumps(settings).replace(secret, REDACTED))


def track_run(history: Path, summary: dict[str, Any], reports: Sequence[ScenarioReport], baseline: RunInfo | None,
              baseline_asked: str | None, thresholds: Thresholds, git_commit: str | None,
              secret: str = "") -> int:  # fmt: skip
    """Compare (when ``baseline_asked``) and record; updates ``summary`` in place; the new run's id.

    ``secret`` (the API key) is replaced wherever an option repeats it before the options are stored."""
    measured = [r for r in reports if r.status == "completed" and r.validity.valid]
    records = [record for r in measured for record in records_of(r.result)]
    if baseline_asked and summary["verdict"] in ("pass", "fail", "unjudged"):
        _compare(summary, history, baseline, records, thresholds)
    settings = summary["settings"]
    rows = []
    for r in reports:
        arrivals = arrivals_json(r.result.generator) or {}
        rows.append(ScenarioRow(r.scenario, r.status, r.validity.valid, arrivals.get("asked_rate"),
                                arrivals.get("achieved_rate"), arrivals.get("started"), arrivals.get("late"),
                                arrivals.get("dropped")))  # fmt: skip
    all_records = [record for r in reports if r.status != "error" for record in records_of(r.result)]
    run_id = record_run(history, {
        "started_at": settings["started_at"], "seconds": settings["seconds"], "git_commit": git_commit,
        "target": summary["target"]["host"], "embedded_mock": summary["target"]["embedded_mock"],
        "model": settings["model"], "rate": settings["rate"], "users": settings["users"],
        "run_time_s": settings["run_time_s"], "options": _scrubbed(settings, secret), "verdict": summary["verdict"],
        "harness_version": __version__,
    }, rows, all_records)  # fmt: skip
    summary["history"] = {"file": str(history), "run_id": run_id}
    return run_id
