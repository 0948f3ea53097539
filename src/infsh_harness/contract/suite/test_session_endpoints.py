"""The session endpoints (the Sessions pages): ``GET /sessions``, ``GET /sessions/{id}``,
``POST /sessions/{id}/keepalive``, ``DELETE /sessions/{id}``, the session object, its errors and scopes.

One session is walked through its life once per run (``walk``): started, read, listed, continued,
kept alive, refused with another app and version and for its worker, ended, then refused for being
ended; a second session, started with ``session_timeout: 1``, is left to expire (``expired``, a
bounded wait of about two seconds). Each test judges its rule on the answers of the walk. These
pages define the endpoints: a server answering 404 to them (or to the session a run just started)
breaks the rules, it is not a server without sessions. Only ``session-scopes`` needs something the
run may lack, a key with the ``apps:read`` scope only: without it that rule is unchecked.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from infsh_harness.contract.evidence import Evidence
from infsh_harness.contract.journeys import App
from infsh_harness.contract.target import SuiteClock, SuiteDriver
from infsh_harness.http.driver import TargetError
from infsh_harness.http.observation import Observation
from infsh_harness.rules.sessions import (
    check_app_match,
    check_idle_timeout,
    check_keepalive,
    check_lease_refused,
    check_same_worker,
    check_scope_allowed,
    check_scope_refused,
    check_session_code,
    check_session_end,
    check_session_error_status,
    check_session_gone,
    check_session_list,
    check_session_object,
    check_session_unknown,
    check_sliding_expiry,
    error_code,
    session_of,
)
from infsh_harness.rules.violation import violation
from infsh_harness.spec import Spec

SLIDE_S = 1.1  # between calls, so a sliding expires_at moves by more than its resolution (whole seconds)
SHORT_TIMEOUT_S = 1  # the expired session's idle timeout
EXPIRY_WAIT_S = 2.0  # how long the expired session is left alone
TIMED_S = 120  # a session_timeout other than the default, to see it read back


@dataclass
class Walk:
    """The answers of one session's life, by step (a step the walk could not take is missing)."""

    spec: Spec
    session_id: str
    steps: dict[str, Observation] = field(default_factory=dict)
    worker: str | None = None  # the worker its reads name

    def __getitem__(self, step: str) -> Observation:
        return self.steps[step]

    def session(self, step: str) -> dict[str, Any] | None:
        """The session a step's answer carries, if it carries one."""
        obs = self.steps.get(step)
        found = session_of(self.spec, obs) if obs is not None else None
        return dict(found) if found is not None else None


def start(api: SuiteDriver, app: App, what: str = "", **fields: Any) -> tuple[Observation, str]:
    """A run with ``session: "new"`` (``TargetError`` when it answers no session: rule ``session-new``'s)."""
    obs = api.run(app.name, app.input, session="new", **fields)
    session_id = api.task_of(obs, f'running {app.name} with session "new"{what}').get("session_id")
    if not isinstance(session_id, str) or not session_id:
        raise TargetError(f'running {app.name} with session "new"{what} answered no session_id')
    return obs, session_id


def other_version(app: App, session: dict[str, Any] | None) -> str:
    """``app`` at a version that is not the one the session pinned (``app_version_id``, ``app@1.0.0``)."""
    pinned = session.get("app_version_id") if session else None
    version = pinned.rpartition("@")[2] if isinstance(pinned, str) and "@" in pinned else "0.0.0"
    return f"{app.name.partition('@')[0]}@{version}-contract-other"


