"""Tolerant reading of JSON documents: a missing or mistyped optional key is ``None``, never a crash.

The part readers use these to pick values out of the summaries; :func:`load_document` reads one
file (redacted) or raises :class:`Unreadable` with a sentence for the page, also when the file
was left by an earlier run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from infsh_harness.report.redact import Redactor

__all__ = ["Unreadable", "boolean", "integer", "load_document", "mapping", "number", "sequence", "text"]


class Unreadable(Exception):
    """A summary that is missing, not JSON, or not the expected shape; the message says which."""


STALE_SLACK_S = 0.5  # a file system's clock may trail the one a step's start was read from


def load_document(path: Path, redactor: Redactor, not_before: float | None = None) -> dict[str, Any]:
    """``path`` as JSON, redacted; ``not_before``: a file last written before this time is an earlier run's."""
    try:
        if not_before is not None and path.stat().st_mtime < not_before - STALE_SLACK_S:
            raise Unreadable(f"{path.name} is from an earlier run (this step wrote none)")
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise Unreadable(f"{path.name} was not written") from None
    except OSError as exc:
        raise Unreadable(f"{path.name} cannot be read: {exc.strerror}") from None
    try:
        document = json.loads(raw)
    except ValueError as exc:
        raise Unreadable(f"{path.name} is not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise Unreadable(f"{path.name} is not a JSON object")
    redacted: dict[str, Any] = redactor.json(document)
    return redacted


def mapping(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    return value if isinstance(value, Mapping) else {}


def sequence(data: Mapping[str, Any], key: str) -> list[Any]:
    value = data.get(key)
    return list(value) if isinstance(value, list | tuple) else []


def text(data: Mapping[str, Any], key: str, default: str = "") -> str:
    value = data.get(key)
    if value is None or isinstance(value, dict | list):
        return default
    return str(value)


def number(data: Mapping[str, Any], key: str) -> float | None:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def integer(data: Mapping[str, Any], key: str) -> int | None:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)


def boolean(data: Mapping[str, Any], key: str) -> bool | None:
    value = data.get(key)
    return value if isinstance(value, bool) else None
