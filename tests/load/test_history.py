"""The history file: every run recorded with its measures and HDR histograms, read back exactly;
``last`` skips runs whose measurement does not hold; anything that is not a history is refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from infsh_harness.load.history import (
    SCHEMA_VERSION,
    HistoryError,
    ScenarioRow,
    check_history,
    find_baseline,
    git_commit,
    list_runs,
    measures_of,
    record_run,
)
from infsh_harness.load.metrics import METRIC
from infsh_harness.load.records import decode_histogram, encode_histogram, records_of
from infsh_harness.load.results import ScenarioResult, Second, entries_of


def _result() -> ScenarioResult:
    timeline = [Second(METRIC, "time_to_terminal", 1000 + s, {18.0 + s: 8, 25.0: 2}, failures=1) for s in range(6)]
    timeline += [Second("POST", "/run", 1000 + s, {17.5: 10}) for s in range(6)]
    return ScenarioResult("run_wait", entries_of(timeline), timeline=timeline)


def _run(verdict: str = "pass", **overrides: Any) -> dict[str, Any]:
    run = {"started_at": "2026-01-01T00:00:00Z", "seconds": 12.5, "git_commit": "a" * 40,
           "target": "http://user:inf_secret@127.0.0.1:8080", "embedded_mock": False, "model": "open", "rate": 10.0,
           "users": None, "run_time_s": 6.0, "options": {"rate": 10.0}, "verdict": verdict,
           "harness_version": "0.0.0"}  # fmt: skip
    return {**run, **overrides}


def test_a_histogram_encodes_compactly_and_keeps_its_quantiles() -> None:
    samples = {float(v): 3 for v in range(1, 200)}
    encoded = encode_histogram(samples)
    assert encoded is not None and encoded.startswith("HISTF") and len(encoded) < 600
    hdr = decode_histogram(encoded)
    assert hdr.get_total_count() == 597
    assert abs(hdr.get_value_at_percentile(50) / 1000 - 100) <= 0.1  # thousandths of a millisecond
    assert encode_histogram({}) is None


def test_records_hold_percentiles_and_each_seconds_samples() -> None:
    records = {r.measure: r for r in records_of(_result())}
    assert set(records) == {"time_to_terminal", "POST /run", "requests"}
    ttt = records["time_to_terminal"]
    assert (ttt.count, ttt.failures) == (66, 6) and ttt.quantiles["p50"] == 21.0
    assert ttt.seconds[0] == (1000, 10, 18.0, 25.0) and len(ttt.per_second("p50", 3)) == 6


def test_runs_are_recorded_and_read_back_exactly(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    records = records_of(_result())
    run_id = record_run(path, _run(), [ScenarioRow("run_wait", "completed", True, 10.0, 10.0, 60, 0, 0)], records)
    assert run_id == 1
    (run,) = list_runs(path)
    assert (run.id, run.verdict, run.model, run.rate, run.scenarios, run.git_commit) == (
        1, "pass", "open", 10.0, ("run_wait",), "a" * 40)  # fmt: skip
    assert run.target == "http://127.0.0.1:8080"  # credentials never stored
    assert sorted(measures_of(path, 1), key=lambda r: r.measure) == sorted(records, key=lambda r: r.measure)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert "inf_secret" not in str(db.execute("SELECT * FROM runs").fetchall())


def test_last_is_the_latest_run_whose_measurement_holds(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    assert find_baseline(path, "last") is None  # no file yet: nothing to compare with
    for verdict in ("pass", "fail", "invalid", "error", "interrupted"):
        record_run(path, _run(verdict), [], [])
    last = find_baseline(path, "last")
    assert last is not None and last.id == 2 and last.verdict == "fail"
    assert find_baseline(path, "4") is not None  # named by id, any run will do
    with pytest.raises(HistoryError, match="has no run 9"):
        find_baseline(path, "9")
    with pytest.raises(HistoryError, match="expects 'last' or a run id"):
        find_baseline(path, "yesterday")
    assert [r.id for r in list_runs(path, limit=2)] == [4, 5]


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, "not a database|is not a load history"),
     (b"just text\n" * 200, "not a database|is not a load history")],
)
def test_a_file_that_is_not_a_history_is_refused(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "other.sqlite"
    path.write_bytes(content)
    with pytest.raises(HistoryError, match=message):
        check_history(path, None)
    with pytest.raises(HistoryError, match=message):
        list_runs(path)


def test_another_database_or_a_directory_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE things (x)")
    with pytest.raises(HistoryError, match="is not a load history of this version"):
        record_run(other, _run(), [], [])
    with pytest.raises(HistoryError, match="is a directory"):
        check_history(tmp_path, None)
    with pytest.raises(HistoryError, match="no directory"):
        check_history(tmp_path / "absent" / "h.sqlite", None)
    with pytest.raises(HistoryError, match="names no run"):
        check_history(tmp_path / "new.sqlite", "3")
    check_history(tmp_path / "new.sqlite", "last")  # a new file: fine, nothing to compare with yet


def test_git_commit_is_read_where_there_is_one(tmp_path: Path) -> None:
    assert git_commit(tmp_path) is None
    here = git_commit(Path(__file__).parent)
    assert here is None or len(here) == 40
