"""The REST overview's two response formats, and its error model: which version an answer has, and
the rules about both (``version-shape``, ``version-same-fields``, ``error-shape``,
``problem-type-code``, ``error-code-status``, ``error-body-status``, ``webhook-unversioned``).

Version 1 (no ``X-API-Version``) wraps a success as ``{"success": true, "status": 200, "data": ...}``
and an error as ``{"success": false, "status", "error": {"code", "message"}}``; version 2 answers
the bare object and RFC 9457 ``application/problem+json``. A server that answers one version only
(it ignores the header, or answers version 1 requests as version 2) does not *speak* the other:
:func:`spoken_versions` reads which versions a server was seen to speak, from answers that had the
shape their request asked for, and the checks of a version it does not speak do not apply (the
suite reports them ``unchecked``, never broken).

The decisions on plain values come first (``success_shape``, ``error_shape``, ``error_code``,
``type_code``, ``code_status_matches``, ``body_status_matches``, ``differing_fields``), then the
checks over observations, which answer ``False`` when an exchange says nothing about their rule,
``True`` when it held, and raise :class:`~infsh_harness.rules.violation.ContractViolation` when it
is broken.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

from infsh_harness.http.observation import Observation
from infsh_harness.rules.exchange import applies, is_success, operation_of, request_version, unwrapped
from infsh_harness.rules.predicates import is_whole_status, media_type
from infsh_harness.rules.responses import same_value
from infsh_harness.rules.violation import violation
from infsh_harness.spec import API_VERSIONS, Spec

__all__ = [
    "PROBLEM_MEDIA_TYPE",
    "body_status_matches",
    "check_error_body_status",
    "check_error_code_status",
    "check_error_shape",
    "check_problem_type_code",
    "check_same_fields",
    "check_version_shape",
    "check_webhook_unversioned",
    "code_status_matches",
    "differing_fields",
    "documented_codes",
    "error_code",
    "error_shape",
    "is_error",
    "not_spoken_reason",
    "spoken_versions",
    "success_shape",
    "type_code",
    "version_label",
]

PROBLEM_MEDIA_TYPE = "application/problem+json"
_PROBLEM_FIELDS = ("type", "title", "status", "detail")


# --- decisions on plain values ---------------------------------------------------------------------
def success_shape(body: Any) -> str | None:
    """``"1"`` for version 1's success envelope (``success: true``, a ``status``, ``data``), ``"2"``
    for any other JSON object or array (the bare resource: a task, or the list of sessions), ``None``
    for anything else."""
    if isinstance(body, list):
        return "2"
    if not isinstance(body, Mapping):
        return None
    if body.get("success") is True and "data" in body and "status" in body:
        return "1"
    return "2"


def error_shape(body: Any, media: str) -> str | None:
    """``"2"`` for an RFC 9457 problem (``application/problem+json``, or the four fields of one),
    ``"1"`` for version 1's wrapper (``success: false`` and an ``error`` object), ``None`` for neither."""
    if not isinstance(body, Mapping):
        return None
    if media == PROBLEM_MEDIA_TYPE or all(name in body for name in _PROBLEM_FIELDS):
        return "2"
    if body.get("success") is False and isinstance(body.get("error"), Mapping):
        return "1"
    return None


def type_code(type_uri: Any) -> str | None:
    """The last path segment of a problem's ``type`` (``not_found`` of ``.../errors/not_found``)."""
    if not isinstance(type_uri, str) or not type_uri.strip():
        return None
    path = type_uri.split("#", 1)[0].split("?", 1)[0].rstrip("/")
    segment = path.rsplit("/", 1)[-1]
    return segment or None


def error_code(body: Any) -> str | None:
    """The error code an error body gives: ``error.code`` (version 1, and the overview's earlier
    ``{"error": {"code", "message"}}``), or the last segment of a problem's ``type`` (version 2)."""
    if not isinstance(body, Mapping):
        return None
    error = body.get("error")
    if isinstance(error, Mapping) and isinstance(error.get("code"), str) and error["code"]:
        return str(error["code"])
    return type_code(body.get("type")) if "type" in body else None


def code_status_matches(code: str | None, status: int, codes: Mapping[str, int]) -> bool:
    """error-code-status: a documented code comes with its status (an undocumented code says nothing)."""
    return code is None or code not in codes or codes[code] == status


def body_status_matches(body_status: Any, status: int) -> bool:
    """error-body-status: the body's ``status`` is the answer's (9 and 9.0 alike)."""
    return is_whole_status(body_status) == status


def differing_fields(
    first: Mapping[str, Any], second: Mapping[str, Any], same: Callable[[str, Any, Any], bool]
) -> list[str]:
    """The fields one object has and the other lacks, or that both have with values ``same`` tells apart."""
    names = sorted(set(first) | set(second))
    return [n for n in names if n not in first or n not in second or not same(n, first[n], second[n])]


