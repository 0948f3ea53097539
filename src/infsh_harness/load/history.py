"""The history of load runs: one SQLite file (the standard library's ``sqlite3``), every run in it.

``infsh-harness load --history FILE`` records each run, whatever its verdict; ``--baseline``
compares a run with one recorded (``baseline.py``), ``infsh-harness history FILE`` lists and
plots them. The schema (``PRAGMA user_version`` = :data:`SCHEMA_VERSION`)::

    runs      (id, started_at, seconds, git_commit, target, embedded_mock, model, rate, users,
               run_time_s, options JSON, verdict, harness_version)
    scenarios (run_id, scenario, status, valid, asked_rate, achieved_rate, started, late, dropped)
    measures  (run_id, scenario, measure, unit, count, failures, p50, p90, p95, p99, max, mean,
               histogram (HdrHistogram, base64), seconds JSON [[second, samples, p50, p95], ...])

``target`` never holds credentials (the CLI refuses a URL with user-info; whatever it is given
is stripped of it here too). Writes happen in one transaction per run.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infsh_harness.load.records import QUANTILES, MeasureRecord
from infsh_harness.load.report import public_url

__all__ = [
    "SCHEMA_VERSION",
    "HistoryError",
    "RunInfo",
    "ScenarioRow",
    "check_history",
    "find_baseline",
    "git_commit",
    "list_runs",
    "measures_of",
    "record_run",
]

SCHEMA_VERSION = 1
BASELINE_VERDICTS = ("pass", "fail", "unjudged")  # runs whose measurement holds

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at TEXT NOT NULL,
    seconds REAL NOT NULL,
    git_commit TEXT,
    target TEXT NOT NULL,
    embedded_mock INTEGER NOT NULL,
    model TEXT NOT NULL,
    rate REAL,
    users INTEGER,
    run_time_s REAL NOT NULL,
    options TEXT NOT NULL,
    verdict TEXT NOT NULL,
    harness_version TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS scenarios (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    scenario TEXT NOT NULL,
    status TEXT NOT NULL,
    valid INTEGER NOT NULL,
    asked_rate REAL,
    achieved_rate REAL,
    started INTEGER,
    late INTEGER,
    dropped INTEGER,
    PRIMARY KEY (run_id, scenario)
);
CREATE TABLE IF NOT EXISTS measures (
    run_id INTEGER NOT NULL,
    scenario TEXT NOT NULL,
    measure TEXT NOT NULL,
    unit TEXT NOT NULL,
    count INTEGER NOT NULL,
    failures INTEGER NOT NULL,
    p50 REAL, p90 REAL, p95 REAL, p99 REAL, max REAL, mean REAL,
    histogram TEXT,
    seconds TEXT NOT NULL,
    PRIMARY KEY (run_id, scenario, measure),
    FOREIGN KEY (run_id, scenario) REFERENCES scenarios(run_id, scenario) ON DELETE CASCADE
);
"""


class HistoryError(Exception):
    """The history file cannot be opened, is not a history, or lacks the run asked for."""


@dataclass(frozen=True)
class ScenarioRow:
    scenario: str
    status: str
    valid: bool
    asked_rate: float | None = None
    achieved_rate: float | None = None
    started: int | None = None
    late: int | None = None
    dropped: int | None = None


@dataclass(frozen=True)
class RunInfo:
    id: int
    started_at: str
    seconds: float
    git_commit: str | None
    target: str
    embedded_mock: bool
    model: str
    rate: float | None
    users: int | None
    run_time_s: float
    options: Mapping[str, Any]
    verdict: str
    harness_version: str
    scenarios: tuple[str, ...] = ()

    @property
    def load(self) -> str:
        return f"{self.rate:g}/s" if self.model == "open" and self.rate is not None else f"{self.users} users"


@contextmanager
def _open(path: Path, create: bool) -> Iterator[sqlite3.Connection]:
    if not create and not path.is_file():
        raise HistoryError(f"no history file at {path}")
    try:
        with closing(sqlite3.connect(path, timeout=10.0)) as db:
            db.execute("PRAGMA foreign_keys = ON")
            version = db.execute("PRAGMA user_version").fetchone()[0]
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if version == 0 and not tables and create:
                with db:
                    db.executescript(_SCHEMA)
                    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            elif version != SCHEMA_VERSION or "runs" not in tables:
                raise HistoryError(f"{path} is not a load history of this version (schema {version})")
            yield db
    except sqlite3.DatabaseError as exc:
        raise HistoryError(f"{path}: {exc}") from None


