"""``infsh-harness history``: the load runs recorded by ``infsh-harness load --history FILE``.

    infsh-harness history FILE                          # list the runs, oldest first
    infsh-harness history FILE --show RUN_ID            # one run's measures
    infsh-harness history FILE --plot time_to_terminal --scenario run_wait --out ttt.png

``--plot`` draws a measure's p50, p95 and p99 across the runs (a PNG). Exit codes: 0 done, 2 the
file is not a history, or names no such run or measure (one line on stderr).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from infsh_harness.cli.args import fail

__all__ = ["add_parser", "main"]

PROG = "infsh-harness history"
QUANTILES = ("p50", "p90", "p95", "p99", "max")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not {text[:100]!r}") from None
    if not 1 <= value <= 1_000_000:
        raise argparse.ArgumentTypeError(f"expected a whole number from 1 to 1000000, not {text[:100]!r}")
    return value


def _history_file(text: str) -> str:
    """A path that may be a history: a name, and not a folder (whether it is a history is read later)."""
    if not text or "\x00" in text:
        raise argparse.ArgumentTypeError(f"expected a file name, not {text[:100]!r}")
    try:
        folder = Path(text).is_dir()
    except OSError as exc:
        raise argparse.ArgumentTypeError(f"cannot use {text[:100]!r}: {exc.strerror or exc}") from None
    if folder:
        raise argparse.ArgumentTypeError(f"{text[:100]!r} is a directory, not a history file")
    return text


def add_parser(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "history", help="list and plot the load runs of a --history file", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    p.add_argument("file", type=_history_file, help="the SQLite file `infsh-harness load --history` writes")
    p.add_argument("--limit", type=_positive, help="only the last N runs")
    action = p.add_mutually_exclusive_group()
    action.add_argument("--show", type=_positive, metavar="RUN_ID", help="print one run's measures")
    action.add_argument("--plot", metavar="MEASURE",
                        help="plot a measure across runs: a metric, 'requests', or 'METHOD name'")  # fmt: skip
    p.add_argument("--scenario", help="--plot: the scenario whose measure to plot (needed when several have it)")
    p.add_argument("--quantile", action="append", choices=QUANTILES, help="--plot: quantiles (default p50, p95, p99)")
    p.add_argument("--out", help="--plot: the PNG to write (default history_SCENARIO_MEASURE.png)")
    p.set_defaults(func=main)


def _fail(message: str) -> int:
    return fail(PROG, message)


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def _list(path: Path, limit: int | None) -> int:
    from infsh_harness.load.history import list_runs

    runs = list_runs(path, limit)
    if not runs:
        print(f"{path}: no run recorded")
        return 0
    head = f"{'id':>4}  {'started (UTC)':<20}  {'commit':<10}  {'verdict':<11}  {'load':<12}  {'time':>6}"
    print(f"{head}  target / scenarios")
    for r in runs:
        commit = (r.git_commit or "-")[:10]
        print(f"{r.id:>4}  {r.started_at:<20}  {commit:<10}  {r.verdict:<11}  {r.load:<12}  {r.run_time_s:>5g}s  "
              f"{r.target}  {','.join(r.scenarios)}")  # fmt: skip
    return 0


def _show(path: Path, run_id: int) -> int:
    from infsh_harness.load.history import find_baseline, measures_of

    run = find_baseline(path, str(run_id))
    assert run is not None
    print(f"run {run.id}: {run.started_at}, {run.verdict}, {run.load} for {run.run_time_s:g} s against {run.target}"
          + (f", commit {run.git_commit}" if run.git_commit else ""))  # fmt: skip
    print(f"  {'scenario':<11} {'measure':<26} {'count':>7} {'failed':>6} " + " ".join(f"{q:>9}" for q in QUANTILES))
    for m in measures_of(path, run.id):
        cells = " ".join(f"{_cell(m.quantiles.get(q)):>9}" for q in QUANTILES)
        print(f"  {m.scenario:<11} {m.measure:<26} {m.count:>7} {m.failures:>6} {cells} {m.unit}")
    return 0


def _plot(path: Path, args: argparse.Namespace) -> int:
    from infsh_harness.load.history import list_runs, measures_of
    from infsh_harness.load.plots import RunPoint, plot_history

    runs = list_runs(path, args.limit)
    found: dict[str, list[tuple[Any, Any]]] = {}
    for run in runs:
        for record in measures_of(path, run.id):
            if record.measure == args.plot and (args.scenario is None or record.scenario == args.scenario):
                found.setdefault(record.scenario, []).append((run, record))
    if not found:
        where = f" of scenario {args.scenario!r}" if args.scenario else ""
        return _fail(f"{path}: no run recorded the measure {args.plot[:100]!r}{where}")
    if len(found) > 1:
        return _fail(f"{args.plot!r} is measured by {', '.join(sorted(found))}: choose one with --scenario")
    ((scenario, rows),) = found.items()
    quantiles = args.quantile or ["p50", "p95", "p99"]
    points = [RunPoint(run.id, f"{run.id}" + (f" {run.git_commit[:7]}" if run.git_commit else ""),
                       {q: record.quantiles.get(q) for q in quantiles}) for run, record in rows]  # fmt: skip
    slug = "".join(c if c.isalnum() else "_" for c in args.plot).strip("_").lower()
    out = Path(args.out or f"history_{scenario}_{slug}.png")
    unit = rows[0][1].unit
    plot_history(points, f"{scenario}: {args.plot} across {len(points)} runs ({path.name})", unit, out)
    print(f"wrote {out}: {args.plot} of {scenario} in {len(points)} runs")
    return 0


def main(args: argparse.Namespace) -> int:
    from infsh_harness.load.history import HistoryError

    path = Path(args.file)
    if args.plot is None and (args.scenario or args.quantile or args.out):
        return _fail("--scenario, --quantile and --out go with --plot")
    try:
        if args.show is not None:
            return _show(path, args.show)
        if args.plot is not None:
            return _plot(path, args)
        return _list(path, args.limit)
    except HistoryError as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"cannot write the plot: {exc.strerror or exc}")