def version_label(version: str) -> str:
    return "version 1 (no X-API-Version)" if version == "1" else f"version {version} (X-API-Version: {version})"


# --- which versions a server speaks ----------------------------------------------------------------
def is_error(obs: Observation) -> bool:
    return obs.status_code >= 400 and obs.source != "webhook"


def _answered_version(spec: Spec, obs: Observation) -> str | None:
    """The version an answer of a documented operation is shaped as (``None``: not one of them)."""
    operation_id = operation_of(spec, obs)
    if operation_id is None or obs.source == "webhook" or not obs.body_is_json:
        return None
    if is_error(obs):
        return error_shape(obs.body, media_type(obs.content_type))
    if is_success(obs) and _documents_both(spec, operation_id, obs.status_code):
        return success_shape(obs.body)
    return None


def _documents_both(spec: Spec, operation_id: str, status: int) -> bool:
    branches = {spec.version_schema_name(operation_id, str(status), v) for v in API_VERSIONS}
    return None not in branches and len(branches) == len(API_VERSIONS)


def spoken_versions(spec: Spec, observations: Iterable[Observation]) -> frozenset[str]:
    """The API versions the server was seen to speak: those a request asked for and got the shape
    of (a version 1 request answered wrapped, a version 2 one bare or as a problem)."""
    return frozenset(
        version
        for obs in observations
        if (version := request_version(obs)) is not None and _answered_version(spec, obs) == version
    )


def not_spoken_reason(version: str, spoken: Collection[str]) -> str:
    """Why the rules of ``version`` could not be checked on a server that does not speak it."""
    if not spoken:
        return f"the server answered no request in the shape of its version: {version_label(version)} not judged"
    others = " and ".join(version_label(v) for v in sorted(spoken))
    return f"the server does not speak {version_label(version)}: it answered only as {others}"


# --- checks over observations ---------------------------------------------------------------------
def check_version_shape(spec: Spec, obs: Observation, spoken: Collection[str]) -> bool:
    """version-shape: a success answers the shape of its request's version, on a server that speaks it."""
    operation_id = operation_of(spec, obs) if applies(spec, "version-shape", obs) else None
    version = request_version(obs)
    if operation_id is None or version is None or version not in spoken or not is_success(obs):
        return False
    if not obs.body_is_json or not _documents_both(spec, operation_id, obs.status_code):
        return False
    shape = success_shape(obs.body)
    if shape != version:
        got = "not a JSON object or array" if shape is None else ("wrapped" if shape == "1" else "bare")
        detail = (
            f"a {version_label(version)} request of {operation_id} got a {got} body "
            f"{_shown(obs.body)}, though the server speaks that version"
        )
        raise violation(spec, "version-shape", detail, obs)
    if version == "1" and _bad_envelope(obs.body):
        detail = f"a version 1 {operation_id} answer is not the documented envelope: {_shown(obs.body)}"
        raise violation(spec, "version-shape", detail, obs)
    return True


def _bad_envelope(body: Mapping[str, Any]) -> bool:
    """Version 1's success envelope says ``"status": 200`` and holds an object or a list."""
    return is_whole_status(body.get("status")) != 200 or not isinstance(body.get("data"), Mapping | list)


def check_same_fields(spec: Spec, v1: Observation, v2: Observation) -> bool:
    """version-same-fields: one resource read both ways (version 1 unwrapped) has the same fields and values."""
    operation_id = operation_of(spec, v2)
    if operation_id is None or not (is_success(v1) and is_success(v2)) or not (v1.body_is_json and v2.body_is_json):
        return False
    if success_shape(v1.body) != "1" or success_shape(v2.body) != "2":
        return False  # the shapes themselves are version-shape's
    first = unwrapped(spec, operation_of(spec, v1), v1.status_code, v1.body)
    if not isinstance(first, Mapping) or not isinstance(v2.body, Mapping):
        return False
    differ = differing_fields(first, v2.body, lambda name, a, b: same_value(spec, name, a, b))
    if differ:
        shown = "; ".join(f"{n}: {first.get(n, '<missing>')!r} vs {v2.body.get(n, '<missing>')!r}" for n in differ[:3])
        detail = (
            f"{operation_id} of {v2.path} read as version 1 and as version 2 differs in {', '.join(differ)}: {shown}"
        )
        raise violation(spec, "version-same-fields", detail, v1)
    return True


