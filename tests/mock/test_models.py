"""The mock's state machine driven by a fake clock: no sockets, no event loop, no sleeping.

Status numbers come from the spec and phase durations from ``fixtures/apps.yaml`` (read here on their
own, not through the catalog under test), so a change to either flows into these tests.
"""

from __future__ import annotations

import gc
import random
import sys
import weakref
from typing import Any

import pytest
import yaml

from infsh_harness import data
from infsh_harness.mock.apps import load_catalog
from infsh_harness.mock.config import MockConfig
from infsh_harness.mock.errors import InvalidRequest, MockError, NotFound, SessionExpired, Unauthorized
from infsh_harness.mock.models import FakeClock, MockBackend, Session, Task, TaskView
from infsh_harness.spec import load_spec

SPEC = load_spec()
PHASES = tuple(s.varname for s in SPEC.statuses if not s.terminal)
FIXTURE = yaml.safe_load(data.path("apps.yaml").read_text())
KEY, OTHER_KEY = "inf_test_key", "inf_test_key_2"
COMPLETED, FAILED, CANCELLED = SPEC.status("COMPLETED"), SPEC.status("FAILED"), SPEC.status("CANCELLED")
EPS = 1e-6


def make_backend(**config: Any) -> tuple[MockBackend, FakeClock]:
    # the clock starts at 0 so that phase boundaries are exact; the renderers' tests use real epochs
    clock = FakeClock(0.0)
    backend = MockBackend(MockConfig(**config), load_catalog(PHASES), clock, random.Random(0))
    return backend, clock


def code(view: TaskView) -> int:
    return SPEC.status(view.status)


def run(backend: MockBackend, app: str = "infsh/echo", key: str = KEY, **fields: Any) -> Task:
    return backend.create_task(key, {"app": app, "input": fields.pop("input", {}), **fields})


def phase_durations_s(app: str, timing: str = "fast") -> list[float]:
    """Each non-terminal phase's duration for ``app``, straight from the fixture."""
    table = dict(FIXTURE["timings"][timing])
    table.update(FIXTURE["apps"][app].get("phases", {}).get(timing, {}))
    return [float(table[p]) / 1000.0 for p in PHASES]


def walk(backend: MockBackend, clock: FakeClock, task: Task, durations: list[float]) -> list[int]:
    """Read the task just after the start and just before the end of every phase, then after the end."""
    seen: list[int] = []
    start = task.created_at
    for duration in durations:
        clock.t = start + EPS
        seen.append(code(backend.view(task)))
        clock.t = start + duration - EPS
        seen.append(code(backend.view(task)))
        start += duration
    clock.t = start + EPS
    seen.append(code(backend.view(task)))
    return seen


def expected_walk(terminal: int) -> list[int]:
    return [c for s in SPEC.statuses if not s.terminal for c in (s.code, s.code)] + [terminal]


# --- lifecycle ---------------------------------------------------------------------------------


@pytest.mark.parametrize("app", ["infsh/echo", "infsh/flux"])
@pytest.mark.parametrize("timing", ["fast", "realistic"])
def test_lifecycle_walks_every_status_in_order_with_fixture_durations(app: str, timing: str) -> None:
    backend, clock = make_backend(timing=timing)
    task = run(backend, app)
    assert walk(backend, clock, task, phase_durations_s(app, timing)) == expected_walk(COMPLETED)
    clock.advance(1000)
    assert code(backend.view(task)) == COMPLETED


def test_lifecycle_of_fail_app_ends_failed_with_input_message() -> None:
    backend, clock = make_backend()
    task = run(backend, "infsh/fail", input={"message": "boom"})
    assert walk(backend, clock, task, phase_durations_s("infsh/fail")) == expected_walk(FAILED)
    view = backend.view(task)
    assert (view.error, view.output) == ("boom", None)


def test_fail_app_without_message_has_the_fixture_default_error() -> None:
    backend, clock = make_backend()
    task = run(backend, "infsh/fail")
    clock.advance(60)
    view = backend.view(task)
    assert code(view) == FAILED
    assert view.error == FIXTURE["apps"]["infsh/fail"]["default_error"]


