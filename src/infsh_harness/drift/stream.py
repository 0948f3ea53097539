"""A task stream's body (``text/event-stream``) read back into events, and what the Streaming page
promises of them (rules ``stream-events``, ``stream-follows-task``, ``stream-done-terminal``,
``stream-event-ids``, ``stream-resume``). Parsing is httpx-sse's, the one SSE reader of the harness.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
from httpx_sse import EventSource

from infsh_harness.drift.rules import RuleIssue
from infsh_harness.drift.shape import sketch
from infsh_harness.spec import Spec

__all__ = ["StreamEvent", "parse_events", "stream_issues"]

EVENT_STREAM = "text/event-stream"


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


def stream_issues(spec: Spec, text: str, resumed_after: str | None = None) -> list[tuple[str, RuleIssue]]:
    """``(rule id, issue)`` for every way the stream ``text`` breaks what the Streaming page promises."""
    events = parse_events(text)
    return list(_issues(spec, events, resumed_after))


def _issues(spec: Spec, events: list[StreamEvent], resumed_after: str | None) -> Iterator[tuple[str, RuleIssue]]:
    names = spec.rule("stream-events").params.get("events", ["update", "done", "error"])
    if not events:
        yield "stream-events", RuleIssue("stream:empty", "$", "at least one event", "no event")
        return
    for n, e in enumerate(events):
        where = f"$[{n}]"
        if e.event not in names:
            yield (
                "stream-events",
                RuleIssue(f"stream:event:{e.event}", where, f"an event named {' or '.join(names)}", repr(e.event)),
            )
        if not e.data_is_json or not isinstance(e.data, dict):
            yield "stream-events", RuleIssue("stream:data", f"{where}.data", "a JSON object", sketch(e.data))
        if e.id is None:
            yield "stream-event-ids", RuleIssue("stream:no-id", where, "an `id:` to resume from", "none")
    updates = [(n, e) for n, e in enumerate(events) if e.event == "update" and isinstance(e.data, dict)]
    yield from _update_issues(spec, updates)
    done = [n for n, e in enumerate(events) if e.event == "done"]
    if done and done[0] != len(events) - 1:
        yield (
            "stream-done-terminal",
            RuleIssue("stream:after-done", f"$[{done[0] + 1}]", "nothing after `done`", events[done[0] + 1].event),
        )
    before_done = [e for n, e in updates if not done or n < done[0]]
    last_status = before_done[-1].data.get("status") if before_done else None
    if done and before_done and last_status not in spec.terminal_statuses:
        yield (
            "stream-done-terminal",
            RuleIssue(
                "stream:done-early",
                f"$[{done[0]}]",
                "`done` once the task is terminal",
                f"last update status {last_status!r}",
            ),
        )
    if resumed_after is not None and any(e.id == resumed_after for e in events):
        yield (
            "stream-resume",
            RuleIssue("stream:replayed", "$", f"only events after {resumed_after!r}", f"{resumed_after!r} again"),
        )


def _update_issues(spec: Spec, updates: list[tuple[int, StreamEvent]]) -> Iterator[tuple[str, RuleIssue]]:
    best = -1
    for n, e in updates:
        status = e.data.get("status")
        if not isinstance(e.data.get("id"), str) or status not in spec.status_codes:
            documented = ", ".join(map(str, spec.status_codes))
            yield (
                "stream-follows-task",
                RuleIssue(
                    "stream:update", f"$[{n}].data", f"the task's `id` and a status of {documented}", sketch(e.data)
                ),
            )
            continue
        rank = spec.status_rank(status)
        if rank < best:
            yield (
                "stream-follows-task",
                RuleIssue("stream:backwards", f"$[{n}].data.status", "statuses in the documented order", str(status)),
            )
        best = max(best, rank)