def record_run(path: Path, run: Mapping[str, Any], scenarios: Sequence[ScenarioRow],
               measures: Sequence[MeasureRecord]) -> int:  # fmt: skip
    """Append one run with its scenarios and measures; its id. ``run`` has the columns of ``runs``."""
    with _open(path, create=True) as db, db:
        cursor = db.execute(
            "INSERT INTO runs (started_at, seconds, git_commit, target, embedded_mock, model, rate, users,"
            " run_time_s, options, verdict, harness_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (run["started_at"], run["seconds"], run.get("git_commit"), public_url(str(run["target"])),
             int(bool(run["embedded_mock"])), run["model"], run.get("rate"), run.get("users"), run["run_time_s"],
             json.dumps(run["options"], sort_keys=True), run["verdict"], run["harness_version"]),
        )  # fmt: skip
        run_id = int(cursor.lastrowid or 0)
        db.executemany(
            "INSERT INTO scenarios VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(run_id, s.scenario, s.status, int(s.valid), s.asked_rate, s.achieved_rate, s.started, s.late,
              s.dropped) for s in scenarios],
        )  # fmt: skip
        db.executemany(
            "INSERT INTO measures VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(run_id, m.scenario, m.measure, m.unit, m.count, m.failures,
              *(m.quantiles.get(q) for q in QUANTILES), m.mean, m.histogram, json.dumps(m.seconds_json()))
             for m in measures],
        )  # fmt: skip
    return run_id


def _run_info(row: sqlite3.Row | tuple[Any, ...], scenarios: tuple[str, ...]) -> RunInfo:
    (id_, started_at, seconds, commit, target, embedded, model, rate, users, run_time_s, options, verdict,
     version) = row  # fmt: skip
    return RunInfo(int(id_), started_at, seconds, commit, target, bool(embedded), model, rate, users, run_time_s,
                   json.loads(options), verdict, version, scenarios)  # fmt: skip


def list_runs(path: Path, limit: int | None = None) -> list[RunInfo]:
    """Recorded runs, oldest first (the last ``limit`` of them)."""
    with _open(path, create=False) as db:
        rows = db.execute("SELECT * FROM runs ORDER BY id DESC" + (" LIMIT ?" if limit else ""),
                          (limit,) if limit else ()).fetchall()  # fmt: skip
        names: dict[int, list[str]] = {}
        for run_id, scenario in db.execute("SELECT run_id, scenario FROM scenarios ORDER BY run_id, scenario"):
            names.setdefault(run_id, []).append(scenario)
    return [_run_info(row, tuple(names.get(row[0], ()))) for row in reversed(rows)]


def check_history(path: Path, baseline: str | None) -> None:
    """``HistoryError`` now, before a run, when ``path`` could not take it or ``baseline`` names no run."""
    if path.is_dir():
        raise HistoryError(f"--history {path} is a directory, not a file")
    if path.exists():
        with _open(path, create=False):
            pass
    elif not path.parent.is_dir():
        raise HistoryError(f"--history {path}: no directory {path.parent}")
    if baseline is not None:
        find_baseline(path, baseline)


def find_baseline(path: Path, which: str) -> RunInfo | None:
    """``last``: the latest run whose measurement holds (``None`` in a new or empty history); or a run id."""
    if which == "last":
        if not path.is_file():
            return None
        runs = [r for r in list_runs(path) if r.verdict in BASELINE_VERDICTS]
        return runs[-1] if runs else None
    try:
        run_id = int(which)
    except ValueError:
        raise HistoryError(f"--baseline expects 'last' or a run id, not {which[:100]!r}") from None
    if not path.is_file():
        raise HistoryError(f"no history file at {path}: --baseline {run_id} names no run")
    found = [r for r in list_runs(path) if r.id == run_id]
    if not found:
        raise HistoryError(f"{path} has no run {run_id}")
    return found[0]


def measures_of(path: Path, run_id: int) -> list[MeasureRecord]:
    with _open(path, create=False) as db:
        rows = db.execute(
            "SELECT scenario, measure, unit, count, failures, p50, p90, p95, p99, max, mean, histogram, seconds"
            " FROM measures WHERE run_id = ? ORDER BY scenario, measure", (run_id,),
        ).fetchall()  # fmt: skip
    records = []
    for scenario, measure, unit, count, failures, *quantiles, mean, histogram, seconds in rows:
        records.append(MeasureRecord(
            scenario, measure, unit, count, failures, dict(zip(QUANTILES, quantiles, strict=True)), mean, histogram,
            [(int(s), int(n), float(p50), float(p95)) for s, n, p50, p95 in json.loads(seconds)],
        ))  # fmt: skip
    return records


def git_commit(directory: Path) -> str | None:
    """The commit checked out in ``directory`` (``None`` outside a git checkout or without git)."""
    try:
        done = subprocess.run(["git", "-C", str(directory), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=5.0, check=False)  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and len(commit) in (40, 64) else None
