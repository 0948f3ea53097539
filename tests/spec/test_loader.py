"""openapi/tasks.yaml is a valid, self-consistent OpenAPI 3.1 document, and spec.py reads it right."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from jsonschema_path import SchemaPath
from openapi_spec_validator import OpenAPIV31SpecValidator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from infsh_harness.spec import DEFAULT_SPEC_PATH, Spec, SpecError, load_spec
from infsh_harness.spec.documented import load_documented

SPEC = load_spec()
DOCUMENTED_STATUSES = load_documented().statuses
RULE_REFERENCE = re.compile(r"\brules? ((?:`[^`]+`(?:,\s*|\s+and\s+)?)+)")


def copy_document() -> dict[str, Any]:
    return copy.deepcopy(dict(SPEC.document))


def walk(node: Any, pointer: str = "") -> Iterator[tuple[str, Any]]:
    """Every (JSON pointer, node) of a document, depth first."""
    yield pointer, node
    if isinstance(node, Mapping):
        for key, value in node.items():
            yield from walk(value, f"{pointer}/{str(key).replace('~', '~0').replace('/', '~1')}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, f"{pointer}/{index}")


def parameters(op_definition: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [SPEC.resolve(p) for p in op_definition.get("parameters", [])]


# --- OpenAPI 3.1 validity -----------------------------------------------------------------------
def openapi_errors(document: Mapping[str, Any]) -> list[str]:
    validator = OpenAPIV31SpecValidator(SchemaPath.from_dict(dict(document)))
    return [str(error).splitlines()[0] for error in validator.iter_errors()]


def test_spec_is_valid_openapi_31() -> None:
    assert SPEC.document["openapi"].startswith("3.1.")
    assert openapi_errors(SPEC.document) == []


def test_openapi_validation_bites() -> None:
    document = copy_document()
    del document["paths"]["/run"]["post"]["responses"]["200"]["description"]
    assert openapi_errors(document)


# --- examples -----------------------------------------------------------------------------------
EXAMPLES = list(SPEC.examples())


def test_examples_cover_every_operation_and_the_webhook() -> None:
    heads = {location.split(" example ")[0].split(" application/")[0] for location, _, _ in EXAMPLES}
    where = {head.rsplit(" ", 1)[0] for head in heads}
    expected = {f"{op.method} {op.path}" for op in [*SPEC.operations.values(), *SPEC.webhooks.values()]}
    assert where == expected
    assert any(" application/problem+json example " in location for location, _, _ in EXAMPLES)


@pytest.mark.parametrize(("location", "schema_name", "value"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_named_example_is_valid(location: str, schema_name: str, value: Any) -> None:
    assert schema_name, f"{location} has no component schema"
    assert SPEC.validate(schema_name, value) == []


def inline_examples() -> Iterator[tuple[str, Any]]:
    """(pointer of the schema, example) for every parameter and schema `example`/`examples`."""
    for pointer, node in walk(SPEC.document):
        if not isinstance(node, Mapping) or "/examples/" in pointer or pointer.endswith("/examples"):
            continue
        if "schema" in node and "in" in node:  # a parameter: examples are of its schema
            for value in [node["example"]] if "example" in node else []:
                yield f"{pointer}/schema", value
            for example in node.get("examples", {}).values():
                yield f"{pointer}/schema", SPEC.resolve(example)["value"]
        elif isinstance(node.get("examples"), list):  # a schema with JSON Schema `examples`
            for value in node["examples"]:
                yield pointer, value


INLINE_EXAMPLES = list(inline_examples())


@pytest.mark.parametrize(("pointer", "value"), INLINE_EXAMPLES, ids=[f"{p}={v}" for p, v in INLINE_EXAMPLES])
def test_inline_example_is_valid(pointer: str, value: Any) -> None:
    registry: Registry[Any] = Registry().with_resource(
        "urn:spec", Resource.from_contents(dict(SPEC.document), default_specification=DRAFT202012)
    )
    cls = jsonschema.Draft202012Validator
    validator = cls({"$ref": f"urn:spec#{pointer}"}, registry=registry, format_checker=cls.FORMAT_CHECKER)
    assert [e.message for e in validator.iter_errors(value)] == []


def test_inline_examples_found() -> None:
    pointers = {p for p, _ in INLINE_EXAMPLES}
    assert "/components/schemas/Timestamp" in pointers
    assert "/components/parameters/TaskId/schema" in pointers


@pytest.mark.parametrize(("location", "schema_name", "value"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_named_example_uses_only_declared_properties(location: str, schema_name: str, value: Any) -> None:
    # The schemas are open on purpose, so validation alone would not catch a misspelt example field.
    schema = SPEC.schema(schema_name)
    if schema.get("type") == "array":
        schema, items = SPEC.resolve(schema["items"]), value
    else:
        items = [value]
    for item in items:
        assert sorted(set(item) - set(schema.get("properties", {}))) == []


# --- responses ----------------------------------------------------------------------------------
OPERATIONS = list(SPEC.operations.values())


@pytest.mark.parametrize("op", OPERATIONS, ids=[op.operation_id for op in OPERATIONS])
def test_operation_answers_401(op: Any) -> None:
    assert "401" in op.responses
    assert SPEC.response_schema_name(op.operation_id, "401") == "Error"


PATH_PARAMETER_OPS = [op for op in OPERATIONS if any(p["in"] == "path" for p in parameters(op.definition))]


def test_path_parameter_operations_found() -> None:
    assert {op.path for op in PATH_PARAMETER_OPS} == {op.path for op in OPERATIONS if "{" in op.path}
    assert PATH_PARAMETER_OPS


@pytest.mark.parametrize("op", PATH_PARAMETER_OPS, ids=[op.operation_id for op in PATH_PARAMETER_OPS])
def test_path_parameter_operation_answers_404(op: Any) -> None:
    assert "404" in op.responses
    assert SPEC.response_schema_name(op.operation_id, "404") == "Error"


@pytest.mark.parametrize("op", OPERATIONS, ids=[op.operation_id for op in OPERATIONS])
def test_path_template_matches_path_parameters(op: Any) -> None:
    in_path = set(re.findall(r"{([^}]+)}", op.path))
    declared = {p["name"] for p in parameters(op.definition) if p["in"] == "path"}
    assert in_path == declared
    assert all(p["required"] for p in parameters(op.definition) if p["in"] == "path")


@pytest.mark.parametrize("op", OPERATIONS, ids=[op.operation_id for op in OPERATIONS])
def test_every_response_with_a_body_is_json_or_the_event_stream(op: Any) -> None:
    for code, response in op.responses.items():
        content = set(SPEC.resolve(response).get("content", {}))
        if code.startswith("2"):
            allowed = {"text/event-stream"} if op.operation_id == "streamTask" else {"application/json"}
            assert content <= allowed, code
        else:  # every error in both versions (rule error-shape)
            assert content == {"application/json", "application/problem+json"}, code
            assert SPEC.version_schema_name(op.operation_id, code, None) == "Error"
            assert SPEC.version_schema_name(op.operation_id, code, "1") == "Error"
            assert SPEC.version_schema_name(op.operation_id, code, "2") == "Problem"


# --- versions (rules version-shape, error-shape) --------------------------------------------------
@pytest.mark.parametrize("op", OPERATIONS, ids=[op.operation_id for op in OPERATIONS])
def test_every_operation_takes_the_version_header(op: Any) -> None:
    headers = [p for p in parameters(op.definition) if p["in"] == "header"]
    assert "X-API-Version" in [p["name"] for p in headers]


@pytest.mark.parametrize("op", OPERATIONS, ids=[op.operation_id for op in OPERATIONS])
def test_every_json_success_documents_both_versions(op: Any) -> None:
    for code in op.status_codes():
        if not code.startswith("2") or SPEC.response_schema_name(op.operation_id, code) is None:
            continue
        bare, wrapped = (SPEC.version_schema_name(op.operation_id, code, v) for v in ("2", "1"))
        assert bare == SPEC.response_schema_name(op.operation_id, code)
        assert wrapped is not None and wrapped != bare
        envelope = SPEC.schema(wrapped)
        assert envelope["required"] == ["success", "status", "data"]
        assert envelope["properties"]["data"] == {"$ref": f"#/components/schemas/{bare}"}
        assert SPEC.version_schema_name(op.operation_id, code, None) == wrapped  # no header: version 1


def test_version_lookups_of_bodies_without_json() -> None:
    assert SPEC.version_schema_name("endSession", "204", "2") is None
    assert SPEC.version_schema_name("streamTask", "200", None) is None
    assert SPEC.response_media_types("streamTask", "200") == ("text/event-stream",)
    assert SPEC.version_branches("Task") == {}


VERSIONED = [(loc, name, value) for loc, name, value in EXAMPLES if SPEC.schema(name).get("x-api-version") == "1"]


def test_both_versions_have_examples() -> None:
    names = {name for _, name, _ in VERSIONED}
    assert {"TaskEnvelope", "CancelResultEnvelope", "SessionEnvelope", "SessionListEnvelope", "Error"} <= names
    assert "Problem" not in names


@pytest.mark.parametrize(("location", "schema_name", "value"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_the_two_shapes_of_a_body_exclude_each_other(location: str, schema_name: str, value: Any) -> None:
    """A body valid in one version is invalid in the other: the oneOf of each success picks one."""
    for response_name in ("TaskResponse", "CancelResultResponse", "SessionResponse", "SessionListResponse"):
        branches = set(SPEC.version_branches(response_name).values())
        if schema_name in branches:
            (other,) = branches - {schema_name}
            assert SPEC.validate(other, value) != []
            assert SPEC.validate(response_name, value) == []


ERROR_EXAMPLES = [
    (location, name, value) for location, name, value in EXAMPLES if name in ("Error", "Problem")
]


@pytest.mark.parametrize(("location", "schema_name", "value"), ERROR_EXAMPLES, ids=[e[0] for e in ERROR_EXAMPLES])
def test_error_examples_carry_their_status_and_a_documented_code(location: str, schema_name: str, value: Any) -> None:
    status = int(location.split(" ")[2])
    assert value["status"] == status  # rule error-body-status
    code = value["error"]["code"] if schema_name == "Error" else value["type"].rsplit("/", 1)[-1]  # problem-type-code
    codes = {**SPEC.rule("error-code-status").params["codes"], **SPEC.rule("session-errors").params["codes"]}
    assert codes[code] == status  # rules error-code-status, session-errors


def test_each_problem_example_is_its_version_1_example() -> None:
    by_place: dict[tuple[str, str], dict[str, Any]] = {}
    for location, name, value in ERROR_EXAMPLES:
        where, example = location.split(" example ")
        by_place.setdefault((where.removesuffix(" application/problem+json"), example), {})[name] = value
    assert by_place
    for place, pair in by_place.items():
        assert set(pair) == {"Error", "Problem"}, place
        assert pair["Problem"]["type"].endswith("/" + pair["Error"]["error"]["code"]), place
        assert pair["Problem"]["detail"] == pair["Error"]["error"]["message"], place


# --- rate limits, the stream, sessions ------------------------------------------------------------
@pytest.mark.parametrize("op", OPERATIONS, ids=[op.operation_id for op in OPERATIONS])
def test_rate_limit_headers_on_limited_successes_and_every_429(op: Any) -> None:
    limited = SPEC.rule("rate-limit-headers").applies_to
    names = set(SPEC.rule("rate-limit-headers").params["headers"])
    for code, response in op.responses.items():
        headers = SPEC.resolve(response).get("headers", {})
        wanted = code == "429" or (code == "200" and op.operation_id in limited)
        assert (names <= set(headers)) is wanted, code
        for name in names & set(headers):
            assert SPEC.resolve(headers[name])["required"] is True
    if "429" in op.responses:
        assert "Retry-After" in SPEC.resolve(op.responses["429"])["headers"]


def test_stream_events_name_their_schemas() -> None:
    media = SPEC.resolve(SPEC.operation("streamTask").responses["200"])["content"]["text/event-stream"]
    events = media["x-sse-events"]
    assert list(events) == SPEC.rule("stream-events").params["events"]
    assert SPEC.resolve(events["update"]) == SPEC.schema("TaskUpdate")
    example = media["examples"]["documented"]["value"]
    blocks = [b for b in example.strip().split("\n\n") if b]
    parsed = [dict(line.split(": ", 1) for line in block.splitlines()) for block in blocks]
    assert [p["event"] for p in parsed] == ["update", "update", "done"]
    assert all(p.get("id") for p in parsed)  # rule stream-event-ids
    for p in parsed:
        data = json.loads(p["data"])
        assert SPEC.validate("TaskUpdate", data) == [] if p["event"] == "update" else data == {}


@pytest.mark.parametrize("operation_id", ["listSessions", "getSession", "keepaliveSession", "endSession"])
def test_session_operations_name_their_scope(operation_id: str) -> None:
    wanted = SPEC.rule("session-scopes").params["scopes"][operation_id]
    assert SPEC.operation(operation_id).definition["security"] == [{"bearerAuth": [wanted]}]


def test_session_idle_timeout_default_is_the_run_requests() -> None:
    default = SPEC.rule("session-idle-timeout-default").params["default"]
    assert SPEC.schema("RunRequest")["properties"]["session_timeout"]["default"] == default
    bounds = SPEC.rule("session-timeout-bounds").params
    session_timeout = SPEC.schema("Session")["properties"]["idle_timeout"]
    assert (session_timeout["minimum"], session_timeout["maximum"]) == (bounds["minimum"], bounds["maximum"])


# Provenance (every rule's source, every x-source's shape, every quote on its page) is
# tests/spec/test_sources.py's, through the one quote check of spec/sources.py.


# --- links --------------------------------------------------------------------------------------
def links_of(operation_id: str, code: str = "200") -> Mapping[str, Any]:
    return SPEC.resolve(SPEC.operation(operation_id).responses[code]).get("links", {})  # type: ignore[no-any-return]


@pytest.mark.parametrize("target", ["getTask", "cancelTask"])
def test_run_task_links_to(target: str) -> None:
    links = [SPEC.resolve(link) for link in links_of("runTask").values()]
    matching = [link for link in links if link.get("operationId") == target]
    # one link per API version: the bare object's id (version 2), the envelope's data's (version 1)
    assert sorted(link["parameters"]["id"] for link in matching) == ["$response.body#/data/id", "$response.body#/id"]


def all_links() -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    for op in OPERATIONS:
        for code, response in op.responses.items():
            for name, link in SPEC.resolve(response).get("links", {}).items():
                yield f"{op.operation_id} {code} {name}", SPEC.response_schema_name(op.operation_id, code) or "", link


LINKS = list(all_links())


@pytest.mark.parametrize(("where", "schema_name", "link"), LINKS, ids=[w for w, _, _ in LINKS])
def test_link_reaches_an_operation_with_its_parameters(where: str, schema_name: str, link: Any) -> None:
    target = SPEC.operation(link["operationId"])
    declared = {p["name"] for p in parameters(target.definition)}
    assert set(link["parameters"]) <= declared
    for expression in link["parameters"].values():
        assert expression.startswith("$response.body#/")
        # a version 1 link reads the bare object's field inside the envelope's `data`
        field = expression.removeprefix("$response.body#/").removeprefix("data/")
        assert field in SPEC.required(schema_name)  # at the top or in an allOf part (a convention's)


# --- TaskStatus ---------------------------------------------------------------------------------
TASK_STATUS = SPEC.schema("TaskStatus")
STATUS_LISTS = ("enum", "x-enum-names", "x-enum-varnames", "x-enum-descriptions")


def test_task_status_lists_have_one_length_and_no_repeats() -> None:
    lengths = {len(TASK_STATUS[key]) for key in STATUS_LISTS}
    assert lengths == {len(DOCUMENTED_STATUSES)}
    for key in ("enum", "x-enum-names", "x-enum-varnames"):
        assert len(set(TASK_STATUS[key])) == len(TASK_STATUS[key]), key


def test_task_status_varnames_spell_the_names() -> None:
    spelt = [re.sub(r"\W+", "_", name).upper() for name in TASK_STATUS["x-enum-names"]]
    assert TASK_STATUS["x-enum-varnames"] == spelt


def test_terminal_statuses_are_known_and_last() -> None:
    terminal = TASK_STATUS["x-terminal"]
    assert terminal and set(terminal) <= set(TASK_STATUS["enum"])
    ranks = [SPEC.status_rank(code) for code in TASK_STATUS["enum"]]
    terminal_ranks = [SPEC.status_rank(code) for code in terminal]
    assert min(terminal_ranks) > max(r for r in ranks if r not in terminal_ranks)


def test_task_status_description_table_matches_lists() -> None:
    rows = re.findall(r"^\| (\d+) \| ([^|]+?) \| ([^|]+?) \|$", TASK_STATUS["description"], re.MULTILINE)
    assert [(int(c), n, d) for c, n, d in rows] == [(s.code, s.name, s.description) for s in SPEC.statuses]


def test_webhook_status_is_a_terminal_status() -> None:
    status = SPEC.schema("WebhookPayload")["properties"]["status"]
    enums = [part["enum"] for part in status["allOf"] if "enum" in part]
    assert enums == [sorted(SPEC.terminal_statuses)]
    assert {"$ref": "#/components/schemas/TaskStatus"} in status["allOf"]


def test_rules_name_statuses_the_spec_has() -> None:
    assert sorted(SPEC.rule("terminal-final").params["statuses"]) == sorted(SPEC.terminal_statuses)
    assert SPEC.rule("completed-has-output").params["status"] == SPEC.status("COMPLETED")
    assert SPEC.rule("failed-has-error").params["status"] == SPEC.status("FAILED")
    for rule in SPEC.rules.values():
        named = [rule.params["status"]] if "status" in rule.params else rule.params.get("statuses", [])
        assert set(named) <= set(SPEC.status_codes), rule.id


# --- x-contract-rules ---------------------------------------------------------------------------
def rule_references(document: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(pointer, rule id) for every "rule `id`" / "rules `a`, `b`" in a description or summary."""
    found: list[tuple[str, str]] = []
    for pointer, node in walk(document):
        if pointer.rsplit("/", 1)[-1] in {"description", "summary", "title"} and isinstance(node, str):
            for group in RULE_REFERENCE.findall(node):
                found.extend((pointer, rule_id) for rule_id in re.findall(r"`([^`]+)`", group))
    return found


