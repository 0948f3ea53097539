"""The mock's state machine: tasks, sessions and their lifecycle, with no HTTP and an injected clock.

A task's status is a pure function of the clock: at creation it gets a schedule (the cumulative end
of each non-terminal phase), and every read computes where on that schedule "now" falls. Nothing
ticks in the background, a read is O(1), and a cancel racing the last phase is decided by one
comparison, so exactly one terminal state wins. The HTTP layer asks ``terminal_at`` when it needs
to wake up (a waiting request, a webhook) and calls ``finalize`` to claim the single terminal event.

A profile's model choices (its ids, an in-flight cancel, strict sessions) come in as ``ModelOptions``.

Memory: the cyclic garbage collector's full passes visit every object it tracks, so a long load run
that leaves hundreds of thousands of tasks behind made each pass longer (a 200 ms stall with 200,000
tasks, three tracked objects each). A task is acyclic by construction (plain values, the request's
JSON, an app definition), so it is taken out of the collector's lists at creation (``_untrack``):
reference counting alone frees it when it expires. Its output is made when it is read.
"""

from __future__ import annotations

import ctypes
import random
import sys
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from infsh_harness.mock.apps import AppCatalog, AppDef
from infsh_harness.mock.config import MockConfig
from infsh_harness.mock.errors import (
    AppMismatch,
    Forbidden,
    InvalidRequest,
    NotFound,
    SessionEnded,
    SessionExpired,
    SessionNotFound,
    Unauthorized,
    VersionMismatch,
    WorkerLeased,
)

__all__ = [
    "CANCELLED",
    "CANCELLING",
    "COMPLETED",
    "FAILED",
    "Clock",
    "FakeClock",
    "MockBackend",
    "ModelOptions",
    "LATEST",
    "Session",
    "SystemClock",
    "Task",
    "TaskView",
    "split_app",
]

COMPLETED, FAILED, CANCELLED = "COMPLETED", "FAILED", "CANCELLED"
# A cancel in flight: only seen when the backend's ``cancel_s`` is above 0 (the wire profile).
CANCELLING = "CANCELLING"
TERMINAL = frozenset({COMPLETED, FAILED, CANCELLED})
_ID_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
_ID_TABLE = bytes(ord(_ID_ALPHABET[b % len(_ID_ALPHABET)]) for b in range(256))


def _gc_untracker() -> Callable[[object], None]:
    """CPython's ``PyObject_GC_UnTrack`` (public C API), or nothing elsewhere."""
    if sys.implementation.name != "cpython":
        return lambda obj: None
    untrack = ctypes.pythonapi.PyObject_GC_UnTrack
    untrack.argtypes, untrack.restype = [ctypes.py_object], None
    return untrack


_untrack = _gc_untracker()
# the run request's fields the model reads; the others are kept as they came, for the renderers
_INTERPRETED = frozenset({"app", "input", "setup", "infra", "workers", "webhook", "session"})


