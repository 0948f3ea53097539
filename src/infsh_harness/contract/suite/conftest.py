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
import math
import os
import random
import time
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from infsh_harness import defaults
from infsh_harness.contract.evidence import Evidence
from infsh_harness.contract.journeys import App, Journey, JourneyPlan, Received, run_journeys
from infsh_harness.contract.schemathesis_run import SchemathesisResult, SchemathesisSettings, run_schemathesis
from infsh_harness.contract.settings import (
    DEFAULT_APPS,
    DEFAULT_REQUEST_TIMEOUT_S,
    DEFAULT_SUITE_DEADLINE_S,
    PROFILES,
    SuiteSettings,
)
from infsh_harness.contract.summary import (
    ItemOutcome,
    RunInfo,
    SuiteResult,
    junit_xml,
    named_rules,
    render_summary,
    summary_data,
)
from infsh_harness.contract.target import AnswerLog, SuiteClock, SuiteDriver, SuiteStopped, TargetStopped
from infsh_harness.http.driver import TargetError
from infsh_harness.http.observation import Observation
from infsh_harness.redact import redact_text, scrub_file
from infsh_harness.rules.verdicts import MODES, RuleResult, Tally, Verdict, exit_code
from infsh_harness.rules.violation import ContractViolation
from infsh_harness.spec import DEFAULT_SPEC_PATH, Spec, load_spec
from infsh_harness.webhooks.receiver import WebhookReceiver

_ROLE_HELP = {"complete": "completes", "long": "runs long enough to cancel", "fail": "fails"}
SETTINGS = pytest.StashKey[SuiteSettings]()
OUTCOMES = pytest.StashKey[dict[str, ItemOutcome]]()
ST_RESULT = pytest.StashKey["SchemathesisResult | None"]()
STARTED = pytest.StashKey[float]()
TALLY = pytest.StashKey[Tally]()
EVIDENCE = pytest.StashKey[Evidence]()
CLOCK = pytest.StashKey[SuiteClock]()
ANSWERS = pytest.StashKey[AnswerLog]()
SCOPE = pytest.StashKey[list[str]]()  # the rules of the tests selected to run
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
def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("contract", "infsh-harness contract suite")
    group.addoption(
        "--base-url", default=os.environ.get("INFSH_BASE_URL"), help="server to test (default: embedded mock)"
    )
    group.addoption(
        "--contract-profile",
        choices=sorted(PROFILES),
        default=os.environ.get("INFSH_CONTRACT_PROFILE", "full"),
        help="quick (about 10 s on the mock) or full (default)",
    )
    group.addoption(
        "--contract-mode",
        default="default",
        help="default (a broken documented or http rule fails the run) or strict (a convention done "
        "differently fails it too)",
    )
    group.addoption("--contract-strict", action="store_true", help="the same as --contract-mode strict")
    group.addoption(
        "--require-all", action="store_true", help="fail the run when a rule could not be checked (unchecked)"
    )
    group.addoption(
        "--seed", type=int, default=None, help="seed for schemathesis and the mock (default: random, reported)"
    )
    group.addoption(
        "--rule", action="append", default=[], metavar="ID", help="run only the tests of this rule (repeatable)"
    )
    group.addoption("--report-dir", default=None, help="where reports go (default: reports/contract)")
    group.addoption(
        "--max-examples", type=int, default=None, help="schemathesis examples per operation (overrides the profile)"
    )
    for role, (app, payload) in DEFAULT_APPS.items():
        group.addoption(f"--{role}-app", default=app, help=f"the app that {_ROLE_HELP[role]} (default {app})")
        group.addoption(f"--{role}-input", default=payload, help=f"JSON input for --{role}-app (default {payload})")
    group.addoption(
        "--webhook-bind", default="127.0.0.1", help="address the webhook receiver binds (default 127.0.0.1)"
    )
    group.addoption(
        "--webhook-host", default=None, help="host put in webhook URLs, for a remote target (default: bind address)"
    )
    group.addoption("--webhook-port", type=int, default=0, help="port of the webhook receiver (default: a free one)")
    group.addoption(
        "--webhook-deadline", type=float, default=10.0, help="seconds a webhook may take after the task ends"
    )
    group.addoption("--webhook-grace", type=float, default=1.0, help="seconds to wait for a duplicate webhook")
    group.addoption("--task-deadline", type=float, default=60.0, help="seconds a task may take to end")
    group.addoption("--no-wait-deadline", type=float, default=5.0, help="seconds a wait=false run may take to answer")
    group.addoption(
        "--suite-deadline",
        type=float,
        default=DEFAULT_SUITE_DEADLINE_S,
        help=f"seconds the whole run may take, schemathesis included (default {DEFAULT_SUITE_DEADLINE_S:g})",
    )
    group.addoption(
        "--request-timeout",
        type=float,
        default=DEFAULT_REQUEST_TIMEOUT_S,
        help=f"seconds one request may take; a waited run also gets --task-deadline (default "
        f"{DEFAULT_REQUEST_TIMEOUT_S:g})",
    )
    group.addoption(
        "--mock-controls",
        choices=("auto", "yes", "no"),
        default="auto",
        help="whether the target has the mock's /_mock/ controls (auto: the embedded mock, or probe)",
    )


