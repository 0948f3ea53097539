"""The Streaming page's rules on hand-made streams: each passes what the page allows and names its rule otherwise."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infsh_harness.http.observation import Observation
from infsh_harness.rules import ContractViolation
from infsh_harness.rules.stream import (
    StreamEvent,
    check_stream_done_terminal,
    check_stream_event_ids,
    check_stream_events,
    check_stream_follows_task,
    check_stream_resume,
    done_is_last,
    done_when_terminal,
    not_replayed,
    parse_events,
    update_of_task,
)
from infsh_harness.spec import load_spec

SPEC = load_spec()
RUNNING, COMPLETED = SPEC.status("RUNNING"), SPEC.status("COMPLETED")


def sse(*events: tuple[str, str | None, Any]) -> str:
    out = []
    for name, event_id, data in events:
        lines = [f"event: {name}"] + ([f"id: {event_id}"] if event_id else [])
        out.append("\n".join([*lines, f"data: {data if isinstance(data, str) else json.dumps(data)}"]) + "\n\n")
    return "".join(out)


def stream(text: str, status: int = 200, media: str = "text/event-stream", resumed: str | None = None) -> Observation:
    headers = {"last-event-id": resumed} if resumed else {}
    return Observation(
        method="GET", url="http://t/tasks/t1/stream", path="/tasks/t1/stream", status_code=status,
        request_headers=headers, content_type=media, body=text, operation_id="streamTask",
    )  # fmt: skip


GOOD = sse(
    ("update", "evt_1", {"id": "t1", "status": RUNNING, "logs": "Processing..."}),
    ("update", "evt_2", {"id": "t1", "status": COMPLETED, "output": {}}),
    ("done", "evt_3", {}),
)


def test_a_documented_stream_honours_every_rule() -> None:
    obs = stream(GOOD)
    assert check_stream_events(SPEC, obs)
    assert check_stream_follows_task(SPEC, obs, "t1")
    assert check_stream_done_terminal(SPEC, obs)
    assert check_stream_event_ids(SPEC, obs)


def test_parse_events_reads_names_ids_and_json() -> None:
    events = parse_events(GOOD + "event: update\ndata: {")  # a cut-off last event is dropped
    assert [(e.event, e.id) for e in events] == [("update", "evt_1"), ("update", "evt_2"), ("done", "evt_3")]
    assert events[0].data["logs"] == "Processing..." and events[2].data == {}


@pytest.mark.parametrize(
    ("obs", "says"),
    [
        (stream(GOOD, status=404, media="application/json"), "answered 404"),
        (stream(GOOD, media="application/json"), "answered 200 application/json"),
        (stream(""), "no event"),
        (stream(sse(("message", "1", {}))), "named 'message'"),
        (stream(sse(("update", "1", "text"))), "not a JSON object"),
    ],
)
def test_stream_events_names_what_is_wrong(obs: Observation, says: str) -> None:
    with pytest.raises(ContractViolation, match="stream-events") as caught:
        check_stream_events(SPEC, obs)
    assert says in str(caught.value)


def test_stream_follows_task_needs_the_task_and_the_order() -> None:
    later, earlier = {"id": "t1", "status": COMPLETED}, {"id": "t1", "status": RUNNING}
    backwards = sse(("update", "1", later), ("update", "2", earlier))
    with pytest.raises(ContractViolation, match="after a later one"):
        check_stream_follows_task(SPEC, stream(backwards))
    with pytest.raises(ContractViolation, match="stream-follows-task"):
        check_stream_follows_task(SPEC, stream(GOOD), "another_task")
    assert not check_stream_follows_task(SPEC, stream(sse(("done", "1", {}))))  # no update: nothing to judge
    assert update_of_task({"id": "t1", "status": 9.0}, "t1", SPEC.status_codes)
    assert not update_of_task({"id": "t1", "status": 99}, None, SPEC.status_codes)


def test_stream_done_terminal() -> None:
    early = sse(("update", "1", {"id": "t1", "status": RUNNING}), ("done", "2", {}))
    with pytest.raises(ContractViolation, match="not a terminal one"):
        check_stream_done_terminal(SPEC, stream(early))
    after = GOOD + sse(("update", "4", {"id": "t1", "status": COMPLETED}))
    with pytest.raises(ContractViolation, match="events follow `done`"):
        check_stream_done_terminal(SPEC, stream(after))
    assert not check_stream_done_terminal(SPEC, stream(sse(("update", "1", {"id": "t1", "status": RUNNING}))))
    events = parse_events(GOOD)
    assert done_is_last(events) and done_when_terminal(events, SPEC.terminal_statuses)


def test_stream_event_ids() -> None:
    # an event without `id:` keeps the last id seen (the SSE standard): only those before any id have none
    with pytest.raises(ContractViolation, match=r"stream-event-ids.*events \[0\] of 3"):
        check_stream_event_ids(SPEC, stream(GOOD.replace("id: evt_1\n", "")))
    assert not check_stream_event_ids(SPEC, stream(""))


def test_stream_resume() -> None:
    rest = sse(("update", "evt_2", {"id": "t1", "status": COMPLETED}), ("done", "evt_3", {}))
    assert check_stream_resume(SPEC, stream(rest, resumed="evt_1"), ["evt_1"], True)
    with pytest.raises(ContractViolation, match=r"with `Last-Event-ID` replayed \['evt_1'\]"):
        check_stream_resume(SPEC, stream(GOOD, resumed="evt_1"), ["evt_1"], True)
    with pytest.raises(ContractViolation, match="with `last_event_id` gave no event"):
        check_stream_resume(SPEC, stream(""), ["evt_1"], True)
    with pytest.raises(ContractViolation, match="answered 404"):
        check_stream_resume(SPEC, stream("", status=404), ["evt_1"], False)
    assert not_replayed(["evt_1"], [StreamEvent("update", None, {}, True)])
