"""The contract suite: does a server honour the documented contract of ``openapi/tasks.yaml``?

    pytest contract_tests                                   # the embedded mock, full profile
    pytest contract_tests --contract-profile quick --seed 7
    INFSH_BASE_URL=https://host INFSH_API_KEY=inf_... pytest contract_tests
    pytest contract_tests --rule status-order --rule terminal-final --contract-strict --require-all

Without ``--base-url``/``INFSH_BASE_URL`` the embedded mock runs on a free loopback port for the
session. Each rule gets one verdict — honoured, broken, differs (a convention done differently) or
unchecked (with the reason) — from what its checks saw; a failure names the rule it breaks
(``[rule-id] title: detail``). Reports go to ``--report-dir`` (default ``reports/contract/``):
``summary.json``, ``summary.md`` and ``junit.xml`` (one test case per rule), and schemathesis' own
``schemathesis/junit.xml``, ``schemathesis/schemathesis.har`` and ``schemathesis/output.txt``; every
one of them is scrubbed of the keys. The exit code is the run's: 0 passed, 1 a rule broken (or,
with ``--require-all``, unchecked), 2 the run could not complete, 130 interrupted.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import secrets
import time
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from infsh_harness import defaults
from infsh_harness.contract import plugin
from infsh_harness.contract.both_versions import BothWays, read_both_ways
from infsh_harness.contract.evidence import Evidence
from infsh_harness.contract.journeys import App, Journey, JourneyPlan, Received, run_journeys
from infsh_harness.contract.options import add_options, settings_from
from infsh_harness.contract.outcomes import first_line, item_outcome, rules_of, scrub_report
from infsh_harness.contract.schemathesis_run import SchemathesisResult, SchemathesisSettings, run_schemathesis
from infsh_harness.contract.settings import (
    SuiteSettings,
)
from infsh_harness.contract.summary import (
    ItemOutcome,
    RunInfo,
    SuiteResult,
    junit_xml,
    render_summary,
    summary_data,
)
from infsh_harness.contract.target import AnswerLog, SuiteClock, SuiteDriver, SuiteStopped, TargetStopped
from infsh_harness.http.driver import TargetError
from infsh_harness.http.observation import Observation
from infsh_harness.redact import redact_text, scrub_file
from infsh_harness.rules.verdicts import RuleResult, Tally, Verdict, exit_code
from infsh_harness.rules.violation import ContractViolation
from infsh_harness.spec import DEFAULT_SPEC_PATH, Spec, load_spec
from infsh_harness.webhooks.receiver import WebhookReceiver

SETTINGS = pytest.StashKey[SuiteSettings]()
OUTCOMES = pytest.StashKey[dict[str, ItemOutcome]]()
ST_RESULT = pytest.StashKey["SchemathesisResult | None"]()
STARTED = pytest.StashKey[float]()
TALLY = pytest.StashKey[Tally]()
EVIDENCE = pytest.StashKey[Evidence]()
CLOCK = pytest.StashKey[SuiteClock]()
ANSWERS = pytest.StashKey[AnswerLog]()
SCOPE = pytest.StashKey[list[str]]()  # the rules of the tests selected to run
TESTED = pytest.StashKey[frozenset[str]]()  # the rules some test of the suite is marked for, selected or not
NO_CHECK_YET = "no check yet"  # a rule of the spec no test of the suite checks (yet): never honoured
STOP = pytest.StashKey[dict[str, Any]]()  # why the run stopped early, if it did
RESULT = pytest.StashKey[SuiteResult]()


def _scrubbed(path: Path, secrets: tuple[str, ...]) -> None:
    scrub_file(path, secrets)
REPORT_FILES = (
    "junit.xml",
    "summary.md",
    "summary.json",
    "schemathesis/junit.xml",
    "schemathesis/schemathesis.har",
    "schemathesis/output.txt",
)


# --- options ------------------------------------------------------------------------------------
def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    if not pluginmanager.has_plugin(plugin.ACTIVE):  # run by the plugin: its --infsh-* options are the suite's
        add_options(parser)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "rule(*ids): the x-contract-rules this test checks")
    config.addinivalue_line("markers", "schemathesis: runs schemathesis against the target")
    config.addinivalue_line("markers", "every_answer: checks every answer the run received (runs last)")
    config.addinivalue_line("markers", "slow: part of the full suite only")
    config.addinivalue_line("markers", "rate_limit_probe: may use up the target's rate limits (runs after all others)")
    settings = settings_from(config, plugin.option_prefix(config))
    if settings.base_url is None and not settings.api_key_read:
        # the embedded mock is ours: it gets a read-only key of its own, so rule session-scopes is checked
        settings = dataclasses.replace(settings, api_key_read=f"inf_contract_read_{secrets.token_hex(8)}")
    config.stash[SETTINGS] = settings
    config.stash[OUTCOMES] = {}
    config.stash[ST_RESULT] = None
    config.stash[STARTED] = time.monotonic()
    config.stash[TALLY] = tally = Tally(load_spec(), settings.mode)
    config.stash[EVIDENCE] = Evidence(tally)
    config.stash[CLOCK] = SuiteClock(settings.suite_deadline_s, settings.request_timeout_s)
    config.stash[ANSWERS] = AnswerLog()
    config.stash[SCOPE] = []
    config.stash[TESTED] = frozenset()
    config.stash[STOP] = {}
    if config.option.collectonly:
        return
    settings.report_dir.mkdir(parents=True, exist_ok=True)
    for stale in REPORT_FILES:  # a report left by an earlier run must not pass for this run's
        (settings.report_dir / stale).unlink(missing_ok=True)


def pytest_report_header(config: pytest.Config) -> str:
    s = config.stash[SETTINGS]
    return f"contract: target {s.base_url or 'embedded mock'}, profile {s.profile}, mode {s.mode}, seed {s.seed}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Select the tests of the ``--rule`` s asked for; note every rule some test is marked for (this
    conftest's hook runs before pytest's own ``-m`` / ``-k`` deselection)."""
    settings = config.stash[SETTINGS]
    config.stash[TESTED] = frozenset(r for item in items for r in rules_of(item))
    drop: list[pytest.Item] = []
    keep: list[pytest.Item] = []
    for item in items:
        marked = set(rules_of(item))
        selected = not settings.rules or bool(marked & set(settings.rules))
        fast_enough = settings.profile == "full" or not item.get_closest_marker("slow")
        (keep if selected and fast_enough else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
    # the checks of every answer the run received come last, when every answer is in
    # and the rate-limit probe after them, when nothing else needs the target's limits
    items[:] = sorted(keep, key=lambda item: (bool(item.get_closest_marker("rate_limit_probe")),
                                              bool(item.get_closest_marker("every_answer"))))  # fmt: skip
    scope = {r for item in items for r in rules_of(item)}
    if settings.rules:
        scope &= set(settings.rules)
    config.stash[SCOPE] = [r for r in load_spec().rules if r in scope]


# --- each test: what it checked, and what its outcome means -----------------------------------
@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    config = item.config
    config.stash[EVIDENCE].begin(item.nodeid, rules_of(item))


def _stop(item: pytest.Item, reason: str) -> None:
    config = item.config
    stop = config.stash[STOP]
    if not stop:
        stop.update(reason=reason, test=item.nodeid, rules=list(rules_of(item)))
    item.session.shouldstop = reason


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    config = item.config
    evidence, settings = config.stash[EVIDENCE], config.stash[SETTINGS]
    error = call.excinfo.value if call.excinfo else None
    kind: str = report.outcome
    if isinstance(error, ContractViolation):
        evidence.tally.saw(error)
        report.longrepr = str(error)
        if not evidence.tally.fails(error):  # a convention done otherwise: noted, not failed
            report.outcome, kind = "passed", "differs"
            report.sections.append(("differs", str(error)))
    elif isinstance(error, SuiteStopped):
        _stop(item, str(error))
        evidence.end_unchecked(f"the run stopped: {error}")
        report.longrepr, kind = f"the run stopped: {error}", "error"
    elif isinstance(error, TargetError):
        evidence.end_unchecked(f"could not drive the target: {error}")
        report.outcome, kind = "skipped", "skipped"
        report.longrepr = (str(item.path), item.location[1] or 0, f"Skipped: could not drive the target: {error}")
    elif report.skipped:
        reason = str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else ""
        evidence.end_unchecked(reason.removeprefix("Skipped: "))
    elif report.failed:
        kind = "failed" if report.when == "call" else "error"
        evidence.end_unchecked(f"test error: {first_line(report.longreprtext)}")
        config.stash[STOP].setdefault("error", first_line(report.longreprtext))
    scrub_report(report, settings.secrets)
    outcomes = config.stash[OUTCOMES]
    kept = outcomes.get(item.nodeid)
    if error is not None or report.when == "call" or report.skipped:
        if kept is None or kept.outcome in ("passed", "skipped", "differs"):
            outcomes[item.nodeid] = item_outcome(item, report, kind, error)
    return report


# --- the result and its reports -------------------------------------------------------------------
def _result(session: pytest.Session, exitstatus: int) -> SuiteResult:
    config = session.config
    settings, tally, stop = config.stash[SETTINGS], config.stash[TALLY], config.stash[STOP]
    scope = config.stash[SCOPE]
    for rule_id in _without_a_test(config):
        tally.unchecked(rule_id, NO_CHECK_YET)
    wanted = [r for r in tally.spec.rules if r in scope or r in tally.touched() or r in _without_a_test(config)]
    results = tally.results(wanted)
    # a stop of ours also ends pytest as "interrupted"; Ctrl-C is the one without a reason
    interrupted = exitstatus == pytest.ExitCode.INTERRUPTED and not stop.get("reason")
    stopped = stop.get("reason") or (f"a test could not run: {stop['error']}" if stop.get("error") else None)
    if exitstatus in (pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR) and not stopped:
        stopped = f"pytest ended with exit status {int(exitstatus)}"
    out = settings.report_dir
    reports = {"JUnit (one test case per rule)": "junit.xml", "summary.json": "summary.json"}
    st_result = config.stash[ST_RESULT]
    if st_result is not None:
        for name, path in (("schemathesis JUnit", st_result.junit_path), ("schemathesis HAR", st_result.har_path)):
            if path.exists():
                reports[name] = os.path.relpath(path, out)
        reports["schemathesis output"] = os.path.relpath(st_result.output_path, out)
    info = RunInfo(
        target=settings.base_url or "embedded mock",
        profile=settings.profile,
        seed=settings.seed,
        seconds=time.monotonic() - config.stash[STARTED],
        mode=settings.mode,
        require_all=settings.require_all,
        selected=settings.rules,
        reports=reports,
        stopped=None if interrupted else stopped,
        stopped_test=stop.get("test") or _running(config),
        stopped_rules=tuple(stop.get("rules") or _running_rules(config)),
        interrupted=interrupted,
    )
    if interrupted or stopped:
        why = "the run was interrupted" if interrupted else "the run stopped"
        results = [_cut_short(r, why) for r in results]
    code = exit_code(results, require_all=settings.require_all, could_not_run=stopped is not None,
                     interrupted=interrupted)  # fmt: skip
    outcomes = list(config.stash[OUTCOMES].values())
    return SuiteResult(info, results, code, outcomes, st_result)


def _without_a_test(config: pytest.Config) -> list[str]:
    """The rules of the spec no test of the suite is marked for, reported ``unchecked`` (``no check
    yet``) in a run of the whole suite or one naming them with ``--rule``; a run narrowed with ``-m``
    or ``-k`` is about other rules."""
    settings = config.stash[SETTINGS]
    if not settings.rules and (config.option.markexpr or config.option.keyword):
        return []
    wanted = settings.rules or tuple(config.stash[TALLY].spec.rules)
    return [r for r in config.stash[TALLY].spec.rules if r in wanted and r not in config.stash[TESTED]]


def _cut_short(result: RuleResult, why: str) -> RuleResult:
    """A rule the run ended before judging says so."""
    if result.verdict is not Verdict.UNCHECKED or result.evidence or result.reason == NO_CHECK_YET:
        return result
    return dataclasses.replace(result, reason=f"{why} before it was judged")


def _running(config: pytest.Config) -> str | None:
    return config.stash[EVIDENCE].test or None


def _running_rules(config: pytest.Config) -> tuple[str, ...]:
    return config.stash[EVIDENCE].rules


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if SETTINGS not in config.stash or config.option.collectonly:
        return
    settings = config.stash[SETTINGS]
    out = settings.report_dir
    out.mkdir(parents=True, exist_ok=True)
    result = _result(session, exitstatus)
    secrets = settings.secrets
    (out / "summary.md").write_text(redact_text(render_summary(result), secrets), encoding="utf-8")
    data = json.dumps(summary_data(result), indent=2, ensure_ascii=False)
    (out / "summary.json").write_text(redact_text(data, secrets) + "\n", encoding="utf-8")
    (out / "junit.xml").write_text(redact_text(junit_xml(result), secrets), encoding="utf-8")
    for written in REPORT_FILES:  # schemathesis' files too, and anything pytest was told to write
        scrub_file(out / written, secrets)
    if config.option.xmlpath:  # pytest's own JUnit, written after this hook
        config.add_cleanup(lambda: _scrubbed(Path(config.option.xmlpath), secrets))
    config.stash[RESULT] = result
    session.exitstatus = result.exit_code


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if SETTINGS not in config.stash or config.option.collectonly or RESULT not in config.stash:
        return
    result, secrets = config.stash[RESULT], config.stash[SETTINGS].secrets
    terminalreporter.section("contract rules")
    for r in result.rules:
        if r.verdict is not Verdict.HONOURED:
            line = f"{str(r.verdict).upper():9} {r.rule.describe()} ({r.rule.source.kind}): {r.reason[:300]}"
            terminalreporter.write_line(redact_text(line, secrets))
    honoured = len(result.of(Verdict.HONOURED))
    terminalreporter.write_line(f"{honoured} of {len(result.rules)} rule(s) honoured; exit code {result.exit_code}")
    terminalreporter.write_line(f"summary: {config.stash[SETTINGS].report_dir / 'summary.md'}")


# --- the target ---------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def settings(pytestconfig: pytest.Config) -> SuiteSettings:
    return pytestconfig.stash[SETTINGS]


@pytest.fixture(scope="session")
def spec() -> Spec:
    return load_spec()


@pytest.fixture(scope="session")
def clock(pytestconfig: pytest.Config) -> SuiteClock:
    return pytestconfig.stash[CLOCK]


@pytest.fixture
def evidence(pytestconfig: pytest.Config) -> Evidence:
    """What the running test checked: call checks through it, then state the minimum its rule needs."""
    return pytestconfig.stash[EVIDENCE]


@pytest.fixture(scope="session")
def answers(pytestconfig: pytest.Config) -> AnswerLog:
    """Every answer the suite's drivers received so far."""
    return pytestconfig.stash[ANSWERS]


@pytest.fixture(scope="session")
def target_url(settings: SuiteSettings) -> Iterator[str]:
    """The server under test: ``--base-url``, or the embedded mock for the session."""
    if settings.base_url is not None:
        _reachable(settings.base_url, settings.request_timeout_s)
        yield settings.base_url
        return
    from infsh_harness.mock.config import MockConfig
    from infsh_harness.mock.server import MockServer

    keys = tuple(k for k in (settings.api_key, settings.api_key_2) if k)
    read_only = (f"{settings.api_key_read}=apps:read",) if settings.api_key_read else ()
    server = MockServer(MockConfig(keys=(*keys, *read_only), seed=settings.seed))
    url = server.start()
    try:
        yield url
    finally:
        server.stop()


def _reachable(base_url: str, timeout_s: float) -> None:
    """Stop the whole run at once, with one line, when the target does not answer at all."""
    try:
        httpx.get(f"{base_url}/", timeout=min(timeout_s, 10.0), trust_env=False)
    except httpx.HTTPError as exc:
        raise TargetStopped(f"cannot reach the target {base_url}: {type(exc).__name__}") from None


@pytest.fixture(scope="session")
def mock_controls(settings: SuiteSettings, target_url: str) -> bool:
    """Whether the target answers the mock's ``/_mock/`` controls."""
    if settings.mock_controls != "auto":
        return settings.mock_controls == "yes"
    if settings.base_url is None:
        return True
    try:
        # the controls answer only a key the mock accepts
        headers = {"Authorization": f"Bearer {settings.api_key}"}
        answer = httpx.get(f"{target_url}/_mock/stats", headers=headers, timeout=5, trust_env=False)
    except httpx.HTTPError:
        return False
    return answer.status_code == 200 and answer.headers.get("content-type", "").startswith("application/json")


def _driver(settings: SuiteSettings, target_url: str, spec: Spec, config: pytest.Config, key: str) -> SuiteDriver:
    return SuiteDriver(
        target_url, key, spec, clock=config.stash[CLOCK], log=config.stash[ANSWERS],
        wait_s=settings.task_deadline_s, secrets=settings.secrets, api_version=defaults.CONTRACT_API_VERSION,
    )  # fmt: skip


@pytest.fixture(scope="session")
def api(settings: SuiteSettings, target_url: str, spec: Spec, pytestconfig: pytest.Config) -> Iterator[SuiteDriver]:
    """The target, as the first key."""
    with _driver(settings, target_url, spec, pytestconfig, settings.api_key) as target:
        yield target


@pytest.fixture(scope="session")
def api_2(settings: SuiteSettings, target_url: str, spec: Spec, pytestconfig: pytest.Config) -> Iterator[SuiteDriver]:
    """The target, as the second key (``INFSH_API_KEY_2``); skips when there is none."""
    if not settings.api_key_2:
        pytest.skip("needs a second key: set INFSH_API_KEY_2")
    with _driver(settings, target_url, spec, pytestconfig, settings.api_key_2) as target:
        yield target


@pytest.fixture(scope="session")
def rng(settings: SuiteSettings) -> random.Random:
    return random.Random(settings.seed)


@pytest.fixture(scope="session")
def apps(settings: SuiteSettings) -> dict[str, App]:
    return {"complete": settings.complete, "long": settings.long, "fail": settings.fail}


@pytest.fixture(scope="session")
def receiver(settings: SuiteSettings, spec: Spec) -> Iterator[WebhookReceiver]:
    """Collects every webhook the target sends during the session."""
    webhook_ids = [op.operation_id for op in spec.webhooks.values()]
    with WebhookReceiver(
        settings.webhook_bind,
        settings.webhook_port,
        advertise_host=settings.webhook_host,
        operation_id=webhook_ids[0] if webhook_ids else None,
    ) as receiver:
        yield receiver


@pytest.fixture(scope="session")
def journeys(
    api: SuiteDriver,
    settings: SuiteSettings,
    receiver: WebhookReceiver,
    rng: random.Random,
    pytestconfig: pytest.Config,
) -> dict[str, Journey]:
    """The scripted task journeys (completed, failed, polled, cancelled), walked once per session.

    A read that breaks a documented or http rule stops its walk at once; that rule is reported
    broken whether or not its own test was selected."""
    run_id = f"{rng.getrandbits(32):08x}"
    tally = pytestconfig.stash[TALLY]
    plan = JourneyPlan(
        complete=settings.complete,
        long=settings.long,
        fail=settings.fail,
        webhook_url=lambda name: receiver.url(f"{name}-{run_id}"),
        task_deadline_s=settings.task_deadline_s,
        no_wait_deadline_s=settings.no_wait_deadline_s,
        stops=lambda found: not found.rule.is_convention,  # a convention done otherwise is judged by its test
    )
    walked = run_journeys(api, plan)
    for journey in walked.values():
        if isinstance(journey.error, ContractViolation):
            tally.saw(journey.error)
    return walked


@pytest.fixture(scope="session")
def received(
    journeys: dict[str, Journey], receiver: WebhookReceiver, settings: SuiteSettings, clock: SuiteClock
) -> dict[str, Received]:
    """Per journey whose task read as ended, what the receiver got: waited for up to the deadline,
    then for duplicates. An endless task owes no webhook: none ended, nothing is waited for."""
    ended = [j for j in journeys.values() if j.terminal_seen_at is not None]
    for journey in ended:
        assert journey.terminal_seen_at is not None
        left = settings.webhook_deadline_s - (time.monotonic() - journey.terminal_seen_at)
        receiver.wait_for(receiver.token_of(journey.webhook_url), count=1, timeout_s=clock.bound(max(left, 0.0)))
    if ended:
        time.sleep(clock.bound(settings.webhook_grace_s))
    out = {}
    for journey in ended:
        deliveries = receiver.deliveries(receiver.token_of(journey.webhook_url))
        late = None
        if deliveries and journey.terminal_seen_at is not None:
            overdue = deliveries[0].received_monotonic - journey.terminal_seen_at - settings.webhook_deadline_s
            late = overdue if overdue > 0 else None
        out[journey.name] = Received(journey, deliveries, late)
    return out


@pytest.fixture(scope="session")
def webhook_deliveries(received: dict[str, Received]) -> list[Observation]:
    """Every webhook the journeys' tasks caused, for the rules that apply to the webhook too."""
    return [d.observation for got in received.values() for d in got.deliveries]


@pytest.fixture(scope="session")
def schemathesis_result(
    pytestconfig: pytest.Config,
    settings: SuiteSettings,
    target_url: str,
    receiver: WebhookReceiver,
    clock: SuiteClock,
) -> SchemathesisResult:
    """One ``st run`` of every phase against the target; its reports land in ``report_dir/schemathesis``."""
    result = run_schemathesis(
        SchemathesisSettings(
            spec_path=DEFAULT_SPEC_PATH,
            base_url=target_url,
            report_dir=settings.report_dir / "schemathesis",
            seed=settings.seed,
            max_examples=settings.max_examples,
            request_timeout_s=settings.request_timeout_s + settings.task_deadline_s,
            webhook_sink=receiver.url("schemathesis"),
            run_timeout_s=clock.bound(clock.remaining()),
        ),
        settings.api_key,
        settings.api_key_2,
        settings.secrets,
    )
    pytestconfig.stash[ST_RESULT] = result
    if result.timed_out:
        clock.check()
    return result


# --- both API versions (the REST overview's rules) ------------------------------------------------
@pytest.fixture(scope="session")
def api_v1(settings: SuiteSettings, target_url: str, spec: Spec, pytestconfig: pytest.Config) -> Iterator[SuiteDriver]:
    """The target as the first key, sending no ``X-API-Version``: version 1, the default."""
    config = pytestconfig
    with SuiteDriver(
        target_url, settings.api_key, spec, clock=config.stash[CLOCK], log=config.stash[ANSWERS],
        wait_s=settings.task_deadline_s, secrets=settings.secrets, api_version=None,
    ) as target:  # fmt: skip
        yield target


@pytest.fixture(scope="session")
def both_ways(api: SuiteDriver, api_v1: SuiteDriver, apps: dict[str, App], rng: random.Random) -> BothWays:
    """A finished task read in both versions, and the documented errors provoked in both."""
    return read_both_ways(api, api_v1, apps["complete"], f"task_contract_unknown_{rng.getrandbits(64):016x}")


@pytest.fixture(scope="session")
def api_read(
    settings: SuiteSettings, target_url: str, spec: Spec, pytestconfig: pytest.Config
) -> Iterator[SuiteDriver]:
    """The target, as a key with the ``apps:read`` scope only (``INFSH_API_KEY_READ`` or
    the variable ``--api-key-read-env`` names); skips when there is none."""
    if not settings.api_key_read:
        pytest.skip("needs a key with the apps:read scope only: set INFSH_API_KEY_READ")
    with _driver(settings, target_url, spec, pytestconfig, settings.api_key_read) as target:
        yield target
