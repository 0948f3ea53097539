"""The one scrubber of secrets: API keys never reach a report, a log, a HAR or a message.

A key is removed wherever it turns up — a header, a URL, a body the server echoed it in — by its
shape (``inf_`` followed by letters, digits, ``_`` or ``-``) and, when the caller knows them, by the
actual key values (a key need not look like ``inf_…``). :func:`scrub_file` rewrites a written report
in place; a HAR is parsed so that bodies stored base64-encoded are scrubbed too.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

__all__ = ["KEY_PATTERN", "REDACTED", "redact_text", "redact_value", "scrub_file", "secrets_of"]

REDACTED = "[REDACTED]"
# API keys look like ``inf_<letters, digits, _ or ->``; they may turn up in URLs and bodies too
KEY_PATTERN = re.compile(r"\binf_[A-Za-z0-9_\-]+")
_MIN_SECRET = 4  # shorter "keys" would scrub ordinary words; a real key is far longer


def secrets_of(values: Iterable[str | None]) -> tuple[str, ...]:
    """The secrets worth scrubbing by value: each non-empty value once, longest first."""
    kept = {v for v in values if v and len(v) >= _MIN_SECRET}
    return tuple(sorted(kept, key=len, reverse=True))


@lru_cache(maxsize=256)
def _forms(secret: str) -> tuple[str, ...]:
    """``secret`` as it may be written: as is, percent-encoded (a URL, a form) and escaped in JSON."""
    forms = {secret, quote(secret, safe=""), quote(secret), quote_plus(secret), json.dumps(secret)[1:-1]}
    return tuple(sorted(forms, key=len, reverse=True))


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every ``inf_...`` key, and every one of ``secrets`` (in any of its :func:`_forms`), replaced."""
    for secret in secrets:
        if not secret:
            continue
        for form in _forms(secret):
            if form in text:
                text = text.replace(form, REDACTED)
    return KEY_PATTERN.sub(REDACTED, text)


def redact_value(value: Any, secrets: Iterable[str] = ()) -> Any:
    """A JSON value with every string in it redacted (keys of objects included).

    Walked with a stack of its own, not by recursion: a server's answer nested as deep as its JSON
    parser allows is redacted like any other."""
    secrets = tuple(secrets)

    def leaf(v: Any) -> Any:
        return redact_text(v, secrets) if isinstance(v, str) else v

    if not isinstance(value, (dict, list)):
        return leaf(value)
    root: list[Any] = [None]
    todo: list[tuple[Any, Any, Any]] = [(value, root, 0)]  # (a container, where its copy goes, under what)
    while todo:
        source, parent, slot = todo.pop()
        if isinstance(source, dict):
            copy: Any = {}
            items: Iterable[tuple[Any, Any]] = ((redact_text(str(k), secrets), v) for k, v in source.items())
        else:
            copy = [None] * len(source)
            items = enumerate(source)
        parent[slot] = copy
        for key, item in items:
            if isinstance(item, (dict, list)):
                copy[key] = None
                todo.append((item, copy, key))
            else:
                copy[key] = leaf(item)
    return root[0]


def _scrub_har(value: Any, secrets: tuple[str, ...]) -> Any:
    if isinstance(value, dict):
        if value.get("encoding") == "base64" and isinstance(value.get("text"), str):
            try:
                raw = base64.b64decode(value["text"], validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                raw = None
            if raw is not None:
                clean = redact_text(raw, secrets)
                value = {**value, "text": base64.b64encode(clean.encode("utf-8")).decode("ascii")}
        return {k: (v if k == "text" and value.get("encoding") == "base64" else _scrub_har(v, secrets))
                for k, v in value.items()}  # fmt: skip
    if isinstance(value, list):
        return [_scrub_har(v, secrets) for v in value]
    if isinstance(value, str):
        return redact_text(value, secrets)
    return value


def scrub_file(path: Path, secrets: Iterable[str] = ()) -> bool:
    """Rewrite ``path`` without any secret; answer whether it had one. A missing file is left alone."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return False
    secrets = tuple(secrets)
    if path.suffix == ".har":
        try:
            clean = json.dumps(_scrub_har(json.loads(text), secrets), ensure_ascii=False)
        except ValueError:
            clean = redact_text(text, secrets)
    else:
        clean = redact_text(text, secrets)
    if clean == text:
        return False
    path.write_text(clean, encoding="utf-8")
    return True