@dataclass(frozen=True)
class ModelOptions:
    """A profile's choices in the model (the documented profile keeps the defaults)."""

    # ids for tasks and sessions, given the documented prefix ("task_", "sess_"); None: the prefix
    # and 20 random characters
    id_factory: Callable[[str], str] | None = field(default=None, compare=False)
    # how long a cancel stays in flight (CANCELLING) before the task is CANCELLED
    cancel_s: float = 0.0
    # production's session rules: another app -> 400, a busy session -> 409, versions not pinned;
    # False (the Sessions page's): another app -> 400 APP_MISMATCH, another version -> 400
    # VERSION_MISMATCH, and a session's worker is busy only for other sessions (409 WORKER_LEASED)
    strict_sessions: bool = False


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch."""
        ...


class SystemClock:
    # the C function itself: the clock is read several times by every request
    now = staticmethod(time.time)


class FakeClock:
    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.t = start

    def now(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


class Task:
    __slots__ = (
        "id", "owner", "app", "input", "setup", "infra", "workers", "webhook", "session_id",
        "created_at", "ends", "outcome", "made", "error", "cancelled_at", "finalized",
        "extras", "cancel_requested_at",
    )  # fmt: skip

    def __init__(
        self,
        task_id: str,
        owner: str,
        app: str,
        input: dict[str, Any],
        ends: tuple[float, ...],
        outcome: str,
        created_at: float,
    ) -> None:
        self.id = task_id
        self.owner = owner
        self.app = app
        self.input = input
        self.setup: dict[str, Any] | None = None
        self.infra: str | None = None
        self.workers: tuple[str, ...] | None = None
        self.webhook: str | None = None
        self.session_id: str | None = None
        self.created_at = created_at
        self.ends = ends
        self.outcome = outcome
        self.made: AppDef | None = None  # the app that makes the output of a completed task
        self.error: str | None = None
        self.cancelled_at: float | None = None
        self.finalized = False
        # the run request's fields the model does not interpret, for renderings that echo them
        self.extras: Mapping[str, Any] = _NO_EXTRAS
        self.cancel_requested_at: float | None = None

    @property
    def finishes_at(self) -> float:
        return self.created_at + self.ends[-1]

    @property
    def output(self) -> dict[str, Any] | None:
        """What the task puts out once completed (made on each read: retained tasks stay small)."""
        return None if self.made is None else _output(self.made, self.input, self.id)


_NO_EXTRAS: Mapping[str, Any] = {}


def _output(app: AppDef, input_: Mapping[str, Any], task_id: str) -> dict[str, Any]:
    if app.output_kind == "echo":
        return {"echo": input_}
    if app.output_kind == "image":
        return {"image": {"uri": f"https://mock.inference.sh/outputs/{task_id}.png"}}
    if app.output_kind == "slept":
        return {"slept": input_.get(app.seconds_from_input or "seconds", app.default_seconds)}
    return {}


class TaskView(NamedTuple):
    """A task as it stands at one instant: what every rendering is made from (a tuple: one is made
    for every answer about a task)."""

    task: Task
    status: str  # a documented status varname, e.g. RUNNING or COMPLETED
    updated_at: float
    output: dict[str, Any] | None
    error: str | None

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL


# the version a session pins when its first run names none (``infsh/echo`` rather than ``infsh/echo@1``)
LATEST = "latest"


def split_app(app: str) -> tuple[str, str | None]:
    """``namespace/name@version`` -> ``("namespace/name", "version")``; no ``@``: version ``None``."""
    name, at, version = app.partition("@")
    return name, (version if at else None)


@dataclass
class Session:
    id: str
    owner: str = field(repr=False)  # the key it belongs to: never in a repr
    app: str  # the app as the first run named it
    timeout_s: float
    last_active: float  # the session idles out ``timeout_s`` after this
    ended: bool = False
    created_at: float = 0.0
    ended_at: float | None = None
    task_id: str | None = None  # the session's latest task
    calls: int = 0
    worker_id: str | None = None  # the worker it leases; None once the lease is released

    def expired(self, now: float) -> bool:
        return now - self.last_active > self.timeout_s

    @property
    def app_id(self) -> str:
        return split_app(self.app)[0]

    @property
    def version(self) -> str:
        """The app version the session pinned: the first run's, or ``latest``."""
        return split_app(self.app)[1] or LATEST

    @property
    def app_version_id(self) -> str:
        return f"{self.app_id}@{self.version}"

    @property
    def expires_at(self) -> float:
        return self.last_active + self.timeout_s

    def state(self, now: float) -> str:
        """``ended``, ``expired`` or ``active``."""
        if self.ended:
            return "ended"
        return "expired" if self.expired(now) else "active"