def test_rule_references_exist() -> None:
    references = rule_references(SPEC.document)
    assert len({rule_id for _, rule_id in references}) >= 10
    assert [(p, r) for p, r in references if r not in SPEC.rules] == []


def test_rule_reference_check_bites() -> None:
    document = copy_document()
    document["paths"]["/run"]["post"]["description"] += "\nSee rules `no-such-rule`, `other-missing`.\n"
    missing = {r for _, r in rule_references(document) if r not in SPEC.rules}
    assert missing == {"no-such-rule", "other-missing"}


def test_rules_apply_to_known_operations() -> None:
    known = set(SPEC.operations) | {hook.operation_id for hook in SPEC.webhooks.values()}
    for rule in SPEC.rules.values():
        assert rule.applies_to and set(rule.applies_to) <= known, rule.id


def test_rule_ids_are_kebab_case_and_titled() -> None:
    for rule in SPEC.rules.values():
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.id)
        assert rule.title


# --- RunRequest ---------------------------------------------------------------------------------
def run_request(**extra: Any) -> dict[str, Any]:
    return {"app": "infsh/echo", "input": {"text": "hi"}, **extra}


@pytest.mark.parametrize(
    "body",
    [run_request(session_timeout=300), run_request(session="sess_abc123", session_timeout=300)],
    ids=["no-session", "existing-session"],
)
def test_run_request_refuses_session_timeout_without_new_session(body: dict[str, Any]) -> None:
    assert SPEC.validate("RunRequest", body) != []


