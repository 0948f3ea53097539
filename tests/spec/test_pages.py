"""The documentation pages the harness ships (``data/pages/``) are the project's reference pages, unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from infsh_harness import data

PAGES = data.path("pages")
REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference"


def test_the_four_pages_and_the_wire_observations_are_shipped() -> None:
    names = sorted(p.name for p in PAGES.glob("*.md"))
    assert names == [
        "docs-rest-overview.md",
        "docs-streaming-sessions.md",
        "tasks-api-docs.md",
        "wire-observations.md",
    ]


@pytest.mark.skipif(not REFERENCE.is_dir(), reason="no shared/reference beside this checkout")
def test_shipped_pages_equal_the_reference() -> None:
    for page in sorted(REFERENCE.glob("*.md")):
        assert (PAGES / page.name).read_text(encoding="utf-8") == page.read_text(encoding="utf-8"), page.name
