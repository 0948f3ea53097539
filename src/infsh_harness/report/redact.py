"""Keys never reach the page: ``inf_…`` and every key value the command was given are replaced.

The readers pass every document they load through :func:`redact_json` and every log line through
:func:`redact`, so nothing the templates see holds a key. Key values shorter than
:data:`MIN_SECRET_LENGTH` are not searched for (they cannot be told from ordinary text), the same
rule as the load report's scrubbing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

__all__ = ["MIN_SECRET_LENGTH", "REDACTED", "Redactor"]

REDACTED = "[REDACTED]"
MIN_SECRET_LENGTH = 6
_KEY = re.compile(r"(?<![A-Za-z0-9])inf_[A-Za-z0-9_\-]+")


class Redactor:
    """Replaces keys in text and in JSON-shaped data."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        words = {s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}
        self._secrets = sorted(words, key=len, reverse=True)  # a key that contains another goes first

    def __repr__(self) -> str:
        return f"Redactor({len(self._secrets)} secrets)"

    def text(self, value: str) -> str:
        for secret in self._secrets:
            value = value.replace(secret, REDACTED)
        return _KEY.sub(REDACTED, value)

    def json(self, value: Any) -> Any:
        """``value`` (parsed JSON) with every string, key or value, redacted."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.json(v) for v in value]
        if isinstance(value, dict):
            return {self.text(str(k)): self.json(v) for k, v in value.items()}
        return value
