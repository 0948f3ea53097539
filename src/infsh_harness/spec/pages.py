"""The pages the spec is written from (``data/pages/*.md``), and whether a quote is on one of them.

A quote is on a page when its words, in order, are in the page's text: line breaks and runs of
spaces count as one space on both sides, nothing else is forgiven.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from infsh_harness import data

__all__ = ["DOCUMENTATION_PAGES", "WIRE_PAGE", "load_pages", "quote_on_page"]

# the documentation of the Tasks API; the fourth page, ``WIRE_PAGE``, says what the official
# clients do on the wire: evidence, never a documented source
DOCUMENTATION_PAGES = ("tasks-api-docs.md", "docs-rest-overview.md", "docs-streaming-sessions.md")
WIRE_PAGE = "wire-observations.md"


@functools.cache
def load_pages() -> Mapping[str, str]:
    """Every shipped page's text by file name."""
    return {path.name: path.read_text(encoding="utf-8") for path in sorted(data.path("pages").glob("*.md"))}


def _words(text: str) -> str:
    return " ".join(text.split())


def quote_on_page(page: str, quote: str) -> bool:
    """Whether ``quote`` (non-empty) is on ``page`` (a file name of ``data/pages/``)."""
    text = load_pages().get(page)
    return text is not None and bool(quote.strip()) and _words(quote) in _words(text)