def _app(config: pytest.Config, role: str) -> App:
    raw = config.getoption(f"{role}_input")
    try:
        payload = json.loads(raw)
    except ValueError:
        raise pytest.UsageError(f"--{role}-input is not JSON: {raw!r}") from None
    if not isinstance(payload, dict):
        raise pytest.UsageError(f"--{role}-input must be a JSON object, not {raw!r}")
    return App(str(config.getoption(f"{role}_app")), payload)


def _seconds(config: pytest.Config, name: str, *, positive: bool = False) -> float:
    value = float(config.getoption(name))
    flag = f"--{name.replace('_', '-')}"
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        raise pytest.UsageError(f"{flag} must be a {'positive' if positive else 'non-negative'} number of seconds")
    return value


def _settings(config: pytest.Config) -> SuiteSettings:
    base_url = config.getoption("base_url") or None
    if base_url is not None and not base_url.startswith(("http://", "https://")):
        raise pytest.UsageError(f"--base-url must be an http(s) URL, not {base_url!r}")
    seed = config.getoption("seed")
    if seed is None:
        env_seed = os.environ.get("INFSH_CONTRACT_SEED")
        if env_seed is not None and not env_seed.isdigit():
            raise pytest.UsageError(f"INFSH_CONTRACT_SEED must be a whole number, not {env_seed!r}")
        seed = int(env_seed) if env_seed else random.SystemRandom().randrange(1 << 31)
    profile = config.getoption("contract_profile")
    if profile not in PROFILES:
        raise pytest.UsageError(f"unknown profile {profile!r} (choose from {', '.join(PROFILES)})")
    mode = "strict" if config.getoption("contract_strict") else config.getoption("contract_mode")
    if mode not in MODES:
        raise pytest.UsageError(f"unknown mode {mode!r} (choose from {', '.join(MODES)})")
    max_examples = config.getoption("max_examples")
    if max_examples is not None and max_examples < 1:
        raise pytest.UsageError("--max-examples must be at least 1")
    report_dir = config.getoption("report_dir")
    spec = load_spec()
    rules = tuple(config.getoption("rule"))
    unknown = [r for r in rules if r not in spec.rules]
    if unknown:
        raise pytest.UsageError(f"unknown rule(s) {', '.join(unknown)}; the spec has {', '.join(spec.rules)}")
    for name in ("webhook_deadline", "webhook_grace", "task_deadline", "no_wait_deadline"):
        _seconds(config, name)
    api_key, api_key_2 = defaults.api_keys(os.environ)
    return SuiteSettings(
        base_url=base_url.rstrip("/") if base_url else None,
        api_key=api_key,
        api_key_2=api_key_2,
        profile=profile,
        seed=seed,
        max_examples=max_examples or PROFILES[profile],
        report_dir=Path(report_dir) if report_dir else config.rootpath / "reports" / "contract",
        complete=_app(config, "complete"),
        long=_app(config, "long"),
        fail=_app(config, "fail"),
        webhook_bind=config.getoption("webhook_bind"),
        webhook_host=config.getoption("webhook_host"),
        webhook_port=config.getoption("webhook_port"),
        webhook_deadline_s=config.getoption("webhook_deadline"),
        webhook_grace_s=config.getoption("webhook_grace"),
        task_deadline_s=config.getoption("task_deadline"),
        no_wait_deadline_s=config.getoption("no_wait_deadline"),
        mock_controls=config.getoption("mock_controls"),
        rules=rules,
        mode=mode,
        require_all=bool(config.getoption("require_all")),
        suite_deadline_s=_seconds(config, "suite_deadline", positive=True),
        request_timeout_s=_seconds(config, "request_timeout", positive=True),
    )


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "rule(*ids): the x-contract-rules this test checks")
    config.addinivalue_line("markers", "schemathesis: runs schemathesis against the target")
    config.addinivalue_line("markers", "every_answer: checks every answer the run received (runs last)")
    config.addinivalue_line("markers", "slow: part of the full suite only")
    settings = _settings(config)
    config.stash[SETTINGS] = settings
    config.stash[OUTCOMES] = {}
    config.stash[ST_RESULT] = None
    config.stash[STARTED] = time.monotonic()
    config.stash[TALLY] = tally = Tally(load_spec(), settings.mode)
    config.stash[EVIDENCE] = Evidence(tally)
    config.stash[CLOCK] = SuiteClock(settings.suite_deadline_s, settings.request_timeout_s)
    config.stash[ANSWERS] = AnswerLog()
    config.stash[SCOPE] = []
    config.stash[STOP] = {}
    if config.option.collectonly:
        return
    settings.report_dir.mkdir(parents=True, exist_ok=True)
    for stale in REPORT_FILES:  # a report left by an earlier run must not pass for this run's
        (settings.report_dir / stale).unlink(missing_ok=True)


