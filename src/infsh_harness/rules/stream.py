"""The Streaming page's rules over a task stream (``GET /tasks/{id}/stream``, Server-Sent Events).

The body is read back into :class:`StreamEvent` s once (httpx-sse's parser, the one SSE reader of
the harness); each rule's decision is a small function on those events, which the drift reporter
(``drift/stream.py``) and the suite's checks below both call. A check answers ``False`` when the
exchange says nothing about its rule, ``True`` when the rule held, and raises
:class:`~infsh_harness.rules.violation.ContractViolation` when it is broken.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from httpx_sse import EventSource

from infsh_harness.http.calls import EVENT_STREAM
from infsh_harness.http.observation import Observation
from infsh_harness.rules.exchange import operation_of, status_code
from infsh_harness.rules.predicates import media_type
from infsh_harness.rules.violation import violation
from infsh_harness.spec import Spec

__all__ = [
    "EVENT_STREAM",
    "StreamEvent",
    "check_stream_done_terminal",
    "check_stream_event_ids",
    "check_stream_events",
    "check_stream_follows_task",
    "check_stream_resume",
    "data_is_object",
    "done_is_last",
    "done_when_terminal",
    "event_named",
    "events_of",
    "not_replayed",
    "parse_events",
    "update_of_task",
]

@dataclass(frozen=True)
class StreamEvent:
    event: str
    id: str | None
    data: Any  # the parsed JSON, or the raw text when it is not JSON
    data_is_json: bool


def parse_events(text: str) -> list[StreamEvent]:
    """The events of a whole ``text/event-stream`` body (a cut-off last event is dropped)."""
    response = httpx.Response(200, headers={"content-type": EVENT_STREAM}, content=text.encode())
    events = []
    for sse in EventSource(response).iter_sse():
        try:
            data, is_json = json.loads(sse.data), True
        except ValueError:
            data, is_json = sse.data, False
        events.append(StreamEvent(sse.event, sse.id or None, data, is_json))
    return events


# --- the decisions -------------------------------------------------------------------------------
def event_named(event: StreamEvent, names: Collection[str]) -> bool:
    """stream-events: the event is one of the documented ones (``update``, ``done``, ``error``)."""
    return event.event in names


def data_is_object(event: StreamEvent) -> bool:
    """stream-events: an event's ``data`` is a JSON object."""
    return event.data_is_json and isinstance(event.data, dict)


def update_of_task(data: Any, task_id: str | None, codes: Collection[int]) -> bool:
    """stream-follows-task: an ``update`` carries the task's ``id`` (``task_id`` when known) and a
    documented ``status``."""
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        return False
    return (task_id is None or data["id"] == task_id) and status_code(data.get("status")) in codes


def done_is_last(events: Sequence[StreamEvent]) -> bool:
    """stream-done-terminal: nothing follows ``done``."""
    names = [e.event for e in events]
    return "done" not in names or names.index("done") == len(names) - 1


def done_when_terminal(events: Sequence[StreamEvent], terminal: Collection[int]) -> bool:
    """stream-done-terminal: the last ``update`` before ``done`` (if any) shows a terminal status."""
    names = [e.event for e in events]
    if "done" not in names:
        return True
    before = [e for e in events[: names.index("done")] if e.event == "update" and isinstance(e.data, dict)]
    return not before or status_code(before[-1].data.get("status")) in terminal


def not_replayed(earlier_ids: Collection[str], resumed: Sequence[StreamEvent]) -> bool:
    """stream-resume: a stream resumed after an event carries none of the events up to that one."""
    return not any(e.id in earlier_ids for e in resumed if e.id is not None)


# --- the checks over an exchange -----------------------------------------------------------------
def events_of(obs: Observation) -> list[StreamEvent]:
    """The events of a stream's answer (none for any other answer)."""
    if media_type(obs.content_type) != EVENT_STREAM or not isinstance(obs.body, str):
        return []
    return parse_events(obs.body)


def _stream(spec: Spec, obs: Observation) -> bool:
    return operation_of(spec, obs) == "streamTask"


