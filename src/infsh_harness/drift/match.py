"""Match a request to a documented operation, or give an undocumented one a stable template.

``/tasks/2khet8d1p6z26krbtvn9d7rkth`` matches the spec's ``/tasks/{id}``; ``/tasks/2khet.../status``
matches nothing, and becomes ``/tasks/{id}/status`` (the spec's own parameter names for the part
it shares with a documented path, ``{id}`` for other id-like segments) so that every request to it
lands in one finding.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from infsh_harness.spec import Spec

__all__ = ["Match", "match"]

_PARAM = re.compile(r"^\{([^}]+)\}$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


@dataclass(frozen=True)
class Match:
    method: str
    template: str  # the spec's path template, or one inferred for an undocumented path
    operation_id: str | None  # None: no documented operation has this method and path
    path_documented: bool  # the path is in the spec (perhaps with other methods)

    @property
    def endpoint(self) -> str:
        return f"{self.method} {self.template}"


def _segments(path: str) -> list[str]:
    return [s for s in path.split("/") if s]


@functools.lru_cache(maxsize=8)
def _templates(spec: Spec) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Spec paths, the most literal first (so ``/tasks/search`` would beat ``/tasks/{id}``)."""
    paths = [(p, tuple(_segments(p))) for p in spec.document.get("paths", {})]
    return tuple(sorted(paths, key=lambda item: (-sum(not _PARAM.match(s) for s in item[1]), item[0])))


def _fits(template: tuple[str, ...], segments: list[str]) -> bool:
    return all(_PARAM.match(t) or t == s for t, s in zip(template, segments, strict=False))


def _looks_like_id(segment: str) -> bool:
    if segment.isdigit() or _UUID.match(segment):
        return True
    return len(segment) >= 6 and any(c.isdigit() for c in segment) and any(c.isalpha() for c in segment)


def _infer_template(spec: Spec, segments: list[str]) -> str:
    # borrow names from the documented path sharing the longest prefix, then guess the rest
    best: tuple[str, ...] = ()
    for _, template in _templates(spec):
        shared = 0
        for t, s in zip(template, segments, strict=False):
            if not (_PARAM.match(t) or t == s):
                break
            shared += 1
        if shared > len(best):
            best = template[:shared]
    out = list(best)
    for segment in segments[len(best) :]:
        out.append("{id}" if _looks_like_id(segment) else segment)
    return "/" + "/".join(out)


def match(spec: Spec, method: str, path: str) -> Match:
    method = method.upper()
    segments = _segments(path)
    for template, parts in _templates(spec):
        if len(parts) == len(segments) and _fits(parts, segments):
            op_id = next(
                (
                    op.operation_id
                    for op in spec.operations.values()
                    if op.path == template and op.method == method
                ),
                None,
            )
            return Match(method, template, op_id, path_documented=True)
    return Match(method, _infer_template(spec, segments), None, path_documented=False)
