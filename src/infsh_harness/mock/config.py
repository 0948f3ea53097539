"""Explicit configuration of the mock: everything it reads comes from here, nothing from the environment."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from infsh_harness import defaults

__all__ = [
    "GENEROUS_RATE_SCALE",
    "NO_FAULTS",
    "PROFILES",
    "RATE_LIMITED",
    "SCOPES",
    "Faults",
    "MockConfig",
    "ServerLimits",
    "WebhookPolicy",
    "parse_key_entry",
]

PROFILES: tuple[str, ...] = ("documented", "wire")
# the operations the REST overview limits (rule rate-limits); the mock's default is generous
RATE_LIMITED: tuple[str, ...] = ("runTask", "getTask")
# 10,000 times the pages' 100 runs and 1000 reads a minute: ~16,700 runs a second per key, more than
# one mock process serves, so a load run or a benchmark is never throttled unless it asks to be
GENEROUS_RATE_SCALE = 10_000.0

# the scopes the Sessions page names: reads need apps:read; runs, keepalives and ends apps:execute
SCOPES: tuple[str, ...] = ("apps:read", "apps:execute")


def parse_key_entry(entry: str) -> tuple[str, frozenset[str] | None]:
    """``KEY`` -> ``(KEY, None)``: every scope; ``KEY=apps:read+apps:execute`` -> those scopes only
    (``KEY=`` has none). An unknown scope is a ``ValueError`` naming it."""
    key, eq, listed = entry.partition("=")
    key = key.strip()
    if not key:
        raise ValueError(f"no key before '=' in {entry!r}")
    if not eq:
        return key, None
    scopes = frozenset(s.strip() for s in listed.split("+") if s.strip())
    unknown = sorted(scopes - set(SCOPES))
    if unknown:
        raise ValueError(f"unknown scope {', '.join(unknown)} for a key (known: {', '.join(SCOPES)})")
    return key, scopes


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

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Faults:
        """Build from JSON; unknown keys and wrong types raise ``ValueError`` naming them.

        Settings that inject nothing give :data:`NO_FAULTS` itself, so that the request path can
        tell "no faults" by identity."""
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
        return cls(**values).normalized()

    def normalized(self) -> Faults:
        """:data:`NO_FAULTS` when these settings inject nothing, else ``self``."""
        return NO_FAULTS if self == NO_FAULTS else self


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
class ServerLimits:
    """What one client may cost the server: connections, idle time, header time and sizes.

    ``max_connections`` open connections are served; a request on one more is answered 503 with
    the error body and its connection closed. A connection that sends no complete request line and
    headers within ``header_timeout_s`` (from its first byte, or from its opening) gets 408 and is
    closed; one idle between requests for ``idle_timeout_s`` is closed. Request line and headers
    above ``max_header_bytes`` get 431, a body above ``max_body_bytes`` gets 400."""

    max_connections: int = 1024
    idle_timeout_s: float = 5.0
    header_timeout_s: float = 10.0
    max_header_bytes: int = 32 * 1024
    max_body_bytes: int = 1 << 20

    def __post_init__(self) -> None:
        for name in ("max_connections", "max_header_bytes", "max_body_bytes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a whole number of at least 1, not {value!r}")
        for name in ("idle_timeout_s", "header_timeout_s"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and 0 < value < float("inf")):
                raise ValueError(f"{name} must be a positive number of seconds, not {value!r}")


@dataclass(frozen=True)
class MockConfig:
    profile: str = "documented"
    # the keys the mock accepts: on the public API, and on the /_mock/ controls. An entry
    # ``KEY=scope+scope`` gives the key those scopes only (``scopes``); a bare key has every scope.
    keys: tuple[str, ...] = field(default=defaults.MOCK_KEYS, repr=False)
    scopes: Mapping[str, frozenset[str]] = field(default_factory=dict, repr=False)  # key -> its scopes
    timing: str = "fast"
    phase_ms: float | None = None
    max_wait_s: float = 60.0
    task_ttl_s: float = 3600.0
    session_timeout_s: float = 60.0  # the Sessions page's default idle timeout
    webhooks: WebhookPolicy = field(default_factory=WebhookPolicy)
    faults: Faults = NO_FAULTS
    limits: ServerLimits = field(default_factory=ServerLimits)
    seed: int | None = None
    apps_file: str | None = None
    # rate limits (documented profile): the pages' per-minute numbers times rate_limit_scale (1: the
    # pages' own; the default is generous, so that load runs are not throttled unless asked), and an
    # operation's own limit in rate_limits (runTask, getTask -> requests a minute, per key)
    rate_limit_scale: float = GENEROUS_RATE_SCALE
    rate_limits: Mapping[str, int] = field(default_factory=dict)
    # wire profile only; None takes the default from data/wire.yaml
    cancel_ms: float | None = None  # how long a cancel stays in flight (status Cancelling)
    # interval of heartbeat lines on GET /tasks/{id}/stream (both profiles; None: the profile's default)
    heartbeat_s: float | None = None

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise ValueError(f"unknown profile {self.profile!r} (choose from {', '.join(PROFILES)})")
        if not self.keys:
            raise ValueError("at least one API key is needed")
        if any("=" in k for k in self.keys):
            entries = [parse_key_entry(k) for k in self.keys]
            object.__setattr__(self, "keys", tuple(dict.fromkeys(k for k, _ in entries)))
            limited = {k: scopes for k, scopes in entries if scopes is not None}
            object.__setattr__(self, "scopes", {**self.scopes, **limited})
        object.__setattr__(self, "faults", self.faults.normalized())  # no faults: the shared value
        if self.max_wait_s <= 0 or self.task_ttl_s <= 0 or self.session_timeout_s <= 0:
            raise ValueError("max_wait_s, task_ttl_s and session_timeout_s must be positive")
        if self.phase_ms is not None and self.phase_ms < 0:
            raise ValueError("phase_ms must not be negative")
        if self.cancel_ms is not None and (self.cancel_ms < 0 or (self.cancel_ms and self.profile != "wire")):
            raise ValueError("cancel_ms must not be negative, and is only for the wire profile")
        if self.heartbeat_s is not None and self.heartbeat_s <= 0:
            raise ValueError("heartbeat_s must be positive")
        if not (isinstance(self.rate_limit_scale, int | float) and 0 < self.rate_limit_scale < float("inf")):
            raise ValueError(f"rate_limit_scale must be a positive number, not {self.rate_limit_scale!r}")
        for operation, limit in self.rate_limits.items():
            if operation not in RATE_LIMITED:
                raise ValueError(f"no rate limit for {operation!r} (limited: {', '.join(RATE_LIMITED)})")
            if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
                raise ValueError(f"the rate limit of {operation} must be a whole number of at least 1, not {limit!r}")
