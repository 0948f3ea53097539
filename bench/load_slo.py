"""Do the default SLOs pass at the default load, with margin? ``infsh-harness load`` as a user runs it.

Every scenario at the CLI's default load (the open model, ``DEFAULT_RATE`` tasks started per
second per scenario) against the embedded mock, judged by the packaged ``slo.yaml``, in
``--rounds`` rounds (the machine may be shared: each round is printed, so the noise shows).
Bars, on the worst round: the run passes and its measurement is valid; every ceiling's measured
value is at most :data:`MARGIN` of its limit (twice the room a pass needs); no error at all.

For contrast (no bar), ``--closed`` also runs the closed loop of issue 14's report, ``-u 20 -r 20
-t 15s``: 20 users with no think time measure the machine's capacity, and its latencies are
queueing wherever the machine is saturated.

``python -m bench.load_slo [--rounds 2] [--seconds 30] [--closed]``; exit 0 when the bars hold.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.load_truth import Goal
from infsh_harness.cli.load import DEFAULT_RATE
from infsh_harness.defaults import API_KEY as DEFAULT_KEY
from infsh_harness.load.run import DEFAULT_SLO_PATH, LoadOptions, LoadOutcome, run_load
from infsh_harness.load.slo import load_slo

__all__ = ["goals", "main"]

MARGIN = 0.5


def _run(out: Path, seconds: float, **load: Any) -> LoadOutcome:
    key = os.environ.get("INFSH_API_KEY") or DEFAULT_KEY
    return run_load(LoadOptions(out=out, environ=dict(os.environ), api_key=key, run_time_s=seconds,
                                objectives=load_slo(DEFAULT_SLO_PATH), slo_file=str(DEFAULT_SLO_PATH), **load),
                    say=lambda line: None)  # fmt: skip


def _use(check: dict[str, Any]) -> float | None:
    """Measured value over limit, for a ceiling; None for other objectives."""
    if check["objective"] in ("max_error_rate", "min_rps") or check["observed"] is None:
        return None
    return float(check["observed"]) / check["limit"] if check["limit"] else float("inf")


def _round_line(number: int, outcome: LoadOutcome) -> tuple[float, int, str]:
    checks = [c for s in outcome.summary["scenarios"] for c in s["slo"]]
    uses = [(u, c) for c in checks if (u := _use(c)) is not None]
    worst, worst_check = max(uses, key=lambda pair: pair[0]) if uses else (float("inf"), None)
    errors = sum(s["requests"]["failures"] + sum(e["failures"] for e in s["entries"])
                 for s in outcome.summary["scenarios"])  # fmt: skip
    where = f"{worst_check['scenario']} {worst_check['target']} {worst_check['objective']}" if worst_check else "-"
    line = (f"  round {number}: {outcome.summary['verdict']}, {len(checks)} objectives, worst ceiling used "
            f"{worst:.0%} ({where}: {worst_check['observed'] if worst_check else '-'} of "
            f"{worst_check['limit'] if worst_check else '-'}), {errors} failures")  # fmt: skip
    return worst, errors, line


def _table(outcome: LoadOutcome) -> list[str]:
    lines = []
    for s in outcome.summary["scenarios"]:
        cells = [f"{c['target']} {c['objective']} {c['observed']:g}/{c['limit']:g}" for c in s["slo"]
                 if _use(c) is not None]  # fmt: skip
        busiest = max((p["busy_max"] or 0.0) for p in s["generator"]["processes"]) if s["generator"] else 0.0
        lines.append(f"    {s['scenario']:<10} busiest generator second {busiest:.0%} of a core; " + "; ".join(cells))
    return lines


def goals(rounds: int = 2, seconds: float = 30.0, closed: bool = False, quiet: bool = False) -> list[Goal]:
    say = (lambda line: None) if quiet else print
    say(f"default load: open model, {DEFAULT_RATE:g} tasks/s per scenario, {seconds:g} s each, embedded mock, "
        f"{DEFAULT_SLO_PATH.name}")  # fmt: skip
    worst_use, failures, passed = 0.0, 0, True
    with tempfile.TemporaryDirectory(prefix="infsh-load-slo-") as tmp:
        for number in range(1, rounds + 1):
            outcome = _run(Path(tmp) / f"round{number}", seconds, rate=DEFAULT_RATE)
            use, errors, line = _round_line(number, outcome)
            say(line)
            for detail in _table(outcome):
                say(detail)
            worst_use, failures = max(worst_use, use), failures + errors
            passed = passed and outcome.summary["verdict"] == "pass"
        if closed:
            outcome = _run(Path(tmp) / "closed", 15.0, users=20, spawn_rate=20.0)
            say("closed loop for contrast (-u 20 -r 20 -t 15s; no bar):")
            say(_round_line(1, outcome)[2].replace("round 1", "closed"))
            for line in outcome.summary["breaches"]:
                say(f"    breach: {line}")
    return [
        Goal("default load passes, valid, every round", 1.0 if passed else 0.0, 1.0, True, ""),
        Goal("worst ceiling used (measured / limit)", worst_use, MARGIN, False, "x"),
        Goal("failed requests and measures", float(failures), 0.0, False, ""),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load_slo", description=__doc__)
    parser.add_argument("--rounds", type=int, default=2, help="rounds of the default run (default 2)")
    parser.add_argument("--seconds", type=float, default=30.0, help="duration of each scenario (default 30)")
    parser.add_argument("--closed", action="store_true", help="also run issue 14's closed loop, for contrast")
    args = parser.parse_args(argv)
    results = goals(args.rounds, args.seconds, args.closed)
    met = [g.measured >= g.limit if g.higher_is_better else g.measured <= g.limit for g in results]
    for g, ok in zip(results, met, strict=True):
        sign = ">=" if g.higher_is_better else "<="
        print(f"  {g.name:<40} {g.measured:>6.2f} {g.unit} (bar {sign} {g.limit:g})  {'ok' if ok else 'MISSED'}")
    return 0 if all(met) else 1


if __name__ == "__main__":
    sys.exit(main())