@pytest.fixture(scope="module")
def walk(spec: Spec, api: SuiteDriver, apps: dict[str, App], rng: random.Random, clock: SuiteClock) -> Walk:
    """One session from its start to its end and after, with a second one started with another timeout."""
    app, other = apps["complete"], apps["fail"]
    started, session_id = start(api, app)
    out = Walk(spec, session_id, {"started": started})
    steps = out.steps
    steps["read"] = api.observe(api.calls.get_session(session_id))
    steps["listed"] = api.observe(api.calls.list_sessions())
    timed, timed_id = start(api, app, f" and session_timeout {TIMED_S}", session_timeout=TIMED_S)
    steps["timed"], steps["timed_read"] = timed, api.observe(api.calls.get_session(timed_id))
    time.sleep(clock.bound(SLIDE_S))
    steps["continued"] = api.run(app.name, app.input, session=session_id)
    steps["read_continued"] = api.observe(api.calls.get_session(session_id))
    time.sleep(clock.bound(SLIDE_S))
    steps["keepalive"] = api.observe(api.calls.keepalive(session_id))
    steps["read_kept"] = api.observe(api.calls.get_session(session_id))
    read = out.session("read_kept") or out.session("read")
    worker = read.get("worker_id") if read else None
    out.worker = worker if isinstance(worker, str) and worker else None
    if out.worker is not None:
        steps["leased"] = api.run(app.name, app.input, workers=[out.worker])
    if other.name.partition("@")[0] != app.name.partition("@")[0]:
        steps["other_app"] = api.run(other.name, other.input, session=session_id)
    steps["other_version"] = api.run(other_version(app, read), app.input, session=session_id)
    steps["end"] = api.observe(api.calls.end_session(session_id))
    steps["read_ended"] = api.observe(api.calls.get_session(session_id))
    steps["listed_ended"] = api.observe(api.calls.list_sessions())
    steps["run_ended"] = api.run(app.name, app.input, session=session_id)
    steps["keepalive_ended"] = api.observe(api.calls.keepalive(session_id))
    if out.worker is not None:
        steps["freed"] = api.run(app.name, app.input, workers=[out.worker])
    unknown = f"sess_contract_unknown_{rng.getrandbits(64):016x}"
    steps["unknown_run"] = api.run(app.name, app.input, session=unknown)
    steps["unknown_get"] = api.observe(api.calls.get_session(unknown))
    steps["unknown_keepalive"] = api.observe(api.calls.keepalive(unknown))
    steps["unknown_end"] = api.observe(api.calls.end_session(unknown))
    return out


@pytest.fixture(scope="module")
def expired(spec: Spec, api: SuiteDriver, apps: dict[str, App], clock: SuiteClock) -> Walk:
    """A session with ``session_timeout: 1``, left alone for two seconds, then run in, read and kept alive."""
    app = apps["complete"]
    started, session_id = start(api, app, f" and session_timeout {SHORT_TIMEOUT_S}", session_timeout=SHORT_TIMEOUT_S)
    time.sleep(clock.bound(EXPIRY_WAIT_S))
    out = Walk(spec, session_id, {"started": started})
    out.steps["run_expired"] = api.run(app.name, app.input, session=session_id)
    out.steps["read_expired"] = api.observe(api.calls.get_session(session_id))
    out.steps["keepalive_expired"] = api.observe(api.calls.keepalive(session_id))
    return out


@pytest.mark.rule("session-object")
def test_session_object(spec: Spec, walk: Walk, expired: Walk, evidence: Evidence) -> None:
    """Every read and keepalive of the key's sessions answers that ``Session``: active, ended once
    ended, expired once expired. Needs one session read."""
    for one, step in [(walk, "read"), (walk, "read_continued"), (walk, "keepalive"), (walk, "read_kept"),
                      (walk, "read_ended"), (expired, "read_expired")]:  # fmt: skip
        evidence.expect("session-object", check_session_object, spec, one[step], one.session_id)
    for one, step, status in [(walk, "read", "active"), (walk, "read_ended", "ended"),
                              (expired, "read_expired", "expired")]:  # fmt: skip
        session = one.session(step)
        if session is not None and session.get("status") != status:
            detail = f"session {one.session_id} reads status {session.get('status')!r}, not {status}"
            evidence.found(violation(spec, "session-object", detail, one[step]))
    evidence.minimum("session-object", 1, "no session was read")
    evidence.finish()


@pytest.mark.rule("session-list-active")
def test_session_list_active(spec: Spec, walk: Walk, evidence: Evidence) -> None:
    """``GET /sessions`` lists only active sessions: the key's session while it is active, not once it
    ended. Needs both lists."""
    evidence.expect("session-list-active", check_session_list, spec, walk["listed"], walk.session_id, True)
    evidence.expect("session-list-active", check_session_list, spec, walk["listed_ended"], walk.session_id, False)
    evidence.minimum("session-list-active", 2, "lists of the sessions")
    evidence.finish()


