"""How one run of the contract suite is set up (built by the suite's ``conftest.py`` from its options)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from infsh_harness import defaults
from infsh_harness.contract.journeys import App
from infsh_harness.redact import secrets_of

__all__ = ["DEFAULT_APPS", "DEFAULT_REQUEST_TIMEOUT_S", "DEFAULT_SUITE_DEADLINE_S", "PROFILES", "SuiteSettings"]

# profile -> schemathesis examples per operation; "quick" keeps the suite near 20 s on the mock
PROFILES: dict[str, int] = {"quick": 20, "full": 200}
# role -> (the mock's app, its input as JSON)
DEFAULT_APPS: dict[str, tuple[str, str]] = {
    role: (app.name, json.dumps(dict(app.input))) for role, app in defaults.APPS.items()
}
DEFAULT_SUITE_DEADLINE_S = 1800.0  # the whole run, schemathesis included
DEFAULT_REQUEST_TIMEOUT_S = defaults.TIMEOUTS.request_s  # one request (a waited run: plus the task deadline)


@dataclass(frozen=True)
class SuiteSettings:
    base_url: str | None  # None: the embedded mock
    api_key: str = field(repr=False)
    api_key_2: str | None = field(repr=False)
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
    mode: str = "default"  # default | strict
    require_all: bool = False
    suite_deadline_s: float = DEFAULT_SUITE_DEADLINE_S
    request_timeout_s: float = DEFAULT_REQUEST_TIMEOUT_S
    rate_limit_probe: int = 0  # getTask requests the suite may send at its end to reach a 429
    api_key_read: str | None = field(default=None, repr=False)  # a key with the apps:read scope only

    @property
    def secrets(self) -> tuple[str, ...]:
        """The keys, to scrub by value from everything the suite writes or prints."""
        return secrets_of([self.api_key, self.api_key_2, self.api_key_read])
