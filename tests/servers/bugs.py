"""The seeded bugs of the proxy (:mod:`tests.servers.seeded`): each breaks one rule of the contract.

A bug rewrites the request before it is forwarded (``before``, which may answer in the upstream's
place), the answer after (``after``), or the webhook deliveries the proxy passes on (``hook``).
:data:`BUGS` names each with the rule it breaks: the proof of detection asserts the suite names it.
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import jsonschema

from infsh_harness.spec import load_spec
from tests.servers.exchange import After, Answer, Before, Bug, Exchange, Hook, TaskState

if TYPE_CHECKING:
    from tests.servers.seeded import SeededProxy

SPEC = load_spec()
RUNNING = SPEC.status("RUNNING")
COMPLETED, FAILED, CANCELLED = SPEC.status("COMPLETED"), SPEC.status("FAILED"), SPEC.status("CANCELLED")
TERMINAL = SPEC.terminal_statuses


# --- small helpers the bugs share --------------------------------------------------------------------
def task_body(answer: Answer) -> dict[str, Any] | None:
    data = answer.data
    ok = 200 <= answer.status < 300 and isinstance(data, dict) and "status" in data
    return data if ok else None


def _edit_task(ex: Exchange, answer: Answer, routes: Sequence[str], edit: Callable[[dict[str, Any]], None]) -> None:
    body = task_body(answer) if ex.route in routes else None
    if body is not None:
        edit(body)
        answer.set_json(body, answer.headers.get("content-type", "application/json"))


def _shift(stamp: Any, seconds: float) -> Any:
    try:
        instant = datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except ValueError:
        return stamp
    return (instant + timedelta(seconds=seconds)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _error_message(answer: Answer) -> str:
    data = answer.data
    return str(data.get("error", "error")) if isinstance(data, dict) else answer.body.decode("utf-8", "replace")


def on_task(routes: Sequence[str], edit: Callable[[dict[str, Any]], None]) -> After:
    async def after(proxy: SeededProxy, ex: Exchange, answer: Answer) -> None:
        _edit_task(ex, answer, routes, edit)

    return after


def on_error(edit: Callable[[Answer], None]) -> After:
    async def after(proxy: SeededProxy, ex: Exchange, answer: Answer) -> None:
        if answer.status >= 400:
            edit(answer)

    return after


def on_run(edit: Callable[[Exchange], Answer | None]) -> Before:
    async def before(proxy: SeededProxy, ex: Exchange) -> Answer | None:
        if ex.route == "run" and isinstance(ex.data, dict):
            return edit(ex)
        return None

    return before


def on_payloads(edit: Callable[[dict[str, Any]], None]) -> Hook:
    def hook(proxy: SeededProxy, payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for payload in payloads:
            edit(payload)
        return payloads

    return hook


def _set(name: str, value: Any, when: Callable[[dict[str, Any]], bool] = lambda body: True) -> Callable[..., None]:
    def edit(body: dict[str, Any]) -> None:
        if when(body):
            body[name] = value

    return edit


# --- bugs that need the proxy's state --------------------------------------------------------------
async def _status_backwards(proxy: SeededProxy, ex: Exchange, answer: Answer) -> None:
    body = task_body(answer) if ex.route == "get" else None
    state = proxy.tasks.get(ex.task_id or "")
    if body is None or state is None:
        return
    status = body["status"]
    if status in TERMINAL or status not in SPEC.status_codes:
        return
    # every other read goes one status below the highest one shown, however far apart the reads are
    if state.gets % 2 == 0 and state.shown_rank >= 1:
        body["status"] = SPEC.status_codes[state.shown_rank - 1]
        answer.set_json(body)
    else:
        state.shown_rank = max(state.shown_rank, SPEC.status_rank(status))


async def _terminal_not_final(proxy: SeededProxy, ex: Exchange, answer: Answer) -> None:
    state = proxy.tasks.get(ex.task_id or "")
    body = task_body(answer)
    if state is None or body is None:
        return
    if ex.route == "cancel" and body["status"] in TERMINAL and body["status"] != CANCELLED:
        state.forced = CANCELLED
    if state.forced is not None and ex.route in ("get", "cancel"):
        body.update(status=state.forced, **({"cancelled": True} if ex.route == "cancel" else {"output": None}))
        answer.set_json(body)


async def _finished_reads_running(proxy: SeededProxy, ex: Exchange, answer: Answer) -> None:
    body = task_body(answer) if ex.route == "get" else None
    if body is not None and body["status"] in (COMPLETED, FAILED):
        body.update(status=RUNNING, output=None, error=None)
        answer.set_json(body)


async def _cancel_not_sticky(proxy: SeededProxy, ex: Exchange, answer: Answer) -> None:
    state = proxy.tasks.get(ex.task_id or "")
    body = task_body(answer) if ex.route == "get" else None
    if state is not None and body is not None and state.cancelled_by_request and state.gets % 2 == 0:
        body.update(status=RUNNING, output=None, error=None)
        answer.set_json(body)


async def _upstream_status(proxy: SeededProxy, ex: Exchange) -> Answer:
    """The task as the upstream reads it now, as the same key."""
    path = f"/tasks/{quote(ex.task_id or '', safe='')}"
    return await proxy.forward(Exchange("GET", path, {}, dict(ex.headers), b"", "get", ex.task_id))


async def _cancel_ignored(proxy: SeededProxy, ex: Exchange) -> Answer | None:
    if ex.route != "cancel":
        return None
    now = await _upstream_status(proxy, ex)
    body = task_body(now)
    if body is None or body["status"] in TERMINAL:
        return None  # unknown, or ended: forward as it is
    return Answer.json(200, {"id": ex.task_id, "status": CANCELLED, "cancelled": True})


async def _cancel_terminal_409(proxy: SeededProxy, ex: Exchange) -> Answer | None:
    if ex.route != "cancel":
        return None
    body = task_body(await _upstream_status(proxy, ex))
    if body is not None and body["status"] in TERMINAL:
        return Answer.json(409, {"error": f"task {ex.task_id} has already ended", "code": "invalid_transition"})
    return None


async def _get_other_task(proxy: SeededProxy, ex: Exchange) -> Answer | None:
    latest = proxy.latest.get(ex.key or "")
    if ex.route == "get" and latest and latest != ex.task_id:
        ex.path = ex.raw_path = f"/tasks/{latest}"
    return None


async def _isolation_broken(proxy: SeededProxy, ex: Exchange) -> Answer | None:
    state = proxy.tasks.get(ex.task_id or "")
    if ex.route in ("get", "cancel") and state is not None and state.owner and state.owner != ex.key:
        ex.headers["authorization"] = f"Bearer {state.owner}"
    return None


async def _isolation_403(proxy: SeededProxy, ex: Exchange, answer: Answer) -> None:
    state = proxy.tasks.get(ex.task_id or "")
    if ex.route in ("get", "cancel") and answer.status == 404 and state is not None and state.owner != ex.key:
        answer.status = 403
        answer.set_json({"error": "this task belongs to another team", "code": "forbidden"})


async def _unknown_task_500(proxy: SeededProxy, ex: Exchange, answer: Answer) -> None:
    if ex.route in ("get", "cancel") and answer.status == 404:
        answer.status = 500
        answer.set_json({"error": "task lookup failed", "code": "internal_error"})


async def _session_id_changes(proxy: SeededProxy, ex: Exchange, answer: Answer) -> None:
    session = ex.data.get("session") if ex.route == "run" and isinstance(ex.data, dict) else None
    body = task_body(answer)
    if session not in (None, "new") and body is not None:
        state = proxy.tasks.setdefault(body["id"], TaskState(body["id"]))
        state.session_id = body["session_id"] = f"sess_{secrets.token_hex(10)}"
        answer.set_json(body)


async def _keep_session_override(proxy: SeededProxy, ex: Exchange, answer: Answer) -> None:
    state = proxy.tasks.get(ex.task_id or "")
    body = task_body(answer) if ex.route == "get" else None
    if state is not None and state.session_id and body is not None:
        body["session_id"] = state.session_id
        answer.set_json(body)


async def _created_at_unstable(proxy: SeededProxy, ex: Exchange, answer: Answer) -> None:
    state = proxy.tasks.get(ex.task_id or "")
    body = task_body(answer) if ex.route == "get" else None
    if state is not None and body is not None and "created_at" in body:
        body["created_at"] = _shift(body["created_at"], state.gets)
        answer.set_json(body)


async def _unknown_app_200(proxy: SeededProxy, ex: Exchange, answer: Answer) -> None:
    # the mock's 404 for an unknown app, in either API version (an unknown session's says otherwise)
    if ex.route == "run" and answer.status == 404 and b"app not found" in answer.body:
        retry = copy.deepcopy(ex)
        retry.set_json({**ex.data, "app": "infsh/echo"})
        again = await proxy.forward(retry)
        answer.status, answer.headers, answer.body = again.status, again.headers, again.body


async def _webhook_early(proxy: SeededProxy, ex: Exchange, answer: Answer) -> None:
    body = task_body(answer) if ex.route == "run" else None
    state = proxy.tasks.get(body["id"]) if body is not None else None
    if body is None or state is None or not state.webhook:
        return
    state.early = True  # the early webhook is the only one
    planned = body["status"] if body["status"] in TERMINAL else COMPLETED
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    payload = {
        "id": body["id"], "status": planned, "output": body.get("output") or {"planned": True},
        "error": body.get("error") or "", "session_id": body.get("session_id"),
        "created_at": body.get("created_at"), "updated_at": now,
    }  # fmt: skip
    proxy.spawn(proxy.post_webhook(state.webhook, payload))


def _loosely_valid(ex: Exchange) -> Answer | None:
    """A lax server: a body breaking RunRequest is served if ``app`` is a string and ``input`` is given;
    each property breaking its own schema is dropped, a non-object input becomes ``{}``."""
    data = ex.data
    if not SPEC.validate("RunRequest", data) or not isinstance(data.get("app"), str) or data.get("input") is None:
        return None
    schema = SPEC.schema("RunRequest")
    kept = {}
    for name, value in data.items():
        prop = schema["properties"].get(name)
        if prop is None or not list(_property_validator(name).iter_errors(value)):
            kept[name] = value
    kept["app"], kept["input"] = data["app"], data["input"] if isinstance(data["input"], dict) else {}
    if kept.get("session") != "new":
        kept.pop("session_timeout", None)
    ex.set_json(kept)
    return None


def _property_validator(name: str) -> jsonschema.protocols.Validator:
    document = {"$ref": f"#/components/schemas/RunRequest/properties/{name}", "components": SPEC.document["components"]}
    return jsonschema.Draft202012Validator(document, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def _session_timeout(edit: Callable[[float, dict[str, Any]], Any]) -> Callable[[Exchange], Answer | None]:
    def run(ex: Exchange) -> Answer | None:
        timeout = ex.data.get("session_timeout")
        if isinstance(timeout, int | float) and not isinstance(timeout, bool):
            changed = edit(timeout, ex.data)
            ex.set_json({**ex.data, "session_timeout": changed} if changed is not None else
                        {k: v for k, v in ex.data.items() if k != "session_timeout"})  # fmt: skip
        return None

    return run


def _truncated(timeout: float, data: dict[str, Any]) -> float:
    """The bounds checked on the whole seconds: 3600.5 passes as 3600."""
    return int(timeout) if 1 <= int(timeout) <= 3600 else timeout


def _drop_timeout_without_new(timeout: float, data: dict[str, Any]) -> float | None:
    return timeout if data.get("session") == "new" else None


def _wait(value: str | None, when: Callable[[Exchange], bool]) -> Callable[[Exchange], Answer | None]:
    def run(ex: Exchange) -> Answer | None:
        if when(ex):
            if value is None:
                ex.query.pop("wait", None)
            else:
                ex.query["wait"] = value
        return None

    return run


def _refuse_continued_session(ex: Exchange) -> Answer | None:
    session = ex.data.get("session")
    if session not in (None, "new"):
        return Answer.json(404, {"error": f"session not found: {session}", "code": "session_not_found"})
    return None


def _drop_empty_session(ex: Exchange) -> Answer | None:
    if ex.data.get("session") == "":
        ex.set_json({k: v for k, v in ex.data.items() if k != "session"})
    return None


def _text_errors(answer: Answer) -> None:
    answer.set_text(_error_message(answer))


def _string_errors(answer: Answer) -> None:
    answer.set_json(_error_message(answer))


def _message_404(answer: Answer) -> None:
    if answer.status == 404:
        answer.set_json({"message": _error_message(answer)})


def _forbid_401(answer: Answer) -> None:
    if answer.status == 401:
        answer.status = 403


async def _auth_optional(proxy: SeededProxy, ex: Exchange) -> Answer | None:
    if "authorization" not in ex.headers:
        ex.headers["authorization"] = f"Bearer {proxy.keys[0]}"
    return None


async def _bad_key_accepted(proxy: SeededProxy, ex: Exchange) -> Answer | None:
    if ex.key is not None and ex.key not in proxy.keys:
        ex.headers["authorization"] = f"Bearer {proxy.keys[0]}"
    return None


async def _text_success(proxy: SeededProxy, ex: Exchange, answer: Answer) -> None:
    if 200 <= answer.status < 300 and ex.route:
        answer.headers["content-type"] = "text/plain"


async def _run_201(proxy: SeededProxy, ex: Exchange, answer: Answer) -> None:
    if ex.route == "run" and answer.status == 200:
        answer.status = 201


async def _method_500(proxy: SeededProxy, ex: Exchange, answer: Answer) -> None:
    if answer.status == 405:
        answer.status = 500
        answer.set_json({"error": "unsupported method crashed the router", "code": "internal_error"})


async def _method_without_allow(proxy: SeededProxy, ex: Exchange, answer: Answer) -> None:
    if answer.status == 405:
        answer.headers.pop("allow", None)


async def _echo_key(proxy: SeededProxy, ex: Exchange, answer: Answer) -> None:
    """A careless server: it names the key it was sent, in errors and in every task."""
    if answer.status >= 400:
        answer.set_json({"error": f"refused key {ex.key}", "code": "unauthorized" if answer.status == 401 else "x"})
    elif (body := task_body(answer)) is not None:
        body["served_for"] = ex.key
        answer.set_json(body)


def _no_offset(body: dict[str, Any]) -> None:
    for name in ("created_at", "updated_at"):
        if isinstance(body.get(name), str):
            body[name] = body[name].replace("Z", "").split("+", 1)[0]


def _rewrite_statuses(old: int, new: Any) -> Callable[[dict[str, Any]], None]:
    return _set("status", new, lambda body: body.get("status") == old)


def _stringify_status(body: dict[str, Any]) -> None:
    body["status"] = str(body["status"])


def _both(*afters: After) -> After:
    async def after(proxy: SeededProxy, ex: Exchange, answer: Answer) -> None:
        for one in afters:
            await one(proxy, ex, answer)

    return after


def _failed(body: dict[str, Any]) -> bool:
    return bool(body["status"] == FAILED)


def _completed(body: dict[str, Any]) -> bool:
    return bool(body["status"] == COMPLETED)


def _has_error(body: dict[str, Any]) -> bool:
    return bool(body.get("error"))


def _updated_a_minute_early(payload: dict[str, Any]) -> None:
    payload["updated_at"] = _shift(payload["created_at"], -60)


TASK_ROUTES = ("run", "get")
ANSWER_ROUTES = ("run", "get", "cancel")
BUGS: dict[str, Bug] = {
    "status_backwards": Bug(
        "status-order", "every other read of a running task shows the status before", after=_status_backwards
    ),
    "terminal_not_final": Bug(
        "terminal-final", "cancelling an ended task turns it into Cancelled", after=_terminal_not_final
    ),
    "finished_reads_running": Bug(
        "terminal-final", "a task that ended reads as Running ever after", after=_finished_reads_running
    ),
    "failed_without_error": Bug(
        "failed-has-error",
        "a failed task has an empty error",
        after=on_task(TASK_ROUTES, _set("error", "", _failed)),
        hook=on_payloads(_set("error", "", _failed)),
    ),
    "completed_without_output": Bug(
        "completed-has-output",
        "a completed task has no output",
        after=on_task(TASK_ROUTES, _set("output", None, _completed)),
        hook=on_payloads(_set("output", None, _completed)),
    ),
    "webhook_twice": Bug("one-webhook", "every webhook is delivered twice", hook=lambda proxy, p: p + p),
    "webhook_missing": Bug("one-webhook", "no webhook is ever delivered", hook=lambda proxy, p: []),
    "webhook_wrong_status": Bug(
        "webhook-matches-task", "the webhook reports Running", hook=on_payloads(_set("status", RUNNING))
    ),
    "webhook_bad_payload": Bug(
        "webhook-matches-task", "the webhook has no updated_at", hook=on_payloads(lambda p: p.pop("updated_at", None))
    ),
    "webhook_updated_before_created": Bug(
        "webhook-matches-task",
        "the webhook's updated_at is before created_at",
        hook=on_payloads(_updated_a_minute_early),
    ),
    "default_no_wait": Bug(
        "run-waits-by-default",
        "a run without wait=false does not wait",
        before=on_run(_wait("false", lambda ex: "wait" not in ex.query)),
    ),
    "no_wait_waits": Bug(
        "run-no-wait", "wait=false waits anyway", before=on_run(_wait(None, lambda ex: ex.query.get("wait") == "false"))
    ),
    "undocumented_status": Bug(
        "status-known",
        "a cancelled task reports status 12",
        after=on_task(ANSWER_ROUTES, _rewrite_statuses(CANCELLED, 12)),
        hook=on_payloads(_rewrite_statuses(CANCELLED, 12)),
    ),
    "input_not_echoed": Bug(
        "stable-fields",
        "a task's input is not the input sent",
        after=on_task(TASK_ROUTES, lambda b: b.update(input={} if b.get("input") else {"x": 1})),
    ),
    "created_at_unstable": Bug("stable-fields", "created_at moves on every read", after=_created_at_unstable),
    "bad_timestamp": Bug(
        "timestamps-iso8601",
        "created_at is not ISO 8601",
        after=on_task(TASK_ROUTES, _set("created_at", "15/01/2024 10:30")),
    ),
    "session_id_changes": Bug(
        "session-continue",
        "continuing a session answers another session id",
        after=_both(_session_id_changes, _keep_session_override),
    ),
    "no_session_id": Bug(
        "session-new", 'session "new" answers no session_id', after=on_task(TASK_ROUTES, _set("session_id", None))
    ),
    "session_timeout_unbounded": Bug(
        "session-timeout-bounds",
        "session_timeout outside 1-3600 is accepted",
        before=on_run(_session_timeout(lambda t, d: min(max(t, 1), 3600))),
    ),
    "session_timeout_without_new": Bug(
        "session-timeout-with-new-only",
        "session_timeout is taken without session new",
        before=on_run(_session_timeout(_drop_timeout_without_new)),
    ),
    "session_timeout_truncated": Bug(
        "session-timeout-bounds",
        "session_timeout is bounded after truncation",
        before=on_run(_session_timeout(_truncated)),
    ),
    "auth_optional": Bug("auth-required", "a request without a key is served as the first key", before=_auth_optional),
    "bad_key_accepted": Bug("auth-required", "any bearer key is accepted", before=_bad_key_accepted),
    "auth_403": Bug("auth-required", "a missing or unknown key gets 403", after=on_error(_forbid_401)),
    "error_body_string": Bug("error-body", "error answers are a bare JSON string", after=on_error(_string_errors)),
    "not_found_body_message": Bug("error-body", "404 answers carry {message}", after=on_error(_message_404)),
    "text_errors": Bug("json-content-type", "error answers are text/plain", after=on_error(_text_errors)),
    "text_success": Bug("json-content-type", "successful answers are JSON labelled text/plain", after=_text_success),
    "isolation_broken": Bug("task-isolation", "any key reads and cancels any task", before=_isolation_broken),
    "isolation_403": Bug("isolation-404", "another key's task gets 403", after=_isolation_403),
    "unknown_task_500": Bug("unknown-task-404", "an unknown task id gets 500", after=_unknown_task_500),
    "cancel_not_sticky": Bug(
        "cancel-running", "a cancelled task reads as Running every other time", after=_cancel_not_sticky
    ),
    "cancel_ignored": Bug("cancel-running", "a cancel answers Cancelled, and the task runs on", before=_cancel_ignored),
    "cancel_flag_wrong": Bug(
        "cancel-flag", "every cancel answers cancelled: true", after=on_task(("cancel",), _set("cancelled", True))
    ),
    "cancel_terminal_409": Bug(
        "cancel-idempotent", "cancelling an ended task answers 409", before=_cancel_terminal_409
    ),
    "get_other_task": Bug(
        "stable-fields", "a read answers the key's latest task, whatever the id", before=_get_other_task
    ),
    "session_id_changes_on_get": Bug(
        "stable-fields",
        "reads show another session_id than the run",
        after=on_task(("get",), _set("session_id", "sess_other", lambda b: bool(b.get("session_id")))),
    ),
    "error_not_string": Bug(
        "failed-has-error",
        "a failed task's error is an object",
        after=on_task(TASK_ROUTES, _set("error", {"message": "x"}, _has_error)),
    ),
    "status_string": Bug(
        "status-known",
        "statuses are strings",
        after=on_task(ANSWER_ROUTES, _stringify_status),
        hook=on_payloads(_stringify_status),
    ),
    "no_created_at": Bug(
        "timestamps-iso8601",
        "tasks have no created_at",
        after=on_task(TASK_ROUTES, lambda b: b.pop("created_at", None)),
    ),
    "timestamps_no_offset": Bug(
        "timestamps-offset",
        "timestamps carry no UTC offset",
        after=on_task(TASK_ROUTES, _no_offset),
        hook=on_payloads(_no_offset),
    ),
    "session_no_wait_waits": Bug(
        "run-no-wait",
        "wait=false waits for runs in a session",
        before=on_run(_wait(None, lambda ex: "session" in ex.data and ex.query.get("wait") == "false")),
    ),
    "session_default_no_wait": Bug(
        "run-waits-by-default",
        "a run in a session does not wait by default",
        before=on_run(_wait("false", lambda ex: "session" in ex.data and "wait" not in ex.query)),
    ),
    "session_continue_refused": Bug(
        "session-continue", "continuing a live session answers 404", before=on_run(_refuse_continued_session)
    ),
    "webhook_early": Bug(
        "webhook-matches-task", "the webhook is sent at creation, with the planned end", after=_webhook_early
    ),
    "webhook_wrong_id": Bug(
        "webhook-matches-task",
        "the webhook names another task",
        hook=on_payloads(lambda p: p.update(id=f"{p['id']}_other")),
    ),
    "webhook_created_at_differs": Bug(
        "webhook-matches-task",
        "the webhook's created_at is a second early",
        hook=on_payloads(lambda p: p.update(created_at=_shift(p["created_at"], -1))),
    ),
    "webhook_not_on_cancel": Bug(
        "one-webhook",
        "no webhook for a cancelled task",
        hook=lambda proxy, p: [x for x in p if x.get("status") != CANCELLED],
    ),
    "webhook_without_output": Bug(
        "completed-has-output", "a completed task's webhook has no output", hook=on_payloads(_set("output", None))
    ),
    "webhook_failed_no_error": Bug(
        "failed-has-error", "a failed task's webhook has an empty error", hook=on_payloads(_set("error", ""))
    ),
    "webhook_bad_timestamp": Bug(
        "timestamps-iso8601",
        "the webhook's timestamps are not ISO 8601",
        hook=on_payloads(lambda p: p.update(created_at="yesterday", updated_at="yesterday")),
    ),
    "loose_validation": Bug(
        "invalid-run-refused",
        "a body breaking RunRequest is served if app and input are given",
        before=on_run(_loosely_valid),
    ),
    "empty_session_accepted": Bug(
        "run-constraints-refused", 'session "" is taken as no session', before=on_run(_drop_empty_session)
    ),
    "unknown_app_200": Bug("unknown-app-404", "an unknown app runs as infsh/echo", after=_unknown_app_200),
    "run_201": Bug("documented-responses", "a run answers 201", after=_run_201),
    "method_500": Bug("no-server-error", "a method a path lacks gets 500", after=_method_500),
    "method_405_without_allow": Bug("method-not-allowed", "a 405 has no Allow header", after=_method_without_allow),
    "task_without_input": Bug(
        "response-shape", "tasks have no input", after=on_task(TASK_ROUTES, lambda b: b.pop("input", None))
    ),
    "echo_key": Bug(None, "the key sent is named in every error and task (a leak, not a rule)", after=_echo_key),
}


# --- the REST overview: versions, errors, rate limits (against the independent server) ---------------
def _version_of(ex: Exchange) -> str:
    return ex.headers.get("x-api-version", "1").strip() or "1"


def _versioned(version: str, edit: Callable[[Exchange, Answer], None]) -> After:
    async def after(proxy: SeededProxy, ex: Exchange, answer: Answer) -> None:
        if ex.route is not None and _version_of(ex) == version:
            edit(ex, answer)

    return after


def _envelope(answer: Answer) -> dict[str, Any] | None:
    data = answer.data
    ok = 200 <= answer.status < 300 and isinstance(data, dict) and data.get("success") is True
    return data if ok and isinstance(data.get("data"), dict) else None


def _unwrap_success(ex: Exchange, answer: Answer) -> None:
    if (envelope := _envelope(answer)) is not None:
        answer.set_json(envelope["data"])


def _created_at_a_second_off(ex: Exchange, answer: Answer) -> None:
    envelope = _envelope(answer)
    if envelope is not None and "created_at" in envelope["data"]:
        envelope["data"]["created_at"] = _shift(envelope["data"]["created_at"], 1)
        answer.set_json(envelope)


def _problem_as_json(ex: Exchange, answer: Answer) -> None:
    if answer.status >= 400 and answer.headers.get("content-type", "").startswith("application/problem+json"):
        answer.headers["content-type"] = "application/json"


def _problem_type_blank(ex: Exchange, answer: Answer) -> None:
    data = answer.data
    if answer.status >= 400 and isinstance(data, dict) and "type" in data:
        answer.set_json({**data, "type": "about:blank"}, answer.headers.get("content-type", "application/json"))


def _error_status(status: Callable[[int], int], body_only: bool = False) -> After:
    async def after(proxy: SeededProxy, ex: Exchange, answer: Answer) -> None:
        data = answer.data
        if answer.status < 400 or not isinstance(data, dict) or "status" not in data:
            return
        changed = status(answer.status)
        if not body_only:
            answer.status = changed
        answer.set_json({**data, "status": changed}, answer.headers.get("content-type", "application/json"))

    return after


async def _bad_run_422(proxy: SeededProxy, ex: Exchange, answer: Answer) -> None:
    if ex.route == "run" and answer.status == 400:
        await _error_status(lambda status: 422)(proxy, ex, answer)


def _on_headers(when: Callable[[Exchange, Answer], bool], edit: Callable[[dict[str, str]], None]) -> After:
    async def after(proxy: SeededProxy, ex: Exchange, answer: Answer) -> None:
        if when(ex, answer):
            edit(answer.headers)

    return after


def _reset_as_delta(headers: dict[str, str]) -> None:
    reset = headers.get("x-ratelimit-reset", "")
    if reset.isdigit():
        headers["x-ratelimit-reset"] = str(max(int(reset) - int(datetime.now(UTC).timestamp()), 0))


def _drop_limit_headers(headers: dict[str, str]) -> None:
    headers.pop("x-ratelimit-remaining", None)
    headers.pop("x-ratelimit-reset", None)


def _a_read(ex: Exchange, answer: Answer) -> bool:
    return ex.route == "get" and "x-ratelimit-remaining" in answer.headers


def _limited(ex: Exchange, answer: Answer) -> bool:
    return answer.status == 429


def _wrap_v1_webhooks(proxy: SeededProxy, payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if proxy.hook_versions.get(proxy.delivering) != "1":
        return payloads
    return [{"success": True, "status": 200, "data": payload} for payload in payloads]


async def _one_version(proxy: SeededProxy, ex: Exchange, version: str | None) -> Answer | None:
    ex.headers.pop("x-api-version", None)
    if version is not None:
        ex.headers["x-api-version"] = version
    return None


BUGS.update({
    "v1_success_bare": Bug("version-shape", "version 1 successes are bare (its errors stay wrapped)",
                           after=_versioned("1", _unwrap_success)),
    "v1_created_at_off": Bug("version-same-fields", "version 1's data has created_at a second later",
                             after=_versioned("1", _created_at_a_second_off)),
    "v2_problem_as_json": Bug("error-shape", "version 2 errors are labelled application/json",
                              after=_versioned("2", _problem_as_json)),
    "problem_type_blank": Bug("problem-type-code", 'version 2 errors have type "about:blank"',
                              after=_versioned("2", _problem_type_blank)),
    "bad_run_422": Bug("error-code-status", "a bad run body gets 422 invalid_request", after=_bad_run_422),
    "error_body_says_400": Bug("error-body-status", "every error body says status 400",
                               after=_error_status(lambda status: 400, body_only=True)),
    "remaining_over_limit": Bug("rate-limits", "getTask says 5000 requests are left",
                                after=_on_headers(_a_read, lambda h: h.update({"x-ratelimit-remaining": "5000"}))),
    "reset_as_delta": Bug("rate-limit-headers", "X-RateLimit-Reset is the seconds to wait, not a Unix time",
                          after=_on_headers(lambda ex, a: True, _reset_as_delta)),
    "limited_without_headers": Bug("rate-limited-429", "a 429 has no rate-limit headers",
                                   after=_on_headers(_limited, _drop_limit_headers)),
    "limit_not_enforced": Bug("rate-limited-429", "getTask says no request is left, and serves the next ones",
                              after=_on_headers(_a_read, lambda h: h.update({"x-ratelimit-remaining": "0"}))),
    "retry_after_text": Bug("retry-after-valid", 'a 429 says Retry-After "in a minute"',
                            after=_on_headers(_limited, lambda h: h.update({"retry-after": "in a minute"}))),
    "webhook_wrapped_v1": Bug("webhook-unversioned", "the webhook of a version 1 run is wrapped as version 1",
                              hook=_wrap_v1_webhooks),
    # not bugs: a server speaking one version only, whose other version's rules are unchecked
    "speaks_only_v1": Bug(None, "the header is ignored: every answer is version 1",
                          before=lambda proxy, ex: _one_version(proxy, ex, None)),
    "speaks_only_v2": Bug(None, "every answer is version 2, with the header or without",
                          before=lambda proxy, ex: _one_version(proxy, ex, "2")),
})  # fmt: skip


# --- the task stream and the session endpoints (the Streaming and Sessions pages) ----------------------
def _is_stream(ex: Exchange, answer: Answer) -> bool:
    media = answer.headers.get("content-type", "")
    return ex.path.endswith("/stream") and answer.status == 200 and media.startswith("text/event-stream")


def on_stream(edit: Callable[[list[str]], list[str]]) -> After:
    """Rewrite a stream's events, each one block of ``field: value`` lines."""

    async def after(proxy: SeededProxy, ex: Exchange, answer: Answer) -> None:
        if _is_stream(ex, answer):
            blocks = [b for b in answer.body.decode().replace("\r\n", "\n").split("\n\n") if b.strip()]
            answer.body = "".join(f"{b}\n\n" for b in edit(blocks)).encode()

    return after