def check_error_shape(spec: Spec, obs: Observation, spoken: Collection[str]) -> bool:
    """error-shape: an error of a documented operation has its version's body (version 2: a problem as
    ``application/problem+json``), on a server that speaks that version."""
    version = request_version(obs)
    if version is None or not is_error(obs) or not applies(spec, "error-shape", obs) or version not in spoken:
        return False
    media = media_type(obs.content_type)
    if version == "2":
        if media != PROBLEM_MEDIA_TYPE:
            detail = f"a version 2 error ({obs.status_code}) came as {media or 'untyped'}, not {PROBLEM_MEDIA_TYPE}"
            raise violation(spec, "error-shape", detail, obs)
        schema = "Problem"
    else:
        schema = "Error"
    problems = spec.validate(schema, obs.body, conventions=False) if obs.body_is_json else ["the body is not JSON"]
    if problems:
        detail = (
            f"a {version_label(version)} error ({obs.status_code}) is not a {schema}: "
            f"{'; '.join(problems[:2])}: {_shown(obs.body)}"
        )
        raise violation(spec, "error-shape", detail, obs)
    return True


def documented_codes(spec: Spec) -> Mapping[str, int]:
    """Every error code the pages document, with its status (the overview's table, the sessions')."""
    codes: dict[str, int] = {}
    for rule_id in ("error-code-status", "session-errors"):
        if rule_id in spec.rules:
            codes.update({str(k): int(v) for k, v in spec.rule(rule_id).params.get("codes", {}).items()})
    return codes


def check_problem_type_code(spec: Spec, v2: Observation, v1: Observation | None = None) -> bool:
    """problem-type-code: a version 2 problem's ``type`` ends with the code the same request gets as
    ``error.code`` in version 1 (``v1``); without that answer, with a documented code of its status."""
    if not is_error(v2) or request_version(v2) != "2" or not applies(spec, "problem-type-code", v2):
        return False
    body = v2.body if v2.body_is_json and isinstance(v2.body, Mapping) else None
    if body is None or not isinstance(body.get("type"), str):
        return False  # no problem: error-shape's
    ends = type_code(body["type"])
    expected = error_code(v1.body) if v1 is not None and v1.body_is_json and error_shape(v1.body, "") == "1" else None
    if expected is not None and v1 is not None and v1.status_code == v2.status_code:
        if ends != expected:
            detail = (
                f"a version 2 {v2.status_code}'s type {body['type']!r} does not end with {expected!r}, "
                f"the code the same request gets in version 1"
            )
            raise violation(spec, "problem-type-code", detail, v2)
        return True
    codes = documented_codes(spec)
    return (
        ends is not None and ends in codes and codes[ends] == v2.status_code
    )  # without version 1 to compare, a code of its status


def check_error_code_status(spec: Spec, obs: Observation) -> bool:
    """error-code-status: an error answer giving a documented code has that code's status."""
    if not is_error(obs) or not applies(spec, "error-code-status", obs) or not obs.body_is_json:
        return False
    codes: Mapping[str, int] = spec.rule("error-code-status").params.get("codes", {})
    code = error_code(obs.body)
    if code is None or code not in codes:
        return False
    if not code_status_matches(code, obs.status_code, codes):
        detail = f"error code {code!r} came with {obs.status_code}; the overview gives it {codes[code]}"
        raise violation(spec, "error-code-status", detail, obs)
    return True


def check_error_body_status(spec: Spec, obs: Observation) -> bool:
    """error-body-status: an error body's ``status`` (either version's) is the answer's HTTP status."""
    if not is_error(obs) or not applies(spec, "error-body-status", obs) or not obs.body_is_json:
        return False
    body = obs.body
    if error_shape(body, media_type(obs.content_type)) is None or "status" not in body:
        return False
    if not body_status_matches(body["status"], obs.status_code):
        detail = f"a {obs.status_code} answer's body says status {body['status']!r}"
        raise violation(spec, "error-body-status", detail, obs)
    return True


def check_webhook_unversioned(spec: Spec, delivery: Observation, version: str) -> bool:
    """webhook-unversioned: the webhook of a run sent in ``version`` is the bare payload, not wrapped
    (whether it is a valid ``WebhookPayload`` for its task is rule ``webhook-matches-task``'s)."""
    payload = delivery.request_body if delivery.request_body_is_json else None
    if not isinstance(payload, Mapping):
        detail = f"the webhook of a {version_label(version)} run is not a JSON object: {_shown(payload)}"
        raise violation(spec, "webhook-unversioned", detail, delivery)
    data = payload.get("data")
    held = isinstance(data, Mapping) and not spec.validate("WebhookPayload", dict(data), conventions=False)
    if success_shape(payload) == "1" or (held and spec.validate("WebhookPayload", dict(payload), conventions=False)):
        detail = f"the webhook of a {version_label(version)} run is wrapped around its payload: {_shown(payload)}"
        raise violation(spec, "webhook-unversioned", detail, delivery)
    return True


def _shown(body: Any) -> str:
    text = repr(body)
    return text if len(text) <= 160 else text[:157] + "..."
