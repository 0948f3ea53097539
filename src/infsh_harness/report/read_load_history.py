"""What the load part says about other runs: the baseline it was compared with, and the history file.

Both come from ``load/summary.json`` as the load part writes it (``load/tracking.py``)::

    baseline?: {run_id, started_at, git_commit, thresholds, notes: [str],
                comparisons: [{scenario, measure, quantile, unit, baseline, current, change, relative,
                               per_second_shift, interval, seconds, verdict, judged, message}]}
               or {run_id: null, comparisons: [], message}       (nothing recorded to compare with)
    history?:  {file, run_id} or {file, run_id: null, error}     (the run could not be recorded)

The comparisons are read into the load part's own :class:`~infsh_harness.load.baseline.Comparison`;
the earlier runs are read from the SQLite file itself, with the load part's readers
(``load/history.py``: :func:`list_runs`, :func:`measures_of`). A relative ``file`` is looked for
beside the summary first (a report folder moved as a whole), then from the working directory
(where ``infsh-harness load`` was run).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infsh_harness.load.baseline import Comparison
from infsh_harness.load.history import HistoryError, list_runs, measures_of
from infsh_harness.load.records import MeasureRecord
from infsh_harness.report.fields import boolean, integer, mapping, number, sequence, text

__all__ = ["MAX_RUNS", "Baseline", "EarlierRun", "History", "earlier_values", "read_baseline", "read_history"]

MAX_RUNS = 20  # earlier runs drawn across, the latest ones


@dataclass(frozen=True)
class Baseline:
    run_id: int | None  # None: there was nothing to compare with (``message`` says so)
    started_at: str
    git_commit: str
    notes: tuple[str, ...]
    message: str
    comparisons: tuple[Comparison, ...]

    @property
    def regressions(self) -> tuple[Comparison, ...]:
        """The regressions that fail the run (a quantile shown but not judged fails nothing)."""
        return tuple(c for c in self.comparisons if c.verdict == "regression" and c.judged)


@dataclass(frozen=True)
class EarlierRun:
    id: int
    started_at: str
    verdict: str
    load: str  # "20/s" or "10 users"
    measures: Mapping[tuple[str, str], MeasureRecord]  # (scenario, measure) -> its record


@dataclass(frozen=True)
class History:
    file: str  # as the summary names it
    run_id: int | None  # this run's id in it (None: it could not be recorded)
    earlier: tuple[EarlierRun, ...]  # oldest first, at most MAX_RUNS
    notes: tuple[str, ...] = ()  # why this run was not recorded, why the earlier ones could not be read


def _comparison(raw: Mapping[str, Any]) -> Comparison | None:
    scenario, measure, quantile = text(raw, "scenario"), text(raw, "measure"), text(raw, "quantile")
    if not (scenario and measure and quantile):
        return None
    interval = [v for v in sequence(raw, "interval") if isinstance(v, int | float) and not isinstance(v, bool)]
    seconds = [int(v) for v in sequence(raw, "seconds") if isinstance(v, int) and not isinstance(v, bool)]
    return Comparison(
        scenario=scenario, measure=measure, quantile=quantile, unit=text(raw, "unit"),
        baseline=number(raw, "baseline"), current=number(raw, "current"),
        verdict=text(raw, "verdict", "not compared"), shift=number(raw, "per_second_shift"),
        interval=(float(interval[0]), float(interval[1])) if len(interval) == 2 else None,
        seconds=(seconds[0], seconds[1]) if len(seconds) == 2 else (0, 0),
        note=text(raw, "message"), judged=boolean(raw, "judged") is not False,
    )  # fmt: skip


def read_baseline(document: Mapping[str, Any]) -> Baseline | None:
    raw = document.get("baseline")
    if not isinstance(raw, Mapping):
        return None
    found = (_comparison(c) for c in sequence(raw, "comparisons") if isinstance(c, Mapping))
    return Baseline(
        run_id=integer(raw, "run_id"),
        started_at=text(raw, "started_at"),
        git_commit=text(raw, "git_commit"),
        notes=tuple(str(n) for n in sequence(raw, "notes")),
        message=text(raw, "message"),
        comparisons=tuple(c for c in found if c is not None),
    )


def _locate(file: str, folder: Path) -> Path | None:
    path = Path(file)
    candidates = [path] if path.is_absolute() else [folder / path, path]
    return next((p for p in candidates if p.is_file()), None)


def read_history(document: Mapping[str, Any], folder: Path) -> History | None:
    """The runs recorded before this one (``None`` when the run was not given ``--history``)."""
    raw = mapping(document, "history")
    file = text(raw, "file")
    if not file:
        return None
    run_id = integer(raw, "run_id")
    notes = (f"This run was not recorded in {file}: {text(raw, 'error')}.",) if text(raw, "error") else ()
    path = _locate(file, folder)
    if path is None:
        return History(file, run_id, (), (*notes, f"The history file {file} was not found: no earlier run is drawn."))
    try:
        runs = [r for r in list_runs(path) if run_id is None or r.id < run_id][-MAX_RUNS:]
        earlier = tuple(
            EarlierRun(r.id, r.started_at, r.verdict, r.load,
                       {(m.scenario, m.measure): m for m in measures_of(path, r.id)})
            for r in runs
        )  # fmt: skip
    except HistoryError as exc:
        return History(file, run_id, (), (*notes, f"The history file {file} could not be read: {exc}."))
    return History(file, run_id, earlier, notes)


def earlier_values(history: History | None, scenario: str, measure: str,
                   quantiles: Sequence[str]) -> list[tuple[EarlierRun, dict[str, float | None]]]:  # fmt: skip
    """One measure's quantiles in each earlier run that measured it, oldest first."""
    if history is None:
        return []
    found = []
    for run in history.earlier:
        record = run.measures.get((scenario, measure))
        if record is not None:
            found.append((run, {q: record.quantiles.get(q) for q in quantiles}))
    return found