def _lines(blocks: list[str], keep: Callable[[str], bool]) -> list[str]:
    return ["\n".join(line for line in b.split("\n") if keep(line)) for b in blocks]


def _name(block: str) -> str:
    return next((line[6:].strip() for line in block.split("\n") if line.startswith("event:")), "message")


def _goes_back(blocks: list[str]) -> list[str]:
    """The first update shown again, with an id of its own, after the second one."""
    updates = [n for n, b in enumerate(blocks) if _name(b) == "update"]
    if len(updates) < 2:
        return blocks
    first = blocks[updates[0]].split("\n")
    again = "\n".join("id: evt_again" if line.startswith("id:") else line for line in first)
    return [*blocks[: updates[1] + 1], again, *blocks[updates[1] + 1 :]]


def _done_early(blocks: list[str]) -> list[str]:
    """``done`` right after the first update, the rest dropped."""
    updates = [n for n, b in enumerate(blocks) if _name(b) == "update"]
    done = [b for b in blocks if _name(b) == "done"]
    return [*blocks[: updates[0] + 1], *done] if updates and done else blocks


async def _resume_ignored(proxy: SeededProxy, ex: Exchange) -> Answer | None:
    if ex.path.endswith("/stream"):
        ex.headers.pop("last-event-id", None)
        ex.query.pop("last_event_id", None)
    return None


