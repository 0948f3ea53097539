"""Explicit configuration of the mock: everything it reads comes from here, nothing from the environment."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from infsh_harness import defaults

__all__ = ["BUGS", "NO_FAULTS", "PROFILES", "Faults", "MockConfig", "WebhookPolicy"]

PROFILES: tuple[str, ...] = ("documented", "wire")

# Seeded bugs: each breaks exactly one documented rule. Only the harness' own tests turn them on,
# to prove the contract suite catches every rule.
BUGS: Mapping[str, str] = {
    "status_backwards": "every other read of a running task shows the previous status",
    "terminal_not_final": "cancelling a terminal task turns it into Cancelled",
    "failed_without_error": "a failed task has an empty error",
    "completed_without_output": "a completed task has no output",
    "webhook_twice": "every webhook is delivered twice",
    "webhook_missing": "no webhook is ever sent",
    "webhook_wrong_status": "the webhook reports Running instead of the terminal status",
    "webhook_bad_payload": "the webhook payload lacks updated_at",
    "default_no_wait": "a run without wait=false does not wait",
    "no_wait_waits": "wait=false waits for the task anyway",
    "undocumented_status": "a cancelled task reports status 12",
    "input_not_echoed": "the task's input is not the input sent",
    "created_at_unstable": "created_at changes on every read",
    "bad_timestamp": "created_at is not ISO 8601",
    "session_id_changes": "continuing a session returns a new session id",
    "no_session_id": "session: new returns no session_id",
    "session_timeout_unbounded": "session_timeout outside 1-3600 is accepted",
    "session_timeout_without_new": "session_timeout is accepted without session: new",
    "auth_optional": "a request without a key is served as the first key",
    "bad_key_accepted": "any bearer key is accepted",
    "isolation_broken": "any key can read and cancel any task",
    "unknown_task_500": "an unknown task id gives 500",
    "cancel_not_sticky": "a cancelled task later reads as Running again",
    "cancel_ignored": "cancel answers Cancelled but the task runs on",
    "text_errors": "error responses are text/plain",
    "error_body_string": "error responses are a bare JSON string",
    "cancel_flag_wrong": "cancelling a terminal task answers cancelled: true whatever its status",
    "webhook_updated_before_created": "the webhook's updated_at is a minute before its created_at",
    "get_other_task": "GET /tasks/{id} answers with the key's latest task, whatever the id",
    "error_not_string": "a failed task's error is an object, not a string",
    "not_found_body_message": "404 answers carry {message} instead of the error body",
    "auth_403": "a missing or unknown key gets 403, not 401",
    "text_success": "successful answers are JSON labelled text/plain",
    "status_string": "statuses are rendered as strings",
    "session_no_wait_waits": "wait=false waits for runs in a session",
    "session_default_no_wait": "a run in a session does not wait by default",
    "session_timeout_truncated": "session_timeout is bounded after truncation to whole seconds",
    "webhook_early": "the webhook is sent when the task is created, with its planned end",
    "webhook_wrong_id": "the webhook names another task id",
    "webhook_created_at_differs": "the webhook's created_at is a second before the task's",
    "webhook_without_output": "a completed task's webhook has no output",
    "webhook_failed_no_error": "a failed task's webhook has an empty error",
    "webhook_bad_timestamp": "the webhook's timestamps are not ISO 8601",
    "webhook_not_on_cancel": "no webhook is sent for a cancelled task",
    "session_id_changes_on_get": "GET shows a different session_id from the run's",
    "cancel_terminal_409": "cancelling a terminal task answers 409",
    "session_continue_refused": "continuing a live session answers 404",
    "no_created_at": "tasks have no created_at",
    "loose_validation": "a run body breaking RunRequest is served if app is a string and input is given",
    "empty_session_accepted": 'session: "" is taken as no session',
    "unknown_app_200": "an unknown app runs as infsh/echo",
}


@dataclass(frozen=True)
class Faults:
    """Injected faults on the public API (not on ``/_mock/``) and on webhook delivery."""

    latency_ms_min: float = 0.0
    latency_ms_max: float = 0.0
    error_rate: float = 0.0
    error_status: int = 500
    rate_limit_rate: float = 0.0
    retry_after_s: int = 1
    webhook_drop_rate: float = 0.0
    webhook_duplicate_rate: float = 0.0
    webhook_delay_ms: float = 0.0

    def __post_init__(self) -> None:
        for name in ("error_rate", "rate_limit_rate", "webhook_drop_rate", "webhook_duplicate_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, not {value}")
        if self.latency_ms_min < 0 or self.latency_ms_max < 0 or self.webhook_delay_ms < 0:
            raise ValueError("latencies and delays must not be negative")
        if self.latency_ms_max and self.latency_ms_max < self.latency_ms_min:
            raise ValueError("latency_ms_max must not be below latency_ms_min")
        if not 500 <= self.error_status <= 599:
            raise ValueError(f"error_status must be a 5xx code, not {self.error_status}")
        if self.retry_after_s < 0:
            raise ValueError("retry_after_s must not be negative")

    @property
    def active(self) -> bool:
        return self is not NO_FAULTS and self != NO_FAULTS  # read on every request: no new instance

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Faults:
        """Build from JSON; unknown keys and wrong types raise ``ValueError`` naming them."""
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ValueError(f"unknown fault settings: {', '.join(unknown)}")
        values: dict[str, Any] = {}
        for name, value in data.items():
            want = int if known[name].type == "int" else float
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{name} must be a number")
            if want is int and value != int(value):
                raise ValueError(f"{name} must be a whole number")
            values[name] = want(value)
        return cls(**values)


NO_FAULTS = Faults()


@dataclass(frozen=True)
class WebhookPolicy:
    """Where and how hard the mock tries to deliver webhooks."""

    allow_hosts: frozenset[str] = frozenset()
    max_attempts: int = 10
    backoff_initial_s: float = 0.05
    backoff_max_s: float = 2.0
    attempt_timeout_s: float = 5.0
    budget_s: float = 30.0
    history: int = 10_000


@dataclass(frozen=True)
class MockConfig:
    profile: str = "documented"
    keys: tuple[str, ...] = defaults.MOCK_KEYS
    timing: str = "fast"
    phase_ms: float | None = None
    max_wait_s: float = 60.0
    task_ttl_s: float = 3600.0
    session_timeout_s: float = 300.0
    webhooks: WebhookPolicy = field(default_factory=WebhookPolicy)
    faults: Faults = field(default_factory=Faults)
    bugs: frozenset[str] = frozenset()
    seed: int | None = None
    apps_file: str | None = None
    # wire profile only; None takes the default from fixtures/wire.yaml
    cancel_ms: float | None = None  # how long a cancel stays in flight (status Cancelling)
    heartbeat_s: float | None = None  # interval of heartbeat lines on GET /tasks/{id}/stream

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise ValueError(f"unknown profile {self.profile!r} (choose from {', '.join(PROFILES)})")
        unknown = sorted(self.bugs - set(BUGS))
        if unknown:
            raise ValueError(f"unknown bug flags: {', '.join(unknown)}")
        if not self.keys:
            raise ValueError("at least one API key is needed")
        if self.max_wait_s <= 0 or self.task_ttl_s <= 0 or self.session_timeout_s <= 0:
            raise ValueError("max_wait_s, task_ttl_s and session_timeout_s must be positive")
        if self.phase_ms is not None and self.phase_ms < 0:
            raise ValueError("phase_ms must not be negative")
        if self.cancel_ms is not None and (self.cancel_ms < 0 or (self.cancel_ms and self.profile != "wire")):
            raise ValueError("cancel_ms must not be negative, and is only for the wire profile")
        if self.heartbeat_s is not None and self.heartbeat_s <= 0:
            raise ValueError("heartbeat_s must be positive")
