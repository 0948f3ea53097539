"""Contract tests, a stateful mock, load scenarios and a drift report for the inference.sh Tasks API."""

from infsh_harness._version import __version__
from infsh_harness.client import AsyncTasksClient, CancelResult, Task, TasksClient, WebhookPayload, parse_webhook
from infsh_harness.client.errors import TasksClientError
from infsh_harness.spec import Spec, load_spec

__all__ = [
    "AsyncTasksClient",
    "CancelResult",
    "Spec",
    "Task",
    "TasksClient",
    "TasksClientError",
    "WebhookPayload",
    "__version__",
    "load_spec",
    "parse_webhook",
]