def _session_answer(ex: Exchange, answer: Answer) -> dict[str, Any] | None:
    """The session of a 200 answer of ``GET /sessions/{id}`` or a keepalive (bare, or version 1's ``data``)."""
    data = answer.data
    if not ex.path.startswith("/sessions/") or answer.status != 200 or not isinstance(data, dict):
        return None
    return data["data"] if isinstance(data.get("data"), dict) and "success" in data else data


def on_session(edit: Callable[[SeededProxy, dict[str, Any]], None]) -> After:
    async def after(proxy: SeededProxy, ex: Exchange, answer: Answer) -> None:
        session = _session_answer(ex, answer)
        if session is not None:
            whole = answer.data
            edit(proxy, session)
            if "success" in whole:
                whole["data"] = session
            answer.set_json(whole if "success" in whole else session, answer.headers.get("content-type", ""))

    return after


def _upper_status(proxy: SeededProxy, session: dict[str, Any]) -> None:
    session["status"] = str(session.get("status")).upper()


def _first_expiry(proxy: SeededProxy, session: dict[str, Any]) -> None:
    first = proxy.notes.setdefault("expiry", {}).setdefault(session.get("id"), session.get("expires_at"))
    session["expires_at"] = first


async def _empty_list(proxy: SeededProxy, ex: Exchange, answer: Answer) -> None:
    if ex.path == "/sessions" and answer.status == 200 and isinstance(answer.data, list):
        answer.set_json([], answer.headers.get("content-type", "application/json"))


