"""Shared parts of the load scenarios in this folder (not a scenario itself: it has no user class).

- ``ApiUser``: a FastHttpUser whose every answer is checked against ``openapi/tasks.yaml`` (status
  code documented, body valid, the prose rule it concerns), failures named by operation, status
  and rule id; requests are named by URL template (``/tasks/{id}``), never by a task's id.
- Custom metrics (``time_to_terminal``, ``webhook_turnaround``...): each its own entry of type
  METRIC (milliseconds) or COUNT, kept out of locust's "Aggregated" row, which so describes HTTP
  requests alone.
- Options of the scenarios, as locust command-line options (or environment variables), e.g.
  ``locust -f load/run_poll.py --poll-interval-ms 100``. Workers receive them from the master.
- The API key comes from ``INFSH_API_KEY`` (default ``inf_test_key``). It is sent in the
  Authorization header only, and replaced in every failure message a server could make echo it.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from dataclasses import dataclass
from typing import Any

import gevent
import locust.stats
import orjson
from locust import FastHttpUser, constant, events
from locust.env import Environment
from locust.runners import WorkerRunner
from locust.stats import RequestStats, StatsError

# jsonschema, imported with the spec, builds an IRI grammar (rfc3987_syntax) at import: 1.5 s of CPU
# in every locust process, for a format check these processes never make (they validate with
# jsonschema_rs). Marking the module absent makes jsonschema skip it, as when it is not installed.
sys.modules.setdefault("rfc3987_syntax", None)

from infsh_harness import defaults  # noqa: E402
from infsh_harness.http.calls import Call, CallBuilder  # noqa: E402
from infsh_harness.load.checks import ResponseChecks  # noqa: E402
from infsh_harness.load.metrics import COUNT, CUSTOM_TYPES, METRIC, fine_bucket  # noqa: E402
from infsh_harness.spec import load_spec  # noqa: E402

__all__ = ["API_KEY", "CHECKS", "ApiUser", "ScenarioOptions", "record"]

log = logging.getLogger("infsh_harness.load")

SPEC = load_spec()
CHECKS = ResponseChecks(SPEC)
API_KEY = defaults.api_keys(os.environ)[0]
CALLS = CallBuilder(SPEC, api_key=API_KEY)  # every request's method, path and headers
REDACTED = "[REDACTED]"


# --- options ----------------------------------------------------------------------------------
@events.init_command_line_parser.add_listener
def _add_options(parser: Any, **_kw: Any) -> None:
    # plain `locust -f load/...` too: the web UI and a master listen on loopback unless a flag says otherwise
    parser.set_defaults(web_host="127.0.0.1", master_bind_host="127.0.0.1")
    group = parser.add_argument_group("infsh-harness scenarios")
    group.add_argument("--infsh-app", default=defaults.APPS["complete"].name, env_var="INFSH_LOAD_APP",
                       help="app that run_wait, run_poll and webhook run (default infsh/echo)")
    group.add_argument("--infsh-input", default='{"prompt": "load"}', env_var="INFSH_LOAD_INPUT",
                       help="its input, as JSON")
    group.add_argument("--poll-interval-ms", type=float, default=50.0, env_var="INFSH_LOAD_POLL_INTERVAL_MS",
                       help="run_poll: time between two GETs of a task (default 50); run_cancel's reads too")
    group.add_argument("--poll-timeout-s", type=float, default=60.0, help="run_poll: give up on a task after this")
    group.add_argument("--cancel-app", default=defaults.APPS["long"].name, help="run_cancel: a long-running app")
    group.add_argument("--cancel-input", default='{"seconds": 30}', help="run_cancel: its input, as JSON")
    group.add_argument("--cancel-after-ms", type=float, default=20.0, help="run_cancel: pause before the cancel")
    group.add_argument("--cancel-timeout-s", type=float, default=10.0,
                       help="run_cancel: longest wait for status Cancelled after the cancel")
    group.add_argument("--webhook-timeout-s", type=float, default=10.0,
                       help="webhook: a webhook not received within this is lost")
    group.add_argument("--webhook-bind", default="127.0.0.1", help="webhook: address of the receiver")
    group.add_argument("--webhook-port", type=int, default=0, help="webhook: port of the receiver (0: any free)")
    group.add_argument("--webhook-url", default="",
                       help="webhook: URL the server should call, when it cannot reach the bind address")


@dataclass(frozen=True)
class ScenarioOptions:
    app: str = defaults.APPS["complete"].name
    input: Any = None
    poll_interval_s: float = 0.05
    poll_timeout_s: float = 60.0
    cancel_app: str = defaults.APPS["long"].name
    cancel_input: Any = None
    cancel_after_s: float = 0.02
    cancel_timeout_s: float = 10.0
    webhook_timeout_s: float = 10.0
    webhook_bind: str = "127.0.0.1"
    webhook_port: int = 0
    webhook_url: str = ""

    @classmethod
    def of(cls, environment: Environment) -> ScenarioOptions:
        o = environment.parsed_options
        if o is None:  # locust used as a library: the defaults
            return cls(input={"prompt": "load"}, cancel_input={"seconds": 30})
        return cls(
            app=o.infsh_app,
            input=_json_option("--infsh-input", o.infsh_input),
            poll_interval_s=max(o.poll_interval_ms, 0.0) / 1000.0,
            poll_timeout_s=o.poll_timeout_s,
            cancel_app=o.cancel_app,
            cancel_input=_json_option("--cancel-input", o.cancel_input),
            cancel_after_s=max(o.cancel_after_ms, 0.0) / 1000.0,
            cancel_timeout_s=o.cancel_timeout_s,
            webhook_timeout_s=o.webhook_timeout_s,
            webhook_bind=o.webhook_bind,
            webhook_port=o.webhook_port,
            webhook_url=o.webhook_url,
        )


def _json_option(flag: str, text: str) -> Any:
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        log.error("%s must be a JSON object, not %r", flag, text)
        sys.exit(2)
    return value


# --- custom metrics, kept apart from the requests ----------------------------------------------
@events.init.add_listener
def _on_init(environment: Environment, **_kw: Any) -> None:
    locust.stats.bucket_response_time = fine_bucket  # 0.1 ms resolution below 1 s (see metrics.py)
    keep_custom_metrics_apart(environment.stats)
    ScenarioOptions.of(environment)  # bad options stop the process now, not in every user
    Timeline().attach(environment)
    if not isinstance(environment.runner, WorkerRunner):
        gevent.signal_handler(signal.SIGUSR1, lambda: gevent.spawn(_stop_and_report, environment))


def _stop_and_report(environment: Environment) -> None:
    """SIGUSR1: end the run now as if ``--run-time`` had run out (reports written, no traceback).

    ``infsh-harness load`` sends it on Ctrl-C; locust's own SIGINT handling gets there too, but
    through a KeyboardInterrupt raised in whichever user happens to run.
    """
    log.info("stop requested: stopping the test and writing the reports")
    if environment.runner is not None:
        environment.runner.quit()
    if environment.web_ui is not None:
        environment.web_ui.stop()


def keep_custom_metrics_apart(stats: RequestStats) -> None:
    """Log METRIC and COUNT samples in their own entries only, not in the "Aggregated" total.

    Locust adds every ``request`` event to its total; a custom metric there would blend
    milliseconds of a whole task into the requests' percentiles, error rate and throughput.
    """
    log_request, log_error = stats.log_request, stats.log_error

    def _log_request(method: str, name: str, response_time: Any, content_length: int) -> None:
        if method in CUSTOM_TYPES:
            stats.entries[(name, method)].log(response_time, content_length)
        else:
            log_request(method, name, response_time, content_length)

    def _log_error(method: str, name: str, error: Any) -> None:
        if method not in CUSTOM_TYPES:
            log_error(method, name, error)
            return
        stats.entries[(name, method)].log_error(error)
        key = StatsError.create_key(method, name, error)
        entry = stats.errors.get(key)
        if entry is None:
            entry = stats.errors[key] = StatsError(method, name, error)
        entry.occurred()

    stats.log_request = _log_request
    stats.log_error = _log_error


class Timeline:
    """Per-second histograms of each custom metric and of all HTTP requests together, for the plots.

    Locust's history CSV holds sliding ten-second percentiles, written while the run lasts; this
    keeps every second, the last one included. Workers send theirs with each report to the master;
    the master (or the only process) writes ``PREFIX_timeline.json`` next to locust's CSV files
    once the last reports are in.
    """

    def __init__(self) -> None:
        self.seconds: dict[tuple[str, str, int], dict[float, int]] = {}

    def attach(self, environment: Environment) -> None:
        events = environment.events
        events.request.add_listener(self.on_request)
        events.report_to_master.add_listener(self.on_report_to_master)
        events.worker_report.add_listener(self.on_worker_report)
        prefix = getattr(environment.parsed_options, "csv_prefix", None)
        if prefix:
            events.quit.add_listener(lambda **_kw: self.write(f"{prefix}_timeline.json"))

    def on_request(self, request_type: str, name: str, response_time: Any, **_kw: Any) -> None:
        if response_time is None:
            return
        second = int(time.time())
        key = (request_type, name, second) if request_type in CUSTOM_TYPES else ("", "requests", second)
        histogram = self.seconds.get(key)
        if histogram is None:
            histogram = self.seconds[key] = {}
        bucket = fine_bucket(response_time)
        histogram[bucket] = histogram.get(bucket, 0) + 1

    def drain(self) -> list[list[Any]]:
        rows = [[kind, name, second, [[v, n] for v, n in hist.items()]]
                for (kind, name, second), hist in self.seconds.items()]  # fmt: skip
        self.seconds = {}
        return rows

    def merge(self, rows: list[list[Any]]) -> None:
        for kind, name, second, pairs in rows:
            histogram = self.seconds.setdefault((kind, name, int(second)), {})
            for value, n in pairs:
                histogram[value] = histogram.get(value, 0) + n

    def on_report_to_master(self, data: dict[str, Any], **_kw: Any) -> None:
        data["infsh_timeline"] = self.drain()

    def on_worker_report(self, data: dict[str, Any], **_kw: Any) -> None:
        self.merge(data.get("infsh_timeline") or [])

    def write(self, path: str) -> None:
        try:
            with open(path, "wb") as f:
                f.write(orjson.dumps(sorted(self.drain(), key=lambda row: (row[0], row[1], row[2]))))
        except OSError as exc:
            log.error("could not write %s: %s", path, exc)


class MeasureFailed(Exception):
    """A custom metric could not be measured (the message says why)."""


def record(environment: Environment, name: str, value: float | None, failure: str | None = None,
           kind: str = METRIC) -> None:  # fmt: skip
    """One sample of a custom metric (a failure when ``failure`` says why it could not be measured)."""
    environment.events.request.fire(
        request_type=kind,
        name=name,
        response_time=value,
        response_length=0,
        exception=MeasureFailed(failure) if failure else None,
        context={},
    )


def _scrub(message: str) -> str:
    return message.replace(API_KEY, REDACTED) if API_KEY else message


# --- the validated client ----------------------------------------------------------------------
class ApiUser(FastHttpUser):
    """A user of the Tasks API; its helpers return a checked body, or ``None`` after logging a failure."""

    abstract = True
    wait_time = constant(0)
    network_timeout = 120.0  # a waiting run lasts as long as its task
    connection_timeout = 10.0

    def on_start(self) -> None:
        self.options = ScenarioOptions.of(self.environment)

    def metric(self, name: str, ms: float | None, failure: str | None = None) -> None:
        record(self.environment, name, ms, failure)

    def count(self, name: str, value: int) -> None:
        record(self.environment, name, value, kind=COUNT)

    def _checked(self, response: Any, operation_id: str) -> Any:
        status = response.status_code
        if not status:
            error = getattr(response, "error", None)
            response.failure(f"{operation_id}: no answer ({type(error).__name__ if error else 'connection failed'})")
            return None
        body, failure = CHECKS.response(operation_id, status, response.headers.get("content-type"), response.content)
        if failure is not None:
            response.failure(_scrub(failure))
            return None
        return body

    def send(self, call: Call, name: str | None = None) -> Any:
        """``call`` through locust's client, named by its path template (never by a task's id)."""
        return self.client.request(
            call.method, call.target, name=name or call.template, data=call.content, headers=call.headers,
            catch_response=True,
        )  # fmt: skip

    def submit(self, wait: bool, app: str | None = None, input: Any = None, webhook: str | None = None) -> Any:
        """``POST /run`` (``?wait=false`` unless ``wait``); the task, or ``None``."""
        body: dict[str, Any] = {"app": app or self.options.app, "input": self.options.input if input is None else input}
        if webhook:
            body["webhook"] = webhook
        call = CALLS.run(body, wait=None if wait else False)
        with self.send(call, name=call.target) as response:
            task = self._checked(response, "runTask")
            if task is None:
                return None
            failure = CHECKS.run_waited(task) if wait else None
            if failure is not None:
                response.failure(failure)
                return None
            response.success()
            return task

    def get_task(self, task_id: str, previous_status: int | None = None) -> Any:
        """``GET /tasks/{id}``; the task, or ``None``. Checks that its status did not go back (a
        broken rule fails the request, but the task is still returned: the scenario goes on)."""
        with self.send(CALLS.get(task_id)) as response:
            task = self._checked(response, "getTask")
            if task is None:
                return None
            failure = CHECKS.same_task("getTask", task, task_id)
            if failure is None and previous_status is not None:
                failure = CHECKS.advance(previous_status, task["status"])
            if failure is not None:
                response.failure(failure)
            else:
                response.success()
            return task

    def cancel(self, task_id: str) -> Any:
        """``POST /tasks/{id}/cancel``; its answer, or ``None``. A broken rule fails the request,
        but a valid answer is still returned, so the time until Cancelled can be measured."""
        with self.send(CALLS.cancel(task_id)) as response:
            result = self._checked(response, "cancelTask")
            if result is None:
                return None
            failure = CHECKS.same_task("cancelTask", result, task_id) or CHECKS.cancel_answer(result)
            if failure is not None:
                response.failure(failure)
            else:
                response.success()
            return result


def elapsed_ms(since: float) -> float:
    """Milliseconds from a ``time.perf_counter()`` reading until now."""
    return (time.perf_counter() - since) * 1000.0
