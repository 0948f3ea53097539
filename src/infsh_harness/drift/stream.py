"""A task stream's body (``text/event-stream``) read back into events, and what the Streaming page
promises of them (rules ``stream-events``, ``stream-follows-task``, ``stream-done-terminal``,
``stream-event-ids``, ``stream-resume``): the parsing and each decision are ``rules/stream.py``'s.
"""

from __future__ import annotations

from collections.abc import Iterator

from infsh_harness.drift.rules import RuleIssue
from infsh_harness.drift.shape import sketch
from infsh_harness.http.calls import EVENT_STREAM
from infsh_harness.rules.stream import (
    StreamEvent,
    data_is_object,
    done_is_last,
    done_when_terminal,
    event_named,
    not_replayed,
    parse_events,
    update_of_task,
)
from infsh_harness.spec import Spec

__all__ = ["EVENT_STREAM", "StreamEvent", "parse_events", "stream_issues"]


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
        if not event_named(e, names):
            yield (
                "stream-events",
                RuleIssue(f"stream:event:{e.event}", where, f"an event named {' or '.join(names)}", repr(e.event)),
            )
        if not data_is_object(e):
            yield "stream-events", RuleIssue("stream:data", f"{where}.data", "a JSON object", sketch(e.data))
        if e.id is None:
            yield "stream-event-ids", RuleIssue("stream:no-id", where, "an `id:` to resume from", "none")
    updates = [(n, e) for n, e in enumerate(events) if e.event == "update" and isinstance(e.data, dict)]
    yield from _update_issues(spec, updates)
    done = [n for n, e in enumerate(events) if e.event == "done"]
    if not done_is_last(events):
        yield (
            "stream-done-terminal",
            RuleIssue("stream:after-done", f"$[{done[0] + 1}]", "nothing after `done`", events[done[0] + 1].event),
        )
    before_done = [e for n, e in updates if not done or n < done[0]]
    last_status = before_done[-1].data.get("status") if before_done else None
    if not done_when_terminal(events, spec.terminal_statuses):
        yield (
            "stream-done-terminal",
            RuleIssue(
                "stream:done-early",
                f"$[{done[0]}]",
                "`done` once the task is terminal",
                f"last update status {last_status!r}",
            ),
        )
    if resumed_after is not None and not not_replayed([resumed_after], events):
        yield (
            "stream-resume",
            RuleIssue("stream:replayed", "$", f"only events after {resumed_after!r}", f"{resumed_after!r} again"),
        )


def _update_issues(spec: Spec, updates: list[tuple[int, StreamEvent]]) -> Iterator[tuple[str, RuleIssue]]:
    best = -1
    for n, e in updates:
        status = e.data.get("status")
        if not update_of_task(e.data, None, spec.status_codes):
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