@pytest.mark.parametrize("seconds", [0, 0.25, 2.5, 30])
def test_sleep_app_runs_for_input_seconds(seconds: float) -> None:
    backend, clock = make_backend()
    task = run(backend, "infsh/sleep", input={"seconds": seconds})
    durations = phase_durations_s("infsh/sleep")
    durations[PHASES.index("RUNNING")] = seconds
    if seconds == 0:  # a zero-length phase is never seen: the walk skips it
        running_start = task.created_at + sum(durations[: PHASES.index("RUNNING")])
        clock.t = running_start
        assert backend.view(task).status == PHASES[PHASES.index("RUNNING") + 1]
    else:
        assert walk(backend, clock, task, durations) == expected_walk(COMPLETED)
    clock.t = task.created_at + sum(durations)
    view = backend.view(task)
    assert (code(view), view.output) == (COMPLETED, {"slept": seconds})


def test_sleep_app_default_duration_comes_from_the_fixture() -> None:
    backend, clock = make_backend()
    task = run(backend, "infsh/sleep")
    durations = phase_durations_s("infsh/sleep")
    durations[PHASES.index("RUNNING")] = float(FIXTURE["apps"]["infsh/sleep"]["default_seconds"])
    assert walk(backend, clock, task, durations) == expected_walk(COMPLETED)


@pytest.mark.parametrize("seconds", [-1, "1", True, None, 10**9])
def test_sleep_app_with_bad_seconds_fails_with_an_error(seconds: Any) -> None:
    backend, clock = make_backend()
    task = run(backend, "infsh/sleep", input={"seconds": seconds})
    clock.advance(3600)
    view = backend.view(task)
    assert code(view) == FAILED
    assert view.error and "seconds" in view.error


def test_echo_and_flux_outputs() -> None:
    backend, clock = make_backend()
    echo = run(backend, "infsh/echo", input={"prompt": "x", "n": [1, 2]})
    flux = run(backend, "infsh/flux@1.2.3", input={"prompt": "a sunset"})
    clock.advance(60)
    assert backend.view(echo).output == {"echo": {"prompt": "x", "n": [1, 2]}}
    image = backend.view(flux).output
    assert image is not None and image["image"]["uri"].startswith("https://")
    assert backend.view(echo).error is None


def test_task_input_is_a_copy_of_the_request_input() -> None:
    backend, _ = make_backend()
    sent = {"prompt": "x"}
    task = run(backend, input=sent)
    sent["prompt"] = "changed"
    assert task.input == {"prompt": "x"}


def test_unknown_app_is_not_found() -> None:
    backend, _ = make_backend()
    with pytest.raises(NotFound) as info:
        run(backend, "acme/nothing")
    assert (info.value.status_code, info.value.code, info.value.reason) == (404, "not_found", "app_not_found")
    assert not backend.tasks


def test_updated_at_is_the_start_of_the_current_phase_and_created_at_is_fixed() -> None:
    backend, clock = make_backend()
    task = run(backend)
    created = task.created_at
    durations = phase_durations_s("infsh/echo")
    clock.t = created + durations[0] + durations[1] / 2
    view = backend.view(task)
    assert (view.status, view.updated_at) == (PHASES[1], created + durations[0])
    clock.advance(100)
    view = backend.view(task)
    assert view.updated_at == pytest.approx(created + sum(durations))
    assert task.created_at == created


def test_ids_are_unique_and_prefixed() -> None:
    backend, _ = make_backend()
    ids = {run(backend).id for _ in range(2000)}
    assert len(ids) == 2000
    assert all(i.startswith("task_") and len(i) > 10 for i in ids)


# --- cancel ------------------------------------------------------------------------------------


@pytest.mark.parametrize("phase", PHASES)
def test_cancel_of_a_non_terminal_task_is_cancelled_and_stays(phase: str) -> None:
    backend, clock = make_backend()
    task = run(backend)
    durations = phase_durations_s("infsh/echo")
    i = PHASES.index(phase)
    clock.t = task.created_at + sum(durations[:i]) + durations[i] / 2
    assert backend.view(task).status == phase
    cancelled_at = clock.t
    view = backend.cancel_task(KEY, task.id)
    assert (code(view), view.updated_at, view.output, view.error) == (CANCELLED, cancelled_at, None, None)
    for step in (0.0, EPS, sum(durations), 3600.0):
        clock.advance(step)
        assert code(backend.view(task)) == CANCELLED
    assert backend.terminal_at(task) == cancelled_at


