"""How one run of the contract suite is set up (built by ``contract_tests/conftest.py`` from its options)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from infsh_harness import defaults
from infsh_harness.contract.journeys import App

__all__ = ["DEFAULT_APPS", "PROFILES", "SuiteSettings"]

# profile -> schemathesis examples per operation; "quick" keeps the suite near 20 s on the mock
PROFILES: dict[str, int] = {"quick": 20, "full": 200}
# role -> (the mock's app, its input as JSON)
DEFAULT_APPS: dict[str, tuple[str, str]] = {
    role: (app.name, json.dumps(dict(app.input))) for role, app in defaults.APPS.items()
}


@dataclass(frozen=True)
class SuiteSettings:
    base_url: str | None  # None: the embedded mock
    api_key: str
    api_key_2: str | None
    profile: str
    seed: int
    max_examples: int
    report_dir: Path
    complete: App
    long: App
    fail: App
    webhook_bind: str = "127.0.0.1"
    webhook_host: str | None = None
    webhook_port: int = 0
    webhook_deadline_s: float = 10.0
    webhook_grace_s: float = 1.0
    task_deadline_s: float = 60.0
    no_wait_deadline_s: float = 5.0
    mock_controls: str = "auto"  # auto | yes | no
    rules: tuple[str, ...] = ()
