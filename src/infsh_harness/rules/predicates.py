"""Each rule's decision on plain values, the one place it is made: ``True`` when the values honour it.

The contract suite (through the observation checks of this package), the drift reporter and the
load validators all decide with these functions; each builds its own message around the answer.
They take plain values (status codes, a body's fields, a media type) and the numbers a caller read
once from the spec, so a load process can call them on every response without building anything.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

__all__ = [
    "allow_header_present",
    "cancel_flag_matches",
    "cancelled_by_cancel",
    "completed_has_output",
    "failed_has_error",
    "is_client_error",
    "is_iso8601",
    "is_json_media_type",
    "is_server_error",
    "is_whole_status",
    "media_type",
    "one_delivery",
    "run_did_not_wait",
    "run_waited",
    "same_session",
    "session_id_given",
    "status_advances",
    "status_known",
    "terminal_kept",
    "timeout_within",
    "webhook_status_matches",
]


# --- values --------------------------------------------------------------------------------------
def is_whole_status(value: Any) -> int | None:
    """A JSON ``status`` as a whole number: ``9`` and ``9.0`` alike (JSON Schema's integer), else ``None``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    return value


def media_type(content_type: str | None) -> str:
    """``application/json`` of ``application/json; charset=utf-8``."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def is_json_media_type(media: str) -> bool:
    """``application/json`` and every ``+json`` type (``application/problem+json``...)."""
    return media == "application/json" or media.endswith("+json")


def is_iso8601(value: Any) -> bool:
    """An ISO 8601 date and time of day (``2024-01-15T10:30:00``, with or without an offset)."""
    if not isinstance(value, str) or "T" not in value.upper():
        return False
    try:
        datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        return False
    return True


# --- statuses ------------------------------------------------------------------------------------
def status_known(status: Any, codes: Collection[int]) -> bool:
    """status-known: the status is one of the documented codes."""
    return is_whole_status(status) in codes


def status_advances(previous_rank: int, current_rank: int) -> bool:
    """status-order: a later read never shows a status earlier in the documented order."""
    return current_rank >= previous_rank


def terminal_kept(first_terminal: int | None, current: int) -> bool:
    """terminal-final: once a task read terminal, every later read shows that same status."""
    return first_terminal is None or current == first_terminal


def completed_has_output(status: int | None, output: Any, completed: int) -> bool:
    """completed-has-output: a task with the rule's status carries an ``output`` object."""
    return status != completed or isinstance(output, Mapping)


def failed_has_error(status: int | None, error: Any, failed: int) -> bool:
    """failed-has-error: a task with the rule's status carries a non-empty ``error`` string."""
    return status != failed or (isinstance(error, str) and bool(error.strip()))


def run_waited(status: int | None, terminal: Collection[int]) -> bool:
    """run-waits-by-default: a run without ``wait=false`` answers a terminal task."""
    return status in terminal


def run_did_not_wait(status: int | None, terminal: Collection[int]) -> bool:
    """run-no-wait: ``wait=false`` of a long task answers before it is terminal."""
    return status not in terminal


# --- cancel --------------------------------------------------------------------------------------
def cancelled_by_cancel(status: int | None, cancelled: Any, cancelled_code: int) -> bool:
    """cancel-running: cancelling a running task answers Cancelled with ``cancelled: true``."""
    return status == cancelled_code and cancelled is True


def cancel_flag_matches(status: int | None, cancelled: Any, cancelled_code: int) -> bool:
    """cancel-flag: ``cancelled`` is true exactly when the status after the call is Cancelled."""
    return cancelled is (status == cancelled_code)


# --- sessions ------------------------------------------------------------------------------------
def session_id_given(session_id: Any) -> bool:
    """session-new: a run with ``session: "new"`` answers a session id."""
    return isinstance(session_id, str) and bool(session_id)


def same_session(sent: Any, answered: Any) -> bool:
    """session-continue: a run continuing a session answers that session's id."""
    return bool(sent == answered)


def timeout_within(timeout: Any, low: float, high: float) -> bool:
    """session-timeout-bounds: ``session_timeout`` is a number from ``low`` to ``high``."""
    return not isinstance(timeout, bool) and isinstance(timeout, int | float) and low <= timeout <= high


# --- HTTP ----------------------------------------------------------------------------------------
def is_client_error(status: int) -> bool:
    return 400 <= status < 500


def is_server_error(status: int) -> bool:
    """no-server-error: a 5xx."""
    return 500 <= status < 600


def allow_header_present(status: int, headers: Mapping[str, str]) -> bool:
    """method-not-allowed: a 405 carries ``Allow`` (header names lower-case)."""
    allow: str = headers.get("allow", "")
    return status != 405 or bool(allow.strip())


# --- webhooks ------------------------------------------------------------------------------------
def one_delivery(count: int) -> bool:
    """one-webhook: exactly one delivery per terminal task."""
    return count == 1


def webhook_status_matches(reported: Any, final: Any) -> bool:
    """webhook-matches-task: the webhook reports the terminal status a read shows (9 and 9.0 alike)."""
    return is_whole_status(reported) is not None and is_whole_status(reported) == is_whole_status(final)