@pytest.mark.parametrize(("app", "terminal"), [("infsh/echo", COMPLETED), ("infsh/fail", FAILED)])
def test_cancel_of_a_terminal_task_changes_nothing_and_is_idempotent(app: str, terminal: int) -> None:
    backend, clock = make_backend()
    task = run(backend, app)
    clock.advance(60)
    before = backend.view(task)
    answers = [backend.cancel_task(KEY, task.id) for _ in range(3)]
    assert [code(a) for a in answers] == [terminal] * 3
    after = backend.view(task)
    assert (code(after), after.output, after.error, after.updated_at) == (
        terminal, before.output, before.error, before.updated_at,
    )  # fmt: skip
    assert task.cancelled_at is None


def test_cancel_of_a_cancelled_task_is_idempotent() -> None:
    backend, clock = make_backend()
    task = run(backend, "infsh/sleep", input={"seconds": 10})
    first = backend.cancel_task(KEY, task.id)
    clock.advance(1)
    again = backend.cancel_task(KEY, task.id)
    assert (code(first), code(again)) == (CANCELLED, CANCELLED)
    assert again.updated_at == first.updated_at


def test_cancel_exactly_at_finish_loses_to_completion() -> None:
    backend, clock = make_backend()
    task = run(backend)
    clock.t = task.finishes_at
    assert code(backend.cancel_task(KEY, task.id)) == COMPLETED
    clock.advance(1)
    assert code(backend.view(task)) == COMPLETED


# --- finalize: the single terminal event -------------------------------------------------------


def test_finalize_claims_the_terminal_event_exactly_once() -> None:
    backend, clock = make_backend()
    task = run(backend)
    assert backend.finalize(task) is None  # not terminal yet
    assert not task.finalized
    clock.t = task.finishes_at
    view = backend.finalize(task)
    assert view is not None and code(view) == COMPLETED
    assert [backend.finalize(task) for _ in range(5)] == [None] * 5
    backend.cancel_task(KEY, task.id)  # cancelling after the event makes no second one
    assert backend.finalize(task) is None


def test_finalize_after_cancel_reports_cancelled_once() -> None:
    backend, clock = make_backend()
    task = run(backend)
    backend.cancel_task(KEY, task.id)
    view = backend.finalize(task)
    assert view is not None and code(view) == CANCELLED
    clock.t = task.finishes_at + 1
    assert backend.finalize(task) is None
    assert code(backend.view(task)) == CANCELLED


# --- sessions ----------------------------------------------------------------------------------


def test_session_new_returns_an_id_and_continue_keeps_it() -> None:
    backend, clock = make_backend()
    first = run(backend, session="new")
    assert first.session_id and first.session_id.startswith("sess_")
    clock.advance(1)
    second = run(backend, session=first.session_id)
    assert second.session_id == first.session_id
    assert second.id != first.id


def test_session_timeout_is_only_allowed_with_new() -> None:
    backend, _ = make_backend()
    session_id = run(backend, session="new").session_id
    with pytest.raises(InvalidRequest) as info:
        run(backend, session=session_id, session_timeout=60)
    assert (info.value.status_code, info.value.code) == (400, "invalid_request")
    with pytest.raises(InvalidRequest):
        run(backend, session_timeout=60)
    assert run(backend, session="new", session_timeout=60).session_id


@pytest.mark.parametrize("timeout", [None, 1, 42.5, 3600])
def test_session_expires_after_its_idle_timeout(timeout: float | None) -> None:
    backend, clock = make_backend(session_timeout_s=300)
    fields: dict[str, Any] = {"session": "new"}
    if timeout is not None:
        fields["session_timeout"] = timeout
    limit = timeout if timeout is not None else 300
    first = run(backend, **fields)
    assert first.session_id is not None
    clock.t = first.finishes_at + limit  # idle from the end of its last task: still alive
    second = run(backend, session=first.session_id)
    clock.t = second.finishes_at + limit + 0.001
    with pytest.raises(SessionExpired) as info:
        run(backend, session=first.session_id)
    assert (info.value.status_code, info.value.code) == (410, "SESSION_EXPIRED")


