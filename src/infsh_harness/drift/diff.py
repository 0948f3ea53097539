"""``diff(spec, observations) -> findings``: pure, no I/O, the same answer for the same input.

Each observation is matched to a documented operation (or named undocumented); its status, content
type and body are compared with what the spec documents for the API version the request asked for
(``X-API-Version``; none: version 1, the wrapped bodies; ``2``: the bare ones and problem details);
the probe's scenario tags add the behaviour the documentation promises (a default run waits, a
cancel cancels, one webhook per task, a stream ends once its task is terminal). The raw findings
are then merged into one per distinct drift.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from infsh_harness.drift.match import match
from infsh_harness.drift.model import Finding, Kind, Location, merge
from infsh_harness.drift.rules import RuleIssue, body_rule_issues, scenario_issues
from infsh_harness.drift.scenarios import SCENARIOS, WEBHOOK_RUNS, task_document
from infsh_harness.drift.shape import ShapeIssue, compare, find_envelope, sketch
from infsh_harness.drift.stream import EVENT_STREAM, stream_issues
from infsh_harness.http.calls import API_VERSION_HEADER
from infsh_harness.http.observation import Observation, is_json_media_type
from infsh_harness.rules import exchange, predicates
from infsh_harness.spec import DEFAULT_API_VERSION, Operation, Spec

__all__ = ["diff", "request_version", "unwrap"]

# answers that say a request reached no operation: not evidence of an undocumented one in use
_NOT_SERVED = frozenset({404, 405, 501})


@dataclass(frozen=True)
class _Seen:
    """One observation and what it exercised."""

    obs: Observation
    endpoint: str  # "POST /run", "GET /tasks/{id}/status", "WEBHOOK taskCompleted"
    operation: Operation | None  # None: undocumented
    webhook: bool = False

    @property
    def operation_id(self) -> str | None:
        return self.operation.operation_id if self.operation else None

    @property
    def ok(self) -> bool:
        return 200 <= self.obs.status_code < 300

    def finding(self, kind: Kind, location: Location, expected: str, observed: str, **extra: Any) -> Finding:
        obs = self.obs
        sources = (obs.source,) if obs.source else ()
        return Finding(kind, location, expected, observed, evidence=obs.evidence(), sources=sources, **extra)


def _seen(spec: Spec, obs: Observation) -> _Seen:
    if obs.operation_id in spec.webhooks:
        hook = spec.webhooks[obs.operation_id]
        return _Seen(obs, f"WEBHOOK {hook.path}", hook, webhook=True)
    if obs.operation_id in spec.operations:
        op = spec.operations[obs.operation_id]
        return _Seen(obs, f"{op.method} {op.path}", op)
    found = match(spec, obs.method, obs.path)
    return _Seen(obs, found.endpoint, spec.operations[found.operation_id] if found.operation_id else None)


def _is_cors_preflight(obs: Observation) -> bool:
    return obs.method == "OPTIONS" and "access-control-request-method" in obs.request_headers


def diff(spec: Spec, observations: Iterable[Observation]) -> list[Finding]:
    """Every drift between ``spec`` and what ``observations`` show, one finding per distinct drift."""
    seen = [_seen(spec, obs) for obs in observations if not _is_cors_preflight(obs)]
    missing = _missing_operations(spec, seen)
    present = [s for s in seen if s.operation_id not in missing]
    raw: list[Finding] = list(missing.values())
    for s in present:
        if s.webhook:
            raw.extend(_webhook_findings(spec, s))
        elif s.operation is None:
            if s.obs.status_code not in _NOT_SERVED:
                raw.append(_undocumented_operation(spec, s))
        else:
            raw.extend(_response_findings(spec, s))
    raw.extend(_delivery_findings(spec, present))
    return merge(raw)


def _answer(obs: Observation) -> str:
    media = f" {obs.content_type}" if obs.content_type else ""
    body = f": {sketch(obs.body)}" if obs.body is not None else ""
    return f"{obs.status_code}{media}{body}"


# --- what the spec documents -------------------------------------------------------------------
def _documented_response(spec: Spec, op: Operation, status: int) -> Mapping[str, Any] | None:
    for key in (str(status), f"{status // 100}XX", "default"):
        if key in op.responses:
            resolved = spec.resolve(op.responses[key])
            return resolved if isinstance(resolved, Mapping) else {}
    return None


def _content(spec: Spec, holder: Any) -> Mapping[str, Any]:
    resolved = spec.resolve(holder)
    content = resolved.get("content") if isinstance(resolved, Mapping) else None
    return content if isinstance(content, Mapping) else {}


def _json_schema(content: Mapping[str, Any], media: str = "application/json") -> Any:
    """The schema for ``media`` if it is a documented JSON type, else for the first JSON type."""
    if media in content and is_json_media_type(media):
        return content[media].get("schema")
    for name, item in content.items():
        if is_json_media_type(name.lower()):
            return item.get("schema")
    return None


def _dto_schema(spec: Spec, op: Operation, status: int) -> Any:
    """The schema of the object an answer carries (bare in version 2, ``data`` in version 1)."""
    name = spec.response_schema_name(op.operation_id, str(status))
    if name is not None:
        return {"$ref": f"#/components/schemas/{name}"}
    return _json_schema(_content(spec, _documented_response(spec, op, status) or {}))


# --- versions ----------------------------------------------------------------------------------
_OTHER_VERSION = {"1": "2", "2": "1"}


def request_version(obs: Observation) -> str:
    """The API version a request asked for: ``X-API-Version`` when it names a documented one, else
    version 1, the default (the rule engine's reading, :func:`~infsh_harness.rules.exchange.request_version`)."""
    return exchange.request_version(obs) or DEFAULT_API_VERSION


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _has_shape(spec: Spec, name: str, body: Any) -> bool:
    """``body`` is built like schema ``name``: an object with every field it requires (what is inside
    them is the shape diff's business)."""
    schema = spec.schema(name)
    if schema.get("type") == "array":
        return isinstance(body, list)
    required = spec.required(name)
    return isinstance(body, Mapping) and bool(required) and all(key in body for key in required)


def _media_of(spec: Spec, op: Operation, status: int, name: str) -> str | None:
    """The media type under which the response documents schema ``name`` (directly or in a oneOf)."""
    for media in spec.response_media_types(op.operation_id, str(status)):
        ref = _content(spec, _documented_response(spec, op, status) or {})[media].get("schema", {}).get("$ref", "")
        held = ref.rsplit("/", 1)[-1]
        if held == name or name in spec.version_branches(held).values():
            return media
    return None


def _version_schema(spec: Spec, s: _Seen, where: Location) -> Generator[Finding, None, Any]:
    """The schema to compare an answer's JSON body with, for the version its request asked for;
    yields a ``version-shape`` finding when the answer has the other version's shape or media type
    (and then compares it with that shape, so drift inside it still shows). ``None``: the response
    documents no versions."""
    op, obs = s.operation, s.obs
    assert op is not None
    version = request_version(obs)
    code = str(obs.status_code)
    expected = spec.version_schema_name(op.operation_id, code, version)
    other = spec.version_schema_name(op.operation_id, code, _OTHER_VERSION[version])
    if expected is None or other is None or expected == other or not obs.body_is_json:
        return None
    asked = f"X-API-Version: {version}" if API_VERSION_HEADER in obs.request_headers else "no X-API-Version"
    if not _has_shape(spec, expected, obs.body) and _has_shape(spec, other, obs.body):
        yield s.finding(
            Kind.VERSION_SHAPE, where, f"version {version} ({asked}): {_shape_name(spec, expected)}",
            f"version {_OTHER_VERSION[version]}'s {_shape_name(spec, other)}", key=f"v{version}:{other}",
            rule="version-shape" if "version-shape" in spec.rules else None,
        )  # fmt: skip
        return _ref(other)
    media = _media_of(spec, op, obs.status_code, expected)
    if (
        media is not None
        and obs.content_type != media
        and obs.content_type == _media_of(spec, op, obs.status_code, other)
    ):
        yield s.finding(
            Kind.VERSION_SHAPE, where, f"version {version} ({asked}): {media}", obs.content_type,
            key=f"v{version}:media", rule="error-shape" if "error-shape" in spec.rules else None,
        )  # fmt: skip
    return _ref(expected)


def _shape_name(spec: Spec, name: str) -> str:
    schema = spec.schema(name)
    if schema.get("x-api-version") == "1" and "data" in schema.get("properties", {}):
        return f"{name}, the object wrapped as {{success, status, data}}"
    if name == "Problem" or schema.get("x-api-version") == "2":
        return f"{name}, RFC 9457 problem details"
    return f"{name}, the bare object"


def unwrap(spec: Spec, schema: Any, body: Any) -> tuple[Any, str]:
    """The documented object inside ``body`` and its JSON path (``$`` when it is not wrapped)."""
    envelope = find_envelope(spec, schema, body) if schema is not None else None
    return (body[envelope.key], f"$.{envelope.key}") if envelope else (body, "$")


def _shape_issues(spec: Spec, schema: Any, body: Any) -> list[ShapeIssue]:
    """The shape diff of a body, looking inside an envelope if the documented object is wrapped."""
    envelope = find_envelope(spec, schema, body)
    if envelope is None:
        return compare(spec, schema, body)
    beside = ", ".join(envelope.wrapper_keys) or "nothing else"
    wrapped = ShapeIssue(
        Kind.ENVELOPE, "$", "the documented object at the top level",
        f"wrapped under {envelope.key!r} beside {beside}", key=envelope.key,
    )  # fmt: skip
    return [wrapped, *compare(spec, schema, body[envelope.key], f"$.{envelope.key}")]


# --- missing and undocumented operations --------------------------------------------------------
def _is_documented_answer(spec: Spec, op: Operation, obs: Observation) -> bool:
    """The spec documents this answer for the operation, body shape included."""
    response = _documented_response(spec, op, obs.status_code)
    if response is None:
        return False
    content = _content(spec, response)
    if not content:
        return True
    schema = _json_schema(content, obs.content_type)
    if obs.content_type not in content or not obs.body_is_json or schema is None:
        return False
    return all(i.kind is Kind.UNDOCUMENTED_FIELD for i in compare(spec, schema, obs.body))


def _missing_operations(spec: Spec, seen: list[_Seen]) -> dict[str, Finding]:
    """Documented operations the target does not serve: a 405, or a 404 no documented answer explains.

    A 404 counts only where a probe scenario expected success and the body is not the operation's
    own documented error (an unknown app, say); one success anywhere clears the operation.
    """
    served: set[str] = set()
    missing: dict[str, Finding] = {}
    for s in seen:
        if s.operation is None or s.webhook:
            continue
        if s.ok:
            served.add(s.operation.operation_id)
            continue
        scenario = SCENARIOS.get(s.obs.scenario or "")
        wanted_success = scenario is not None and scenario.expects_success
        unrouted = s.obs.status_code == 405 or (
            s.obs.status_code == 404 and wanted_success and not _is_documented_answer(spec, s.operation, s.obs)
        )
        if unrouted and s.operation.operation_id not in missing:
            where = Location(s.endpoint, s.operation.operation_id)
            missing[s.operation.operation_id] = s.finding(
                Kind.MISSING_OPERATION, where, "the operation is served", f"answered {_answer(s.obs)}"
            )
    return {op_id: f for op_id, f in missing.items() if op_id not in served}


def _undocumented_operation(spec: Spec, s: _Seen) -> Finding:
    path = s.endpoint.split(" ", 1)[1]
    allowed = spec.allowed_methods(path)
    expected = f"{path} documents only {', '.join(allowed)}" if allowed else "no such operation in the spec"
    return s.finding(Kind.UNDOCUMENTED_OPERATION, Location(s.endpoint), expected, f"answered {_answer(s.obs)}")


# --- one response -----------------------------------------------------------------------------
def _response_findings(spec: Spec, s: _Seen) -> Iterator[Finding]:
    op, obs = s.operation, s.obs
    assert op is not None
    where = Location(s.endpoint, op.operation_id, str(obs.status_code))
    scenario = SCENARIOS.get(obs.scenario or "")
    if scenario is not None and scenario.expected_status not in (None, obs.status_code):
        expected = f"{scenario.expected_status} for {scenario.summary}"
        yield s.finding(
            Kind.BEHAVIOUR, where, expected, _answer(obs), key=f"status:{scenario.name}", rule=scenario.rule
        )
        scenario = None  # the answer is not the one the scenario's promise is about
    response = _documented_response(spec, op, obs.status_code)
    if response is None:
        expected = "one of " + ", ".join(op.status_codes())
        yield s.finding(Kind.UNDOCUMENTED_STATUS, where, expected, _answer(obs), key=str(obs.status_code))
        return
    content = _content(spec, response)
    if not content or obs.method == "HEAD":
        return
    versioned = yield from _version_schema(spec, s, where)
    schema = yield from _body_findings(
        spec, s, content, where, obs.body, obs.content_type, obs.body_is_json, schema=versioned
    )
    if s.ok and obs.content_type == EVENT_STREAM and EVENT_STREAM in content and isinstance(obs.body, str):
        resumed = obs.request_headers.get("last-event-id") or obs.query.get("last_event_id")
        for rule, issue in stream_issues(spec, obs.body, resumed):
            yield _rule_finding(s, where, issue, rule if rule in spec.rules else None)
    if schema is None or not s.ok or not obs.body_is_json:
        return
    document, prefix = unwrap(spec, _dto_schema(spec, op, obs.status_code), obs.body)
    issues = body_rule_issues(spec, op.operation_id, document, prefix)
    yield from (_rule_finding(s, where, i, i.key) for i in issues)
    if scenario is not None:
        issues = scenario_issues(spec, scenario, obs, document, prefix)
        yield from (_rule_finding(s, where, i, scenario.rule) for i in issues)


def _rule_finding(s: _Seen, where: Location, issue: RuleIssue, rule: str | None) -> Finding:
    location = Location(where.endpoint, where.operation, where.status_code, issue.json_path)
    kind, aspect = (Kind.WEBHOOK_PAYLOAD, Kind.BEHAVIOUR) if s.webhook else (Kind.BEHAVIOUR, None)
    return s.finding(kind, location, issue.expected, issue.observed, key=issue.key, rule=rule, aspect=aspect)


def _shape_finding(s: _Seen, where: Location, kind: Kind, json_path: str | None, expected: str,
                   observed: str, key: str) -> Finding:  # fmt: skip
    location = Location(where.endpoint, where.operation, where.status_code, json_path)
    if s.webhook:
        return s.finding(Kind.WEBHOOK_PAYLOAD, location, expected, observed, key=key, aspect=kind)
    return s.finding(kind, location, expected, observed, key=key)


def _body_findings(
    spec: Spec,
    s: _Seen,
    content: Mapping[str, Any],
    where: Location,
    body: Any,
    media: str,
    is_json: bool,
    schema: Any = None,
) -> Generator[Finding, None, Any]:
    """Content type and shape of one documented body; returns the schema it was compared with
    (``schema``, when given, else the one documented for ``media``)."""
    if body is None:
        if not s.obs.body_truncated:
            yield _shape_finding(s, where, Kind.TYPE_MISMATCH, "$", "a JSON body", "an empty body", "empty")
        return None
    if media not in {m.lower() for m in content}:
        observed = media or "(no content type)"
        yield _shape_finding(s, where, Kind.UNDOCUMENTED_CONTENT_TYPE, None, " or ".join(content), observed, media)
    schema = schema if schema is not None else _json_schema(content, media)
    if schema is None or (s.obs.body_truncated and not s.webhook):
        return None
    if not is_json:
        yield _shape_finding(s, where, Kind.TYPE_MISMATCH, "$", "a JSON document", f"text: {sketch(body)}", "text")
        return None
    for issue in _shape_issues(spec, schema, body):
        yield _shape_finding(s, where, issue.kind, issue.json_path, issue.expected, issue.observed, issue.key)
    return schema


# --- webhooks ---------------------------------------------------------------------------------
def _webhook_findings(spec: Spec, s: _Seen) -> Iterator[Finding]:
    op, obs = s.operation, s.obs
    assert op is not None
    content = _content(spec, op.definition.get("requestBody", {}))
    if not content:
        return
    where = Location(s.endpoint, op.operation_id)
    body, media, is_json = obs.request_body, obs.request_content_type, obs.request_body_is_json
    schema = yield from _body_findings(spec, s, content, where, body, media, is_json)
    if schema is not None:
        document, prefix = unwrap(spec, schema, body)
        yield from (
            _rule_finding(s, where, i, i.key) for i in body_rule_issues(spec, op.operation_id, document, prefix)
        )


def _task_id(document: Any) -> str | None:
    task_id = document.get("id") if isinstance(document, Mapping) else None
    return task_id if isinstance(task_id, str) else None


def _delivery_findings(spec: Spec, seen: list[_Seen]) -> Iterator[Finding]:
    """One delivery per task (``one-webhook``), reporting its final status (``webhook-matches-task``)."""
    if not spec.webhooks:
        return
    hook = next(iter(spec.webhooks.values()))
    where = Location(f"WEBHOOK {hook.path}", hook.operation_id)
    hook_schema = _json_schema(_content(spec, hook.definition.get("requestBody", {})))
    deliveries: dict[str, list[tuple[_Seen, Mapping[str, Any]]]] = defaultdict(list)
    runs: dict[str, _Seen] = {}  # task id -> the probe's run that asked for a webhook
    final: dict[str, int] = {}
    for s in seen:
        if s.webhook:
            document, _ = unwrap(spec, hook_schema, s.obs.request_body)
            if task_id := _task_id(document):
                deliveries[task_id].append((s, document))
            continue
        if not s.ok or not s.obs.body_is_json:
            continue
        if s.obs.scenario in WEBHOOK_RUNS and (task_id := _task_id(task_document(s.obs.body))):
            runs[task_id] = s
        if s.operation is not None:
            document, _ = unwrap(spec, _dto_schema(spec, s.operation, s.obs.status_code), s.obs.body)
            if (task_id := _task_id(document)) and document.get("status") in spec.terminal_statuses:
                final[task_id] = document["status"]
    for task_id, run in runs.items():
        if task_id not in deliveries:  # none arrived (more than one: below)
            yield run.finding(
                Kind.BEHAVIOUR, where, "one POST to the run's webhook URL", "none arrived",
                key="one-webhook:missing", rule="one-webhook",
            )  # fmt: skip
    for task_id, got in deliveries.items():
        yield from _one_task_deliveries(where, got, final.get(task_id))


def _one_task_deliveries(
    where: Location, got: list[tuple[_Seen, Mapping[str, Any]]], final: int | None
) -> Iterator[Finding]:
    first, payload = got[0]
    if not predicates.one_delivery(len(got)):
        yield got[1][0].finding(
            Kind.BEHAVIOUR, where, "exactly one delivery per task", f"{len(got)} deliveries",
            key="one-webhook:duplicate", rule="one-webhook",
        )  # fmt: skip
    if final is not None and not predicates.webhook_status_matches(payload.get("status"), final):
        yield first.finding(
            Kind.BEHAVIOUR, Location(where.endpoint, where.operation, None, "$.status"),
            f"the task's final status {final}", sketch(payload.get("status")),
            key="webhook-matches-task", rule="webhook-matches-task",
        )  # fmt: skip
