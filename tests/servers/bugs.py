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
    "status_backwards": Bug("status-order", "every other read of a running task shows the status before",
                            after=_status_backwards),
    "terminal_not_final": Bug("terminal-final", "cancelling an ended task turns it into Cancelled",
                              after=_terminal_not_final),
    "finished_reads_running": Bug("terminal-final", "a task that ended reads as Running ever after",
                                  after=_finished_reads_running),
    "failed_without_error": Bug("failed-has-error", "a failed task has an empty error",
                                after=on_task(TASK_ROUTES, _set("error", "", _failed)),
                                hook=on_payloads(_set("error", "", _failed))),
    "completed_without_output": Bug("completed-has-output", "a completed task has no output",
                                    after=on_task(TASK_ROUTES, _set("output", None, _completed)),
                                    hook=on_payloads(_set("output", None, _completed))),
    "webhook_twice": Bug("one-webhook", "every webhook is delivered twice", hook=lambda proxy, p: p + p),
    "webhook_missing": Bug("one-webhook", "no webhook is ever delivered", hook=lambda proxy, p: []),
    "webhook_wrong_status": Bug("webhook-matches-task", "the webhook reports Running",
                                hook=on_payloads(_set("status", RUNNING))),
    "webhook_bad_payload": Bug("webhook-matches-task", "the webhook has no updated_at",
                               hook=on_payloads(lambda p: p.pop("updated_at", None))),
    "webhook_updated_before_created": Bug("webhook-matches-task", "the webhook's updated_at is before created_at",
                                          hook=on_payloads(_updated_a_minute_early)),
    "default_no_wait": Bug("run-waits-by-default", "a run without wait=false does not wait",
                           before=on_run(_wait("false", lambda ex: "wait" not in ex.query))),
    "no_wait_waits": Bug("run-no-wait", "wait=false waits anyway",
                         before=on_run(_wait(None, lambda ex: ex.query.get("wait") == "false"))),
    "undocumented_status": Bug("status-known", "a cancelled task reports status 12",
                               after=on_task(ANSWER_ROUTES, _rewrite_statuses(CANCELLED, 12)),
                               hook=on_payloads(_rewrite_statuses(CANCELLED, 12))),
    "input_not_echoed": Bug("stable-fields", "a task's input is not the input sent",
                            after=on_task(TASK_ROUTES, lambda b: b.update(input={} if b.get("input") else {"x": 1}))),
    "created_at_unstable": Bug("stable-fields", "created_at moves on every read", after=_created_at_unstable),
    "bad_timestamp": Bug("timestamps-iso8601", "created_at is not ISO 8601",
                         after=on_task(TASK_ROUTES, _set("created_at", "15/01/2024 10:30"))),
    "session_id_changes": Bug("session-continue", "continuing a session answers another session id",
                              after=_both(_session_id_changes, _keep_session_override)),
    "no_session_id": Bug("session-new", 'session "new" answers no session_id',
                         after=on_task(TASK_ROUTES, _set("session_id", None))),
    "session_timeout_unbounded": Bug("session-timeout-bounds", "session_timeout outside 1-3600 is accepted",
                                     before=on_run(_session_timeout(lambda t, d: min(max(t, 1), 3600)))),
    "session_timeout_without_new": Bug("session-timeout-with-new-only", "session_timeout is taken without session new",
                                       before=on_run(_session_timeout(_drop_timeout_without_new))),
    "session_timeout_truncated": Bug("session-timeout-bounds", "session_timeout is bounded after truncation",
                                     before=on_run(_session_timeout(_truncated))),
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
    "cancel_not_sticky": Bug("cancel-running", "a cancelled task reads as Running every other time",
                             after=_cancel_not_sticky),
    "cancel_ignored": Bug("cancel-running", "a cancel answers Cancelled, and the task runs on", before=_cancel_ignored),
    "cancel_flag_wrong": Bug("cancel-flag", "every cancel answers cancelled: true",
                             after=on_task(("cancel",), _set("cancelled", True))),
    "cancel_terminal_409": Bug("cancel-idempotent", "cancelling an ended task answers 409",
                               before=_cancel_terminal_409),
    "get_other_task": Bug("stable-fields", "a read answers the key's latest task, whatever the id",
                          before=_get_other_task),
    "session_id_changes_on_get": Bug("stable-fields", "reads show another session_id than the run",
                                     after=on_task(("get",), _set("session_id", "sess_other",
                                                                  lambda b: bool(b.get("session_id"))))),
    "error_not_string": Bug("failed-has-error", "a failed task's error is an object",
                            after=on_task(TASK_ROUTES, _set("error", {"message": "x"}, _has_error))),
    "status_string": Bug("status-known", "statuses are strings", after=on_task(ANSWER_ROUTES, _stringify_status),
                         hook=on_payloads(_stringify_status)),
    "no_created_at": Bug("timestamps-iso8601", "tasks have no created_at",
                         after=on_task(TASK_ROUTES, lambda b: b.pop("created_at", None))),
    "timestamps_no_offset": Bug("timestamps-offset", "timestamps carry no UTC offset",
                                after=on_task(TASK_ROUTES, _no_offset), hook=on_payloads(_no_offset)),
    "session_no_wait_waits": Bug("run-no-wait", "wait=false waits for runs in a session",
                                 before=on_run(_wait(None, lambda ex: "session" in ex.data
                                                     and ex.query.get("wait") == "false"))),
    "session_default_no_wait": Bug("run-waits-by-default", "a run in a session does not wait by default",
                                   before=on_run(_wait("false", lambda ex: "session" in ex.data
                                                       and "wait" not in ex.query))),
    "session_continue_refused": Bug("session-continue", "continuing a live session answers 404",
                                    before=on_run(_refuse_continued_session)),
    "webhook_early": Bug("webhook-matches-task", "the webhook is sent at creation, with the planned end",
                         after=_webhook_early),
    "webhook_wrong_id": Bug("webhook-matches-task", "the webhook names another task",
                            hook=on_payloads(lambda p: p.update(id=f"{p['id']}_other"))),
    "webhook_created_at_differs": Bug("webhook-matches-task", "the webhook's created_at is a second early",
                                      hook=on_payloads(lambda p: p.update(created_at=_shift(p["created_at"], -1)))),
    "webhook_not_on_cancel": Bug("one-webhook", "no webhook for a cancelled task",
                                 hook=lambda proxy, p: [x for x in p if x.get("status") != CANCELLED]),
    "webhook_without_output": Bug("completed-has-output", "a completed task's webhook has no output",
                                  hook=on_payloads(_set("output", None))),
    "webhook_failed_no_error": Bug("failed-has-error", "a failed task's webhook has an empty error",
                                   hook=on_payloads(_set("error", ""))),
    "webhook_bad_timestamp": Bug("timestamps-iso8601", "the webhook's timestamps are not ISO 8601",
                                 hook=on_payloads(lambda p: p.update(created_at="yesterday", updated_at="yesterday"))),
    "loose_validation": Bug("invalid-run-refused", "a body breaking RunRequest is served if app and input are given",
                            before=on_run(_loosely_valid)),
    "empty_session_accepted": Bug("run-constraints-refused", 'session "" is taken as no session',
                                  before=on_run(_drop_empty_session)),
    "unknown_app_200": Bug("unknown-app-404", "an unknown app runs as infsh/echo", after=_unknown_app_200),
    "run_201": Bug("documented-responses", "a run answers 201", after=_run_201),
    "method_500": Bug("no-server-error", "a method a path lacks gets 500", after=_method_500),
    "method_405_without_allow": Bug("method-not-allowed", "a 405 has no Allow header", after=_method_without_allow),
    "task_without_input": Bug("response-shape", "tasks have no input",
                              after=on_task(TASK_ROUTES, lambda b: b.pop("input", None))),
    "echo_key": Bug(None, "the key sent is named in every error and task (a leak, not a rule)",
                    after=_echo_key),
}
