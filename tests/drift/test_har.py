"""HAR files as observations, request paths matched to operations, and the committed client capture."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infsh_harness.drift.diff import diff
from infsh_harness.drift.har import HarError, load_har
from infsh_harness.drift.match import match
from infsh_harness.drift.model import Kind
from infsh_harness.spec import load_spec

SPEC = load_spec()
FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "drift" / "official-client-wire.har"


# --- matching -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path", "operation", "template"),
    [
        ("POST", "/run", "runTask", "/run"),
        ("GET", "/tasks/2khet8d1p6z26krbtvn9d7rkth", "getTask", "/tasks/{id}"),
        ("POST", "/tasks/task_abc123/cancel", "cancelTask", "/tasks/{id}/cancel"),
        ("DELETE", "/tasks/task_abc123", None, "/tasks/{id}"),
        ("GET", "/tasks/2khet8d1p6z26krbtvn9d7rkth/status", None, "/tasks/{id}/status"),
        ("POST", "/apps/run", None, "/apps/run"),
        ("POST", "/sessions/sess_9d1rrfhv/keepalive", "keepaliveSession", "/sessions/{id}/keepalive"),
        ("DELETE", "/sessions/sess_9d1rrfhv", "endSession", "/sessions/{id}"),
        ("GET", "/tasks/2khet8d1p6z26krbtvn9d7rkth/stream", "streamTask", "/tasks/{id}/stream"),
        ("GET", "/v2/things/123", None, "/v2/things/{id}"),
    ],
)
def test_match(method: str, path: str, operation: str | None, template: str) -> None:
    found = match(SPEC, method, path)
    assert (found.operation_id, found.template) == (operation, template)
    assert found.path_documented is (template in SPEC.document["paths"])


# --- loading ------------------------------------------------------------------------------------
def _entry(url: str, status: int = 200, body: Any = None, auth: bool = True) -> dict[str, Any]:
    headers = [{"name": "Authorization", "value": "Bearer inf_test_key"}] if auth else []
    return {
        "request": {"method": "GET", "url": url, "headers": headers},
        "response": {
            "status": status,
            "headers": [{"name": "content-type", "value": "application/json"}],
            "content": {"mimeType": "application/json", "text": json.dumps(body or {})},
        },
    }


def _write(tmp_path: Path, entries: list[dict[str, Any]]) -> Path:
    path = tmp_path / "capture.har"
    path.write_text(json.dumps({"log": {"version": "1.2", "entries": entries}}))
    return path


def test_a_browser_capture_keeps_only_the_api(tmp_path: Path) -> None:
    har = _write(
        tmp_path,
        [
            _entry("https://app.example.test/index.html", auth=False),
            _entry("https://cdn.example.test/app.js", auth=False),
            _entry("https://api.example.test/tasks/abc"),
            _entry("https://api.example.test/apps/run", auth=False),
            {
                "request": {"method": "GET", "url": "https://api.example.test/tasks/x"},
                "response": {"status": 0},
            },
        ],
    )
    result = load_har(har, SPEC)
    assert [o.path for o in result.observations] == ["/tasks/abc", "/apps/run"]
    assert any("no answer" in n for n in result.notes) and any("not the API" in n for n in result.notes)


def test_a_base_url_selects_entries_under_it_and_strips_its_path(tmp_path: Path) -> None:
    har = _write(
        tmp_path, [_entry("https://gw.example.test/api/tasks/abc"), _entry("https://gw.example.test/other")]
    )
    result = load_har(har, SPEC, base_url="https://gw.example.test/api")
    assert [o.path for o in result.observations] == ["/tasks/abc"]
    assert match(SPEC, "GET", result.observations[0].path).operation_id == "getTask"


def test_har_keys_are_redacted_on_load(tmp_path: Path) -> None:
    result = load_har(_write(tmp_path, [_entry("https://api.example.test/tasks/abc")]), SPEC)
    assert result.observations[0].request_headers["authorization"] == "Bearer [REDACTED]"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not JSON"),
        ('{"log": {}}', "not a HAR file"),
        ("[]", "not a HAR file"),
    ],
)
def test_bad_har_files_are_refused(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.har"
    path.write_text(text)
    with pytest.raises(HarError, match=message):
        load_har(path, SPEC)


def test_a_missing_har_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(HarError, match="cannot read"):
        load_har(tmp_path / "nope.har", SPEC)


# --- the committed capture of the official client against the wire profile ------------------------
def test_committed_client_capture_reports_undocumented_endpoints_and_shapes() -> None:
    result = load_har(FIXTURE, SPEC)
    findings = diff(SPEC, result.observations)
    undocumented = {f.location.endpoint for f in findings if f.kind is Kind.UNDOCUMENTED_OPERATION}
    assert undocumented == {"POST /apps/run"}  # the stream and the session endpoints are documented now
    by_kind = {f.kind for f in findings}
    assert {
        Kind.VERSION_SHAPE,
        Kind.UNDOCUMENTED_FIELD,
        Kind.UNDOCUMENTED_CONTENT_TYPE,
        Kind.UNDOCUMENTED_STATUS,
        Kind.MISSING_FIELD,
    } <= by_kind
    where = {(f.kind, f.location.operation) for f in findings}
    # the client sends no X-API-Version: a problem+json error is version 2's, its envelope lacks `status`
    assert (Kind.VERSION_SHAPE, "getTask") in where and (Kind.MISSING_FIELD, "getTask") in where
    assert (Kind.UNDOCUMENTED_CONTENT_TYPE, "streamTask") in where  # JSON lines, not text/event-stream
    assert (Kind.UNDOCUMENTED_STATUS, "endSession") in where  # 200 with a body, not 204
    statuses = {f.observed for f in findings if f.kind is Kind.ENUM_VIOLATION}
    assert "12" in statuses  # production's Cancelled is outside the documented codes
    assert all("inf_test_key" not in json.dumps(f.to_dict()) for f in findings)
    assert all(f.sources == ("har:official-client-wire.har",) for f in findings)