def test_run_request_accepts_session_timeout_with_new_session() -> None:
    assert SPEC.validate("RunRequest", run_request(session="new", session_timeout=300)) == []
    assert SPEC.validate("RunRequest", run_request(session="sess_abc123")) == []


def test_run_request_session_timeout_bounds_follow_the_rule() -> None:
    bounds = SPEC.rule("session-timeout-bounds").params
    low, high = bounds["minimum"], bounds["maximum"]
    timeout = SPEC.schema("RunRequest")["properties"]["session_timeout"]
    assert (timeout["minimum"], timeout["maximum"]) == (low, high)
    for value, ok in [(low, True), (high, True), (low - 1, False), (high + 1, False)]:
        errors = SPEC.validate("RunRequest", run_request(session="new", session_timeout=value))
        assert (errors == []) is ok, value


def test_run_request_requires_app_and_input() -> None:
    assert SPEC.validate("RunRequest", {"input": {}}) != []
    assert SPEC.validate("RunRequest", {"app": "infsh/echo"}) != []


# --- spec.py ------------------------------------------------------------------------------------
def test_status_by_varname() -> None:
    for info in SPEC.statuses:
        assert SPEC.status(info.varname) == info.code
    completed = next(s.code for s in DOCUMENTED_STATUSES if s.name == "Completed")
    assert SPEC.status("COMPLETED") == completed


