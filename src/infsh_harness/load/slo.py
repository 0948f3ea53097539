"""Service-level objectives: read from YAML, checked against a scenario's results.

The file has one block per scenario; in it, one block per target — ``requests`` (every HTTP
request of the scenario together) or one entry: a custom metric by name (``time_to_terminal``) or
a request entry as ``METHOD name`` (``GET /tasks/{id}``). A target's objectives::

    run_wait:
      requests: {max_error_rate: 0.01, min_rps: 20}
      time_to_terminal: {p50: 50, p95: 120, p99: 250}

``p50``/``p90``/``p95``/``p99``/``max`` are ceilings in the target's unit (ms; polls for
``polls_to_terminal``), ``max_error_rate`` a ceiling on the share of failures (0..1), ``min_rps``
a floor on successful samples per second. Percentiles and rates count successful samples only
(``results.py``): a failed request never helps a latency or a throughput objective. A target
that has no successful sample breaches every objective it has.

A file that is not UTF-8 text, not YAML, deeper or larger than a hand-written file would be, that
names an unknown objective, gives a limit that is not a finite non-negative number, or sets no
objective at all, is refused (``SloError``): nothing is ever judged against a file half read.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import yaml

__all__ = ["Check", "Objective", "SloError", "Target", "evaluate", "load_slo", "parse_slo"]

CEILINGS = {"p50": 0.50, "p90": 0.90, "p95": 0.95, "p99": 0.99, "max": 1.0}
RATES = ("max_error_rate", "min_rps")
KINDS = (*CEILINGS, *RATES)
REQUESTS = "requests"


class SloError(ValueError):
    """The SLO file is missing, not YAML, or names something unknown."""


class Target(Protocol):
    """What an objective is checked against (an entry's or the requests' statistics)."""

    @property
    def unit(self) -> str: ...
    @property
    def count(self) -> int: ...
    @property
    def error_rate(self) -> float: ...
    @property
    def rps(self) -> float: ...
    def quantile(self, q: float) -> float | None: ...


@dataclass(frozen=True)
class Objective:
    scenario: str
    target: str
    kind: str
    limit: float

    def describe(self) -> str:
        sign = ">=" if self.kind == "min_rps" else "<="
        return f"{self.scenario} {self.target} {_label(self.kind)} {sign} {_fmt(self.kind, self.limit, '')}"


@dataclass(frozen=True)
class Check:
    objective: Objective
    observed: float | None
    unit: str

    @property
    def passed(self) -> bool:
        if self.observed is None:
            return False
        if self.objective.kind == "min_rps":
            return self.observed >= self.objective.limit
        return self.observed <= self.objective.limit

    @property
    def excess(self) -> float | None:
        """By how much the objective is missed (positive) or met (zero or negative)."""
        if self.observed is None:
            return None
        if self.objective.kind == "min_rps":
            return self.objective.limit - self.observed
        return self.observed - self.objective.limit

    def describe(self) -> str:
        """One line: what was measured, against what, and by how much it missed."""
        o = self.objective
        head = f"{o.scenario} {o.target} {_label(o.kind)}"
        if self.observed is None:
            return f"{head}: no sample was measured (objective {_fmt(o.kind, o.limit, self.unit)})"
        observed, limit = _fmt(o.kind, self.observed, self.unit), _fmt(o.kind, o.limit, self.unit)
        if self.passed:
            return f"{head} = {observed} (objective {'>=' if o.kind == 'min_rps' else '<='} {limit})"
        excess = self.excess or 0.0
        relative = f", {excess / o.limit:.0%}" if o.limit else ""
        if o.kind == "min_rps":
            return f"{head} = {observed} < floor {limit} (short by {_fmt(o.kind, excess, self.unit)}{relative})"
        return f"{head} = {observed} > ceiling {limit} (over by {_fmt(o.kind, excess, self.unit)}{relative})"

    def as_json(self) -> dict[str, Any]:
        return {
            "scenario": self.objective.scenario,
            "target": self.objective.target,
            "objective": self.objective.kind,
            "limit": self.objective.limit,
            "observed": self.observed,
            "unit": "share" if self.objective.kind == "max_error_rate" else (
                "per s" if self.objective.kind == "min_rps" else self.unit
            ),
            "passed": self.passed,
            "excess": self.excess,
            "message": self.describe(),
        }


def _label(kind: str) -> str:
    return {"max_error_rate": "error rate", "min_rps": "throughput"}.get(kind, kind)


def _fmt(kind: str, value: float, unit: str) -> str:
    if kind == "max_error_rate":
        return f"{value:.2%}"
    if kind == "min_rps":
        return f"{value:.1f}/s"
    return f"{value:g} {unit}".rstrip()


MAX_FILE_BYTES = 1 << 20


def load_slo(path: Path | str) -> dict[str, list[Objective]]:
    """Objectives per scenario from a YAML file (``SloError`` naming the problem otherwise)."""
    try:
        raw = Path(path).read_bytes()[: MAX_FILE_BYTES + 1]
    except OSError as exc:
        raise SloError(f"cannot read SLO file {path}: {exc.strerror or exc}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise SloError(f"SLO file {path} is larger than {MAX_FILE_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SloError(f"SLO file {path} is not UTF-8 text") from None
    if "\x00" in text:
        raise SloError(f"SLO file {path} is not text (it holds NUL bytes)")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SloError(f"SLO file {path} is not valid YAML: {exc}".splitlines()[0]) from None
    except RecursionError:
        raise SloError(f"SLO file {path} is nested too deeply") from None
    objectives = parse_slo(data, str(path))
    if not any(objectives.values()):
        raise SloError(f"SLO file {path} sets no objective: a run would judge nothing")
    return objectives


def parse_slo(data: Any, where: str = "SLO") -> dict[str, list[Objective]]:
    """Objectives per scenario (an empty mapping for an empty document: ``load_slo`` refuses that)."""
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise SloError(f"{where}: expected a mapping of scenario -> targets")
    objectives: dict[str, list[Objective]] = {}
    for scenario, targets in data.items():
        if not isinstance(targets, Mapping):
            raise SloError(f"{where}: {scenario}: expected a mapping of target -> objectives")
        found = objectives.setdefault(str(scenario), [])
        for target, block in targets.items():
            if not isinstance(block, Mapping):
                raise SloError(f"{where}: {scenario}.{target}: expected a mapping of objective -> limit")
            for kind, limit in block.items():
                if kind not in KINDS:
                    raise SloError(
                        f"{where}: {scenario}.{target}: unknown objective {kind!r} (choose from {', '.join(KINDS)})"
                    )
                if isinstance(limit, bool) or not isinstance(limit, int | float) or not math.isfinite(limit) \
                        or limit < 0:
                    raise SloError(f"{where}: {scenario}.{target}.{kind}: expected a finite non-negative number, "
                                   f"not {str(limit)[:40]!r}")  # fmt: skip
                if kind == "max_error_rate" and limit > 1:
                    raise SloError(f"{where}: {scenario}.{target}.max_error_rate: expected a share from 0 to 1")
                found.append(Objective(str(scenario), str(target), str(kind), float(limit)))
    return objectives


def evaluate(objectives: Iterable[Objective], targets: Mapping[str, Target]) -> list[Check]:
    """One check per objective; a target absent from ``targets`` was never measured."""
    checks = []
    for objective in objectives:
        target = targets.get(objective.target)
        if target is None or target.count == 0:
            checks.append(Check(objective, None, target.unit if target is not None else ""))
            continue
        observed: float | None
        if objective.kind == "max_error_rate":
            observed = target.error_rate
        elif objective.kind == "min_rps":
            observed = target.rps
        else:
            observed = target.quantile(CEILINGS[objective.kind])
        checks.append(Check(objective, observed, target.unit))
    return checks
