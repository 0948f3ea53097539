"""One normalised HTTP exchange, whatever recorded it.

The drift probe (httpx), HAR files (schemathesis ``--report har``, browsers, proxies) and the
webhook receiver all turn what they saw into an :class:`Observation` at the boundary; nothing past
this module knows where an exchange came from. Every constructor redacts API keys before the
observation exists (with :mod:`infsh_harness.redact`: by their shape, and by the values a caller
passes as ``secrets``), so no report, evidence or message can carry one.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from infsh_harness.redact import REDACTED, redact_text, redact_value

__all__ = ["REDACTED", "Observation", "is_json_media_type", "redact_text"]

_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"})
_EVIDENCE_BODY_LIMIT = 4000
# transport detail that says nothing about the contract, left out of evidence
_NOISE_HEADERS = frozenset(
    {
        "host",
        "connection",
        "accept-encoding",
        "content-length",
        "date",
        "server",
        "keep-alive",
        "transfer-encoding",
    }
)


def is_json_media_type(media_type: str) -> bool:
    """``application/json`` and every ``+json`` type (``application/problem+json``...)."""
    return media_type == "application/json" or media_type.endswith("+json")


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _redact_header(name: str, value: str, secrets: tuple[str, ...]) -> str:
    if name not in _SECRET_HEADERS:
        return redact_text(value, secrets)
    scheme, _, credential = value.partition(" ")
    # keep the scheme ("Bearer") so a reader can still tell which auth was sent
    return f"{scheme} {REDACTED}" if credential and name.endswith("authorization") else REDACTED


def _headers(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    merged: dict[str, str] = {}
    for name, value in pairs:
        key = name.lower()
        merged[key] = f"{merged[key]}, {value}" if key in merged else value
    return merged


def _decode_body(raw: bytes | str | None, media_type: str) -> tuple[Any, bool]:
    """``(body, is_json)``: parsed JSON when the media type says JSON (or is absent) and it parses."""
    if raw is None or raw == b"" or raw == "":
        return None, False
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    if is_json_media_type(media_type) or not media_type:
        try:
            return json.loads(text), True
        except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser goes: text
            pass
    return text, False


def _relative_path(url: str, base_url: str | None) -> str:
    path = urlsplit(url).path or "/"
    if base_url:
        base_path = urlsplit(base_url).path.rstrip("/")
        if base_path and (path == base_path or path.startswith(base_path + "/")):
            path = path[len(base_path) :] or "/"
    return path.rstrip("/") if len(path) > 1 else path


@dataclass(frozen=True)
class Observation:
    """A request and its answer, with keys redacted.

    ``body`` is the parsed JSON when ``body_is_json``, else the text (``None`` when empty); the
    same holds for ``request_body`` and ``request_body_is_json``. ``path`` is relative to the API's
    base URL. For a webhook the interesting half is the request (the payload the server POSTed);
    the response is the receiver's own answer.
    """

    method: str
    url: str
    path: str
    status_code: int
    request_headers: Mapping[str, str] = field(default_factory=dict)
    request_body: Any = None
    request_body_is_json: bool = False
    response_headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str = ""
    body: Any = None
    body_is_json: bool = False
    body_truncated: bool = False
    elapsed_ms: float | None = None
    scenario: str | None = None
    operation_id: str | None = None
    source: str = ""

    # --- derived ------------------------------------------------------------------------------
    @property
    def query(self) -> dict[str, str]:
        return dict(parse_qsl(urlsplit(self.url).query, keep_blank_values=True))

    @property
    def request_content_type(self) -> str:
        return _media_type(self.request_headers.get("content-type"))

    @property
    def has_body(self) -> bool:
        return self.body is not None

    def tagged(self, *, scenario: str | None = None, operation_id: str | None = None) -> Observation:
        """A copy carrying a scenario tag and/or the operation it exercised."""
        return dataclasses.replace(
            self,
            scenario=scenario if scenario is not None else self.scenario,
            operation_id=operation_id if operation_id is not None else self.operation_id,
        )

    # --- redaction and evidence ---------------------------------------------------------------
    def redact(self, secrets: Iterable[str] = ()) -> Observation:
        """A copy with bearer keys (and ``secrets``) removed from headers, the URL and both bodies (idempotent)."""
        secrets = tuple(secrets)
        return dataclasses.replace(
            self,
            url=redact_text(self.url, secrets),
            path=redact_text(self.path, secrets),
            request_headers={k: _redact_header(k, v, secrets) for k, v in self.request_headers.items()},
            response_headers={k: _redact_header(k, v, secrets) for k, v in self.response_headers.items()},
            request_body=redact_value(self.request_body, secrets),
            body=redact_value(self.body, secrets),
        )

    def evidence(self) -> dict[str, Any]:
        """The exchange as a small JSON-ready dict (bodies cut to a few KB)."""
        return {
            "source": self.source,
            "scenario": self.scenario,
            "request": {
                "method": self.method,
                "url": self.url,
                "headers": _evidence_headers(self.request_headers),
                "body": _clip(self.request_body),
            },
            "response": {
                "status": self.status_code,
                "content_type": self.content_type,
                "headers": _evidence_headers(self.response_headers),
                "body": _clip(self.body),
            },
        }

    # --- constructors -------------------------------------------------------------------------
    @classmethod
    def from_httpx(
        cls,
        response: httpx.Response,
        *,
        base_url: str | None = None,
        scenario: str | None = None,
        operation_id: str | None = None,
        source: str = "probe",
        secrets: Iterable[str] = (),
    ) -> Observation:
        """From a read httpx response (its ``request`` included)."""
        request = response.request
        media = _media_type(response.headers.get("content-type"))
        body, is_json = _decode_body(response.content, media)
        request_media = _media_type(request.headers.get("content-type"))
        try:
            request_raw: bytes | None = request.content
        except httpx.RequestNotRead:
            request_raw = None
        request_body, request_is_json = _decode_body(request_raw, request_media)
        try:
            elapsed_ms: float | None = response.elapsed.total_seconds() * 1000
        except RuntimeError:
            elapsed_ms = None
        url = str(request.url)
        return cls(
            method=request.method.upper(),
            url=url,
            path=_relative_path(url, base_url),
            status_code=response.status_code,
            request_headers=_headers(request.headers.multi_items()),
            request_body=request_body,
            request_body_is_json=request_is_json,
            response_headers=_headers(response.headers.multi_items()),
            content_type=media,
            body=body,
            body_is_json=is_json,
            elapsed_ms=elapsed_ms,
            scenario=scenario,
            operation_id=operation_id,
            source=source,
        ).redact(secrets)

    @classmethod
    def from_har_entry(
        cls, entry: Mapping[str, Any], *, base_url: str | None = None, source: str = "har"
    ) -> Observation:
        """From one HAR 1.2 ``log.entries`` item; ``ValueError`` if it lacks a request or response."""
        request = entry.get("request")
        response = entry.get("response")
        if not isinstance(request, Mapping) or not isinstance(response, Mapping):
            raise ValueError("a HAR entry needs a request and a response object")
        url = str(request.get("url", ""))
        if not url:
            raise ValueError("a HAR request needs a url")
        request_headers = _headers(_har_records(request.get("headers")))
        post = _mapping(request.get("postData"))
        request_media = _media_type(post.get("mimeType") or request_headers.get("content-type"))
        request_body, request_is_json = _decode_body(post.get("text"), request_media)
        content = _mapping(response.get("content"))
        response_headers = _headers(_har_records(response.get("headers")))
        media = _media_type(response_headers.get("content-type") or content.get("mimeType"))
        raw: bytes | str | None = content.get("text")
        if isinstance(raw, str) and content.get("encoding") == "base64":
            raw = base64.b64decode(raw, validate=False)
        body, is_json = _decode_body(raw, media)
        comment = str(content.get("comment") or "")
        time_ms = entry.get("time")
        return cls(
            method=str(request.get("method", "GET")).upper(),
            url=url,
            path=_relative_path(url, base_url),
            status_code=int(response.get("status", 0)),
            request_headers=request_headers,
            request_body=request_body,
            request_body_is_json=request_is_json,
            response_headers=response_headers,
            content_type=media,
            body=body,
            body_is_json=is_json,
            # a capture that left the body out (binary, too large) must not read as an empty body
            body_truncated="truncated" in comment.lower() or (raw is None and bool(content.get("size"))),
            elapsed_ms=float(time_ms) if isinstance(time_ms, int | float) else None,
            source=source,
        ).redact()

    @classmethod
    def from_received(
        cls,
        *,
        method: str,
        url: str,
        headers: Iterable[tuple[str, str]],
        body: bytes,
        status_code: int,
        scenario: str | None = None,
        operation_id: str | None = None,
        source: str = "webhook",
        secrets: Iterable[str] = (),
    ) -> Observation:
        """From a request a local receiver got (a webhook) and the status it answered."""
        request_headers = _headers(headers)
        request_body, request_is_json = _decode_body(body, _media_type(request_headers.get("content-type")))
        return cls(
            method=method.upper(),
            url=url,
            path=_relative_path(url, None),
            status_code=status_code,
            request_headers=request_headers,
            request_body=request_body,
            request_body_is_json=request_is_json,
            scenario=scenario,
            operation_id=operation_id,
            source=source,
        ).redact(secrets)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _har_records(records: Any) -> list[tuple[str, str]]:
    if not isinstance(records, list):
        return []
    return [
        (str(r["name"]), str(r.get("value", ""))) for r in records if isinstance(r, Mapping) and "name" in r
    ]


def _evidence_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k not in _NOISE_HEADERS}


def _clip(body: Any) -> Any:
    if body is None:
        return None
    text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
    if len(text) <= _EVIDENCE_BODY_LIMIT:
        return body
    return text[:_EVIDENCE_BODY_LIMIT] + f"... [{len(text) - _EVIDENCE_BODY_LIMIT} more characters]"