async def _keepalive_noop(proxy: SeededProxy, ex: Exchange) -> Answer | None:
    if ex.method == "POST" and ex.path.startswith("/sessions/") and ex.path.endswith("/keepalive"):
        ex.method, ex.path, ex.raw_path = "GET", ex.path[: -len("/keepalive")], ex.raw_path[: -len("/keepalive")]
    return None


async def _end_answers_200(proxy: SeededProxy, ex: Exchange, answer: Answer) -> None:
    if ex.method == "DELETE" and ex.path.startswith("/sessions/") and answer.status == 204:
        answer.status = 200
        answer.set_json({"ended": True})


def _default_idle_300(ex: Exchange) -> Answer | None:
    if ex.data.get("session") == "new" and "session_timeout" not in ex.data:
        ex.set_json({**ex.data, "session_timeout": 300})
    return None


def _drop_workers(ex: Exchange) -> Answer | None:
    if "workers" in ex.data:
        ex.set_json({k: v for k, v in ex.data.items() if k != "workers"})
    return None


def _recode(status: int | None, codes: dict[str, tuple[int, str]]) -> Callable[[Answer], None]:
    """Answers carrying one of ``codes`` (any case) get its (status, code) instead; version 1 or 2 alike."""

    def edit(answer: Answer) -> None:
        data = answer.data
        if not isinstance(data, dict):
            return
        inner = data.get("error") if isinstance(data.get("error"), dict) else None
        code = str(inner.get("code")) if inner else str(data.get("type", "")).rsplit("/", 1)[-1]
        new = codes.get(code.upper())
        if new is None or (status is not None and answer.status != status):
            return
        answer.status = new[0]
        if inner is not None:
            data["status"], inner["code"] = new[0], new[1]
        else:
            data["status"], data["type"] = new[0], f"{str(data['type']).rsplit('/', 1)[0]}/{new[1]}"
        answer.set_json(data, answer.headers.get("content-type", "application/json"))

    return edit