@pytest.mark.rule("session-keepalive")
def test_session_keepalive(spec: Spec, walk: Walk, evidence: Evidence) -> None:
    """A keepalive a second after a run answers the session expiring later, with the same
    ``call_count``. Needs the session read before it."""
    evidence.expect("session-keepalive", check_keepalive, spec, walk["keepalive"], walk.session("read_continued"))
    evidence.minimum("session-keepalive", 1, "the session could not be read before its keepalive")
    evidence.finish()


@pytest.mark.rule("session-sliding-expiry")
def test_session_sliding_expiry(spec: Spec, walk: Walk, evidence: Evidence) -> None:
    """After a run in the session and after a keepalive, each a second apart, the session expires its
    ``idle_timeout`` after that call (by the server's ``Date``) and later than before. Needs both."""
    before = walk.session("read")
    if before is not None:
        evidence.expect("session-sliding-expiry", check_sliding_expiry, spec, walk["continued"],
                        walk["read_continued"], before)  # fmt: skip
    before = walk.session("read_continued")
    if before is not None:
        evidence.expect("session-sliding-expiry", check_sliding_expiry, spec, walk["keepalive"],
                        walk["read_kept"], before)  # fmt: skip
    evidence.minimum("session-sliding-expiry", 2, "calls compared (the session read, with a Date header)")
    evidence.finish()


@pytest.mark.rule("session-idle-timeout-default")
def test_session_idle_timeout_default(spec: Spec, walk: Walk, evidence: Evidence) -> None:
    """Waiting out the 60 s default would be too slow: a session started without ``session_timeout``
    reads ``idle_timeout`` 60 and expires 60 s after its run; one started with 120 reads 120. Needs both."""
    default = float(spec.rule("session-idle-timeout-default").params.get("default", 60))
    evidence.expect("session-idle-timeout-default", check_idle_timeout, spec, walk["started"], walk["read"], default)
    evidence.expect("session-idle-timeout-default", check_idle_timeout, spec, walk["timed"], walk["timed_read"],
                    float(TIMED_S))  # fmt: skip
    evidence.minimum("session-idle-timeout-default", 2, "sessions read")
    evidence.finish()


@pytest.mark.rule("session-end")
def test_session_end(spec: Spec, walk: Walk, evidence: Evidence) -> None:
    """Ending the session answers 204 with no body; it then reads ``ended``, a run in it gets 410
    ``SESSION_ENDED``, and its worker is free (a run naming it is not refused ``WORKER_LEASED``).
    Needs the end answered."""
    evidence.expect("session-end", check_session_end, spec, walk["end"])
    if walk["end"].status_code == 204:
        ended = walk.session("read_ended")
        if ended is None or ended.get("status") != "ended":
            shown = ended.get("status") if ended else f"answered {walk['read_ended'].status_code}"
            evidence.found(violation(spec, "session-end", f"the ended session reads {shown!r}", walk["read_ended"]))
        evidence.expect("session-end", check_session_code, spec, "session-end", walk["run_ended"], 410,
                        "SESSION_ENDED", "a run in the ended session")  # fmt: skip
        freed = walk.steps.get("freed")
        if freed is not None and freed.status_code == 409:
            detail = f"worker {walk.worker} of the ended session is still leased: {error_code(freed.body)}"
            evidence.found(violation(spec, "session-end", detail, freed))
    evidence.minimum("session-end", 1, "the session's end was answered")
    evidence.finish()


@pytest.mark.rule("session-unknown-404")
def test_session_unknown_404(spec: Spec, walk: Walk, evidence: Evidence) -> None:
    """A run naming a session that does not exist, and each session endpoint for it, answer 404
    ``SESSION_NOT_FOUND``. Needs all four."""
    for step in ("unknown_run", "unknown_get", "unknown_keepalive", "unknown_end"):
        evidence.expect("session-unknown-404", check_session_unknown, spec, walk[step])
    evidence.minimum("session-unknown-404", 4, "requests naming an unknown session")
    evidence.finish()