def test_session_activity_restarts_the_idle_timer() -> None:
    backend, clock = make_backend()
    task = run(backend, session="new", session_timeout=10)
    sid = task.session_id
    for _ in range(20):  # 20 runs 8 s apart: 160 s in all, never 10 s idle
        clock.t = task.finishes_at + 8
        task = run(backend, session=sid)
        assert task.session_id == sid


def test_unknown_session_is_not_found() -> None:
    backend, _ = make_backend()
    with pytest.raises(NotFound) as info:
        run(backend, session="sess_doesnotexist")
    assert (info.value.status_code, info.value.code) == (404, "SESSION_NOT_FOUND")


def test_another_keys_session_is_not_found() -> None:
    backend, _ = make_backend()
    sid = run(backend, session="new").session_id
    with pytest.raises(NotFound):
        run(backend, key=OTHER_KEY, session=sid)
    with pytest.raises(NotFound):
        backend.get_session(OTHER_KEY, str(sid))
    assert backend.get_session(KEY, str(sid)).id == sid


# --- auth and isolation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header", [None, "", "Bearer", "Bearer ", "Basic aW5mX3Rlc3Rfa2V5", "inf_test_key", "Bearer nope"]
)
def test_authenticate_refuses_missing_malformed_and_unknown_keys(header: str | None) -> None:
    backend, _ = make_backend()
    with pytest.raises(Unauthorized) as info:
        backend.authenticate(header)
    assert info.value.status_code == 401


@pytest.mark.parametrize("header", ["Bearer inf_test_key", "bearer inf_test_key", "Bearer  inf_test_key "])
def test_authenticate_accepts_a_configured_key(header: str) -> None:
    backend, _ = make_backend()
    assert backend.authenticate(header) == KEY


def test_authenticate_uses_the_configured_keys_only() -> None:
    backend, _ = make_backend(keys=("custom",))
    assert backend.authenticate("Bearer custom") == "custom"
    with pytest.raises(Unauthorized):
        backend.authenticate(f"Bearer {KEY}")


def test_a_task_is_invisible_to_another_key() -> None:
    backend, _ = make_backend()
    task = run(backend, "infsh/sleep", input={"seconds": 5})
    with pytest.raises(NotFound) as info:
        backend.get_task(OTHER_KEY, task.id)
    assert (info.value.code, info.value.reason) == ("not_found", "task_not_found")
    with pytest.raises(NotFound):
        backend.cancel_task(OTHER_KEY, task.id)
    view = backend.view(backend.get_task(KEY, task.id))
    assert not view.terminal and task.cancelled_at is None


def test_unknown_task_is_not_found() -> None:
    backend, _ = make_backend()
    for call in (backend.get_task, backend.cancel_task):
        with pytest.raises(NotFound) as info:
            call(KEY, "task_nope")
        assert info.value.status_code == 404


# --- memory bound ------------------------------------------------------------------------------


def test_ttl_expiry_forgets_old_tasks() -> None:
    backend, clock = make_backend(task_ttl_s=10)
    old = [run(backend).id for _ in range(100)]
    clock.advance(10)
    new = [run(backend).id for _ in range(100)]
    assert set(backend.tasks) == set(new)
    with pytest.raises(NotFound):
        backend.get_task(KEY, old[0])


def test_ttl_expiry_bounds_memory_under_steady_load() -> None:
    backend, clock = make_backend(task_ttl_s=10)
    peak_tasks = peak_sessions = 0
    for _ in range(5000):  # 5 runs a second for 1000 s, each starting a session idle-expiring after 10 s
        run(backend, session="new", session_timeout=10)
        clock.advance(0.2)
        peak_tasks = max(peak_tasks, len(backend.tasks))
        peak_sessions = max(peak_sessions, len(backend.sessions))
    assert peak_tasks <= 5 * 10 + 5
    assert peak_sessions <= 4 * peak_tasks + 64 + 1


def test_session_sweep_is_amortised_when_sessions_outlive_tasks(monkeypatch: pytest.MonkeyPatch) -> None:
    backend, clock = make_backend(task_ttl_s=10, session_timeout_s=300)
    checks = 0
    expired = Session.expired

    def counting(self: Session, now: float) -> bool:
        nonlocal checks
        checks += 1
        return expired(self, now)

    monkeypatch.setattr(Session, "expired", counting)
    for _ in range(5000):  # 1500 live sessions against 50 live tasks: a sweep per run would be quadratic
        run(backend, session="new")
        clock.advance(0.2)
    assert checks <= 5 * 5000
    assert len(backend.sessions) <= 2 * 5 * 300 + 64


