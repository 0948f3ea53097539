"""schemathesis on ``openapi/tasks.yaml``: every phase, every built-in check and the contract's checks.

One ``st run`` per session (``schemathesis_result`` fixture); a test per operation and one for the
stateful runs through the spec's links report what it found there. Its own JUnit and HAR reports
are under ``<report-dir>/schemathesis/``.
"""

from __future__ import annotations

import pytest

from infsh_harness.contract.schemathesis_run import STATEFUL_LABEL, SchemathesisResult, operation_label
from infsh_harness.spec import Spec, load_spec

MAX_SHOWN = 6000


def assert_clean(result: SchemathesisResult, label: str) -> None:
    if result.crashed:
        tail = result.output_path.read_text(encoding="utf-8", errors="replace")[-2000:]
        pytest.fail(f"schemathesis did not run (exit code {result.exit_code}):\n{tail}", pytrace=False)
    if label not in result.labels:
        pytest.fail(f"schemathesis reported nothing for {label}; see {result.output_path}", pytrace=False)
    texts = [*result.failures.get(label, ()), *result.errors.get(label, ())]
    if texts:
        shown = "\n\n".join(texts)
        if len(shown) > MAX_SHOWN:
            shown = shown[:MAX_SHOWN] + f"\n... (the rest in {result.junit_path})"
        pytest.fail(f"schemathesis found problems with {label}:\n\n{shown}", pytrace=False)


@pytest.mark.schemathesis
@pytest.mark.parametrize("operation_id", list(load_spec().operations))
def test_schemathesis_operation(schemathesis_result: SchemathesisResult, spec: Spec, operation_id: str) -> None:
    """Examples, coverage and fuzzing of one operation, positive and negative data."""
    assert_clean(schemathesis_result, operation_label(spec, operation_id))


@pytest.mark.schemathesis
def test_schemathesis_stateful(schemathesis_result: SchemathesisResult) -> None:
    """Sequences of calls through the spec's links (run -> get -> cancel -> get)."""
    assert_clean(schemathesis_result, STATEFUL_LABEL)
    if not schemathesis_result.phase_passed("stateful"):
        mark = schemathesis_result.phases.get("stateful", "no mark")
        pytest.fail(f"the stateful phase did not pass ({mark}); see {schemathesis_result.output_path}", pytrace=False)
