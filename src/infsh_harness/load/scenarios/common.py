"""Shared parts of the load scenarios in this folder (not a scenario itself: it has no user class).

- ``ApiUser``: a FastHttpUser whose every answer is checked against ``openapi/tasks.yaml`` (status
  code documented, body valid, the prose rule it concerns), failures named by operation, status
  and rule id; requests are named by URL template (``/tasks/{id}``), never by a task's id.
- Custom metrics (``time_to_terminal``, ``webhook_turnaround``...): each its own entry of type
  METRIC (milliseconds) or COUNT, kept out of locust's "Aggregated" row, which so describes HTTP
  requests alone.
- Two load models: the closed loop (each user runs tasks back to back) and the open model
  (``--arrival-rate``: each user starts tasks on a schedule fixed in advance, each timed from its
  due start; ``open_model.py``). Every process watches its own CPU (``monitor.py``).
- Options of the scenarios, as locust command-line options (or environment variables), e.g.
  ``locust -f load/run_poll.py --poll-interval-ms 100``. Workers receive them from the master.
- The API key comes from ``INFSH_API_KEY`` (default ``inf_test_key``). It is sent in the
  Authorization header only, and replaced in every failure message a server could make echo it.
"""

from __future__ import annotations

import logging
import math
import os
import signal
import sys
import time
import traceback
from dataclasses import dataclass
from typing import Any

import gevent
import locust.stats
import orjson
from locust import FastHttpUser, constant, events, task
from locust.env import Environment
from locust.exception import StopUser
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
from infsh_harness.load.scenarios.monitor import GeneratorMonitor  # noqa: E402
from infsh_harness.load.scenarios.open_model import STOPPING, Schedule  # noqa: E402
from infsh_harness.spec import load_spec  # noqa: E402

__all__ = ["API_KEY", "CHECKS", "ApiUser", "ScenarioOptions", "record"]

log = logging.getLogger("infsh_harness.load")

SPEC = load_spec()
CHECKS = ResponseChecks(SPEC)
API_KEY = defaults.api_keys(os.environ)[0]
# every request's method, path and headers; version 2 (bare objects), as the official clients send
CALLS = CallBuilder(SPEC, api_key=API_KEY, api_version="2")
REDACTED = "[REDACTED]"
MONITOR = GeneratorMonitor("closed")  # this process' CPU and schedules (scenarios/monitor.py)


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
    group.add_argument("--arrival-rate", type=float, default=0.0, env_var="INFSH_LOAD_ARRIVAL_RATE",
                       help="open model: tasks each user starts per second on a fixed schedule (0: closed loop)")
    group.add_argument("--arrival-seconds", type=float, default=0.0,
                       help="open model: how long each user keeps to its schedule (default: --run-time)")
    group.add_argument("--max-in-flight", type=int, default=500,
                       help="open model: most tasks of one user in flight; a start due beyond is dropped")
    group.add_argument("--drain-s", type=float, default=10.0,
                       help="open model: longest wait for the tasks in flight after the last start")


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
    arrival_rate: float = 0.0  # 0: the closed loop
    arrival_seconds: float = 0.0
    max_in_flight: int = 500
    drain_s: float = 10.0

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
            arrival_rate=_finite("--arrival-rate", o.arrival_rate, 0.0),
            arrival_seconds=_finite("--arrival-seconds", o.arrival_seconds or _run_time(o), 0.0),
            max_in_flight=int(_finite("--max-in-flight", o.max_in_flight, 1.0)),
            drain_s=_finite("--drain-s", o.drain_s, 0.0),
        )

    @property
    def open_model(self) -> bool:
        return self.arrival_rate > 0


def _run_time(options: Any) -> float:
    """locust's ``--run-time`` in seconds, once locust has read it (0 when not set)."""
    value = getattr(options, "run_time", None)
    return float(value) if isinstance(value, int | float) else 0.0


