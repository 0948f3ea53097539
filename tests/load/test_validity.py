"""The open model's counts and the generator's verdict on itself: when is a measurement not valid?"""

from __future__ import annotations

import pytest

from infsh_harness.load.arrivals import ArrivalCounts
from infsh_harness.load.results import GeneratorReport, ProcessReport
from infsh_harness.load.validity import LATE_MS, judge_generator


def counts(rate: float = 10.0, due: int = 100, started: int | None = None, dropped: int = 0,
           lag: dict[float, int] | None = None) -> ArrivalCounts:  # fmt: skip
    started = due - dropped if started is None else started
    return ArrivalCounts(rate, planned=due, due=due, started=started, dropped=dropped, lag=lag or {1.0: started})


def report(*processes: ProcessReport, model: str = "open") -> GeneratorReport:
    return GeneratorReport(model, 1000.0, 1010.0, processes)


def process(busy: list[float], arrivals: ArrivalCounts | None = None, node: str = "local",
            runs_users: bool = True) -> ProcessReport:  # fmt: skip
    return ProcessReport(node, runs_users, [min(b, 1.0) for b in busy], arrivals, busy)


def test_counts_merge_and_round_trip() -> None:
    a = counts(rate=5, due=50, lag={1.0: 49, 80.0: 1})
    b = counts(rate=5, due=50, dropped=10, lag={2.0: 40})
    total = a.merge(b)
    assert (total.rate, total.due, total.started, total.dropped) == (10, 100, 90, 10)
    assert total.achieved_rate == pytest.approx(9.0)  # 90 of 100 due starts made, at 10/s asked
    assert total.late(LATE_MS) == 1 and total.lag_quantile(1.0) == 80.0
    assert ArrivalCounts.from_json(total.to_json()) == total
    assert ArrivalCounts().achieved_rate is None


def test_a_healthy_generator_is_valid() -> None:
    assert judge_generator(report(process([0.2] * 10, counts()))).valid
    assert judge_generator(None).valid  # a locustfile that writes no report: nothing to judge


def test_a_busy_generator_is_not_valid_and_says_which_process() -> None:
    verdict = judge_generator(report(process([0.95] * 5 + [0.3] * 5, counts(), node="worker abc")))
    assert not verdict.valid
    (reason,) = verdict.reasons
    assert "CPU was saturated: locust process 'worker abc'" in reason and "in 5 of 10 seconds" in reason


def test_a_few_busy_seconds_or_a_busy_master_are_tolerated() -> None:
    assert judge_generator(report(process([0.95] * 2 + [0.3] * 8, counts()))).valid
    assert judge_generator(report(process([0.95] * 2 + [0.3] * 2, counts()))).valid  # 50%, but two seconds
    master = process([1.0] * 10, None, node="master", runs_users=False)
    assert judge_generator(report(master, process([0.3] * 10, counts()))).valid
    assert judge_generator(report(process([1.0] * 2, counts()))).valid  # too short to judge


def test_starts_dropped_or_never_made_are_a_rate_shortfall() -> None:
    verdict = judge_generator(report(process([0.2] * 10, counts(due=100, dropped=10))))
    (reason,) = verdict.reasons
    assert reason.startswith("the achieved rate 9.00/s fell short of the asked 10/s: 10 starts dropped")
    missed = judge_generator(report(process([0.2] * 10, counts(due=100, started=80))))
    assert "20 never made" in missed.reasons[0]
    assert judge_generator(report(process([0.2] * 10, counts(due=100, dropped=4)))).valid  # within 5%


def test_late_starts_mean_the_schedule_was_not_kept() -> None:
    late = counts(due=100, lag={1.0: 90, 400.0: 10})
    (reason,) = judge_generator(report(process([0.2] * 10, late))).reasons
    assert reason.startswith(f"10 of 100 starts began over {LATE_MS:g} ms late (the latest by 400 ms)")
    assert judge_generator(report(process([0.2] * 10, counts(due=100, lag={1.0: 96, 400.0: 4})))).valid
    assert judge_generator(report(process([0.2] * 10, counts(due=30, lag={1.0: 26, 400.0: 4})))).valid  # 4 < 5


def test_the_closed_loop_is_judged_by_its_cpu_alone() -> None:
    assert judge_generator(report(process([0.3] * 10), model="closed")).valid
    assert not judge_generator(report(process([0.99] * 10), model="closed")).valid