async def _session_app_ignored(proxy: SeededProxy, ex: Exchange) -> Answer | None:
    """A run continuing a session runs the session's own app, whatever the run names."""
    if ex.route == "run" and isinstance(ex.data, dict) and ex.data.get("session") not in (None, "new"):
        app = proxy.notes.get("session_apps", {}).get(ex.data["session"])
        if app is not None:
            ex.set_json({**ex.data, "app": app})
    return None


async def _remember_session_app(proxy: SeededProxy, ex: Exchange, answer: Answer) -> None:
    body = task_body(answer) if ex.route == "run" else None
    if body is not None and isinstance(ex.data, dict) and ex.data.get("session") == "new" and body.get("session_id"):
        proxy.notes.setdefault("session_apps", {})[body["session_id"]] = ex.data.get("app")


async def _any_key_executes(proxy: SeededProxy, ex: Exchange) -> Answer | None:
    executes = ex.path.startswith("/sessions/") and ex.method in ("POST", "DELETE")
    if executes and ex.key is not None and ex.key in proxy.keys:
        ex.headers["authorization"] = f"Bearer {proxy.keys[0]}"
    return None


STREAM_SESSION_BUGS: dict[str, Bug] = {
    "stream_events_unnamed": Bug(
        "stream-events",
        "stream events carry no `event:` name (all are `message`)",
        after=on_stream(lambda bs: _lines(bs, lambda line: not line.startswith("event:"))),
    ),
    "stream_status_backwards": Bug(
        "stream-follows-task", "the stream shows its first status again after the second", after=on_stream(_goes_back)
    ),
    "stream_done_early": Bug(
        "stream-done-terminal",
        "`done` comes after the first update, the task still running",
        after=on_stream(_done_early),
    ),
    "stream_no_ids": Bug(
        "stream-event-ids",
        "stream events carry no `id:`",
        after=on_stream(lambda bs: _lines(bs, lambda line: not line.startswith("id:"))),
    ),
    "stream_resume_ignored": Bug(
        "stream-resume", "a stream resumed after an event starts over", before=_resume_ignored
    ),
    "session_status_upper": Bug(
        "session-object", "a session's status reads ACTIVE, ENDED or EXPIRED", after=on_session(_upper_status)
    ),
    "session_list_empty": Bug("session-list-active", "GET /sessions lists nothing", after=_empty_list),
    "keepalive_noop": Bug("session-keepalive", "a keepalive answers the session as it was", before=_keepalive_noop),
    "session_end_200": Bug("session-end", "ending a session answers 200 with a body", after=_end_answers_200),
    "session_expiry_fixed": Bug(
        "session-sliding-expiry", "a session's expires_at never moves", after=on_session(_first_expiry)
    ),
    "session_idle_300": Bug(
        "session-idle-timeout-default", "a session idles out after 300 s by default", before=on_run(_default_idle_300)
    ),
    "session_gone_404_status": Bug(
        "session-errors",
        "SESSION_ENDED and SESSION_EXPIRED come with 404",
        after=on_error(
            _recode(410, {"SESSION_ENDED": (404, "SESSION_ENDED"), "SESSION_EXPIRED": (404, "SESSION_EXPIRED")})
        ),
    ),
    "session_unknown_generic": Bug(
        "session-unknown-404",
        "an unknown session gets 404 not_found",
        after=on_error(_recode(404, {"SESSION_NOT_FOUND": (404, "not_found")})),
    ),
    "session_gone_forgotten": Bug(
        "session-gone-410",
        "an ended or expired session is unknown: 404 SESSION_NOT_FOUND",
        after=on_error(
            _recode(410, {"SESSION_ENDED": (404, "SESSION_NOT_FOUND"), "SESSION_EXPIRED": (404, "SESSION_NOT_FOUND")})
        ),
    ),
    "worker_lease_ignored": Bug(
        "session-worker-lease", "a run naming a leased worker runs elsewhere", before=on_run(_drop_workers)
    ),
    "session_app_ignored": Bug(
        "session-app-match",
        "a run in a session runs the session's app, whatever it names",
        before=_session_app_ignored,
        after=_remember_session_app,
    ),
    "session_scope_ignored": Bug(
        "session-scopes", "any key may keep a session alive or end it", before=_any_key_executes
    ),
}
BUGS.update(STREAM_SESSION_BUGS)