def _finite(flag: str, value: float, least: float) -> float:
    if not math.isfinite(value) or value < least:
        log.error("%s must be a finite number of at least %g, not %r", flag, least, value)
        sys.exit(2)
    return float(value)


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
    options = ScenarioOptions.of(environment)  # bad options stop the process now, not in every user
    Timeline().attach(environment)
    MONITOR.model = "open" if options.open_model else "closed"
    MONITOR.attach(environment)
    environment.events.test_start.add_listener(lambda **_kw: STOPPING.clear())
    environment.events.test_stopping.add_listener(lambda **_kw: STOPPING.set())
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
    """Per-second samples of every entry, successes and failures apart, for the summary and the plots.

    Locust's own histograms mix failed requests in with the answered ones (a refused connection
    takes a millisecond), and its history CSV holds sliding ten-second percentiles; this keeps,
    per entry and per second, the histogram of successful samples alone, the failures, and the
    requests that got no HTTP answer at all. Workers send theirs with each report to the master;
    the master (or the only process) writes ``PREFIX_timeline.json`` once the last reports are in,
    one row per entry and second: ``[type, name, second, [[ms, n], ...], failures, unanswered]``.
    """

    def __init__(self) -> None:
        self.seconds: dict[tuple[str, str, int], list[Any]] = {}  # -> [histogram, failures, unanswered]

    def attach(self, environment: Environment) -> None:
        events = environment.events
        events.request.add_listener(self.on_request)
        events.report_to_master.add_listener(self.on_report_to_master)
        events.worker_report.add_listener(self.on_worker_report)
        prefix = getattr(environment.parsed_options, "csv_prefix", None)
        if prefix and not isinstance(environment.runner, WorkerRunner):
            events.quit.add_listener(lambda **_kw: self.write(f"{prefix}_timeline.json"))

    def on_request(self, request_type: str, name: str, response_time: Any, exception: Any = None,
                   response: Any = None, **_kw: Any) -> None:  # fmt: skip
        key = (request_type, name, int(time.time()))
        row = self.seconds.get(key)
        if row is None:
            row = self.seconds[key] = [{}, 0, 0]
        if exception is not None or response_time is None:
            row[1] += 1
            if request_type not in CUSTOM_TYPES and not getattr(response, "status_code", 0):
                row[2] += 1
            return
        bucket = fine_bucket(response_time)
        histogram = row[0]
        histogram[bucket] = histogram.get(bucket, 0) + 1

    def drain(self) -> list[list[Any]]:
        rows = [[kind, name, second, [[v, n] for v, n in hist.items()], failures, unanswered]
                for (kind, name, second), (hist, failures, unanswered) in self.seconds.items()]  # fmt: skip
        self.seconds = {}
        return rows

    def merge(self, rows: list[list[Any]]) -> None:
        for kind, name, second, pairs, failures, unanswered in rows:
            row = self.seconds.setdefault((kind, name, int(second)), [{}, 0, 0])
            histogram = row[0]
            for value, n in pairs:
                histogram[value] = histogram.get(value, 0) + n
            row[1] += failures
            row[2] += unanswered

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
    """A user of the Tasks API; its helpers return a checked body, or ``None`` after logging a failure.

    A scenario defines ``iteration(started)``, one task from start to end, timed from ``started``
    (a ``time.perf_counter()`` reading), and names its ``main_measure``. In the closed loop
    (default) each user runs iterations back to back, ``started`` being now; in the open model
    (``--arrival-rate``) each user is a scheduler that starts iterations on a fixed schedule, each
    in its own greenlet, ``started`` being its due time (``scenarios/open_model.py``).
    """

    abstract = True
    wait_time = constant(0)
    network_timeout = 120.0  # a waiting run lasts as long as its task
    connection_timeout = 10.0
    main_measure = ""

    def __init__(self, environment: Environment) -> None:
        self.options = ScenarioOptions.of(environment)
        if self.options.open_model:  # one connection per task in flight
            self.concurrency = self.options.max_in_flight
        super().__init__(environment)
        self._scheduled = False

    def on_start(self) -> None:
        self.options = ScenarioOptions.of(self.environment)

    def iteration(self, started: float) -> None:
        raise NotImplementedError

    @task
    def step(self) -> None:
        if not self.options.open_model:
            self.iteration(time.perf_counter())
        elif not self._scheduled:
            self._scheduled = True
            self._run_schedule()
        else:  # the schedule is over: idle until locust stops this user
            gevent.sleep(0.25)

    def _run_schedule(self) -> None:
        o = self.options
        if o.arrival_seconds <= 0:
            log.error("--arrival-rate needs --arrival-seconds or --run-time")
            return
        schedule = Schedule(o.arrival_rate, o.arrival_seconds, o.max_in_flight, o.drain_s)
        MONITOR.schedules.append(schedule.counts)
        schedule.run(self._guarded_iteration, self._unfinished)
        MONITOR.schedules_ended_at = time.time()

    def _guarded_iteration(self, due: float) -> None:
        """One iteration in its own greenlet; an error in it is reported as locust reports a task's."""
        try:
            self.iteration(due)
        except (gevent.GreenletExit, StopUser):
            raise
        except Exception as exc:
            self.environment.events.user_error.fire(user_instance=self, exception=exc, tb=exc.__traceback__)
            log.error("%s\n%s", exc, traceback.format_exc())

    def _unfinished(self, due: float, why: str) -> None:
        self.metric(self.main_measure, elapsed_ms(due), f"task {why}")

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

    def send(self, call: Call, name: str | None = None, since: float | None = None) -> Any:
        """``call`` through locust's client, named by its path template (never by a task's id).

        With ``since`` (the iteration's due start), the request is timed from then, not from the
        moment it could be sent: time a task spent waiting for its start counts (open model)."""
        late_ms = elapsed_ms(since) if since is not None else 0.0
        response = self.client.request(
            call.method, call.target, name=name or call.template, data=call.content, headers=call.headers,
            catch_response=True,
        )  # fmt: skip
        if late_ms > 0:
            response.request_meta["response_time"] += late_ms
        return response

    def submit(self, wait: bool, app: str | None = None, input: Any = None, webhook: str | None = None,
               since: float | None = None) -> Any:  # fmt: skip
        """``POST /run`` (``?wait=false`` unless ``wait``); the task, or ``None``."""
        body: dict[str, Any] = {"app": app or self.options.app, "input": self.options.input if input is None else input}
        if webhook:
            body["webhook"] = webhook
        call = CALLS.run(body, wait=None if wait else False)
        with self.send(call, name=call.target, since=since) as response:
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
