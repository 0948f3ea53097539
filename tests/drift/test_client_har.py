"""The official Python client, talking to the mock's ``wire`` profile through a recording proxy: the HAR
it leaves behind, diffed against the spec, names the undocumented endpoints and shapes it used.

``RecordingProxy`` is a small reverse proxy on 127.0.0.1 that forwards every request to the mock and
writes each exchange as a HAR 1.2 entry, like a browser's or a debugging proxy's capture. The
committed sample ``fixtures/drift/official-client-wire.har`` was recorded the same way
(``python tests/test_drift_client_har.py OUT.har``).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import pytest

from infsh_harness.drift.diff import diff
from infsh_harness.drift.har import load_har
from infsh_harness.drift.model import Kind
from infsh_harness.spec import load_spec

pytestmark = pytest.mark.timeout(60)

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-encoding", "content-length", "host"}


class RecordingProxy:
    """``with RecordingProxy(upstream) as proxy:`` send requests to ``proxy.url``; ``proxy.har()`` after."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.entries: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._client = httpx.Client(timeout=30.0)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def har(self) -> dict[str, Any]:
        with self._lock:
            entries = list(self.entries)
        return {
            "log": {
                "version": "1.2",
                "creator": {"name": "infsh-harness test proxy", "version": "1"},
                "entries": entries,
            }
        }

    def _record(
        self,
        method: str,
        path: str,
        headers: list[tuple[str, str]],
        body: bytes,
        response: httpx.Response,
        started: float,
    ) -> None:
        request: dict[str, Any] = {
            "method": method,
            "url": self.url + path,
            "httpVersion": "HTTP/1.1",
            "headers": [{"name": k, "value": v} for k, v in headers],
            "queryString": [],
            "cookies": [],
            "headersSize": -1,
            "bodySize": len(body),
        }
        if body:
            request["postData"] = {
                "mimeType": dict((k.lower(), v) for k, v in headers).get("content-type", ""),
                "text": body.decode("utf-8", "replace"),
            }
        entry = {
            "startedDateTime": datetime.fromtimestamp(started, UTC).isoformat(),
            "time": round((time.time() - started) * 1000, 2),
            "request": request,
            "response": {
                "status": response.status_code,
                "statusText": response.reason_phrase,
                "httpVersion": "HTTP/1.1",
                "headers": [
                    {"name": k, "value": v}
                    for k, v in response.headers.items()
                    if k.lower() not in _HOP_BY_HOP
                ],
                "cookies": [],
                "content": {
                    "size": len(response.content),
                    "mimeType": response.headers.get("content-type", ""),
                    "text": response.text,
                },
                "redirectURL": "",
                "headersSize": -1,
                "bodySize": len(response.content),
            },
            "cache": {},
            "timings": {"send": 0, "wait": 0, "receive": 0},
        }
        with self._lock:
            self.entries.append(entry)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                started = time.time()
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = [(k, v) for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP]
                response = proxy._client.request(
                    self.command, proxy.upstream + self.path, headers=headers, content=body or None
                )
                proxy._record(self.command, self.path, list(self.headers.items()), body, response, started)
                self.send_response(response.status_code)
                for name, value in response.headers.items():
                    if name.lower() not in _HOP_BY_HOP:
                        self.send_header(name, value)
                self.send_header("content-length", str(len(response.content)))
                self.end_headers()
                self.wfile.write(response.content)

            do_GET = do_POST = do_DELETE = do_PUT = _forward  # noqa: N815 - http.server's names

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        return Handler

    def __enter__(self) -> RecordingProxy:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._client.close()


def drive_official_client(base_url: str) -> None:
    """What an application does with the official client: run and wait, run and poll, cancel, sessions."""
    from inferencesh import Inference
    from inferencesh.models.errors import APIError

    client = Inference(api_key="inf_test_key", base_url=base_url)
    client.run({"app": "infsh/echo", "input": {"prompt": "a sunset"}})
    task = client.run({"app": "infsh/sleep", "input": {"seconds": 5}}, wait=False)
    assert isinstance(task, dict)
    client.get_task(task["id"])
    client.cancel(task["id"])
    cancelling = client.tasks.get(task["id"]).data["status"]
    for _ in range(30):  # poll until the cancel has settled, as an application would (bounded)
        if client.get_task(task["id"]).data["status"] != cancelling:
            break
        time.sleep(0.1)
    with pytest.raises(APIError):
        client.get_task("z" * len(task["id"]))
    with client.session("infsh/echo", input={"step": 1}) as session:
        session.call(input={"step": 2})
        session.keepalive()


def record_wire_har(out: Path) -> None:
    from infsh_harness.mock.config import MockConfig
    from infsh_harness.mock.server import serve_in_thread

    with (
        serve_in_thread(profile="wire", config=MockConfig(profile="wire", heartbeat_s=1.0)) as wire_url,
        RecordingProxy(wire_url) as proxy,
    ):
        drive_official_client(proxy.url)
        out.write_text(json.dumps(proxy.har(), indent=1) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def recorded_har(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with pytest.MonkeyPatch.context() as mp:  # the client's HTTP stack may honour proxy settings
        mp.setenv("NO_PROXY", "127.0.0.1,localhost")
        mp.setenv("no_proxy", "127.0.0.1,localhost")
        path = tmp_path_factory.mktemp("har") / "official-client-wire.har"
        record_wire_har(path)
        yield path


def test_official_client_har_reports_its_undocumented_endpoints(recorded_har: Path) -> None:
    spec = load_spec()
    har = load_har(recorded_har, spec)
    assert len(har.observations) >= 6
    findings = diff(spec, har.observations)
    undocumented = {f.location.endpoint for f in findings if f.kind is Kind.UNDOCUMENTED_OPERATION}
    assert undocumented == {"POST /apps/run"}
    # the stream and the session endpoints it calls are documented: their drift is of shape
    documented = {(f.kind, f.location.operation) for f in findings}
    assert (Kind.UNDOCUMENTED_CONTENT_TYPE, "streamTask") in documented


def test_official_client_har_reports_the_shapes_of_documented_endpoints(recorded_har: Path) -> None:
    spec = load_spec()
    findings = diff(spec, load_har(recorded_har, spec).observations)
    kinds = {(f.kind, f.location.operation, f.location.json_path) for f in findings}
    # the client sends no X-API-Version: version 1's envelope, which its `{success, data, messages}` is
    # short of a `status`, and version 1's errors, which its problem+json is not
    assert (Kind.MISSING_FIELD, "getTask", "$.status") in kinds
    assert (Kind.MISSING_FIELD, "cancelTask", "$.status") in kinds
    assert (Kind.UNDOCUMENTED_FIELD, "getTask", "$.messages") in kinds
    assert any(f.kind is Kind.VERSION_SHAPE and f.location.operation == "getTask" for f in findings)
    assert any(f.kind is Kind.MISSING_FIELD and f.location.json_path == "$.error" for f in findings)
    assert any(f.kind is Kind.ENUM_VIOLATION and f.location.json_path == "$.data.status" for f in findings)
    fields = {f.location.json_path for f in findings if f.kind is Kind.UNDOCUMENTED_FIELD}
    assert {"$.data.short_id", "$.data.status_text", "$.data.updated_at"} <= fields
    assert "inf_test_key" not in json.dumps([f.to_dict() for f in findings])


if __name__ == "__main__":  # re-record the committed sample: python tests/test_drift_client_har.py OUT.har
    record_wire_har(Path(sys.argv[1]))
