"""The committed baseline: drift a team has accepted, by finding id, so only new drift fails CI.

A baseline file has the JSON report's shape (``{"findings": [{"id": ...}, ...]}``), so yesterday's
``drift.json`` can be committed as it is; ``write_baseline`` writes a trimmed one (no evidence)
that is small enough to review in a pull request.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from infsh_harness.drift.model import Finding

__all__ = ["BaselineError", "load_baseline", "write_baseline"]


class BaselineError(Exception):
    """A baseline file that cannot be read or has the wrong shape."""


def load_baseline(path: Path) -> frozenset[str]:
    """The accepted finding ids in ``path``."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BaselineError(f"baseline {path} does not exist (write one with --update-baseline)") from None
    except OSError as exc:
        raise BaselineError(f"cannot read baseline {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise BaselineError(f"baseline {path} is not JSON: {exc}") from None
    except RecursionError:
        raise BaselineError(f"baseline {path} is nested too deeply to be a baseline") from None
    findings = data.get("findings") if isinstance(data, Mapping) else None
    if not isinstance(findings, list):
        raise BaselineError(f"baseline {path} has no findings list")
    ids = [f.get("id") if isinstance(f, Mapping) else None for f in findings]
    if not all(isinstance(i, str) and i for i in ids):
        raise BaselineError(f"baseline {path}: every finding needs a string id")
    return frozenset(i for i in ids if isinstance(i, str))


def _entry(finding: Finding) -> dict[str, Any]:
    return {
        "id": finding.id,
        "kind": str(finding.kind),
        "severity": str(finding.level),
        "location": str(finding.location),
        "expected": finding.expected,
        "observed": finding.observed,
    }


def write_baseline(path: Path, findings: Iterable[Finding]) -> int:
    """Accept every finding in ``findings``; returns how many were written."""
    entries = [_entry(f) for f in findings]
    document = {
        "description": "Accepted API drift: findings with these ids do not fail `infsh-harness drift`.",
        "findings": entries,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return len(entries)