@pytest.mark.rule("session-gone-410")
def test_session_gone_410(spec: Spec, walk: Walk, expired: Walk, evidence: Evidence) -> None:
    """A run and a keepalive in the ended session answer 410 ``SESSION_ENDED``; in the session left to
    expire, 410 ``SESSION_EXPIRED``. Needs all four."""
    if walk["end"].status_code == 204:
        for step in ("run_ended", "keepalive_ended"):
            evidence.expect("session-gone-410", check_session_gone, spec, walk[step], "SESSION_ENDED")
    for step in ("run_expired", "keepalive_expired"):
        evidence.expect("session-gone-410", check_session_gone, spec, expired[step], "SESSION_EXPIRED")
    evidence.minimum("session-gone-410", 4, "runs and keepalives in gone sessions (the end was refused)")
    evidence.finish()


@pytest.mark.rule("session-errors")
def test_session_errors(spec: Spec, walk: Walk, expired: Walk, evidence: Evidence) -> None:
    """Every answer of the walks that carries a session error code has that code's status (codes read
    ignoring case). Needs one such answer."""
    for obs in [*walk.steps.values(), *expired.steps.values()]:
        evidence.expect("session-errors", check_session_error_status, spec, obs)
    evidence.minimum("session-errors", 1, "no answer carried a session error code")
    evidence.finish()


@pytest.mark.rule("session-worker-lease")
def test_session_worker_lease(spec: Spec, walk: Walk, evidence: Evidence) -> None:
    """The session's reads name one worker across its runs and keepalive, and a run naming that worker
    while the session holds it answers 409 ``WORKER_LEASED``. Needs the worker named."""
    evidence.expect("session-worker-lease", check_same_worker, spec,
                    [walk[s] for s in ("read", "read_continued", "read_kept")])  # fmt: skip
    leased = walk.steps.get("leased")
    if leased is not None and walk.worker is not None:
        evidence.expect("session-worker-lease", check_lease_refused, spec, leased, walk.worker)
    evidence.minimum("session-worker-lease", 2, "the session's worker compared and a run naming it refused")
    evidence.finish()


@pytest.mark.rule("session-app-match")
def test_session_app_match(spec: Spec, walk: Walk, evidence: Evidence) -> None:
    """Continuing the session with the failing app answers 400 ``APP_MISMATCH``; with another version
    of its own app than the one it pinned, 400 ``VERSION_MISMATCH``. Needs both (the failing app must
    be another app than the completing one)."""
    if "other_app" in walk.steps:
        evidence.expect("session-app-match", check_app_match, spec, walk["other_app"], "APP_MISMATCH")
    evidence.expect("session-app-match", check_app_match, spec, walk["other_version"], "VERSION_MISMATCH")
    evidence.minimum("session-app-match", 2, "runs with another app and another version")
    evidence.finish()


@pytest.mark.rule("session-scopes")
def test_session_scopes(
    spec: Spec, api: SuiteDriver, api_read: SuiteDriver, apps: dict[str, App], evidence: Evidence
) -> None:
    """A key with ``apps:read`` only lists sessions and reads one (another team's session may be
    404 to it, never 403), and gets 403 ``forbidden`` keeping one alive or ending it. Needs the four
    answers (and ``INFSH_API_KEY_READ``: without it the test is skipped and the rule unchecked)."""
    _, session_id = start(api, apps["complete"])
    try:
        evidence.expect("session-scopes", check_scope_allowed, spec, api_read.observe(api_read.calls.list_sessions()),
                        {200})  # fmt: skip
        read = api_read.observe(api_read.calls.get_session(session_id))
        evidence.expect("session-scopes", check_scope_allowed, spec, read, {200, 404})
        for call in (api_read.calls.keepalive(session_id), api_read.calls.end_session(session_id)):
            evidence.expect("session-scopes", check_scope_refused, spec, api_read.observe(call))
    finally:  # its worker is not left leased (an end the read key made is 410 here)
        api.observe(api.calls.end_session(session_id))
    evidence.minimum("session-scopes", 4, "answers to a key of apps:read only")
    evidence.finish()
