"""HAR files as observations: schemathesis' ``--report har``, browser and proxy captures alike.

A capture holds more than the API (pages, fonts, analytics), so only the API's entries are kept:
those under ``base_url`` when one is given, else those from an origin that served a documented
path or received a bearer key. Entries without an answer (status 0) are left out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from infsh_harness.drift.match import match
from infsh_harness.http.observation import Observation
from infsh_harness.spec import Spec

__all__ = ["HarError", "HarResult", "load_har", "read_entries"]


class HarError(Exception):
    """A HAR file that cannot be read or is not HAR."""


@dataclass
class HarResult:
    observations: list[Observation] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def read_entries(path: Path) -> list[Mapping[str, Any]]:
    """The ``log.entries`` of a HAR file; ``HarError`` naming the problem."""
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise HarError(f"cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise HarError(f"{path} is not JSON: {exc}") from None
    except RecursionError:
        raise HarError(f"{path} is nested too deeply to be a HAR file") from None
    log = data.get("log") if isinstance(data, Mapping) else None
    entries = log.get("entries") if isinstance(log, Mapping) else None
    if not isinstance(entries, list):
        raise HarError(f"{path} is not a HAR file (no log.entries list)")
    return [e for e in entries if isinstance(e, Mapping)]


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _under(url: str, base_url: str) -> bool:
    base = base_url.rstrip("/")
    return _origin(url) == _origin(base) and (
        urlsplit(url).path.startswith(urlsplit(base).path.rstrip("/") + "/")
        or not urlsplit(base).path.strip("/")
    )


def _api_origins(spec: Spec, observations: Sequence[Observation]) -> set[str]:
    origins = set()
    for obs in observations:
        authorised = obs.request_headers.get("authorization", "").lower().startswith("bearer ")
        if authorised or match(spec, obs.method, obs.path).path_documented:
            origins.add(_origin(obs.url))
    return origins


def load_har(path: Path, spec: Spec, base_url: str | None = None) -> HarResult:
    """The API's exchanges in one HAR file, as observations tagged with the file's name."""
    result = HarResult()
    source = f"har:{path.name}"
    unanswered = malformed = 0
    everything: list[Observation] = []
    for entry in read_entries(path):
        response = entry.get("response")
        if not isinstance(response, Mapping) or not response.get("status"):
            unanswered += 1
            continue
        try:
            everything.append(Observation.from_har_entry(entry, base_url=base_url, source=source))
        except (ValueError, TypeError, KeyError, AttributeError):  # a hostile or broken entry
            malformed += 1
    if base_url:
        result.observations = [o for o in everything if _under(o.url, base_url)]
    else:
        origins = _api_origins(spec, everything)
        result.observations = [o for o in everything if _origin(o.url) in origins]
    other = len(everything) - len(result.observations)
    for count, what in (
        (unanswered, "had no answer"),
        (malformed, "were malformed"),
        (other, "were not the API"),
    ):
        if count:
            result.notes.append(f"{path.name}: {count} entries {what} and were left out")
    if not result.observations:
        result.notes.append(f"{path.name}: no exchange with the API")
    return result
