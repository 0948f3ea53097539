"""``Observation``: one normalised exchange from httpx, HAR entries and a webhook receiver, keys redacted."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from infsh_harness.http.observation import REDACTED, Observation, is_json_media_type, redact_text

KEY = "inf_live_0123456789abcdef"


def _exchange(handler: Any, request: httpx.Request) -> httpx.Response:
    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        return client.send(request)


def test_from_httpx_reads_both_halves_and_redacts_the_key() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"id": "t1", "echo": KEY}, headers={"x-request-id": "r1"})

    request = httpx.Request(
        "POST",
        f"https://api.example.test/v1/run?wait=false&key={KEY}",
        json={"app": "infsh/echo", "input": {"k": KEY}},
        headers={"Authorization": f"Bearer {KEY}"},
    )
    obs = Observation.from_httpx(
        _exchange(handler, request), base_url="https://api.example.test/v1", scenario="s"
    )
    assert (obs.method, obs.path, obs.status_code, obs.scenario) == ("POST", "/run", 200, "s")
    assert obs.query == {"wait": "false", "key": REDACTED}
    assert obs.request_headers["authorization"] == f"Bearer {REDACTED}"
    assert obs.request_body == {"app": "infsh/echo", "input": {"k": REDACTED}} and obs.request_body_is_json
    assert obs.body == {"id": "t1", "echo": REDACTED} and obs.body_is_json
    assert obs.content_type == "application/json" and obs.response_headers["x-request-id"] == "r1"
    assert KEY not in json.dumps(obs.evidence())


def test_from_httpx_keeps_text_and_problem_json_apart() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/text":
            return httpx.Response(
                404, text="not found", headers={"content-type": "text/plain; charset=utf-8"}
            )
        return httpx.Response(
            404, content=b'{"type": "x/not_found"}', headers={"content-type": "application/problem+json"}
        )

    text = Observation.from_httpx(_exchange(handler, httpx.Request("GET", "http://h/text")))
    assert (text.content_type, text.body, text.body_is_json) == ("text/plain", "not found", False)
    problem = Observation.from_httpx(_exchange(handler, httpx.Request("GET", "http://h/problem")))
    assert (problem.content_type, problem.body, problem.body_is_json) == (
        "application/problem+json",
        {"type": "x/not_found"},
        True,
    )


def test_invalid_json_is_kept_as_text() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b'{"id": ', headers={"content-type": "application/json"})

    obs = Observation.from_httpx(_exchange(handler, httpx.Request("GET", "http://h/tasks/1")))
    assert (obs.body, obs.body_is_json) == ('{"id": ', False)


def test_empty_bodies_are_none() -> None:
    obs = Observation.from_httpx(_exchange(lambda r: httpx.Response(204), httpx.Request("GET", "http://h/x")))
    assert obs.body is None and not obs.has_body and obs.request_body is None


def _har_entry(**response: Any) -> dict[str, Any]:
    return {
        "startedDateTime": "2026-01-01T00:00:00Z",
        "time": 12.5,
        "request": {
            "method": "post",
            "url": f"http://127.0.0.1:8080/run?token={KEY}",
            "headers": [
                {"name": "Authorization", "value": f"Bearer {KEY}"},
                {"name": "Content-Type", "value": "application/json"},
            ],
            "postData": {"mimeType": "application/json", "text": json.dumps({"app": "a", "input": {}})},
        },
        "response": {
            "status": 200,
            "headers": [
                {"name": "Content-Type", "value": "application/json"},
                {"name": "Set-Cookie", "value": "s=1"},
            ],
            "content": {"mimeType": "application/json", "text": '{"id": "t1"}'},
            **response,
        },
    }


def test_from_har_entry_normalises_and_redacts() -> None:
    obs = Observation.from_har_entry(_har_entry(), source="har:x.har")
    assert (obs.method, obs.path, obs.status_code, obs.elapsed_ms, obs.source) == (
        "POST",
        "/run",
        200,
        12.5,
        "har:x.har",
    )
    assert obs.body == {"id": "t1"} and obs.request_body == {"app": "a", "input": {}}
    assert obs.request_headers["authorization"] == f"Bearer {REDACTED}"
    assert obs.response_headers["set-cookie"] == REDACTED
    assert KEY not in obs.url


def test_from_har_entry_decodes_base64_and_notices_truncation() -> None:
    text = base64.b64encode(b'{"id": "t1", "status"').decode()
    content = {
        "mimeType": "application/json",
        "text": text,
        "encoding": "base64",
        "comment": "Body truncated: 20 of 400 bytes recorded",
    }
    obs = Observation.from_har_entry(_har_entry(content=content))
    assert obs.body == '{"id": "t1", "status"' and obs.body_truncated and not obs.body_is_json


def test_a_har_body_left_out_of_the_capture_counts_as_truncated() -> None:
    obs = Observation.from_har_entry(_har_entry(content={"mimeType": "application/json", "size": 812}))
    assert obs.body is None and obs.body_truncated


def test_from_har_entry_refuses_an_entry_without_a_request() -> None:
    with pytest.raises(ValueError, match="request and a response"):
        Observation.from_har_entry({"response": {"status": 200}})


def test_from_received_keeps_the_webhook_payload_as_the_request() -> None:
    obs = Observation.from_received(
        method="post",
        url="http://127.0.0.1:5/hook",
        headers=[("Content-Type", "application/json")],
        body=b'{"id": "t1", "status": 9}',
        status_code=200,
        operation_id="taskCompleted",
    )
    assert obs.request_body == {"id": "t1", "status": 9} and obs.request_body_is_json
    assert (obs.request_content_type, obs.operation_id, obs.body) == (
        "application/json",
        "taskCompleted",
        None,
    )


def test_redact_is_idempotent_and_leaves_other_text_alone() -> None:
    assert redact_text("infra infsh/echo inf_abc-1_2 x") == f"infra infsh/echo {REDACTED} x"
    obs = Observation.from_har_entry(_har_entry())
    assert obs.redact() == obs


def test_tagged_sets_scenario_and_operation() -> None:
    obs = Observation.from_har_entry(_har_entry()).tagged(scenario="run-default-wait", operation_id="runTask")
    assert (obs.scenario, obs.operation_id) == ("run-default-wait", "runTask")


def test_evidence_drops_transport_noise_and_clips_bodies() -> None:
    entry = _har_entry(content={"mimeType": "application/json", "text": json.dumps({"blob": "x" * 10_000})})
    entry["response"]["headers"].append({"name": "Date", "value": "today"})
    evidence = Observation.from_har_entry(entry).evidence()
    assert "date" not in evidence["response"]["headers"]
    assert len(evidence["response"]["body"]) < 5000 and "more characters" in evidence["response"]["body"]


@pytest.mark.parametrize(
    ("media", "is_json"),
    [
        ("application/json", True),
        ("application/problem+json", True),
        ("application/x-ndjson", False),
        ("text/plain", False),
    ],
)
def test_is_json_media_type(media: str, is_json: bool) -> None:
    assert is_json_media_type(media) is is_json
