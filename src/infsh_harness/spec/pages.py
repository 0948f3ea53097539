"""The pages the spec is written from (``data/pages/*.md``), read once.

Whether a quote is on one of them is :func:`infsh_harness.spec.sources.quote_on_page`'s business:
the one quote check of the harness.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from infsh_harness import data

__all__ = ["DOCUMENTATION_PAGES", "WIRE_PAGE", "load_pages"]

# the documentation of the Tasks API; the fourth page, ``WIRE_PAGE``, says what the official
# clients do on the wire: evidence, never a documented source
DOCUMENTATION_PAGES = ("tasks-api-docs.md", "docs-rest-overview.md", "docs-streaming-sessions.md")
WIRE_PAGE = "wire-observations.md"


@functools.cache
def load_pages() -> Mapping[str, str]:
    """Every shipped page's text by file name."""
    return {path.name: path.read_text(encoding="utf-8") for path in sorted(data.path("pages").glob("*.md"))}
