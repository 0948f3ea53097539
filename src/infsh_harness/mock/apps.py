"""The test apps, read from ``data/apps.yaml``: what each produces and how long each phase takes."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from infsh_harness import data

__all__ = ["DEFAULT_APPS_PATH", "AppCatalog", "AppDef", "load_catalog"]

DEFAULT_APPS_PATH = data.path("apps.yaml")


@dataclass(frozen=True)
class AppDef:
    name: str
    outcome: str  # COMPLETED or FAILED
    output_kind: str | None
    # cumulative end of each non-terminal phase, in seconds from creation, per timing profile
    phase_ends: Mapping[str, tuple[float, ...]]
    seconds_from_input: str | None = None
    default_seconds: float = 1.0
    max_seconds: float = 3600.0
    error_from_input: str | None = None
    default_error: str = "the app raised an error"


class AppCatalog:
    def __init__(self, apps: Mapping[str, AppDef], phases: Sequence[str], timings: Sequence[str]) -> None:
        self.apps = dict(apps)
        self.phases = tuple(phases)
        self.timings = tuple(timings)

    def find(self, app: str) -> AppDef | None:
        """Look up ``namespace/name`` with an optional ``@version`` suffix."""
        return self.apps.get(app.split("@", 1)[0])


def _cumulative(durations_ms: Sequence[float]) -> tuple[float, ...]:
    return tuple(t / 1000.0 for t in itertools.accumulate(durations_ms))


def load_catalog(phases: Sequence[str], path: Path | None = None) -> AppCatalog:
    """Read the catalog; ``phases`` are the documented non-terminal statuses, in order."""
    data: dict[str, Any] = yaml.safe_load((path or DEFAULT_APPS_PATH).read_text(encoding="utf-8"))
    timings: dict[str, dict[str, float]] = data["timings"]
    for name, table in timings.items():
        missing = [p for p in phases if p not in table]
        if missing:
            raise ValueError(f"timing {name!r} lacks phases {missing}")
    apps: dict[str, AppDef] = {}
    for app_name, spec in data["apps"].items():
        ends = {}
        for timing, table in timings.items():
            override = spec.get("phases", {}).get(timing, {})
            ends[timing] = _cumulative([float(override.get(p, table[p])) for p in phases])
        apps[app_name] = AppDef(
            name=app_name,
            outcome=spec["outcome"],
            output_kind=spec.get("output"),
            phase_ends=ends,
            seconds_from_input=spec.get("running_seconds_from_input"),
            default_seconds=float(spec.get("default_seconds", 1.0)),
            max_seconds=float(spec.get("max_seconds", 3600.0)),
            error_from_input=spec.get("error_from_input"),
            default_error=spec.get("default_error", "the app raised an error"),
        )
    return AppCatalog(apps, phases, list(timings))
