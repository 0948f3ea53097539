"""The task stream (``GET /tasks/{id}/stream``, the Streaming page): its events follow the task, end
with ``done`` once it is terminal, carry ids, and a client resumes after the last id it saw.

The streams are read once per run (``streams``): a task that completed, read after it ended; the long
task, read live while it is cancelled; and that live stream resumed after its first event, once with
``Last-Event-ID`` and once with ``last_event_id``. Every read is bounded (the task deadline, 256 KiB).
The page defines the endpoint: a server answering 404 to the stream of a task it just ran breaks
``stream-events``, it is not a server without streams.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx
import pytest

from infsh_harness.contract.evidence import Evidence
from infsh_harness.contract.journeys import App
from infsh_harness.contract.settings import SuiteSettings
from infsh_harness.contract.target import SuiteClock, SuiteDriver, TargetStopped
from infsh_harness.http.calls import EVENT_STREAM, Call
from infsh_harness.http.observation import Observation
from infsh_harness.rules.stream import (
    check_stream_done_terminal,
    check_stream_event_ids,
    check_stream_events,
    check_stream_follows_task,
    check_stream_resume,
    events_of,
)
from infsh_harness.spec import Spec

CANCEL_AFTER_S = 0.3  # the live stream has begun by then


@dataclass
class Streams:
    read: list[tuple[str, Observation]] = field(default_factory=list)  # (task id, its stream from the start)
    live: tuple[str, Observation] | None = None  # the long task's, read while it was cancelled
    resumed: list[Observation] = field(default_factory=list)  # the live one resumed after its first event
    earlier: list[str] = field(default_factory=list)  # the ids up to the one resumed after


def read_stream(api: SuiteDriver, clock: SuiteClock, call: Call, deadline_s: float) -> Observation:
    """One stream read to its ``done`` (or the deadline); a target that does not answer stops the run."""
    try:
        return api.observe_stream(call, deadline_s=clock.bound(deadline_s))
    except httpx.TimeoutException:
        clock.check()
        raise TargetStopped(f"GET {call.template} did not start within {deadline_s:g} s") from None
    except httpx.TransportError as exc:
        raise TargetStopped(f"GET {call.template} failed: {type(exc).__name__}") from None


@pytest.fixture(scope="module")
def streams(api: SuiteDriver, apps: dict[str, App], settings: SuiteSettings, clock: SuiteClock) -> Streams:
    out = Streams()
    deadline = settings.task_deadline_s
    complete, long = apps["complete"], apps["long"]
    done = api.task_of(api.run(complete.name, complete.input), f"running {complete.name}")["id"]
    out.read.append((done, read_stream(api, clock, api.calls.stream(done), deadline)))
    live = api.task_of(api.run(long.name, long.input, wait=False), f"running {long.name}")["id"]
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="stream") as pool:
        reading = pool.submit(read_stream, api, clock, api.calls.stream(live), deadline)
        time.sleep(CANCEL_AFTER_S)
        api.cancel(live)
        out.live = (live, reading.result(timeout=clock.bound(deadline + settings.request_timeout_s)))
    out.read.append(out.live)
    events = events_of(out.live[1])
    if events and events[0].id is not None:
        first = events[0].id
        out.earlier = [first]
        by_query = api.calls.operation(
            "streamTask", path_params={"id": live}, params={"last_event_id": first}, headers={"accept": EVENT_STREAM}
        )
        for call in (api.calls.stream(live, last_event_id=first), by_query):
            out.resumed.append(read_stream(api, clock, call, deadline))
    return out


@pytest.mark.rule("stream-events")
def test_stream_events(spec: Spec, streams: Streams, evidence: Evidence) -> None:
    """Each stream read from its start is an event stream of documented events with object data.
    Needs one stream read."""
    for _, obs in streams.read:
        evidence.expect("stream-events", check_stream_events, spec, obs)
    evidence.minimum("stream-events", 1, "no stream was read")
    evidence.finish()


@pytest.mark.rule("stream-follows-task")
def test_stream_follows_task(spec: Spec, streams: Streams, evidence: Evidence) -> None:
    """Every update is its task's, with a documented status, never going back. Needs one stream with
    an update."""
    for task_id, obs in streams.read:
        evidence.expect("stream-follows-task", check_stream_follows_task, spec, obs, task_id)
    evidence.minimum("stream-follows-task", 1, "no stream carried an update")
    evidence.finish()


@pytest.mark.rule("stream-done-terminal")
def test_stream_done_terminal(spec: Spec, streams: Streams, evidence: Evidence) -> None:
    """``done`` follows an update to a terminal status (Completed; Cancelled, for the live one) and
    nothing follows it. Needs one stream that ended with ``done``."""
    for _, obs in streams.read:
        evidence.expect("stream-done-terminal", check_stream_done_terminal, spec, obs)
    evidence.minimum("stream-done-terminal", 1, "no stream ended with `done`")
    evidence.finish()


@pytest.mark.rule("stream-event-ids")
def test_stream_event_ids(spec: Spec, streams: Streams, evidence: Evidence) -> None:
    """Every event of every stream read carries an ``id:``. Needs one stream with an event."""
    for obs in [obs for _, obs in streams.read] + streams.resumed:
        evidence.expect("stream-event-ids", check_stream_event_ids, spec, obs)
    evidence.minimum("stream-event-ids", 1, "no stream carried an event")
    evidence.finish()


@pytest.mark.rule("stream-resume")
def test_stream_resume(spec: Spec, streams: Streams, evidence: Evidence) -> None:
    """The live stream resumed after its first event, by header and by query parameter: each answer
    replays none of the events up to that one, and carries those after it. Needs both resumes (a
    first event with an id)."""
    more = streams.live is not None and len(events_of(streams.live[1])) > 1
    for obs in streams.resumed:
        evidence.expect("stream-resume", check_stream_resume, spec, obs, streams.earlier, more)
    evidence.minimum("stream-resume", 2, "resumes after the live stream's first event (it needs an id)")
    evidence.finish()
