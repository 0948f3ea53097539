"""The REST overview's two response formats: version 1 (no ``X-API-Version``) wraps a success in
``{"success": true, "status": 200, "data": ...}``, version 2 answers the bare object, and both carry
the same fields. The suite sends version 2; ``both_ways`` reads one finished task both ways.

A server that answers one version only (it ignores the header, or answers version 1 requests as
version 2) does not speak the other: that version's rules are unchecked, with why, never broken.
These tests run last, over every answer the run received.
"""

from __future__ import annotations

import pytest

from infsh_harness.contract.both_versions import BothWays, judge_each_version
from infsh_harness.contract.evidence import Evidence
from infsh_harness.contract.target import AnswerLog
from infsh_harness.rules.exchange import payload_of, status_code
from infsh_harness.rules.versions import (
    check_same_fields,
    check_version_shape,
    not_spoken_reason,
    spoken_versions,
    version_label,
)
from infsh_harness.spec import API_VERSIONS, Spec

pytestmark = pytest.mark.every_answer


@pytest.mark.rule("version-shape")
def test_version_shape(spec: Spec, both_ways: BothWays, answers: AnswerLog, evidence: Evidence) -> None:
    """Every success of a versioned operation has its request's version's shape, in each version the
    server speaks (at least one success of each)."""
    def lacking(version: str) -> str:
        return f"no success of {version_label(version)} was read"

    judge_each_version(evidence, "version-shape", check_version_shape, spec, answers.all(), lacking)
    evidence.finish()


@pytest.mark.rule("version-same-fields")
def test_version_same_fields(spec: Spec, both_ways: BothWays, answers: AnswerLog, evidence: Evidence) -> None:
    """A finished task read in version 1 (its ``data``) and in version 2 has the same fields and values."""
    spoken = spoken_versions(spec, answers.all())
    missing = [v for v in API_VERSIONS if v not in spoken]
    if missing:
        evidence.minimum("version-same-fields", 1, not_spoken_reason(missing[0], spoken), got=0)
        evidence.finish()
        return
    for pair in both_ways.reads:
        statuses = {status_code((payload_of(spec, obs) or {}).get("status")) for obs in (pair.v1, pair.v2)}
        if not statuses <= spec.terminal_statuses:
            continue  # a task still changing can differ between the reads; it should have ended
        evidence.expect("version-same-fields", check_same_fields, spec, pair.v1, pair.v2)
    evidence.minimum("version-same-fields", 1, "a finished task read successfully in both versions")
    evidence.finish()
