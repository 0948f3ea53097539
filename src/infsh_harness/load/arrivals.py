"""The open model's bookkeeping: what a schedule of task starts planned, made, dropped and how late.

An open-model run (``infsh-harness load --rate N``) starts task ``i`` of a scheduler at
``t0 + i / rate`` whatever the server does (see ``scenarios/open_model.py``). Each scheduler keeps
an :class:`ArrivalCounts`; a locust process sends its counts to the harness, which merges those of
every process and judges them (``validity.py``). This module imports neither locust nor gevent.

- ``planned``: starts the schedule holds (``floor(rate * seconds)``);
- ``due``: starts whose time came before the schedule ended or was interrupted;
- ``started``: due starts that were made (on time or late);
- ``dropped``: due starts not made because the pool of tasks in flight was full;
- ``unfinished``: started tasks still running when the run ended (stopped, and counted as failures
  of the scenario's main measure);
- ``lag``: per start made, how long after its due time it began (ms, a histogram).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from infsh_harness.load.metrics import fine_bucket, percentile

__all__ = ["ArrivalCounts"]


@dataclass
class ArrivalCounts:
    rate: float = 0.0  # asked starts per second of this schedule (the sum, once merged)
    planned: int = 0
    due: int = 0
    started: int = 0
    dropped: int = 0
    unfinished: int = 0
    lag: dict[float, int] = field(default_factory=dict)  # ms -> starts

    def record_lag(self, lag_ms: float) -> None:
        bucket = fine_bucket(max(lag_ms, 0.0))
        self.lag[bucket] = self.lag.get(bucket, 0) + 1

    def late(self, threshold_ms: float) -> int:
        """Starts made more than ``threshold_ms`` after their due time."""
        return sum(n for lag, n in self.lag.items() if lag > threshold_ms)

    def lag_quantile(self, q: float) -> float | None:
        return percentile(self.lag, q)

    @property
    def achieved_rate(self) -> float | None:
        """Starts made per second of schedule: the asked rate times the share of due starts made."""
        if not self.due:
            return None
        return self.rate * self.started / self.due

    def merge(self, other: ArrivalCounts) -> ArrivalCounts:
        lag = dict(self.lag)
        for value, n in other.lag.items():
            lag[value] = lag.get(value, 0) + n
        return ArrivalCounts(
            self.rate + other.rate, self.planned + other.planned, self.due + other.due,
            self.started + other.started, self.dropped + other.dropped, self.unfinished + other.unfinished, lag,
        )  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        return {
            "rate": self.rate, "planned": self.planned, "due": self.due, "started": self.started,
            "dropped": self.dropped, "unfinished": self.unfinished, "lag": [[v, n] for v, n in self.lag.items()],
        }  # fmt: skip

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ArrivalCounts:
        """Counts sent by a locust process (``ValueError`` or ``TypeError`` when they are not)."""
        return cls(
            float(data["rate"]), int(data["planned"]), int(data["due"]), int(data["started"]),
            int(data["dropped"]), int(data["unfinished"]), {float(v): int(n) for v, n in data["lag"]},
        )  # fmt: skip
