"""Validation of every response a load scenario sees, compiled once from the spec, cheap per call.

A load process can send thousands of requests a second and its own CPU is the limit, so nothing
here builds objects per response: bodies are parsed with orjson and checked by validators compiled
ahead (jsonschema_rs, in Rust). What counts as documented — the status codes of each operation, the
schema of each body, the terminal statuses — is read from ``openapi/tasks.yaml``; a failure message
names the operation, the status and, when a prose rule is broken, the rule's id. Each rule's decision
is the rule engine's (:mod:`infsh_harness.rules.predicates`, on plain values); a body that breaks
only a convention of the spec (an ``x-source`` of kind convention, such as a timestamp without its
offset) is no failure: the contract suite reports those as ``differs``.

Messages are kept stable (no task ids in them) so locust groups repeated failures into one row.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import jsonschema_rs
import orjson

from infsh_harness.rules import predicates
from infsh_harness.spec import Spec

__all__ = ["Checked", "ResponseChecks"]

# (parsed body or None, failure message or None)
Checked = tuple[Any, str | None]

_ERROR_TEXT_LIMIT = 120


class ResponseChecks:
    """Checks of Tasks API responses and webhook payloads against one spec."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.terminal = spec.terminal_statuses
        self.cancelled = spec.status("CANCELLED")
        self.names = {s.code: s.name for s in spec.statuses}
        self.rank = {code: spec.status_rank(code) for code in spec.status_codes}
        # the rules cited below must exist: a renamed rule fails here, at start-up
        self.rules = {
            rule_id: spec.rule(rule_id).id
            for rule_id in (
                "run-waits-by-default", "status-order", "terminal-final", "status-known", "cancel-running",
                "cancel-flag", "stable-fields", "json-content-type", "one-webhook", "webhook-matches-task",
            )
        }  # fmt: skip
        self._documented: dict[str, frozenset[int]] = {}
        self._validators: dict[tuple[str, int], tuple[str, Any]] = {}
        for op_id, op in spec.operations.items():
            codes = frozenset(int(code) for code in op.status_codes() if code.isdigit())
            self._documented[op_id] = codes
            for code in codes:
                schema_name = spec.response_schema_name(op_id, str(code))
                if schema_name is not None:
                    self._validators[(op_id, code)] = (schema_name, self._compile(schema_name))
        self.webhook_schema = self._webhook_schema_name(spec)
        self._webhook_validator = self._compile(self.webhook_schema)

    def _compile(self, schema_name: str) -> Any:
        root = {"$ref": f"#/components/schemas/{schema_name}", "components": self.spec.document["components"]}
        return jsonschema_rs.validator_for(root, validate_formats=True)

    @staticmethod
    def _webhook_schema_name(spec: Spec) -> str:
        for hook in spec.webhooks.values():
            body = spec.resolve(hook.definition.get("requestBody", {}))
            ref = body.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref", "")
            if ref.startswith("#/components/schemas/"):
                return str(ref.rsplit("/", 1)[-1])
        raise ValueError("the spec documents no webhook with a JSON body schema")

    def documented(self, operation_id: str) -> frozenset[int]:
        return self._documented[operation_id]

    def status_name(self, code: Any) -> str:
        return f"{code} ({self.names[code]})" if code in self.names else str(code)

    # --- responses -----------------------------------------------------------------------
    def response(self, operation_id: str, status: int, content_type: str | None, body: bytes | None) -> Checked:
        """The parsed body of a documented 2xx answer, or a failure naming what is wrong."""
        where = f"{operation_id} {status}"
        if status not in self._documented[operation_id]:
            return None, f"{where}: undocumented HTTP status"
        try:
            data = orjson.loads(body or b"")
        except orjson.JSONDecodeError:
            return None, f"{where}: body is not JSON"
        media = predicates.media_type(content_type)
        if not predicates.is_json_media_type(media):
            return None, f"[{self.rules['json-content-type']}] {where}: content type {media or 'missing'}"
        schema = self._validators.get((operation_id, status))
        if schema is not None:
            schema_name, validator = schema
            if not validator.is_valid(data) and (error := self._stated_error(validator, data)) is not None:
                return None, f"{where}: body breaks {schema_name}: {error}"
        if not 200 <= status < 300:
            return None, f"{where}: {self._error_text(data)}"
        return data, None

    def _stated_error(self, validator: Any, data: Any) -> str | None:
        """The first way ``data`` breaks what the pages state (only called once it is invalid: rare)."""
        for error in validator.iter_errors(data):
            _, source = self.spec.source_at(error.schema_path)
            if source is None or not source.is_convention:
                path = "/".join(map(str, error.instance_path)) or "<root>"
                return f"{path}: {error.message}"
        return None

    @staticmethod
    def _error_text(data: Any) -> str:
        if isinstance(data, Mapping):
            code = data.get("code")
            if isinstance(code, str) and code:
                return code  # stable, unlike the message, which may name the task
            text = data.get("error")
            if isinstance(text, str):
                return text[:_ERROR_TEXT_LIMIT]
        return "error"

    # --- rules over a task's successive states ----------------------------------------
    def run_waited(self, task: Mapping[str, Any]) -> str | None:
        """A run without ``wait=false`` must answer with a terminal task."""
        status = task["status"]
        if predicates.run_waited(status, self.terminal):
            return None
        return f"[{self.rules['run-waits-by-default']}] runTask 200: status {self.status_name(status)} is not terminal"

    def same_task(self, operation_id: str, task: Mapping[str, Any], task_id: str) -> str | None:
        if task["id"] == task_id:
            return None
        return f"[{self.rules['stable-fields']}] {operation_id} 200: answered another task's id"

    def advance(self, previous: int, current: int) -> str | None:
        """A later read never shows an earlier status than one already seen, nor leaves a terminal one."""
        if not predicates.terminal_kept(previous if previous in self.terminal else None, current):
            return (
                f"[{self.rules['terminal-final']}] getTask 200: terminal {self.status_name(previous)} "
                f"became {self.status_name(current)}"
            )
        if not predicates.status_advances(self.rank[previous], self.rank[current]):
            return (
                f"[{self.rules['status-order']}] getTask 200: {self.status_name(previous)} "
                f"went back to {self.status_name(current)}"
            )
        return None

    def cancel_answer(self, result: Mapping[str, Any]) -> str | None:
        """A cancel leaves the task terminal (Cancelled, or the status it had already ended in), and
        ``cancelled`` is true exactly when that status is Cancelled."""
        status, cancelled = result["status"], result["cancelled"]
        if not predicates.cancel_flag_matches(status, cancelled, self.cancelled):
            return (
                f"[{self.rules['cancel-flag']}] cancelTask 200: cancelled={cancelled} "
                f"with status {self.status_name(status)}"
            )
        if status not in self.terminal:
            return f"[{self.rules['cancel-running']}] cancelTask 200: status {self.status_name(status)} after cancel"
        return None

    # --- webhooks ------------------------------------------------------------------------
    def webhook(self, body: bytes) -> Checked:
        """The parsed payload of one delivery, or a failure naming what is wrong."""
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None, f"[{self.rules['webhook-matches-task']}] taskCompleted: payload is not JSON"
        if not self._webhook_validator.is_valid(data):
            detail = self._stated_error(self._webhook_validator, data)
            if detail is not None:
                rule = self.rules["webhook-matches-task"]
                return None, f"[{rule}] taskCompleted: payload breaks {self.webhook_schema}: {detail}"
        return data, None

    @staticmethod
    def timestamp(text: str) -> float:
        """Epoch seconds of an ISO 8601 timestamp already valid against the spec's ``date-time``."""
        return datetime.fromisoformat(text).timestamp()