def test_status_unknown_varname() -> None:
    with pytest.raises(SpecError, match="NO_SUCH"):
        SPEC.status("NO_SUCH")


def test_statuses_follow_the_documented_order() -> None:
    assert [(s.code, s.name, s.description, s.terminal) for s in SPEC.statuses] == [
        (s.code, s.name, s.description, s.terminal) for s in DOCUMENTED_STATUSES
    ]


def test_status_rank() -> None:
    codes = [s.code for s in DOCUMENTED_STATUSES]
    assert [SPEC.status_rank(code) for code in codes] == list(range(len(codes)))
    with pytest.raises(ValueError):
        SPEC.status_rank(max(codes) + 1)


def test_status_info() -> None:
    first = DOCUMENTED_STATUSES[0]
    info = SPEC.status_info(first.code)
    assert info is not None and info.name == first.name
    assert SPEC.status_info(max(SPEC.status_codes) + 1) is None


def test_terminal_statuses() -> None:
    assert SPEC.terminal_statuses == frozenset(s.code for s in DOCUMENTED_STATUSES if s.terminal)


def test_rule_lookup_and_describe() -> None:
    raw = SPEC.document["x-contract-rules"]
    assert list(SPEC.rules) == [r["id"] for r in raw]
    for entry in raw:
        rule = SPEC.rule(entry["id"])
        assert rule.describe() == f"[{entry['id']}] {entry['title']}"
        assert rule.applies_to == tuple(entry["applies-to"])
    assert SPEC.rule("session-timeout-bounds").params == {"minimum": 1, "maximum": 3600}