def check_stream_events(spec: Spec, obs: Observation) -> bool:
    """stream-events: the answer to a stream of a task the key owns is a ``text/event-stream`` of
    documented events, each with a JSON object as data."""
    if not _stream(spec, obs):
        return False
    if obs.status_code != 200 or media_type(obs.content_type) != EVENT_STREAM:
        detail = f"the stream of a task of the key answered {obs.status_code} {obs.content_type or 'without a type'}"
        raise violation(spec, "stream-events", detail, obs)
    events = events_of(obs)
    if not events:
        raise violation(spec, "stream-events", "the stream carried no event", obs)
    names = spec.rule("stream-events").params.get("events", ["update", "done", "error"])
    for n, event in enumerate(events):
        if not event_named(event, names):
            raise violation(spec, "stream-events", f"event {n} is named {event.event!r}, not {'/'.join(names)}", obs)
        if not data_is_object(event):
            raise violation(spec, "stream-events", f"event {n}'s data is not a JSON object: {event.data!r}"[:300], obs)
    return True


def check_stream_follows_task(spec: Spec, obs: Observation, task_id: str | None = None) -> bool:
    """stream-follows-task: every ``update`` is the task's (its id, a documented status) and the
    statuses never go back in the documented order. Needs one update."""
    updates = [(n, e) for n, e in enumerate(events_of(obs)) if e.event == "update"] if _stream(spec, obs) else []
    best = -1
    for n, event in updates:
        if not update_of_task(event.data, task_id, spec.status_codes):
            detail = f"update {n} is not task {task_id}'s state with a documented status: {event.data!r}"
            raise violation(spec, "stream-follows-task", detail[:300], obs)
        rank = spec.status_rank(int(event.data["status"]))
        if rank < best:
            detail = f"update {n} shows status {event.data['status']} after a later one"
            raise violation(spec, "stream-follows-task", detail, obs)
        best = max(best, rank)
    return bool(updates)


def check_stream_done_terminal(spec: Spec, obs: Observation) -> bool:
    """stream-done-terminal: ``done`` comes after an update to a terminal status, and last. Needs a ``done``."""
    events = events_of(obs) if _stream(spec, obs) else []
    if not any(e.event == "done" for e in events):
        return False
    if not done_is_last(events):
        raise violation(spec, "stream-done-terminal", "events follow `done`", obs)
    if not done_when_terminal(events, spec.terminal_statuses):
        updates = [e.data for e in events if e.event == "update" and isinstance(e.data, dict)]
        detail = f"`done` came after an update with status {updates[-1].get('status')!r}, not a terminal one"
        raise violation(spec, "stream-done-terminal", detail, obs)
    return True


def check_stream_event_ids(spec: Spec, obs: Observation) -> bool:
    """stream-event-ids: every event carries an ``id:``. Needs one event."""
    events = events_of(obs) if _stream(spec, obs) else []
    missing = [n for n, e in enumerate(events) if e.id is None]
    if missing:
        raise violation(spec, "stream-event-ids", f"events {missing[:5]} of {len(events)} carry no `id:`", obs)
    return bool(events)


def check_stream_resume(spec: Spec, obs: Observation, earlier_ids: Sequence[str], more: bool) -> bool:
    """stream-resume: a stream resumed after the last of ``earlier_ids`` is answered, replays none
    of them, and (when the first stream had events after that one: ``more``) is not empty."""
    if not _stream(spec, obs):
        return False
    how = "`Last-Event-ID`" if "last-event-id" in obs.request_headers else "`last_event_id`"
    after = earlier_ids[-1] if earlier_ids else None
    if obs.status_code != 200 or media_type(obs.content_type) != EVENT_STREAM:
        raise violation(spec, "stream-resume", f"resuming after {after!r} with {how} answered {obs.status_code}", obs)
    events = events_of(obs)
    if not not_replayed(earlier_ids, events):
        again = [e.id for e in events if e.id in earlier_ids]
        raise violation(spec, "stream-resume", f"resuming after {after!r} with {how} replayed {again[:3]}", obs)
    if more and not events:
        raise violation(spec, "stream-resume", f"resuming after {after!r} with {how} gave no event of those after it",
                        obs)  # fmt: skip
    return True
