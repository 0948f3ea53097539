"""Provenance: every rule has a source, every documented quote is on its page, every x-source is well formed."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from infsh_harness.spec import Spec, SpecError, load_spec
from infsh_harness.spec.sources import DOCUMENTATION_PAGES, normalise, parse_source, quote_problems

SPEC = load_spec()


def test_every_rule_has_a_source_of_one_of_the_three_kinds() -> None:
    assert SPEC.rules and all(rule.source.kind in ("documented", "http", "convention") for rule in SPEC.rules.values())


def test_every_documented_quote_is_on_its_page() -> None:
    assert quote_problems(SPEC.sources()) == []


def test_a_quote_that_is_not_on_its_page_is_found() -> None:
    pages = {"tasks-api-docs.md": "| id | string |\n  Task ID |"}
    good = parse_source({"kind": "documented", "page": "tasks-api-docs.md", "quote": "| id | string | Task ID |"}, "x")
    bad = parse_source({"kind": "documented", "page": "tasks-api-docs.md", "quote": ["| id | number |"]}, "y")
    assert quote_problems({"x": good, "y": bad}, pages) == ["y: '| id | number |' is not on tasks-api-docs.md"]
    assert normalise(" a\n\tb ") == "a b"


def test_the_wire_observations_are_never_documentation() -> None:
    assert "wire-observations.md" not in DOCUMENTATION_PAGES
    with pytest.raises(ValueError, match="not a documentation page"):
        parse_source({"kind": "documented", "page": "wire-observations.md", "quote": "x"}, "rule r")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"kind": "folklore"}, "not one of"),
        ({"kind": "http"}, "needs a non-empty `cite`"),
        ({"kind": "convention", "reason": "  "}, "needs a non-empty `reason`"),
        ({"kind": "documented", "page": "tasks-api-docs.md"}, "needs a `quote`"),
        ({"kind": "documented", "page": "tasks-api-docs.md", "quote": []}, "needs a `quote`"),
        ({"kind": "convention", "reason": "r", "quote": "q"}, "has no quote"),
        ("documented", "must be a mapping"),
    ],
)
def test_a_malformed_source_is_refused(raw: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_source(raw, "somewhere")


def _document() -> dict[str, Any]:
    return copy.deepcopy(dict(SPEC.document))


def test_the_loader_refuses_a_rule_without_a_source_and_a_malformed_x_source() -> None:
    document = _document()
    del document["x-contract-rules"][0]["source"]
    with pytest.raises(SpecError, match="has no source"):
        Spec(document)
    document = _document()
    document["components"]["schemas"]["Error"]["x-source"] = {"kind": "convention"}
    with pytest.raises(SpecError, match="x-source at #/components/schemas/Error"):
        Spec(document)


def test_every_convention_constraint_belongs_to_a_convention_rule() -> None:
    for pointer, source in SPEC.x_sources.items():
        if source.is_convention:
            rule = SPEC.convention_rule(pointer)
            assert rule is not None and rule.is_convention, pointer


def test_each_constraint_error_carries_the_source_of_its_constraint() -> None:
    body = {"app": "infsh/echo", "input": {}, "webhook": "ftp://host.invalid/x", "infra": "edge"}
    by_keyword = {e.keyword: e for e in SPEC.constraint_errors("RunRequest", body)}
    assert by_keyword["enum"].source is None  # infra's values are on the page
    assert by_keyword["pattern"].is_convention
    assert SPEC.convention_rule(by_keyword["pattern"].pointer).id == "run-constraints-refused"  # type: ignore[union-attr]
    # a timestamp without its offset breaks only the convention; a status outside the enum breaks the page
    task = {"id": "t", "status": 12, "input": {}, "created_at": "2024-01-15T10:30:00"}
    assert SPEC.validate("Task", task, conventions=False) != [] and len(SPEC.validate("Task", task)) == 2
    assert [e.keyword for e in SPEC.constraint_errors("Task", task) if e.is_convention] == ["format"]


def test_a_source_reads_back_in_the_spec_s_own_shape() -> None:
    assert SPEC.rule("no-server-error").source.as_json()["kind"] == "http"
    documented = SPEC.rule("run-no-wait").source.as_json()
    assert set(documented) == {"kind", "page", "quote"} and isinstance(documented["quote"], str)