def test_rule_unknown() -> None:
    with pytest.raises(SpecError, match="no-such-rule"):
        SPEC.rule("no-such-rule")


def test_rule_listed_twice_is_refused() -> None:
    document = copy_document()
    document["x-contract-rules"].append(dict(document["x-contract-rules"][0]))
    with pytest.raises(SpecError, match="twice"):
        Spec(document)


def test_task_status_lists_of_different_lengths_are_refused() -> None:
    document = copy_document()
    document["components"]["schemas"]["TaskStatus"]["x-enum-names"].pop()
    with pytest.raises(SpecError, match="TaskStatus"):
        Spec(document)


def test_operations_and_webhooks() -> None:
    assert {(op.method, op.path) for op in SPEC.operations.values()} == {
        (e.method, e.spec_path) for e in load_documented().endpoints
    }
    assert SPEC.operation("getTask").method == "GET"
    assert SPEC.allowed_methods("/tasks/{id}") == ("GET",)
    assert SPEC.allowed_methods("/nowhere") == ()
    assert [hook.method for hook in SPEC.webhooks.values()] == ["POST"]
    with pytest.raises(SpecError, match="noSuchOperation"):
        SPEC.operation("noSuchOperation")


def test_response_schema_name() -> None:
    assert SPEC.response_schema_name("runTask", "200") == "Task"  # the bare object of TaskResponse
    assert SPEC.response_schema_name("cancelTask", "200") == "CancelResult"
    assert SPEC.response_schema_name("getSession", "200") == "Session"
    assert SPEC.response_schema_name("listSessions", "200") == "SessionList"
    assert SPEC.response_schema_name("getTask", "404") == "Error"
    assert SPEC.response_schema_name("getTask", "599") is None
    assert SPEC.response_schema_name("endSession", "204") is None
    assert SPEC.response_schema_name("streamTask", "200") is None