def pytest_report_header(config: pytest.Config) -> str:
    s = config.stash[SETTINGS]
    return f"contract: target {s.base_url or 'embedded mock'}, profile {s.profile}, mode {s.mode}, seed {s.seed}"


def _rules_of(item: pytest.Item) -> tuple[str, ...]:
    return tuple(r for m in item.iter_markers("rule") for r in m.args)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    settings = config.stash[SETTINGS]
    drop: list[pytest.Item] = []
    keep: list[pytest.Item] = []
    for item in items:
        marked = set(_rules_of(item))
        selected = not settings.rules or bool(marked & set(settings.rules))
        fast_enough = settings.profile == "full" or not item.get_closest_marker("slow")
        (keep if selected and fast_enough else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
    # the checks of every answer the run received come last, when every answer is in
    items[:] = sorted(keep, key=lambda item: bool(item.get_closest_marker("every_answer")))
    scope = {r for item in items for r in _rules_of(item)}
    if settings.rules:
        scope &= set(settings.rules)
    config.stash[SCOPE] = [r for r in load_spec().rules if r in scope]


# --- each test: what it checked, and what its outcome means -----------------------------------
@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    config = item.config
    config.stash[EVIDENCE].begin(item.nodeid, _rules_of(item))


def _stop(item: pytest.Item, reason: str) -> None:
    config = item.config
    stop = config.stash[STOP]
    if not stop:
        stop.update(reason=reason, test=item.nodeid, rules=list(_rules_of(item)))
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
        evidence.end_unchecked(f"test error: {_first_line(report.longreprtext)}")
        config.stash[STOP].setdefault("error", _first_line(report.longreprtext))
    _scrub_report(report, settings.secrets)
    outcomes = config.stash[OUTCOMES]
    kept = outcomes.get(item.nodeid)
    if error is not None or report.when == "call" or report.skipped:
        if kept is None or kept.outcome in ("passed", "skipped", "differs"):
            outcomes[item.nodeid] = _outcome(item, report, kind, error)
    return report


def _scrub_report(report: pytest.TestReport, secrets: tuple[str, ...]) -> None:
    """No key in what pytest prints: the failure text and every captured section."""
    if report.longrepr is not None and not isinstance(report.longrepr, tuple):
        text = str(report.longrepr) if isinstance(report.longrepr, str) else report.longreprtext
        report.longrepr = redact_text(text, secrets)
    elif isinstance(report.longrepr, tuple):
        path, line, message = report.longrepr
        report.longrepr = (path, line, redact_text(message, secrets))
    report.sections = [(name, redact_text(text, secrets)) for name, text in report.sections]


def _outcome(item: pytest.Item, report: pytest.TestReport, kind: str, error: BaseException | None) -> ItemOutcome:
    rules = _rules_of(item)
    if isinstance(error, ContractViolation):
        return ItemOutcome(item.nodeid, kind, rules, (error.rule_id,), _first_line(str(error)), report.duration)
    if report.skipped:
        reason = str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else ""
        return ItemOutcome(item.nodeid, "skipped", rules, (), reason.removeprefix("Skipped: "), report.duration)
    if kind in ("failed", "error"):
        text = str(report.longrepr) if report.longrepr is not None else ""
        violated = tuple(named_rules(load_spec(), text))
        return ItemOutcome(item.nodeid, kind, rules, violated, _first_line(text), report.duration)
    return ItemOutcome(item.nodeid, kind, rules, (), "", report.duration)


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:400]
    return ""


# --- the result and its reports -------------------------------------------------------------------
def _result(session: pytest.Session, exitstatus: int) -> SuiteResult:
    config = session.config
    settings, tally, stop = config.stash[SETTINGS], config.stash[TALLY], config.stash[STOP]
    scope = config.stash[SCOPE]
    wanted = [r for r in tally.spec.rules if r in scope or r in tally.touched()]
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


def _cut_short(result: RuleResult, why: str) -> RuleResult:
    """A rule the run ended before judging says so."""
    if result.verdict is not Verdict.UNCHECKED or result.evidence:
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
    server = MockServer(MockConfig(keys=keys, seed=settings.seed))
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
        answer = httpx.get(f"{target_url}/_mock/stats", timeout=5, trust_env=False)
    except httpx.HTTPError:
        return False
    return answer.status_code == 200 and answer.headers.get("content-type", "").startswith("application/json")


def _driver(settings: SuiteSettings, target_url: str, spec: Spec, config: pytest.Config, key: str) -> SuiteDriver:
    return SuiteDriver(
        target_url, key, spec, clock=config.stash[CLOCK], log=config.stash[ANSWERS],
        wait_s=settings.task_deadline_s, secrets=settings.secrets,
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
