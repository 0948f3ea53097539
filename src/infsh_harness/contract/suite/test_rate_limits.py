"""The REST overview's rate limits: Run task 100 a minute, Get task 1000, their answers carrying
``X-RateLimit-Remaining`` and ``X-RateLimit-Reset``, a request over the limit getting 429
``rate_limited`` (with ``Retry-After``, when given, as HTTP defines it).

Every answer of the run is checked (the limits themselves, rule ``rate-limits``, only with the
probe). A 429 cannot be provoked cheaply on a production service, so
the suite sends none unless asked: ``--rate-limit-probe N`` lets it send up to N getTask requests of
one task, after every other test (they may use up the key's limit), to reach one. Without a 429 the
rules about it are unchecked, with why.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest

from infsh_harness.contract.evidence import Evidence
from infsh_harness.contract.journeys import App
from infsh_harness.contract.settings import SuiteSettings
from infsh_harness.contract.target import AnswerLog, SuiteDriver
from infsh_harness.http.driver import TargetError
from infsh_harness.http.observation import Observation
from infsh_harness.rules.exchange import payload_of
from infsh_harness.rules.rate_limits import (
    LIMITED,
    check_limit_enforced,
    check_rate_limit_headers,
    check_rate_limited_429,
    check_rate_limits,
    check_retry_after,
    none_left,
    per_minute,
)
from infsh_harness.rules.violation import violation
from infsh_harness.spec import Spec

pytestmark = pytest.mark.rate_limit_probe


@dataclass(frozen=True)
class Probe:
    allowed: int  # --rate-limit-probe
    sent: int = 0  # getTask requests sent
    seconds: float = 0.0
    limited: Observation | None = None  # the 429 that ended it
    last: Observation | None = None
    # an answer saying none was left, the next one, and when that one was answered
    past_zero: tuple[Observation, Observation, float] | None = None


@pytest.fixture(scope="module")
def probe(spec: Spec, api: SuiteDriver, apps: dict[str, App], settings: SuiteSettings, answers: AnswerLog) -> Probe:
    """Up to ``--rate-limit-probe`` reads of one task, stopping at the first 429 (none if one was seen)."""
    allowed = settings.rate_limit_probe
    if allowed == 0 or any(obs.status_code == LIMITED for obs in answers.all()):
        return Probe(allowed)
    app = apps["complete"]
    ran = api.run(app.name, app.input)
    task_id = (payload_of(spec, ran) or {}).get("id")  # out of version 1's envelope on a server that speaks only it
    if not isinstance(task_id, str):
        raise TargetError(f"running {app.name} for the rate-limit probe answered {ran.status_code}")
    started, sent, last, past_zero = time.monotonic(), 0, None, None
    while sent < allowed:
        before, last = last, api.get(task_id)
        sent += 1
        now = time.time()
        if before is not None and past_zero is None and none_left(before.response_headers, now):
            past_zero = (before, last, now)
        if last.status_code == LIMITED:
            break
    limited = last if last is not None and last.status_code == LIMITED else None
    return Probe(allowed, sent, time.monotonic() - started, limited, last, past_zero)


def no_429(probe: Probe) -> str:
    if probe.allowed == 0:
        return "no 429 was seen (--rate-limit-probe N lets the suite send up to N getTask requests to reach one)"
    if probe.sent == 0:
        return "no 429 was seen"
    return f"{probe.sent} getTask requests in {probe.seconds:.1f} s got no 429"


@pytest.mark.rule("rate-limited-429")
def test_rate_limited_429(spec: Spec, probe: Probe, answers: AnswerLog, evidence: Evidence) -> None:
    """Every 429 of Run task or Get task is the error ``rate_limited`` with both rate-limit headers; in
    the probe, the read after one that said no request was left is refused with 429."""
    evidence.expect_every("rate-limited-429", check_rate_limited_429, spec, answers.all())
    if probe.past_zero is not None:  # the read after one that said none was left is over the limit
        evidence.expect("rate-limited-429", check_limit_enforced, spec, *probe.past_zero)
    evidence.minimum("rate-limited-429", 1, no_429(probe))
    evidence.finish()


@pytest.mark.rule("rate-limits")
def test_rate_limits(spec: Spec, probe: Probe, answers: AnswerLog, evidence: Evidence) -> None:
    """No answer says more requests are left than the operation's limit; the probe's reads past Get
    task's limit within a minute get a 429. Judged with ``--rate-limit-probe`` only: a limit is
    something a run must be allowed to reach, and without the probe the suite never tries to (a
    deployment, or the embedded mock by default, may announce a more generous limit than the page's,
    which a run that stays under the page's numbers cannot tell from a broken one)."""
    if probe.allowed == 0:
        evidence.minimum("rate-limits", 1, "the limits are judged with --rate-limit-probe N only", got=0)
        evidence.finish()
        return
    evidence.expect_every("rate-limits", check_rate_limits, spec, answers.all())
    limit = per_minute(spec, "getTask")
    if limit is not None and probe.limited is None and probe.sent > limit and probe.seconds < 60:
        over = f"over its limit of {limit} a minute"
        detail = f"{probe.sent} getTask requests in {probe.seconds:.1f} s, {over}, got no 429"
        evidence.found(violation(spec, "rate-limits", detail, probe.last))
    evidence.minimum("rate-limits", 1, "no answer of Run task or Get task said X-RateLimit-Remaining")
    evidence.finish()


@pytest.mark.rule("rate-limit-headers")
def test_rate_limit_headers(spec: Spec, probe: Probe, answers: AnswerLog, evidence: Evidence) -> None:
    evidence.expect_every("rate-limit-headers", check_rate_limit_headers, spec, answers.all())
    evidence.minimum("rate-limit-headers", 1, "no success of Run task or Get task was received")
    evidence.finish()


@pytest.mark.rule("retry-after-valid")
def test_retry_after_valid(spec: Spec, probe: Probe, answers: AnswerLog, evidence: Evidence) -> None:
    seen = answers.all()
    evidence.expect_every("retry-after-valid", check_retry_after, spec, seen)
    limited = any(obs.status_code == LIMITED for obs in seen)
    evidence.minimum("retry-after-valid", 1, "no 429 carried Retry-After" if limited else no_429(probe))
    evidence.finish()
