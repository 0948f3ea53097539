"""Where the documentation contradicts itself: ``data/page-conflicts.yaml`` as findings.

Each conflict quotes every page involved, says which page to trust and why. The drift report
shows them as findings of their own kind (``doc-conflict``, severity warning) beside, not among,
the server's drift: they are the documentation's problem, so by default they fail no run.
:func:`conflicts_markdown` renders the list for ``docs/pages.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from infsh_harness import data
from infsh_harness.drift.model import Finding, Kind, Location
from infsh_harness.spec.sources import quote_on_page

__all__ = [
    "DEFAULT_CONFLICTS_PATH",
    "ConflictError",
    "PageConflict",
    "Side",
    "conflict_findings",
    "conflicts_markdown",
    "load_conflicts",
    "misquoted",
]

DEFAULT_CONFLICTS_PATH = data.path("page-conflicts.yaml")
_LOCATION = "documentation"
_BETWEEN = frozenset({"documentation", "wire"})


class ConflictError(Exception):
    """The conflicts file is missing or malformed."""


@dataclass(frozen=True)
class Side:
    """What one page says: its exact words (one or more quotes) and their gist."""

    page: str
    quotes: tuple[str, ...]
    says: str


@dataclass(frozen=True)
class PageConflict:
    id: str
    title: str
    between: str  # "documentation": pages disagree; "wire": a page and the official clients' wire disagree
    sides: tuple[Side, ...]
    trust: str
    why: str

    @property
    def pages(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(side.page for side in self.sides))


def load_conflicts(path: Path | str | None = None) -> tuple[PageConflict, ...]:
    source = Path(path) if path else DEFAULT_CONFLICTS_PATH
    try:
        raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConflictError(f"cannot read {source}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConflictError(f"{source} is not valid YAML: {exc}") from None
    try:
        conflicts = tuple(_conflict(entry) for entry in raw["conflicts"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ConflictError(f"{source} is malformed: {exc!r}") from None
    if len({c.id for c in conflicts}) != len(conflicts):
        raise ConflictError(f"{source} lists a conflict id twice")
    return conflicts


def _conflict(raw: Mapping[str, Any]) -> PageConflict:
    sides = tuple(
        Side(
            str(s["page"]),
            tuple(map(str, s["quote"] if isinstance(s["quote"], list) else [s["quote"]])),
            str(s["says"]),
        )
        for s in raw["sides"]
    )
    conflict = PageConflict(
        str(raw["id"]),
        str(raw["title"]),
        str(raw["between"]),
        sides,
        str(raw["trust"]),
        " ".join(str(raw["why"]).split()),
    )
    if conflict.between not in _BETWEEN:
        raise ValueError(f"{conflict.id}: between must be one of {sorted(_BETWEEN)}")
    if len(sides) < 1 or not all(side.quotes for side in sides):
        raise ValueError(f"{conflict.id}: every side needs a quote")
    if conflict.trust not in conflict.pages:
        raise ValueError(f"{conflict.id}: trust names {conflict.trust}, which is none of its sides")
    return conflict


def misquoted(conflicts: tuple[PageConflict, ...]) -> list[str]:
    """``"<id>: <page>: <quote>"`` for every quote that is not on its page (empty when all are)."""
    return [
        f"{c.id}: {side.page}: {quote}"
        for c in conflicts
        for side in c.sides
        for quote in side.quotes
        if not quote_on_page(side.page, quote)
    ]


def conflict_findings(conflicts: tuple[PageConflict, ...] | None = None) -> list[Finding]:
    """One ``doc-conflict`` finding per conflict, keyed by its id."""
    found = []
    for c in conflicts if conflicts is not None else load_conflicts():
        observed = "; ".join(f"{side.page}: {side.says}" for side in c.sides)
        evidence = {
            "conflict": c.id,
            "title": c.title,
            "between": c.between,
            "sides": [{"page": s.page, "quotes": list(s.quotes), "says": s.says} for s in c.sides],
            "trust": c.trust,
            "why": c.why,
        }
        found.append(
            Finding(
                Kind.DOC_CONFLICT,
                Location(_LOCATION, json_path=c.id),
                f"trust {c.trust}: {c.why}",
                observed,
                key=c.id,
                evidence=evidence,
                sources=c.pages,
            )  # fmt: skip
        )
    return found


def conflicts_markdown(conflicts: tuple[PageConflict, ...] | None = None) -> str:
    """The conflicts as Markdown sections (one ``###`` a conflict), for ``docs/pages.md``."""
    lines: list[str] = []
    for c in conflicts if conflicts is not None else load_conflicts():
        kind = "between pages" if c.between == "documentation" else "a page against the wire"
        lines += [f"### `{c.id}`: {c.title}", "", f"*{kind}* · trust **`{c.trust}`**", ""]
        for side in c.sides:
            quoted = " · ".join(f"“{' '.join(q.split())}”" for q in side.quotes)
            lines.append(f"- `{side.page}`: {side.says} ({quoted})")
        lines += ["", c.why, ""]
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":  # regenerate the list in docs/pages.md: python -m infsh_harness.drift.conflicts
    print(conflicts_markdown(), end="")
