"""The active probe: each documented operation and scenario, once per API version, against a base URL.

Runs waiting and not, get, cancel (finished and running), a finished task's event stream (and its
resumption), a session started, continued, read, listed, kept alive and ended, the documented
errors (no key, unknown id, unknown app, unknown, ended and expired session, a bad body) and a run
with a webhook to a local receiver; every exchange becomes an :class:`Observation` tagged with its
scenario (see ``scenarios.py``). All of it runs once without ``X-API-Version`` (version 1, the
default) and once with ``X-API-Version: 2`` (``ProbeConfig.versions``). It judges nothing: ``diff``
does. Each scenario sends a fixed number of requests, every wait (a stream's read included) has a
deadline, and a scenario that cannot run (no task id to use) is skipped with a note.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from infsh_harness import defaults
from infsh_harness.drift.scenarios import SCENARIOS, WEBHOOK_DELIVERY, task_document
from infsh_harness.drift.stream import parse_events
from infsh_harness.http.calls import DEFAULT_KEY, NO_KEY, KeyChoice
from infsh_harness.http.driver import Driver
from infsh_harness.http.observation import Observation
from infsh_harness.spec import Spec, load_spec
from infsh_harness.webhooks.receiver import WebhookReceiver

__all__ = ["ProbeConfig", "ProbeError", "ProbeResult", "probe"]

_UNKNOWN_TASK_ID = "task_drift_probe_unknown"
_UNKNOWN_SESSION_ID = "sess_drift_probe_unknown"
_SETTLE_POLLS = 30


class ProbeError(Exception):
    """The target could not be probed at all (nothing answered)."""


@dataclass(frozen=True)
class ProbeConfig:
    base_url: str
    api_key: str
    api_key_2: str | None = None  # enables the isolation scenario (another key's task is a 404)
    app: str = defaults.APPS["complete"].name  # an app that completes quickly
    slow_app: str = defaults.APPS["long"].name  # an app still running when ``wait=false`` answers
    slow_input: Mapping[str, Any] = field(default_factory=lambda: {"seconds": 5})
    failing_app: str = defaults.APPS["fail"].name  # an app that fails
    failing_input: Mapping[str, Any] = field(default_factory=lambda: {"message": "drift probe failure"})
    unknown_app: str = "infsh/drift-probe-no-such-app"
    webhook_host: str = "127.0.0.1"  # the host the target is told to POST to
    webhook_bind: str = "127.0.0.1"
    webhook_port: int = 0
    webhook_reachable: bool = True  # False: a missing webhook is a note, not drift
    webhook_wait_s: float = 10.0
    duplicate_grace_s: float = 0.3  # how long to listen for a second delivery
    session_timeout_s: float = 1.0  # the idle timeout of the session the probe lets expire
    session_expiry_margin_s: float = 0.6
    # where to create tasks when POST /run is not served, so get, cancel and webhooks can still
    # be probed (the official clients use /apps/run); None: nowhere
    fallback_run_path: str | None = None
    settle_s: float = 3.0  # how long to re-read a cancelled task still shown as running
    request_timeout_s: float = 60.0
    stream_deadline_s: float = 5.0  # the longest a stream is read
    # the API versions to probe in: None sends no X-API-Version (version 1, the default)
    versions: tuple[str | None, ...] = (None, "2")
    skip: frozenset[str] = frozenset()


@dataclass
class ProbeResult:
    observations: list[Observation] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def probe(
    config: ProbeConfig,
    spec: Spec | None = None,
    transport: httpx.BaseTransport | None = None,
    result: ProbeResult | None = None,
) -> ProbeResult:
    """Run every scenario once against ``config.base_url``; ``ProbeError`` if nothing answers.

    Observations are recorded into ``result`` as they are made (a new one when not given), so a caller
    interrupted half-way (Ctrl-C) still has what was seen."""
    unknown = sorted(config.skip - set(SCENARIOS))
    if unknown:
        raise ValueError(f"unknown scenarios: {', '.join(unknown)}")
    receiver = WebhookReceiver(
        config.webhook_bind,
        config.webhook_port,
        advertise_host=config.webhook_host,
        operation_id=SCENARIOS[WEBHOOK_DELIVERY].operation_id,
        scenario=WEBHOOK_DELIVERY,
        max_deliveries=100,  # all a misbehaving target can make the probe keep
    )
    if not config.versions:
        raise ValueError("the probe needs at least one API version")
    spec = spec or load_spec()
    drivers = [
        Driver(
            config.base_url,
            config.api_key,
            spec,
            timeout_s=httpx.Timeout(config.request_timeout_s, connect=10.0),
            api_version=version,
            transport=transport,
            source="probe",
            user_agent="infsh-harness-drift-probe",
        )
        for version in config.versions
    ]
    with receiver:
        try:
            return _Probe(config, spec, drivers, receiver, result).run()
        finally:
            for driver in drivers:
                driver.close()


def _status(obs: Observation | None) -> int | None:
    document = task_document(obs.body) if obs is not None and obs.body_is_json else None
    status = document.get("status") if document else None
    return status if isinstance(status, int) and not isinstance(status, bool) else None


def _field(obs: Observation | None, name: str) -> str | None:
    document = task_document(obs.body) if obs is not None and obs.body_is_json and obs.status_code < 300 else None
    value = document.get(name) if document else None
    return value if isinstance(value, str) and value else None


class _Probe:
    def __init__(
        self,
        config: ProbeConfig,
        spec: Spec,
        drivers: list[Driver],
        receiver: WebhookReceiver,
        result: ProbeResult | None = None,
    ) -> None:
        self.config = config
        self.spec = spec
        self.drivers = drivers
        self.driver = drivers[0]  # the one of the version being probed
        self.receiver = receiver
        self.result = result if result is not None else ProbeResult()
        self.answered = False
        self.fallback: str | None = None  # set once the documented run turns out not to be served
        self.deliveries_recorded = 0

    # --- plumbing -------------------------------------------------------------------------------
    def wanted(self, scenario: str) -> bool:
        return scenario not in self.config.skip

    def send(
        self,
        scenario: str,
        method: str,
        path: str,
        *,
        body: Any = None,
        content: bytes | None = None,
        params: Mapping[str, str] | None = None,
        key: str | None = "",
    ) -> Observation | None:
        """One request, recorded; ``key=""`` uses the configured key, ``None`` sends none."""
        if not self.wanted(scenario):
            return None
        obs = self.exchange(scenario, method, path, body=body, content=content, params=params, key=key)
        if obs is not None:
            self.record(obs)
        return obs

    def read(self, path: str) -> Observation | None:
        """A GET that is not recorded (the settle loop keeps only its last read)."""
        return self.exchange("get-settled", "GET", path)

    def record(self, obs: Observation) -> None:
        self.result.observations.append(obs)

    def exchange(
        self,
        scenario: str,
        method: str,
        path: str,
        *,
        body: Any = None,
        content: bytes | None = None,
        params: Mapping[str, str] | None = None,
        key: str | None = "",
    ) -> Observation | None:
        choice: KeyChoice = DEFAULT_KEY if key == "" else NO_KEY if key is None else key
        try:
            obs = self.driver.request(
                method, path, json=body, content=content, params=params, key=choice,
                operation_id=SCENARIOS[scenario].operation_id, scenario=scenario,
            )  # fmt: skip
        except httpx.TransportError as exc:
            if not self.answered:
                raise ProbeError(f"{self.config.base_url} did not answer: {type(exc).__name__}: {exc}") from None
            self.note(f"{scenario}: no answer ({type(exc).__name__})")
            return None
        self.answered = True
        return obs

    def note(self, text: str) -> None:
        version = self.driver.calls.api_version
        self.result.notes.append(f"(X-API-Version: {version}) {text}" if version else text)

    def skipped(self, scenarios: str, why: str) -> None:
        wanted = [s for s in scenarios.split() if self.wanted(s)]
        if wanted:
            self.note(f"{', '.join(wanted)} not run: {why}")

    def run_task(self, scenario: str, body: Mapping[str, Any], wait: bool | None = None) -> Observation | None:
        params = None if wait is None else {"wait": str(wait).lower()}
        return self.send(scenario, "POST", "/run", body=dict(body), params=params)

    def create(self, scenario: str, body: Mapping[str, Any], wait: bool) -> Observation | None:
        """Create a task at the fallback path, the way the official clients do (``wait`` in the body)."""
        assert self.fallback is not None
        return self.send(scenario, "POST", self.fallback, body={**body, "wait": wait})

    def use_fallback_if_unserved(self, first: Observation | None) -> None:
        path = self.config.fallback_run_path
        if path and first is not None and first.status_code in (404, 405):
            self.fallback = path
            why = f"POST /run answered {first.status_code}"
            self.note(f"{why}: the tasks to get, cancel and watch were created with POST {path}")

    @property
    def unserved(self) -> str | None:
        """Why run scenarios cannot go on, when the documented run is not served."""
        return "POST /run is not served" if self.fallback else None

    def input(self) -> dict[str, Any]:
        return {"app": self.config.app, "input": {"prompt": "drift probe"}}

    # --- scenarios ------------------------------------------------------------------------------
    def run(self) -> ProbeResult:
        for driver in self.drivers:
            self.driver = driver
            done = self.runs_and_cancels()
            self.streams(done)
            self.sessions()
            self.errors()
            self.webhook()
            self.session_expiry()
        return self.result

    def runs_and_cancels(self) -> str | None:
        """The run, get and cancel scenarios; answers the id of a finished task (``None``: none)."""
        first = self.run_task("run-default-wait", self.input())
        done = _field(first, "id")
        self.run_task("run-wait-true", self.input(), wait=True)
        self.run_task("run-fail", {"app": self.config.failing_app, "input": dict(self.config.failing_input)})
        if done is None:
            self.use_fallback_if_unserved(first)
        if done is None and self.fallback:
            done = _field(self.create("create-fallback", self.input(), wait=True), "id")
        if done:
            self.send("get-task", "GET", f"/tasks/{quote(done, safe='')}")
            self.send("cancel-terminal", "POST", f"/tasks/{quote(done, safe='')}/cancel")
            if self.config.api_key_2:
                self.send("other-key", "GET", f"/tasks/{quote(done, safe='')}", key=self.config.api_key_2)
        else:
            self.skipped("get-task cancel-terminal other-key", "POST /run gave no task id")
        slow = {"app": self.config.slow_app, "input": dict(self.config.slow_input)}
        running = _field(self.run_task("run-no-wait", slow, wait=False), "id")
        if running is None and self.fallback:
            running = _field(self.create("create-fallback", slow, wait=False), "id")
        if running:
            self.send("cancel-running", "POST", f"/tasks/{quote(running, safe='')}/cancel")
            after = self.send("get-after-cancel", "GET", f"/tasks/{quote(running, safe='')}")
            self.settle(running, after)
        else:
            self.skipped("cancel-running get-after-cancel", "POST /run?wait=false gave no task id")
        return done

    def stream(self, scenario: str, task_id: str, last_event_id: str | None = None) -> Observation | None:
        if not self.wanted(scenario):
            return None
        call = self.driver.calls.stream(task_id, last_event_id=last_event_id)
        try:
            obs = self.driver.observe_stream(call, deadline_s=self.config.stream_deadline_s, scenario=scenario)
        except httpx.TransportError as exc:
            self.note(f"{scenario}: no answer ({type(exc).__name__})")
            return None
        self.record(obs)
        return obs

    def streams(self, done: str | None) -> None:
        self.stream("stream-unknown", _UNKNOWN_TASK_ID)
        if done is None:
            self.skipped("stream-task stream-resume", "no finished task to stream")
            return
        first = self.stream("stream-task", quote(done, safe=""))
        events = parse_events(first.body) if first is not None and isinstance(first.body, str) else []
        ids = [e.id for e in events if e.id]
        if first is None or first.status_code != 200 or len(ids) < 2:
            self.skipped("stream-resume", "the stream gave fewer than two event ids to resume between")
            return
        self.stream("stream-resume", quote(done, safe=""), last_event_id=ids[0])

    def settle(self, task_id: str, last: Observation | None) -> None:
        """Re-read a cancelled task while it shows a documented non-terminal status (bounded);
        keep the read that ends it, so a status the cancel leads to later is seen too."""
        spec = self.spec
        seen = _status(last)
        if seen is None or seen in spec.terminal_statuses or seen not in spec.status_codes:
            return
        deadline = time.monotonic() + self.config.settle_s
        for _ in range(_SETTLE_POLLS):
            if time.monotonic() >= deadline:
                return
            time.sleep(self.config.settle_s / _SETTLE_POLLS)
            read = self.read(f"/tasks/{quote(task_id, safe='')}")
            status = _status(read)
            if status is None or status == seen:
                continue
            if read is not None and (status in spec.terminal_statuses or status not in spec.status_codes):
                self.record(read.tagged(scenario="get-settled"))
                return
            seen = status

    def sessions(self) -> None:
        session = _field(self.run_task("session-new", {**self.input(), "session": "new"}), "session_id")
        if session:
            self.run_task("session-continue", {**self.input(), "session": session})
            self.session_endpoints(session)
        else:
            why = self.unserved or 'a run with session "new" gave no session_id'
            self.skipped(
                "session-continue session-get session-list session-keepalive session-end session-ended-run", why
            )
        self.run_task("session-unknown", {**self.input(), "session": _UNKNOWN_SESSION_ID})
        self.send("session-get-unknown", "GET", f"/sessions/{_UNKNOWN_SESSION_ID}")
        self.run_task("session-timeout-without-new", {**self.input(), "session_timeout": 300})

    def session_endpoints(self, session: str) -> None:
        """Read, list, keep alive and end a live session, then try to run in it."""
        path = f"/sessions/{quote(session, safe='')}"
        self.send("session-get", "GET", path)
        self.send("session-list", "GET", "/sessions")
        self.send("session-keepalive", "POST", f"{path}/keepalive")
        self.send("session-end", "DELETE", path)
        self.run_task("session-ended-run", {**self.input(), "session": session})

    def errors(self) -> None:
        self.send("bad-json", "POST", "/run", content=b'{"app": ')
        self.run_task("unknown-app", {"app": self.config.unknown_app, "input": {}})
        self.send("no-auth", "GET", f"/tasks/{_UNKNOWN_TASK_ID}", key=None)
        self.send("unknown-id-get", "GET", f"/tasks/{_UNKNOWN_TASK_ID}")
        self.send("unknown-id-cancel", "POST", f"/tasks/{_UNKNOWN_TASK_ID}/cancel")

    def webhook(self) -> None:
        scenario = "webhook-run" if self.config.webhook_reachable else "webhook-run-unchecked"
        if not self.wanted(scenario):
            return
        url = self.receiver.url("drift")
        body = {**self.input(), "webhook": url}
        task_id = _field(self.run_task(scenario, body), "id")
        if task_id is None and self.fallback:
            fallback_scenario = "webhook-run-fallback" if self.config.webhook_reachable else "create-fallback"
            task_id = _field(self.create(fallback_scenario, body, wait=True), "id")
        if task_id is None:
            self.skipped(WEBHOOK_DELIVERY, "the run with a webhook gave no task id")
            return
        wait_s = self.config.webhook_wait_s
        if self.receiver.wait_until(lambda r: any(task_id.encode() in d.body for d in r.deliveries()), wait_s):
            time.sleep(self.config.duplicate_grace_s)
        elif not self.config.webhook_reachable:
            self.note(f"no webhook arrived at {url} within {wait_s:g} s (it may be unreachable)")
        deliveries = self.receiver.deliveries()
        for delivery in deliveries[self.deliveries_recorded :]:  # each once, across the versions
            self.record(delivery.observation)
        self.deliveries_recorded = len(deliveries)

    def session_expiry(self) -> None:
        if not self.wanted("session-expired"):
            return
        timeout = self.config.session_timeout_s
        body = {**self.input(), "session": "new", "session_timeout": timeout}
        new = self.run_task("session-new", body)  # starts the session the scenario then continues
        session = _field(new, "session_id")
        if session is None:
            self.skipped("session-expired", self.unserved or "a run with a session_timeout gave no session_id")
            return
        time.sleep(timeout + self.config.session_expiry_margin_s)
        self.run_task("session-expired", {**self.input(), "session": session})
