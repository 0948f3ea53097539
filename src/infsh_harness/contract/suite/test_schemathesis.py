"""schemathesis on ``openapi/tasks.yaml``: every phase, the built-in checks and the contract's checks.

One ``st run`` per session (``schemathesis_result`` fixture); a test per operation and one for the
stateful runs through the spec's links fold what it found there into the rules' verdicts
(:mod:`infsh_harness.contract.schemathesis_fold`): a finding about a documented or http rule fails
the test, one about a convention is recorded as ``differs``. Its own JUnit and HAR reports are
under ``<report-dir>/schemathesis/``.
"""

from __future__ import annotations

import pytest

from infsh_harness.contract.evidence import Evidence
from infsh_harness.contract.schemathesis_fold import fold, parse_findings
from infsh_harness.contract.schemathesis_run import FAILED_MARK, STATEFUL_LABEL, SchemathesisResult, operation_label
from infsh_harness.spec import Spec, load_spec

MAX_SHOWN = 2000


def fold_label(spec: Spec, result: SchemathesisResult, label: str, evidence: Evidence) -> None:
    if result.crashed:
        tail = result.output_path.read_text(encoding="utf-8", errors="replace")[-MAX_SHOWN:]
        pytest.fail(f"schemathesis did not run (exit code {result.exit_code}):\n{tail}", pytrace=False)
    if label not in result.labels:
        pytest.fail(f"schemathesis reported nothing for {label}; see {result.output_path}", pytrace=False)
    found, unknown = fold(spec, [f for f in parse_findings(result) if f.label == label])
    if unknown:
        shown = "; ".join(f"{f.code} {f.title}: {f.details[:200]}" for f in unknown)
        pytest.fail(f"schemathesis found what no rule covers on {label}: {shown}"[:MAX_SHOWN], pytrace=False)
    failing = [v for v in found if evidence.tally.fails(v)]
    for violation in found:
        evidence.tally.saw(violation)
    if failing:
        raise failing[0]


@pytest.mark.schemathesis
@pytest.mark.parametrize("operation_id", list(load_spec().operations))
def test_schemathesis_operation(
    schemathesis_result: SchemathesisResult, spec: Spec, operation_id: str, evidence: Evidence
) -> None:
    """Examples, coverage and fuzzing of one operation, positive and negative data."""
    fold_label(spec, schemathesis_result, operation_label(spec, operation_id), evidence)


@pytest.mark.schemathesis
def test_schemathesis_stateful(schemathesis_result: SchemathesisResult, spec: Spec, evidence: Evidence) -> None:
    """Sequences of calls through the spec's links (run -> get -> cancel -> get)."""
    fold_label(spec, schemathesis_result, STATEFUL_LABEL, evidence)
    # st reports a failure once for the whole run: a stateful phase marked failed may owe its mark to a
    # finding already reported under an operation; marked anything else, or with no finding, it did not run
    mark = schemathesis_result.phases.get("stateful", "no mark")
    failed_with_findings = mark == FAILED_MARK and parse_findings(schemathesis_result)
    if not schemathesis_result.phase_passed("stateful") and not failed_with_findings:
        pytest.fail(f"the stateful phase did not pass ({mark}); see {schemathesis_result.output_path}", pytrace=False)
