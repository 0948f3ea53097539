"""Is the measurement valid? The load generator's own health, judged apart from the server's.

A load generator that cannot keep up measures itself: its queueing shows as the server's latency.
A scenario's measurement is *not valid* (exit 3, ``docs/load.md``) when any of these holds:

- a locust process that runs users was busy — running, or ready to run and waiting for a core —
  at least :data:`SATURATED_CPU` of one core in more than :data:`MAX_SATURATED_SHARE` of the
  run's seconds (sampled each second, ``scenarios/monitor.py``);
- open model: the achieved rate fell below :data:`MIN_ACHIEVED_SHARE` of the asked one (starts
  dropped because the pool of tasks in flight was full, or never made);
- open model: more than :data:`MAX_LATE_SHARE` of the starts began over :data:`LATE_MS` after
  their due time (the scheduler itself was starved: a busy process or a busy machine).

Each holds only over enough of a run to mean something (:data:`MIN_SECONDS` sampled seconds and
as many saturated ones, :data:`MIN_STARTS` due starts, :data:`MIN_LATE` late ones), so one busy
second or one hiccup in a short run does not void it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from infsh_harness.load.arrivals import ArrivalCounts
from infsh_harness.load.results import GeneratorReport

__all__ = [
    "LATE_MS",
    "MAX_LATE_SHARE",
    "MAX_SATURATED_SHARE",
    "MIN_ACHIEVED_SHARE",
    "SATURATED_CPU",
    "Validity",
    "judge_generator",
]

SATURATED_CPU = 0.90  # share of one core in one second
MAX_SATURATED_SHARE = 0.20  # of the sampled seconds of one process
MIN_SECONDS = 3
MIN_ACHIEVED_SHARE = 0.95
LATE_MS = 50.0
MAX_LATE_SHARE = 0.05
MIN_STARTS = 20
MIN_LATE = 5


@dataclass(frozen=True)
class Validity:
    valid: bool
    reasons: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {"valid": self.valid, "reasons": list(self.reasons)}


def _cpu_reasons(report: GeneratorReport) -> list[str]:
    reasons = []
    for process in report.processes:
        busy = process.busy or process.cpu
        if not process.runs_users or len(busy) < MIN_SECONDS:
            continue
        saturated = sum(1 for share in busy if share >= SATURATED_CPU)
        if saturated > MAX_SATURATED_SHARE * len(busy) and saturated >= MIN_SECONDS:
            reasons.append(
                f"the load generator's CPU was saturated: locust process '{process.node}' ran or waited for "
                f"a core >= {SATURATED_CPU:.0%} of the time in {saturated} of {len(busy)} seconds; "
                "its own queueing would count as the server's latency (use --workers, or less load)"
            )
    return reasons


def _arrival_reasons(arrivals: ArrivalCounts) -> list[str]:
    if arrivals.due < MIN_STARTS:
        return []
    reasons = []
    achieved = arrivals.achieved_rate or 0.0
    if achieved < MIN_ACHIEVED_SHARE * arrivals.rate:
        why = []
        if arrivals.dropped:
            why.append(f"{arrivals.dropped} starts dropped because the pool of tasks in flight was full "
                       "(raise --max-in-flight, or lower --rate)")  # fmt: skip
        missed = arrivals.due - arrivals.started - arrivals.dropped
        if missed:
            why.append(f"{missed} never made")
        reasons.append(
            f"the achieved rate {achieved:.2f}/s fell short of the asked {arrivals.rate:g}/s"
            + (f": {'; '.join(why)}" if why else "")
        )
    late = arrivals.late(LATE_MS)
    if late > MAX_LATE_SHARE * arrivals.started and late >= MIN_LATE:
        worst = arrivals.lag_quantile(1.0) or 0.0
        reasons.append(
            f"{late} of {arrivals.started} starts began over {LATE_MS:g} ms late (the latest by {worst:g} ms): "
            "the load generator could not keep to its schedule"
        )
    return reasons


def judge_generator(report: GeneratorReport | None) -> Validity:
    """The verdict on one scenario's load generator (valid when it left no report to judge)."""
    if report is None:
        return Validity(True)
    reasons = _cpu_reasons(report)
    arrivals = report.arrivals
    if arrivals is not None:
        reasons += _arrival_reasons(arrivals)
    return Validity(not reasons, tuple(reasons))
