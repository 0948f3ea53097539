"""Reading the documented profile's answers in either API version, as the REST overview gives them.

Version 1 (no ``X-API-Version``): ``{"success": true, "status": 200, "data": …}`` and
``{"success": false, "status", "error": {"code", "message"}}`` (``Error``); version 2
(``X-API-Version: 2``): the bare object and RFC 9457 problems (``Problem``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import orjson

from infsh_harness.spec import load_spec

__all__ = ["V2", "data_of", "error_body", "error_of", "version_of"]

SPEC = load_spec()
V2 = {"X-API-Version": "2"}


def version_of(request_headers: Mapping[str, str]) -> str:
    return "2" if request_headers.get("x-api-version", "").strip() == "2" else "1"


def error_body(
    version: str, status: int, content_type: str, body: bytes, code: str | None = None, reason: str | None = None
) -> dict[str, Any]:
    """The error body of ``version``, checked against the spec's ``Error`` or ``Problem``."""
    data: dict[str, Any] = orjson.loads(body)
    if version == "2":
        assert content_type == "application/problem+json", content_type
        assert SPEC.validate("Problem", data) == [], data
        assert data["status"] == status and data["title"]
        got, message = data["type"].rsplit("/", 1)[-1], data["detail"]
    else:
        assert content_type == "application/json", content_type
        assert SPEC.validate("Error", data) == [], data
        assert set(data) == {"success", "status", "error"} and data["status"] == status
        got, message = data["error"]["code"], data["error"]["message"]
    assert isinstance(message, str) and message
    if code is not None:
        assert got == code, data
    if reason is not None:
        assert reason in message, data
    return data


def error_of(
    response: httpx.Response, status: int, code: str | None = None, reason: str | None = None
) -> dict[str, Any]:
    """``response`` is the error ``status`` (with ``code``) in the version its request asked for."""
    assert response.status_code == status, response.text
    version = version_of(response.request.headers)
    return error_body(version, status, response.headers["content-type"], response.content, code, reason)


def data_of(response: httpx.Response, status: int = 200) -> Any:
    """The object a success answer carries: version 1's ``data``, or version 2's bare body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    if version_of(response.request.headers) == "2":
        assert not (isinstance(body, dict) and set(body) >= {"success", "data"}), body
        return body
    assert set(body) == {"success", "status", "data"} and body["success"] is True and body["status"] == status, body
    return body["data"]