class MockBackend:
    """Tasks and sessions of every key. One instance per server; ``reset`` empties it."""

    def __init__(
        self,
        config: MockConfig,
        catalog: AppCatalog,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        options: ModelOptions | None = None,
    ) -> None:
        self.config = config
        self.catalog = catalog
        self.phases: tuple[str, ...] = catalog.phases
        self.clock = clock or SystemClock()
        self.rng = rng or random.Random(config.seed)
        self.keys = frozenset(config.keys)
        self._bearer = {f"Bearer {k}": k for k in self.keys}
        self.timing = config.timing
        self.phase_ms = config.phase_ms
        self.tasks: dict[str, Task] = {}
        self.sessions: dict[str, Session] = {}
        self.leases: dict[str, str] = {}  # worker id -> the session leasing it (maybe ended or expired since)
        self._expiry: deque[tuple[float, str]] = deque()
        self._sessions_floor = 0  # sessions kept before the next sweep of expired ones
        self.options = options or ModelOptions()

    # --- administration ------------------------------------------------------------------
    def reset(self) -> None:
        self.tasks.clear()
        self.sessions.clear()
        self.leases.clear()
        self._expiry.clear()
        self._sessions_floor = 0

    def set_timing(self, timing: str | None = None, phase_ms: float | None = None) -> None:
        if timing is not None:
            if timing not in self.catalog.timings:
                raise InvalidRequest(f"unknown timing {timing!r}; choose from {', '.join(self.catalog.timings)}")
            self.timing = timing
        self.phase_ms = phase_ms

    def _new_id(self, prefix: str) -> str:
        if self.options.id_factory is not None:
            return self.options.id_factory(prefix)
        # 20 random bytes mapped onto the alphabet in one C call (ids are made on every run)
        return prefix + self.rng.randbytes(20).translate(_ID_TABLE).decode("ascii")

    # --- auth ----------------------------------------------------------------------------
    def authenticate(self, authorization: str | None) -> str:
        """The key a request acts as, from its ``Authorization`` header value."""
        if authorization is not None:
            known = self._bearer.get(authorization)
            if known is not None:  # the usual case, with one dict lookup
                return known
        key = None
        if authorization is not None:
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                key = token.strip()
        if key is None:
            raise Unauthorized("missing API key: send Authorization: Bearer <key>")
        if key not in self.keys:
            raise Unauthorized("invalid API key")
        return key

    def authorize(self, owner: str, scope: str) -> None:
        """403 ``forbidden`` unless the key has ``scope`` (a key configured without scopes has all)."""
        scopes = self.config.scopes.get(owner)
        if scopes is not None and scope not in scopes:
            raise Forbidden(f"this key lacks the {scope} scope")

    # --- tasks ---------------------------------------------------------------------------
    def create_task(self, owner: str, request: Mapping[str, Any]) -> Task:
        """Create a task from a run request already valid against the spec's ``RunRequest``."""
        now = self.clock.now()
        self._sweep(now)
        app_name: str = request["app"]
        app = self.catalog.find(app_name)
        if app is None:
            raise NotFound(f"app not found: {app_name}", reason="app_not_found")
        session = self._session_for(owner, app_name, request, now)
        task_id = self._new_id("task_")
        input_ = dict(request["input"])
        ends, outcome, error = self._plan(app, input_)
        task = Task(task_id, owner, app_name, input_, ends, outcome, now)
        task.made = app if outcome == COMPLETED else None
        task.error = error
        task.setup = request.get("setup")
        task.infra = request.get("infra")
        workers = request.get("workers")
        task.workers = tuple(workers) if workers is not None else None
        task.webhook = request.get("webhook")
        if not request.keys() <= _INTERPRETED:
            task.extras = {k: v for k, v in request.items() if k not in _INTERPRETED}
        if session is not None:
            task.session_id = session.id
            session.last_active = max(session.last_active, task.finishes_at)
            session.task_id = task_id
            session.calls += 1
        _untrack(task)  # acyclic: reference counting frees it; full collections need not visit it
        self.tasks[task_id] = task
        self._expiry.append((now + self.config.task_ttl_s, task_id))
        return task

    def _plan(self, app: AppDef, input_: dict[str, Any]) -> tuple[tuple[float, ...], str, str | None]:
        if self.phase_ms is not None:
            ends = tuple(self.phase_ms / 1000.0 * (i + 1) for i in range(len(self.phases)))
        else:
            ends = app.phase_ends[self.timing]
        outcome, error = app.outcome, None
        if app.seconds_from_input:
            seconds = input_.get(app.seconds_from_input, app.default_seconds)
            if (
                isinstance(seconds, bool)
                or not isinstance(seconds, int | float)
                or not (0 <= seconds <= app.max_seconds)
            ):
                outcome = FAILED
                error = f"input.{app.seconds_from_input} must be a number from 0 to {app.max_seconds:g}"
            else:
                ends = self._stretch_running(ends, float(seconds))
        if outcome != COMPLETED:
            message = input_.get(app.error_from_input) if app.error_from_input else None
            error = error or (message if isinstance(message, str) and message else app.default_error)
        return ends, outcome, error

    def _stretch_running(self, ends: tuple[float, ...], seconds: float) -> tuple[float, ...]:
        """Make the RUNNING phase last ``seconds``."""
        i = self.phases.index("RUNNING")
        durations = [b - a for a, b in zip((0.0, *ends), ends, strict=False)]
        durations[i] = seconds
        total, out = 0.0, []
        for d in durations:
            total += d
            out.append(total)
        return tuple(out)

    def get_task(self, owner: str, task_id: str) -> Task:
        task = self.tasks.get(task_id)
        if task is None or task.owner != owner:
            raise NotFound(f"task not found: {task_id}", reason="task_not_found")
        return task

    def view(self, task: Task) -> TaskView:
        """The task as it stands now."""
        now = self.clock.now()
        if task.cancelled_at is not None:
            if task.cancel_requested_at is not None and now < task.cancelled_at:
                return TaskView(task, CANCELLING, task.cancel_requested_at, None, None)
            return TaskView(task, CANCELLED, task.cancelled_at, None, None)
        created = task.created_at
        for i, end in enumerate(task.ends):
            # compare instants, not durations: the task is terminal exactly from ``finishes_at`` on
            if now < created + end:
                started = task.created_at + (task.ends[i - 1] if i else 0.0)
                return TaskView(task, self.phases[i], started, None, None)
        return TaskView(task, task.outcome, task.finishes_at, task.output, task.error)

    def cancel_task(self, owner: str, task_id: str) -> TaskView:
        """Cancel if not terminal; a terminal task is left as it is. Returns the state after."""
        task = self.get_task(owner, task_id)
        current = self.view(task)
        if current.terminal or current.status == CANCELLING:
            return current
        now = self.clock.now()
        task.cancel_requested_at = now
        task.cancelled_at = now + self.options.cancel_s
        return self.view(task)

    def history(self, task: Task) -> list[tuple[str, float]]:
        """Every status the task has reached so far, with when it was reached, oldest first."""
        now = self.clock.now()
        stop = min(now, task.cancel_requested_at) if task.cancel_requested_at is not None else now
        out: list[tuple[str, float]] = []
        start = task.created_at
        for i, end in enumerate(task.ends):
            if start > stop:
                break
            out.append((self.phases[i], start))
            start = task.created_at + end
        if task.cancelled_at is not None and task.cancel_requested_at is not None:
            if task.cancelled_at > task.cancel_requested_at:
                out.append((CANCELLING, task.cancel_requested_at))
            if now >= task.cancelled_at:
                out.append((CANCELLED, task.cancelled_at))
        elif now >= task.finishes_at:
            out.append((task.outcome, task.finishes_at))
        return out

    def next_change_at(self, task: Task) -> float | None:
        """When the task's status next changes on its own; ``None`` once terminal."""
        now = self.clock.now()
        if task.cancelled_at is not None:
            return task.cancelled_at if now < task.cancelled_at else None
        for end in task.ends:
            if now < task.created_at + end:
                return task.created_at + end
        return None

    def terminal_at(self, task: Task) -> float:
        """When the task is (or will be) terminal, if nobody cancels it first."""
        return task.cancelled_at if task.cancelled_at is not None else task.finishes_at

    def finalize(self, task: Task) -> TaskView | None:
        """Claim the task's one terminal event: its final view the first time, ``None`` after.

        Also ``None`` while the task is not terminal yet."""
        if task.finalized:
            return None
        view = self.view(task)
        if not view.terminal:
            return None
        task.finalized = True
        return view

    # --- sessions ------------------------------------------------------------------------
    def _session_for(self, owner: str, app: str, request: Mapping[str, Any], now: float) -> Session | None:
        name = request.get("session")
        timeout = request.get("session_timeout")
        if timeout is not None and name != "new":
            raise InvalidRequest('session_timeout is only allowed with session: "new"')
        workers: list[str] = request.get("workers") or []
        if name is None:
            if workers:
                self._check_workers_free(workers, None, now)
            return None
        if name == "new":
            self._check_workers_free(workers, None, now)
            session_id = self._new_id("sess_")
            created = Session(
                session_id,
                owner,
                app,
                float(timeout) if timeout is not None else self.config.session_timeout_s,
                now,
                created_at=now,
                worker_id=workers[0] if workers else "worker_" + session_id.removeprefix("sess_"),
            )
            _untrack(created)  # acyclic too
            self.sessions[created.id] = created
            self.leases[str(created.worker_id)] = created.id
            return created
        session = self._live_session(owner, name, now)
        self._check_workers_free(workers, session, now)
        if self.options.strict_sessions:
            self._check_session_free(session, app, now)
        else:
            self._check_session_app(session, app)
        session.last_active = now
        return session

    def _live_session(self, owner: str, session_id: str, now: float) -> Session:
        """The key's session, neither ended (410 SESSION_ENDED) nor expired (410 SESSION_EXPIRED)."""
        session = self.get_session(owner, session_id)
        if session.ended:
            raise SessionEnded(f"session ended: {session_id}")
        if session.expired(now):
            raise SessionExpired(f"session expired: {session_id}")
        return session

    def _check_session_free(self, session: Session, app: str, now: float) -> None:
        if split_app(app)[0] != session.app_id:
            raise AppMismatch(f"session {session.id} belongs to app {session.app}")
        previous = self.tasks.get(session.task_id) if session.task_id else None
        if previous is not None and self.terminal_at(previous) > now:
            raise WorkerLeased(f"session {session.id} is busy with task {previous.id}")

    def _check_session_app(self, session: Session, app: str) -> None:
        """The Sessions page: a session "must match app and version"; naming no version is the pinned one."""
        name, version = split_app(app)
        if name != session.app_id:
            raise AppMismatch(f"session {session.id} belongs to app {session.app_id}, not {name}")
        if version is not None and version != session.version:
            raise VersionMismatch(f"session {session.id} pinned {session.app_version_id}, not {app}")

    def holder(self, worker_id: str, now: float) -> Session | None:
        """The active session leasing ``worker_id``, if any."""
        session = self.sessions.get(self.leases.get(worker_id, ""))
        if session is None or session.worker_id != worker_id or session.state(now) != "active":
            return None
        return session

    def _check_workers_free(self, workers: list[str], mine: Session | None, now: float) -> None:
        """A run naming a worker another active session leases gets 409 WORKER_LEASED."""
        for worker in workers:
            holder = self.holder(worker, now)
            if holder is not None and holder is not mine:
                raise WorkerLeased(f"worker {worker} is bound to another session")

    def list_sessions(self, owner: str) -> list[Session]:
        """The key's active sessions, oldest first."""
        now = self.clock.now()
        return [s for s in self.sessions.values() if s.owner == owner and s.state(now) == "active"]

    def get_session(self, owner: str, session_id: str) -> Session:
        session = self.sessions.get(session_id)
        if session is None or session.owner != owner:
            raise SessionNotFound(f"session not found: {session_id}")
        return session

    def keepalive_session(self, owner: str, session_id: str) -> Session:
        """Restart an active session's idle timer (no run); an ended or expired one is 410."""
        now = self.clock.now()
        session = self._live_session(owner, session_id, now)
        session.last_active = max(session.last_active, now)
        return session

    def end_session(self, owner: str, session_id: str) -> Session:
        """End a session and release its worker (idempotent: ending an ended or expired session
        changes nothing but the release)."""
        session = self.get_session(owner, session_id)
        now = self.clock.now()
        if session.state(now) == "active":
            session.ended = True
            session.ended_at = now
        if session.worker_id is not None and self.leases.get(session.worker_id) == session.id:
            del self.leases[session.worker_id]
        session.worker_id = None
        return session

    # --- memory bound --------------------------------------------------------------------
    def _sweep(self, now: float, budget: int = 4) -> None:
        """Forget up to ``budget`` tasks whose TTL has passed (amortised O(1) per create)."""
        expiry = self._expiry
        while budget and expiry and expiry[0][0] <= now:
            _, task_id = expiry.popleft()
            self.tasks.pop(task_id, None)
            budget -= 1
        if len(self.sessions) > max(4 * len(self.tasks) + 64, self._sessions_floor):
            self.sessions = {k: s for k, s in self.sessions.items() if not s.expired(now)}
            self.leases = {w: sid for w, sid in self.leases.items() if sid in self.sessions}
            # scan again only once the live sessions have doubled: amortised O(1) per create
            self._sessions_floor = 2 * len(self.sessions)
