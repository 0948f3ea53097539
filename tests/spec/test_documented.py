"""openapi/tasks.yaml covers every entry of the documentation page (fixtures/documented-contract.yaml).

The second half proves the check bites: removing or altering any documented item in a copy of the
spec makes ``missing_from_spec`` name that item.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from infsh_harness.spec import Spec, load_spec
from infsh_harness.spec.documented import (
    Documented,
    DocumentedError,
    DocumentedField,
    DocumentedStatus,
    Endpoint,
    Entry,
    body_schemas,
    check_entry,
    load_documented,
    missing_from_spec,
)

DOCUMENTED = load_documented()
ENTRIES = DOCUMENTED.entries()


def entry_id(entry: Entry) -> str:
    return entry.id


def of_kind(kind: type) -> list[Any]:
    return [e for e in ENTRIES if isinstance(e, kind)]


@pytest.fixture(scope="module")
def spec() -> Spec:
    return load_spec()


# --- the fixture is the page's tables ----------------------------------------------------------
def test_fixture_transcribes_every_table() -> None:
    kinds = {e.kind for e in of_kind(DocumentedField)}
    assert kinds == {"request-field", "response-field", "cancel-response-field", "webhook-field"}
    assert [e.path for e in of_kind(Endpoint)] == ["/run", "/tasks/:id", "/tasks/:id/cancel"]
    assert len(of_kind(DocumentedStatus)) == 11
    assert len({e.id for e in ENTRIES}) == len(ENTRIES), "entry ids must be unique"


def test_fixture_response_fields_apply_to_run_and_get() -> None:
    field = next(f for f in of_kind(DocumentedField) if f.id == "response-field:status")
    assert [b.label for b in field.bodies] == ["POST /run response", "GET /tasks/:id response"]


def test_endpoint_spec_path_uses_braces() -> None:
    assert Endpoint("POST", "/tasks/:id/cancel").spec_path == "/tasks/{id}/cancel"


# --- the spec covers every entry ----------------------------------------------------------------
@pytest.mark.parametrize("entry", ENTRIES, ids=entry_id)
def test_spec_covers_documented(spec: Spec, entry: Entry) -> None:
    assert check_entry(spec, entry) == []


def test_missing_from_spec_is_empty_for_the_spec(spec: Spec) -> None:
    assert missing_from_spec(spec, DOCUMENTED) == []


# --- the check bites ----------------------------------------------------------------------------
def mutated(spec: Spec, change: Callable[[Spec], None]) -> Spec:
    """A fresh Spec of a deep copy of ``spec``'s document after ``change`` edited that copy in place."""
    scratch = Spec(copy.deepcopy(dict(spec.document)))
    change(scratch)
    return Spec(copy.deepcopy(dict(scratch.document)))


def field_schemas(scratch: Spec, field: DocumentedField) -> list[dict[str, Any]]:
    """The schema nodes (each once: run and get share one) that hold ``field`` in ``scratch``."""
    schemas: dict[int, Any] = {}
    for body in field.bodies:
        located = body_schemas(scratch, body)
        assert not isinstance(located, str), located
        schemas.update((id(schema), schema) for _, schema in located)
    assert schemas
    return list(schemas.values())


def delete(entry: Entry) -> Callable[[Spec], None]:
    def change(scratch: Spec) -> None:
        document: Any = scratch.document
        if isinstance(entry, Endpoint):
            item = document["paths"][entry.spec_path]
            del item[entry.method.lower()]
        elif isinstance(entry, DocumentedField):
            for schema in field_schemas(scratch, entry):
                del schema["properties"][entry.name]
                if entry.name in schema.get("required", []):
                    schema["required"].remove(entry.name)
        else:
            status = document["components"]["schemas"]["TaskStatus"]
            index = status["enum"].index(entry.code)
            for key in ("enum", "x-enum-names", "x-enum-varnames", "x-enum-descriptions"):
                del status[key][index]
            if entry.code in status["x-terminal"]:
                status["x-terminal"].remove(entry.code)

    return change


@pytest.mark.parametrize("entry", ENTRIES, ids=entry_id)
def test_deleting_documented_item_is_reported(spec: Spec, entry: Entry) -> None:
    broken = mutated(spec, delete(entry))
    messages = missing_from_spec(broken, DOCUMENTED)
    assert any(m.startswith(f"{entry.id}: ") for m in messages), messages


