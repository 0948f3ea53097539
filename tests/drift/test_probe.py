"""The probe against the live mock: its documented profile shows exactly the gaps it still has against
the four pages (and nothing else), its wire profile shows what the reference says production does
differently, and each seeded bug (the seeded proxy of ``tests/servers`` in front of the clean mock)
shows up as the drift it is.

Everything runs on 127.0.0.1; the probe's waits are bounded (webhook wait shortened here).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from infsh_harness.drift.diff import diff
from infsh_harness.drift.model import Finding, Kind
from infsh_harness.drift.probe import ProbeConfig, ProbeError, ProbeResult, probe
from infsh_harness.drift.scenarios import SCENARIOS
from infsh_harness.mock.config import MockConfig
from infsh_harness.mock.server import serve_in_thread
from infsh_harness.spec import load_spec
from tests.servers.seeded import SeededProxy
from tests.servers.serve import serving

pytestmark = pytest.mark.timeout(60)

SPEC = load_spec()
KEY, KEY_2 = "inf_test_key", "inf_test_key_2"
FAST = frozenset({"session-expired"})  # the one scenario that sleeps; run once, on the documented profile


def run_probe(profile: str = "documented", bugs: frozenset[str] = frozenset(), **config: object) -> ProbeResult:
    settings: dict[str, object] = {
        "api_key": KEY,
        "api_key_2": KEY_2,
        "webhook_wait_s": 3.0,
        "skip": FAST,
        "fallback_run_path": "/apps/run",
        "slow_input": {"seconds": 1},
        **config,
    }
    with ExitStack() as stack:
        url = stack.enter_context(serve_in_thread(profile=profile, config=MockConfig(profile=profile)))
        if bugs:
            proxy = SeededProxy(url, sorted(bugs), (KEY, KEY_2))
            url = proxy.public_url = stack.enter_context(serving(proxy))
        return probe(ProbeConfig(base_url=url, **settings), SPEC)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def documented() -> ProbeResult:
    return run_probe(skip=frozenset())


@pytest.fixture(scope="module")
def wire() -> Iterator[list[Finding]]:
    yield diff(SPEC, run_probe("wire").observations)


# --- documented profile ---------------------------------------------------------------------------
# What the documented mock does not serve of the four pages, as the drift reporter sees it: nothing.
MOCK_GAPS: dict[str, set[tuple[Kind, str | None, str | None]]] = {}


def test_probe_of_the_documented_profile_finds_no_drift(documented: ProbeResult) -> None:
    findings = diff(SPEC, documented.observations)
    assert {(f.kind, f.location.operation, f.location.status_code) for f in findings} == set().union(
        *MOCK_GAPS.values()
    )


def test_probe_notes_say_what_it_could_not_run(documented: ProbeResult) -> None:
    assert documented.notes == []


def test_probe_runs_every_documented_operation_and_scenario_in_both_versions(documented: ProbeResult) -> None:
    scenarios = {o.scenario for o in documented.observations}
    fallback_only = {"create-fallback", "webhook-run-fallback", "webhook-run-unchecked", "get-settled"}
    assert scenarios == set(SCENARIOS) - fallback_only
    operations = {o.operation_id for o in documented.observations}
    assert operations == set(SPEC.operations) | set(SPEC.webhooks)
    requests = [o for o in documented.observations if o.scenario != "webhook-delivery"]
    by_version = {v: {o.scenario for o in requests if o.request_headers.get("x-api-version") == v} for v in (None, "2")}
    assert by_version[None] == by_version["2"] == scenarios - {"webhook-delivery"}


def test_probe_in_one_version_only(documented: ProbeResult) -> None:
    result = run_probe(versions=("2",))
    assert {
        o.request_headers.get("x-api-version") for o in result.observations if o.scenario != "webhook-delivery"
    } == {"2"}
    with pytest.raises(ValueError, match="at least one API version"):
        probe(ProbeConfig(base_url="http://127.0.0.1:9", api_key=KEY, versions=()), SPEC)


def test_probe_observations_are_timed_and_carry_no_key(documented: ProbeResult) -> None:
    responses = [o for o in documented.observations if o.scenario != "webhook-delivery"]
    assert all(o.elapsed_ms is not None and o.elapsed_ms >= 0 for o in responses)
    dumped = json.dumps([o.evidence() for o in documented.observations])
    assert KEY not in dumped and KEY_2 not in dumped


def test_probe_refuses_an_unknown_scenario() -> None:
    with pytest.raises(ValueError, match="unknown scenarios: nope"):
        probe(ProbeConfig(base_url="http://127.0.0.1:9", api_key=KEY, skip=frozenset({"nope"})), SPEC)


def test_probe_of_nothing_listening_is_a_probe_error() -> None:
    import socket

    with socket.socket() as s:  # a port that was free a moment ago and has no listener
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ProbeError, match="did not answer"):
        probe(ProbeConfig(base_url=f"http://127.0.0.1:{port}", api_key=KEY), SPEC)


def test_an_unreachable_webhook_receiver_is_a_note_not_drift() -> None:
    result = run_probe(bugs=frozenset({"webhook_missing"}), webhook_reachable=False, webhook_wait_s=0.3)
    assert any("no webhook arrived" in n for n in result.notes)
    findings = diff(SPEC, result.observations)
    assert not [f for f in findings if f.rule in {"one-webhook", "webhook-matches-task"}]
    assert {(f.kind, f.location.operation, f.location.status_code) for f in findings} <= set().union(
        *MOCK_GAPS.values()
    )


# --- wire profile: what the reference says production speaks ----------------------------------------
def _at(findings: list[Finding], kind: Kind, operation: str | None = None) -> list[Finding]:
    return [f for f in findings if f.kind is kind and (operation is None or f.location.operation == operation)]


def test_wire_run_is_a_missing_operation(wire: list[Finding]) -> None:
    [missing] = _at(wire, Kind.MISSING_OPERATION)
    assert missing.location.endpoint == "POST /run"


def test_wire_errors_are_problem_details(wire: list[Finding]) -> None:
    # problem+json is version 2's error format: asked for version 1, it is the wrong one
    media = {
        (f.location.operation, f.location.status_code)
        for f in _at(wire, Kind.VERSION_SHAPE)
        if f.observed == "application/problem+json"
    }
    assert {("getTask", "401"), ("getTask", "404"), ("cancelTask", "404")} <= media
    assert not _at(wire, Kind.UNDOCUMENTED_CONTENT_TYPE, "getTask")
    # asked for version 2, it is short of the `status` RFC 9457 problems carry here
    assert {
        f.location.status_code for f in _at(wire, Kind.MISSING_FIELD, "getTask") if f.location.json_path == "$.status"
    } >= {"401", "404"}


def test_wire_objects_are_wrapped_in_an_envelope(wire: list[Finding]) -> None:
    assert {f.location.operation for f in _at(wire, Kind.ENVELOPE)} == {"getTask", "cancelTask"}
    assert any(f.location.json_path == "$.data.cancelled" for f in _at(wire, Kind.MISSING_FIELD, "cancelTask"))


def test_wire_status_numbers_have_shifted(wire: list[Finding]) -> None:
    # completed is 10 (documented: Failed, which needs an error); cancelled is 12 (undocumented)
    assert any(f.rule == "failed-has-error" for f in _at(wire, Kind.BEHAVIOUR, "getTask"))
    assert {f.observed for f in _at(wire, Kind.ENUM_VIOLATION, "getTask")} == {"12"}


def test_wire_cancel_answers_cancelling_first(wire: list[Finding]) -> None:
    cancel = [f for f in _at(wire, Kind.BEHAVIOUR, "cancelTask") if f.rule == "cancel-running"]
    assert cancel and "11" in cancel[0].expected


def test_wire_adds_fields_and_an_endpoint(wire: list[Finding]) -> None:
    fields = {f.location.json_path for f in _at(wire, Kind.UNDOCUMENTED_FIELD, "getTask")}
    assert {"$.data.short_id", "$.data.status_text", "$.data.updated_at", "$.data.events"} <= fields
    assert {f.location.endpoint for f in _at(wire, Kind.UNDOCUMENTED_OPERATION)} == {"POST /apps/run"}


def test_wire_webhook_payload_drift(wire: list[Finding]) -> None:
    payload = _at(wire, Kind.WEBHOOK_PAYLOAD)
    assert {f.aspect for f in payload} >= {Kind.UNDOCUMENTED_FIELD, Kind.BEHAVIOUR}


# --- seeded bugs: each is the drift it describes -------------------------------------------------------
@pytest.mark.parametrize(
    ("bug", "kind", "detail"),
    [
        ("undocumented_status", Kind.ENUM_VIOLATION, "12"),
        ("default_no_wait", Kind.BEHAVIOUR, "run-waits-by-default"),
        ("no_wait_waits", Kind.BEHAVIOUR, "run-no-wait"),
        ("webhook_twice", Kind.BEHAVIOUR, "one-webhook"),
        ("webhook_bad_payload", Kind.WEBHOOK_PAYLOAD, "$.updated_at"),
        ("text_errors", Kind.UNDOCUMENTED_CONTENT_TYPE, "text/plain"),
        ("bad_timestamp", Kind.FORMAT_MISMATCH, "$.created_at"),
        ("session_id_changes", Kind.BEHAVIOUR, "session-continue"),
        ("isolation_broken", Kind.BEHAVIOUR, "task-isolation"),
        ("failed_without_error", Kind.BEHAVIOUR, "failed-has-error"),
    ],
)
def test_seeded_bug_shows_as_drift(bug: str, kind: Kind, detail: str) -> None:
    findings = diff(SPEC, run_probe(bugs=frozenset({bug})).observations)
    details = {d for f in findings if f.kind is kind for d in (f.rule, f.observed, f.location.json_path)}
    assert detail in details, [f.title for f in findings]