def test_version_schema_name() -> None:
    assert SPEC.version_schema_name("runTask", "200", "2") == "Task"
    assert SPEC.version_schema_name("runTask", "200", "1") == "TaskEnvelope"
    assert SPEC.version_schema_name("runTask", "200", None) == "TaskEnvelope"
    assert SPEC.version_schema_name("runTask", "404", "2") == "Problem"
    assert SPEC.version_schema_name("runTask", "404", None) == "Error"
    assert SPEC.version_schema_name("runTask", "404", "7") is None  # no such version documented


def test_required_folds_in_the_allof_parts() -> None:
    assert SPEC.required("Task") == tuple(SPEC.schema("Task")["required"])
    # a session's fields are a convention's: required in the part that carries its x-source
    assert "id" in SPEC.required("Session") and "required" not in SPEC.schema("Session")


def test_schema_and_resolve() -> None:
    task = SPEC.resolve({"$ref": "#/components/schemas/Task"})
    assert task == SPEC.schema("Task")
    with pytest.raises(SpecError, match="Nope"):
        SPEC.schema("Nope")
    with pytest.raises(SpecError, match="local"):
        SPEC.resolve({"$ref": "other.yaml#/x"})


def test_validate_reports_where() -> None:
    errors = SPEC.validate("CancelResult", {"id": "task_1", "status": "eleven", "cancelled": True})
    assert len(errors) >= 1 and all(e.startswith("status: ") for e in errors)
    assert SPEC.validate("Task", []) and SPEC.validate("Task", [])[0].startswith("<root>: ")


def test_validate_checks_formats() -> None:
    payload = {"id": "task_1", "status": SPEC.status("COMPLETED"), "input": {}, "created_at": "yesterday"}
    assert [e.split(":")[0] for e in SPEC.validate("Task", payload)] == ["created_at"]


def test_load_spec_is_cached_per_path() -> None:
    assert load_spec() is load_spec(DEFAULT_SPEC_PATH)
    assert load_spec().path == DEFAULT_SPEC_PATH


def test_load_spec_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="cannot read"):
        load_spec(tmp_path / "absent.yaml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("title: not an API\n", "not an OpenAPI document"),
        ("- openapi\n- 3.1.0\n", "not an OpenAPI document"),
        ("openapi: [3.1.0\n", "not valid YAML"),
    ],
    ids=["mapping-without-openapi", "list", "broken-yaml"],
)
def test_load_spec_refuses_non_openapi(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "other.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError, match=message):
        load_spec(path)
