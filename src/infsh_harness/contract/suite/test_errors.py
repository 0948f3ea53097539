"""The REST overview's error model: version 1 errors are ``{"success": false, "status", "error":
{"code", "message"}}``, version 2 errors RFC 9457 ``application/problem+json`` whose ``type`` ends with
the code; each documented code has its HTTP status, and a body's ``status`` is the answer's.

``both_ways`` provokes the documented errors cheaply in both versions (no key, an unknown task, a
bad run body); these tests run last, over every answer the run received. The rules of a version
the server does not speak are unchecked, with why, never broken.
"""

from __future__ import annotations

import pytest

from infsh_harness.contract.both_versions import BothWays, judge_each_version
from infsh_harness.contract.evidence import Evidence
from infsh_harness.contract.target import AnswerLog
from infsh_harness.rules.versions import (
    check_error_body_status,
    check_error_code_status,
    check_error_shape,
    check_problem_type_code,
    not_spoken_reason,
    spoken_versions,
    version_label,
)
from infsh_harness.spec import Spec

pytestmark = pytest.mark.every_answer


@pytest.mark.rule("error-shape")
def test_error_shape(spec: Spec, both_ways: BothWays, answers: AnswerLog, evidence: Evidence) -> None:
    def lacking(version: str) -> str:
        return f"no error of a documented operation answered {version_label(version)}"

    judge_each_version(evidence, "error-shape", check_error_shape, spec, answers.all(), lacking)
    evidence.finish()


@pytest.mark.rule("problem-type-code")
def test_problem_type_code(spec: Spec, both_ways: BothWays, answers: AnswerLog, evidence: Evidence) -> None:
    """Each provoked version 2 error's ``type`` ends with the ``error.code`` the same request gets in
    version 1; any other version 2 error's, with a documented code of its status."""
    seen = answers.all()
    spoken = spoken_versions(spec, seen)
    if "2" not in spoken:
        evidence.minimum("problem-type-code", 1, not_spoken_reason("2", spoken), got=0)
        evidence.finish()
        return
    paired = {id(pair.v2) for pair in both_ways.errors}
    for pair in both_ways.errors:
        v1 = pair.v1 if "1" in spoken else None
        evidence.expect("problem-type-code", check_problem_type_code, spec, pair.v2, v1)
    for obs in seen:
        if id(obs) not in paired:
            evidence.expect("problem-type-code", check_problem_type_code, spec, obs, None)
    evidence.minimum("problem-type-code", 1, "no version 2 error gave a type to hold to its code")
    evidence.finish()


@pytest.mark.rule("error-code-status")
def test_error_code_status(spec: Spec, both_ways: BothWays, answers: AnswerLog, evidence: Evidence) -> None:
    evidence.expect_every("error-code-status", check_error_code_status, spec, answers.all())
    evidence.minimum("error-code-status", 1, "no error answer gave a documented error code")
    evidence.finish()


@pytest.mark.rule("error-body-status")
def test_error_body_status(spec: Spec, both_ways: BothWays, answers: AnswerLog, evidence: Evidence) -> None:
    evidence.expect_every("error-body-status", check_error_body_status, spec, answers.all())
    evidence.minimum("error-body-status", 1, "no error answer had either version's error body")
    evidence.finish()
