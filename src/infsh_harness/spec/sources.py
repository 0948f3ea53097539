"""Where a rule or a constraint of the spec comes from: a quoted page, an HTTP standard, or a convention.

Every rule of ``x-contract-rules`` has a ``source``; a schema node or response the pages do not state
has an ``x-source`` of the same shape::

    {kind: documented, page: tasks-api-docs.md, quote: "exact text" | ["text", ...]}
    {kind: http, cite: "RFC 9110 §15.5.2: ..."}
    {kind: convention, reason: "what we chose where the pages are silent"}

Only ``documented`` and ``http`` fail a server by default. ``wire-observations.md`` records what the
official clients do, not what the documentation says: it is never a ``documented`` page.
:func:`quote_on_page` is the one quote check of the harness (a whitespace-normalised substring
match: line breaks and runs of spaces count as one space on both sides, nothing else is forgiven);
:func:`quote_problems` runs it over every documented source.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from infsh_harness.spec.pages import DOCUMENTATION_PAGES, load_pages

__all__ = [
    "DOCUMENTATION_PAGES",
    "KINDS",
    "Source",
    "normalise",
    "parse_source",
    "quote_on_page",
    "quote_problems",
    "x_sources",
]

KINDS = ("documented", "http", "convention")


class SourceError(ValueError):
    """A ``source`` or ``x-source`` that is not one of the three shapes."""


@dataclass(frozen=True)
class Source:
    kind: str  # documented | http | convention
    page: str = ""  # documented: the page file under data/pages/
    quotes: tuple[str, ...] = ()  # documented: the sentences it rests on
    cite: str = ""  # http: the standard and section
    reason: str = ""  # convention: why we chose it

    @property
    def is_convention(self) -> bool:
        return self.kind == "convention"

    def as_json(self) -> dict[str, Any]:
        """The source in the spec's own shape."""
        if self.kind == "documented":
            quote: str | list[str] = self.quotes[0] if len(self.quotes) == 1 else list(self.quotes)
            return {"kind": self.kind, "page": self.page, "quote": quote}
        if self.kind == "http":
            return {"kind": self.kind, "cite": self.cite}
        return {"kind": self.kind, "reason": self.reason}

    def describe(self) -> str:
        """One line: ``documented (tasks-api-docs.md): "..."``, ``http: RFC ...``, ``convention: ...``."""
        if self.kind == "documented":
            return f"documented ({self.page}): " + " / ".join(f'"{q}"' for q in self.quotes)
        return f"{self.kind}: {self.cite or self.reason}"


def _text(raw: Mapping[str, Any], key: str, where: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise SourceError(f"{where}: a {raw.get('kind')} source needs a non-empty `{key}`")
    return " ".join(value.split())


def parse_source(raw: Any, where: str) -> Source:
    """A typed :class:`Source` from the spec's mapping; :class:`SourceError` naming ``where`` if malformed."""
    if not isinstance(raw, Mapping):
        raise SourceError(f"{where}: the source must be a mapping with a `kind`")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise SourceError(f"{where}: source kind {kind!r} is not one of {', '.join(KINDS)}")
    allowed = {"documented": {"kind", "page", "quote"}, "http": {"kind", "cite"}, "convention": {"kind", "reason"}}
    extra = sorted(set(raw) - allowed[kind])
    if extra:
        raise SourceError(f"{where}: a {kind} source has no {', '.join(extra)}")
    if kind == "http":
        return Source(kind, cite=_text(raw, "cite", where))
    if kind == "convention":
        reason = _text(raw, "reason", where)
        return Source(kind, reason=reason)
    page = _text(raw, "page", where)
    if page not in DOCUMENTATION_PAGES:
        shown = ", ".join(DOCUMENTATION_PAGES)
        raise SourceError(f"{where}: {page!r} is not a documentation page (one of {shown})")
    quote = raw.get("quote")
    quotes = [quote] if isinstance(quote, str) else quote
    if not isinstance(quotes, list) or not quotes or not all(isinstance(q, str) and q.strip() for q in quotes):
        raise SourceError(f"{where}: a documented source needs a `quote`: a sentence of the page, or a list of them")
    return Source(kind, page=page, quotes=tuple(" ".join(q.split()) for q in quotes))


def normalise(text: str) -> str:
    """``text`` with every run of whitespace made one space: how quotes are matched against pages."""
    return " ".join(text.split())


def quote_on_page(page: str, quote: str, pages: Mapping[str, str] | None = None) -> bool:
    """Whether ``quote`` (non-empty) is on ``page``, a file name of ``pages`` (default: every page of
    ``data/pages/``, the wire observations included)."""
    text = (load_pages() if pages is None else pages).get(page)
    return text is not None and bool(quote.strip()) and normalise(quote) in normalise(text)


def quote_problems(sources: Mapping[str, Source], pages: Mapping[str, str] | None = None) -> list[str]:
    """Every quote (``where -> source``) that is not on its page; ``pages`` defaults to ``data/pages/``."""
    return [
        f"{where}: {quote!r} is not on {source.page}"
        for where, source in sources.items()
        if source.kind == "documented"
        for quote in source.quotes
        if not quote_on_page(source.page, quote, pages)
    ]


def _escape(part: Any) -> str:
    return str(part).replace("~", "~0").replace("/", "~1")


def x_sources(node: Any, pointer: str = "#") -> Iterator[tuple[str, Any]]:
    """``(JSON pointer, raw x-source)`` for every ``x-source`` in a document, depth first."""
    if isinstance(node, Mapping):
        if "x-source" in node:
            yield pointer, node["x-source"]
        for key, value in node.items():
            if key != "x-source":
                yield from x_sources(value, f"{pointer}/{_escape(key)}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from x_sources(value, f"{pointer}/{index}")