def set_status_list(code: int, key: str, value: Any) -> Callable[[Spec], None]:
    def change(scratch: Spec) -> None:
        status: Any = scratch.document["components"]["schemas"]["TaskStatus"]
        status[key][status["enum"].index(code)] = value

    return change


def toggle_terminal(code: int) -> Callable[[Spec], None]:
    def change(scratch: Spec) -> None:
        terminal: Any = scratch.document["components"]["schemas"]["TaskStatus"]["x-terminal"]
        if code in terminal:
            terminal.remove(code)
        else:
            terminal.append(code)

    return change


@pytest.mark.parametrize("status", of_kind(DocumentedStatus), ids=entry_id)
@pytest.mark.parametrize("what", ["name", "description", "terminal"])
def test_altered_status_is_reported(spec: Spec, status: DocumentedStatus, what: str) -> None:
    if what == "terminal":
        change = toggle_terminal(status.code)
    else:
        change = set_status_list(status.code, f"x-enum-{what}s", "altered")
    messages = check_entry(mutated(spec, change), status)
    assert len(messages) == 1 and what in messages[0], messages


def retype(field: DocumentedField, new_schema: dict[str, Any]) -> Callable[[Spec], None]:
    def change(scratch: Spec) -> None:
        for schema in field_schemas(scratch, field):
            schema["properties"][field.name] = new_schema

    return change


@pytest.mark.parametrize("field", of_kind(DocumentedField), ids=entry_id)
def test_retyped_field_is_reported(spec: Spec, field: DocumentedField) -> None:
    wrong = {"type": "boolean"} if field.type != "boolean" else {"type": "string"}
    messages = check_entry(mutated(spec, retype(field, wrong)), field)
    assert messages and all("the docs as" in m for m in messages), messages


def test_array_of_wrong_items_is_reported(spec: Spec) -> None:
    workers = next(f for f in of_kind(DocumentedField) if f.type.endswith("[]"))
    broken = mutated(spec, retype(workers, {"type": "array", "items": {"type": "integer"}}))
    assert check_entry(broken, workers)


def test_number_is_covered_by_integer(spec: Spec) -> None:
    timeout = next(f for f in of_kind(DocumentedField) if f.id == "request-field:session_timeout")
    assert check_entry(mutated(spec, retype(timeout, {"type": "integer"})), timeout) == []


def flip_required(field: DocumentedField) -> Callable[[Spec], None]:
    def change(scratch: Spec) -> None:
        for schema in field_schemas(scratch, field):
            required = schema.setdefault("required", [])
            if field.name in required:
                required.remove(field.name)
            else:
                required.append(field.name)

    return change


@pytest.mark.parametrize("field", [f for f in of_kind(DocumentedField) if f.required is not None], ids=entry_id)
def test_wrong_required_flag_is_reported(spec: Spec, field: DocumentedField) -> None:
    messages = check_entry(mutated(spec, flip_required(field)), field)
    assert len(messages) == 1 and "required" in messages[0] and "optional" in messages[0], messages


def test_deleted_webhook_is_reported(spec: Spec) -> None:
    def change(scratch: Spec) -> None:
        scratch.document["webhooks"].clear()

    messages = missing_from_spec(mutated(spec, change), DOCUMENTED)
    webhook_ids = {f.id for f in of_kind(DocumentedField) if f.kind == "webhook-field"}
    assert {m.split(": ", 1)[0] for m in messages} == webhook_ids


# --- loading the fixture ------------------------------------------------------------------------
def test_load_documented_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DocumentedError, match="cannot read"):
        load_documented(tmp_path / "absent.yaml")


@pytest.mark.parametrize(
    "text",
    ["endpoints: [", "endpoints: []\n", "{endpoints: [], request_fields: {endpoint: GET /x, fields: []}}"],
    ids=["bad-yaml", "missing-sections", "unknown-endpoint"],
)
def test_load_documented_malformed(tmp_path: Path, text: str) -> None:
    path = tmp_path / "documented.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DocumentedError):
        load_documented(path)


def test_documented_is_plain_data() -> None:
    assert isinstance(DOCUMENTED, Documented)
    assert DOCUMENTED == load_documented()
