"""The httpx client of the Tasks API, sync and async, and its one exception tree (:mod:`.errors`)."""

from infsh_harness.client.errors import (
    APIError,
    AuthenticationError,
    ConflictError,
    HarnessError,
    NotFoundError,
    ProtocolError,
    RateLimitError,
    ServerError,
    TransportError,
    TransportTimeout,
    ValidationError,
    WaitTimeout,
)
from infsh_harness.client.tasks import (
    DEFAULT_TIMEOUT,
    AsyncTasksClient,
    CancelResult,
    Task,
    TasksClient,
    WebhookPayload,
    parse_webhook,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "APIError",
    "AsyncTasksClient",
    "AuthenticationError",
    "CancelResult",
    "ConflictError",
    "HarnessError",
    "NotFoundError",
    "ProtocolError",
    "RateLimitError",
    "ServerError",
    "Task",
    "TasksClient",
    "TransportError",
    "TransportTimeout",
    "ValidationError",
    "WaitTimeout",
    "parse_webhook",
    "WebhookPayload",
]
