"""The same requests sent in both API versions, for the rules of the REST overview's two formats.

:func:`read_both_ways` runs one task to its end and reads it with ``X-API-Version: 2`` and without
the header (version 1, the default), then provokes the documented errors cheaply in both versions:
no key (401), an unknown task (404, read and cancel), a run body that is not JSON and one without
``app`` (400). Each pair is the same request, so the version 2 answer can be held to the version 1
one (same fields; the problem's ``type`` ends with version 1's ``error.code``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from infsh_harness.contract.evidence import Evidence
from infsh_harness.contract.journeys import App
from infsh_harness.http.driver import NO_KEY, Driver
from infsh_harness.http.observation import Observation
from infsh_harness.rules.exchange import request_version
from infsh_harness.rules.versions import not_spoken_reason, spoken_versions
from infsh_harness.spec import API_VERSIONS, Spec

__all__ = ["BothWays", "Pair", "judge_each_version", "read_both_ways"]


@dataclass(frozen=True)
class Pair:
    what: str
    v1: Observation
    v2: Observation


@dataclass
class BothWays:
    reads: list[Pair] = field(default_factory=list)  # one finished task read both ways
    errors: list[Pair] = field(default_factory=list)  # the same refused request in both versions
    task_id: str | None = None

    def observations(self) -> list[Observation]:
        return [obs for pair in (*self.reads, *self.errors) for obs in (pair.v1, pair.v2)]


def read_both_ways(v2: Driver, v1: Driver, app: App, unknown_id: str) -> BothWays:
    """``v2`` and ``v1`` drive the same target as the same key, with and without ``X-API-Version: 2``."""
    out = BothWays()
    ran = v2.run(app.name, app.input)
    body = ran.body if ran.body_is_json and isinstance(ran.body, dict) else {}
    task_id = body.get("id") if isinstance(body.get("id"), str) else None
    if task_id is not None:
        out.task_id = task_id
        out.reads.append(Pair(f"getTask of finished task {task_id}", v1.get(task_id), v2.get(task_id)))
    errors: dict[str, Callable[[Driver], Observation]] = {
        "runTask without a key": lambda d: d.run(app.name, app.input, key=NO_KEY),
        "getTask without a key": lambda d: d.get(unknown_id, key=NO_KEY),
        "getTask of an unknown task": lambda d: d.get(unknown_id),
        "cancelTask of an unknown task": lambda d: d.cancel(unknown_id),
        "runTask with a body that is not JSON": lambda d: d.call(
            "runTask", content=b"{not json", params={"wait": "false"}, content_type="application/json"
        ),
        "runTask without app": lambda d: d.call("runTask", json={"input": {}}, params={"wait": "false"}),
    }
    for what, send in errors.items():
        out.errors.append(Pair(what, send(v1), send(v2)))
    return out


def judge_each_version(
    evidence: Evidence,
    rule_id: str,
    check: Callable[[Spec, Observation, frozenset[str]], bool],
    spec: Spec,
    seen: Sequence[Observation],
    lacking: Callable[[str], str],
) -> None:
    """``check`` every answer ``seen``, on the versions the server was seen to speak; the rule needs
    one checked answer of each version it speaks (``lacking(version)`` says what was missing), and
    a version it does not speak leaves the rule unchecked there, with why."""
    spoken = spoken_versions(spec, seen)
    checked: Counter[str | None] = Counter()
    for obs in seen:
        if evidence.expect(rule_id, check, spec, obs, spoken):
            checked[request_version(obs)] += 1
    for version in API_VERSIONS:
        if version not in spoken:
            evidence.minimum(rule_id, 1, not_spoken_reason(version, spoken), got=0)
        else:
            evidence.minimum(rule_id, 1, lacking(version), got=checked[version])
