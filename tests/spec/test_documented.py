"""openapi/tasks.yaml covers every entry of the documentation pages (data/documented-contract.yaml).

The fixture is checked against the pages themselves: every quote is on its page, and every table
row and every code block of the three documentation pages is transcribed. The second half proves
the check bites: removing or altering any documented item in a copy of the spec makes
``missing_from_spec`` name that item.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from infsh_harness.spec import Spec, load_spec
from infsh_harness.spec.documented import (
    Claim,
    Documented,
    DocumentedError,
    DocumentedField,
    DocumentedStatus,
    Endpoint,
    Entry,
    Expectation,
    body_schemas,
    check_entry,
    load_documented,
    missing_from_spec,
    spec_node,
    uncovered,
)
from infsh_harness.spec.pages import DOCUMENTATION_PAGES, WIRE_PAGE, load_pages
from infsh_harness.spec.sources import quote_on_page

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
    assert kinds == {"request-field", "response-field", "cancel-response-field", "webhook-field", "session-field"}
    assert [e.label for e in of_kind(Endpoint)] == [
        "POST /run",
        "GET /tasks/:id",
        "POST /tasks/:id/cancel",
        "GET /tasks/:id/stream",
        "GET /sessions",
        "GET /sessions/{id}",
        "POST /sessions/{id}/keepalive",
        "DELETE /sessions/{id}",
    ]
    assert len(of_kind(DocumentedStatus)) == 11
    assert len({e.id for e in ENTRIES}) == len(ENTRIES), "entry ids must be unique"


# --- the fixture is on the pages ----------------------------------------------------------------
def quotes_of(entry: Entry) -> list[tuple[str, str]]:
    """``(page, text)`` the entry says is on a page: a claim's quote, an endpoint's description."""
    if isinstance(entry, Claim):
        return [(entry.page, entry.quote)]
    if isinstance(entry, Endpoint):
        return [(entry.page, entry.description)] if entry.description else []
    if isinstance(entry, DocumentedField):
        return [(entry.page, entry.description)] if entry.description else []
    return []


@pytest.mark.parametrize("entry", ENTRIES, ids=entry_id)
def test_every_quote_of_the_fixture_is_on_its_page(entry: Entry) -> None:
    for page, text in quotes_of(entry):
        assert page in DOCUMENTATION_PAGES, f"{entry.id} cites {page}, which is not documentation"
        assert quote_on_page(page, text), f"{entry.id}: {text!r} is not on {page}"


def test_quote_check_bites() -> None:
    assert quote_on_page("tasks-api-docs.md", "Completed | 9 | Done")
    assert quote_on_page("tasks-api-docs.md", "Run   Task")  # whitespace is forgiven...
    assert not quote_on_page("tasks-api-docs.md", "Completed | 10 | Done")  # ...nothing else
    assert not quote_on_page("tasks-api-docs.md", "  ")
    assert not quote_on_page("no-such-page.md", "Run Task")
    assert WIRE_PAGE in load_pages() and WIRE_PAGE not in DOCUMENTATION_PAGES


def _table_rows(text: str) -> list[str]:
    """The body rows of every Markdown table (not the header row, not the ``|---|`` line)."""
    rows: list[str] = []
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if not line.startswith("|") or re.fullmatch(r"\|[-| ]+\|", line):
            continue
        header = index + 1 < len(lines) and re.fullmatch(r"\|[-| ]+\|", lines[index + 1])
        if not header:
            rows.append(line)
    return rows


def _code_blocks(text: str) -> list[str]:
    return re.findall(r"^```[a-z]*\n(.*?)^```", text, re.DOTALL | re.MULTILINE)


def _words(text: str) -> str:
    return " ".join(text.split())


def _names(entry: Entry) -> list[str]:
    """How a table row names the entry: ``| name |`` of a field or a status, or the claim's quote."""
    if isinstance(entry, DocumentedField):
        return [f"| {entry.name} |", f"| `{entry.name}` |"]
    if isinstance(entry, DocumentedStatus):
        return [f"| {entry.name} | {entry.code} |"]
    if isinstance(entry, Claim):
        return [_words(entry.quote)]
    return []


def _transcribed(page: str, item: str) -> bool:
    return any(
        getattr(entry, "page", page) == page and any(name in _words(item) for name in _names(entry))
        for entry in ENTRIES
    )


PAGE_ITEMS = [
    (page, kind, item)
    for page in DOCUMENTATION_PAGES
    for kind, items in (("row", _table_rows(load_pages()[page])), ("example", _code_blocks(load_pages()[page])))
    for item in items
]


def test_pages_have_tables_and_examples() -> None:
    assert sum(kind == "row" for _, kind, _ in PAGE_ITEMS) == 8 + 7 + 11 + 7 + 3 + 6 + 3 + 3 + 1 + 9 + 6
    assert sum(kind == "example" for _, kind, _ in PAGE_ITEMS) == 9 + 5 + 1