def test_reset_forgets_everything() -> None:
    backend, _ = make_backend()
    task = run(backend, session="new")
    backend.reset()
    assert not backend.tasks and not backend.sessions
    with pytest.raises(NotFound):
        backend.get_task(KEY, task.id)


# --- timing ------------------------------------------------------------------------------------


@pytest.mark.parametrize("app", ["infsh/echo", "infsh/flux", "infsh/fail"])
def test_set_timing_phase_ms_gives_every_phase_that_duration(app: str) -> None:
    backend, clock = make_backend()
    backend.set_timing(phase_ms=200)
    task = run(backend, app)
    terminal = FAILED if app == "infsh/fail" else COMPLETED
    assert walk(backend, clock, task, [0.2] * len(PHASES)) == expected_walk(terminal)


def test_phase_ms_from_config() -> None:
    backend, clock = make_backend(phase_ms=50)
    task = run(backend)
    assert walk(backend, clock, task, [0.05] * len(PHASES)) == expected_walk(COMPLETED)


def test_set_timing_switches_profile_and_clears_phase_ms() -> None:
    backend, clock = make_backend(phase_ms=50)
    backend.set_timing("realistic")
    assert (backend.timing, backend.phase_ms) == ("realistic", None)
    task = run(backend)
    assert walk(backend, clock, task, phase_durations_s("infsh/echo", "realistic")) == expected_walk(COMPLETED)


def test_set_timing_applies_to_new_tasks_only() -> None:
    backend, clock = make_backend()
    before = run(backend)
    backend.set_timing(phase_ms=1000)
    after = run(backend)
    assert before.finishes_at - before.created_at == pytest.approx(sum(phase_durations_s("infsh/echo")))
    assert after.finishes_at - after.created_at == pytest.approx(len(PHASES))


def test_set_timing_refuses_an_unknown_profile() -> None:
    backend, _ = make_backend()
    with pytest.raises(InvalidRequest) as info:
        backend.set_timing("glacial")
    assert info.value.status_code == 400
    assert backend.timing == "fast"


def test_model_errors_carry_their_http_status() -> None:
    assert all(issubclass(e, MockError) for e in (InvalidRequest, NotFound, SessionExpired, Unauthorized))
    errors = (Unauthorized, NotFound, SessionExpired, InvalidRequest)
    assert [(e.status_code, e.code) for e in errors] == [
        (401, "unauthorized"), (404, "not_found"), (410, "SESSION_EXPIRED"), (400, "invalid_request")
    ]  # fmt: skip


@pytest.mark.skipif(sys.implementation.name != "cpython", reason="the collector's lists are CPython's")
def test_retained_tasks_and_sessions_are_not_visited_by_the_cyclic_collector() -> None:
    class Probe:  # stands in for the request's JSON, whose dicts cannot be weakly referenced
        pass

    backend, clock = make_backend(task_ttl_s=10)
    task = run(backend, input={"nested": {"a": [1, 2]}, "probe": Probe()}, session="new")
    assert not gc.is_tracked(task) and not gc.is_tracked(backend.sessions[task.session_id or ""])
    clock.t = task.finishes_at
    output = backend.view(task).output
    assert output is not None and output["echo"]["nested"] == {"a": [1, 2]}, "the output is made when read"
    probe = weakref.ref(task.input["probe"])  # the input lives exactly as long as its task
    del output
    clock.advance(20)
    run(backend)  # the sweep forgets the expired task: reference counting frees it, no collection needed
    del task
    assert probe() is None


def test_keys_never_reach_a_repr() -> None:
    from infsh_harness.mock.http import Request

    backend, _ = make_backend(keys=("inf_secret_key",))
    task = run(backend, key="inf_secret_key", session="new")
    request = Request("GET", "/x", {}, {}, {"authorization": "Bearer inf_secret_key"}, b"", owner="inf_secret_key")
    for thing in (task, backend.sessions[task.session_id or ""], request, backend.config):
        assert "inf_secret_key" not in repr(thing)