@pytest.mark.parametrize(("page", "kind", "item"), PAGE_ITEMS, ids=[f"{p}:{k}:{i[:40]}" for p, k, i in PAGE_ITEMS])
def test_every_table_row_and_example_of_the_pages_is_transcribed(page: str, kind: str, item: str) -> None:
    assert _transcribed(page, item), f"{page} {kind} not in documented-contract.yaml: {item!r}"


def test_uncovered_entries_say_why() -> None:
    reasons = dict(uncovered(DOCUMENTED))
    assert set(reasons) == {
        "version:requirements-412",
        "example:overview-v2-success",
        "example:overview-earlier-error",
        "rate-limit:upload-file",
        "mention:route-catalog",
        "mention:sdk-status-numbers",
        "mention:sdk-variant",
        "mention:chats-stream",
    }
    assert all(len(reason.split()) >= 5 for reason in reasons.values())


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


def parent_of(scratch: Spec, pointer: str) -> tuple[Any, Any]:
    """The container holding the node at ``pointer`` (through ``$ref``s, as ``spec_node`` reads it), and its key."""
    parent_pointer, last = pointer.rsplit("/", 1)
    parent = spec_node(scratch, parent_pointer)
    if last != "$ref":
        parent = scratch.resolve(parent)
    key = last.replace("~1", "/").replace("~0", "~")
    return parent, int(key) if isinstance(parent, list) else key


def delete_expected(expected: Expectation) -> Callable[[Spec], None]:
    """Remove what one expectation of a claim points at: a spec node, a rule parameter, a rule."""

    def change(scratch: Spec) -> None:
        document: Any = scratch.document
        if expected.rule is not None:
            rules = document["x-contract-rules"]
            rule = next(r for r in rules if r["id"] == expected.rule)
            if expected.param is None:
                rules.remove(rule)
                return
            *parents, last = expected.param.split(".")
            node = rule
            for key in parents:
                node = node[key]
            del node[last]
            return
        assert expected.at is not None
        parent, key = parent_of(scratch, expected.at)
        del parent[key]

    return change


def delete(entry: Entry) -> Callable[[Spec], None]:
    def change(scratch: Spec) -> None:
        document: Any = scratch.document
        if isinstance(entry, Claim):
            for expected in entry.expects:
                delete_expected(expected)(scratch)
        elif isinstance(entry, Endpoint):
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


COVERED = [e for e in ENTRIES if not (isinstance(e, Claim) and e.uncovered)]


@pytest.mark.parametrize("entry", COVERED, ids=entry_id)
def test_deleting_documented_item_is_reported(spec: Spec, entry: Entry) -> None:
    broken = mutated(spec, delete(entry))
    messages = missing_from_spec(broken, DOCUMENTED)
    assert any(m.startswith(f"{entry.id}: ") for m in messages), messages


EXPECTATIONS = [(claim, index) for claim in of_kind(Claim) for index in range(len(claim.expects))]


@pytest.mark.parametrize(("claim", "index"), EXPECTATIONS, ids=[f"{c.id}#{i}" for c, i in EXPECTATIONS])
def test_deleting_any_counterpart_of_a_claim_is_reported(spec: Spec, claim: Claim, index: int) -> None:
    expected = claim.expects[index]
    messages = check_entry(mutated(spec, delete_expected(expected)), claim)
    assert messages and all(m.startswith(f"{claim.id}: ") for m in messages), messages
    assert any(expected.label in m for m in messages), messages


EQUALS = [(c, i) for c, i in EXPECTATIONS if c.expects[i].at is not None and c.expects[i].checks_value]


@pytest.mark.parametrize(("claim", "index"), EQUALS, ids=[f"{c.id}#{i}" for c, i in EQUALS])
def test_altering_a_counterpart_of_a_claim_is_reported(spec: Spec, claim: Claim, index: int) -> None:
    expected = claim.expects[index]

    def alter(scratch: Spec) -> None:
        assert expected.at is not None
        parent, key = parent_of(scratch, expected.at)
        parent[key] = "altered"

    messages = check_entry(mutated(spec, alter), claim)
    assert any(expected.label in m and "'altered'" in m for m in messages), messages


def test_claims_without_a_counterpart_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "documented.yaml"
    path.write_text(
        "endpoints: []\nrequest_fields: {fields: []}\nresponse_fields: {fields: []}\n"
        "cancel_response_fields: {fields: []}\nwebhook_fields: {fields: []}\nstatus_codes: []\n"
        "claims: [{kind: example, name: x, quote: y}]\n",
        encoding="utf-8",
    )
    with pytest.raises(DocumentedError, match="example:x"):
        load_documented(path)


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


@pytest.mark.parametrize("field", [f for f in of_kind(DocumentedField) if f.type], ids=entry_id)
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
    webhook_examples = {c.id for c in of_kind(Claim) if any((e.at or "").startswith("/webhooks/") for e in c.expects)}
    assert webhook_examples == {"example:webhook-payload"}
    assert {m.split(": ", 1)[0] for m in messages} == webhook_ids | webhook_examples


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
