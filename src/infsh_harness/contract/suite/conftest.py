"""The contract suite: does a server honour the documented contract of ``openapi/tasks.yaml``?

    pytest contract_tests                                   # the embedded mock, full profile
    pytest contract_tests --contract-profile quick --seed 7
    INFSH_BASE_URL=https://host INFSH_API_KEY=inf_... pytest contract_tests
    pytest contract_tests --rule status-order --rule terminal-final

Without ``--base-url``/``INFSH_BASE_URL`` the embedded mock runs on a free loopback port for the
session. Every failure names the documented rule it breaks (``[rule-id] title: detail``). Reports
go to ``--report-dir`` (default ``reports/contract/``): ``junit.xml``, ``summary.md`` and
schemathesis' own ``schemathesis/junit.xml`` and ``schemathesis/schemathesis.har``.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from infsh_harness import defaults
from infsh_harness.contract.journeys import App, Journey, JourneyPlan, Received, run_journeys
from infsh_harness.contract.schemathesis_run import SchemathesisResult, SchemathesisSettings, run_schemathesis
from infsh_harness.contract.settings import DEFAULT_APPS, PROFILES, SuiteSettings
from infsh_harness.contract.summary import ItemOutcome, RunInfo, named_rules, render_summary, summary_data
from infsh_harness.http.driver import Driver
from infsh_harness.http.observation import Observation
from infsh_harness.rules.violation import ContractViolation
from infsh_harness.spec import DEFAULT_SPEC_PATH, Spec, load_spec
from infsh_harness.webhooks.receiver import WebhookReceiver

_ROLE_HELP = {"complete": "completes", "long": "runs long enough to cancel", "fail": "fails"}
SETTINGS = pytest.StashKey[SuiteSettings]()
OUTCOMES = pytest.StashKey[dict[str, ItemOutcome]]()
ST_RESULT = pytest.StashKey["SchemathesisResult | None"]()
STARTED = pytest.StashKey[float]()
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
        if config.getoption(name) < 0:
            raise pytest.UsageError(f"--{name.replace('_', '-')} must not be negative")
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
    )


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "rule(*ids): the x-contract-rules this test checks")
    config.addinivalue_line("markers", "schemathesis: runs schemathesis against the target")
    config.addinivalue_line("markers", "mock_only: needs the embedded mock's /_mock/ controls")
    config.addinivalue_line("markers", "slow: part of the full suite only")
    settings = _settings(config)
    config.stash[SETTINGS] = settings
    config.stash[OUTCOMES] = {}
    config.stash[ST_RESULT] = None
    config.stash[STARTED] = time.monotonic()
    if config.option.collectonly:
        return
    settings.report_dir.mkdir(parents=True, exist_ok=True)
    for stale in REPORT_FILES:  # a report left by an earlier run must not pass for this run's
        (settings.report_dir / stale).unlink(missing_ok=True)
    if not config.option.xmlpath:
        config.option.xmlpath = str(settings.report_dir / "junit.xml")


def pytest_report_header(config: pytest.Config) -> str:
    s = config.stash[SETTINGS]
    return f"contract: target {s.base_url or 'embedded mock'}, profile {s.profile}, seed {s.seed}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    settings = config.stash[SETTINGS]
    if settings.rules:
        keep: list[pytest.Item] = []
        drop: list[pytest.Item] = []
        for item in items:
            marked = {r for m in item.iter_markers("rule") for r in m.args}
            (keep if marked & set(settings.rules) else drop).append(item)
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = keep
    if settings.profile != "full":
        slow = [item for item in items if item.get_closest_marker("slow")]
        if slow:
            config.hook.pytest_deselected(items=slow)
            items[:] = [item for item in items if not item.get_closest_marker("slow")]


# --- outcomes and reports -----------------------------------------------------------------------
@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    violation = call.excinfo.value if call.excinfo and isinstance(call.excinfo.value, ContractViolation) else None
    outcomes = item.config.stash[OUTCOMES]
    kept = outcomes.get(item.nodeid)
    if (report.failed or report.skipped or report.when == "call") and (kept is None or report.failed):
        if kept is None or kept.outcome in ("passed", "skipped"):
            outcomes[item.nodeid] = _outcome(item, call, report, violation)
    if violation is not None and item.config.option.tbstyle == "auto":
        report.longrepr = str(violation)  # the rule and its evidence say it all
    return report


def _outcome(
    item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport, violation: ContractViolation | None
) -> ItemOutcome:
    rules = tuple(r for m in item.iter_markers("rule") for r in m.args)
    if report.failed:
        kind = "failed" if report.when == "call" else "error"
        if violation is not None:
            return ItemOutcome(
                item.nodeid, kind, rules, (violation.rule_id,), _first_line(str(violation)), report.duration
            )
        text = report.longreprtext
        message = _first_line(call.excinfo.exconly() if call.excinfo else text)
        return ItemOutcome(item.nodeid, kind, rules, tuple(named_rules(load_spec(), text)), message, report.duration)
    if report.skipped:
        reason = str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else ""
        return ItemOutcome(item.nodeid, "skipped", rules, (), reason.removeprefix("Skipped: "), report.duration)
    return ItemOutcome(item.nodeid, "passed", rules, (), "", report.duration)


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:400]
    return ""


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if SETTINGS not in config.stash or config.option.collectonly:
        return
    settings = config.stash[SETTINGS]
    out = settings.report_dir
    out.mkdir(parents=True, exist_ok=True)
    reports = {"JUnit (pytest)": "junit.xml"}
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
        reports=reports,
        exit_status=int(exitstatus),
    )
    spec, outcomes = load_spec(), list(config.stash[OUTCOMES].values())
    (out / "summary.md").write_text(render_summary(spec, outcomes, info, st_result), encoding="utf-8")
    data = summary_data(spec, outcomes, info, st_result)
    (out / "summary.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if SETTINGS not in config.stash or config.option.collectonly:
        return
    spec = load_spec()
    broken = {r for o in config.stash[OUTCOMES].values() for r in o.violated}
    terminalreporter.section("contract rules")
    if broken:
        for rule_id in spec.rules:
            if rule_id in broken:
                terminalreporter.write_line(f"BROKEN {spec.rule(rule_id).describe()}")
    elif config.stash[OUTCOMES]:
        terminalreporter.write_line("no documented rule broken by the tests that ran")
    else:
        terminalreporter.write_line("no contract test ran")
    terminalreporter.write_line(f"summary: {config.stash[SETTINGS].report_dir / 'summary.md'}")


# --- the target ---------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def settings(pytestconfig: pytest.Config) -> SuiteSettings:
    return pytestconfig.stash[SETTINGS]


@pytest.fixture(scope="session")
def spec() -> Spec:
    return load_spec()


@pytest.fixture(scope="session")
def target_url(settings: SuiteSettings) -> Iterator[str]:
    """The server under test: ``--base-url``, or the embedded mock for the session."""
    if settings.base_url is not None:
        _reachable(settings.base_url)
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


def _reachable(base_url: str) -> None:
    """Stop the whole run at once, with one line, when the target does not answer at all."""
    try:
        httpx.get(f"{base_url}/", timeout=10, trust_env=False)
    except httpx.HTTPError as exc:
        pytest.exit(f"cannot reach the target {base_url}: {exc}", returncode=pytest.ExitCode.INTERRUPTED)


@pytest.fixture(scope="session")
def mock_controls(settings: SuiteSettings, target_url: str) -> bool:
    """Whether the target answers the mock's ``/_mock/`` controls."""
    if settings.mock_controls != "auto":
        return settings.mock_controls == "yes"
    if settings.base_url is None:
        return True
    try:
        control = {"Authorization": f"Bearer {settings.api_key}"}  # the mock's controls take its API keys
        answer = httpx.get(f"{target_url}/_mock/stats", headers=control, timeout=5, trust_env=False)
    except httpx.HTTPError:
        return False
    return answer.status_code == 200 and answer.headers.get("content-type", "").startswith("application/json")


@pytest.fixture
def mock_admin(mock_controls: bool, target_url: str, settings: SuiteSettings) -> Iterator[httpx.Client]:
    """An HTTP client on the target's ``/_mock/`` controls; skips the test on other targets."""
    if not mock_controls:
        pytest.skip("needs the mock's /_mock/ controls; the target has none")
    control = {"Authorization": f"Bearer {settings.api_key}"}  # the mock's controls take its API keys
    with httpx.Client(base_url=target_url, headers=control, timeout=10, trust_env=False) as client:
        yield client


@pytest.fixture(scope="session")
def api(settings: SuiteSettings, target_url: str, spec: Spec) -> Iterator[Driver]:
    """The target, as the first key."""
    with Driver(target_url, settings.api_key, spec, timeout_s=settings.task_deadline_s + 10) as target:
        yield target


@pytest.fixture(scope="session")
def api_2(settings: SuiteSettings, target_url: str, spec: Spec) -> Iterator[Driver]:
    """The target, as the second key (``INFSH_API_KEY_2``); skips when there is none."""
    if not settings.api_key_2:
        pytest.skip("needs a second key: set INFSH_API_KEY_2")
    with Driver(target_url, settings.api_key_2, spec, timeout_s=settings.task_deadline_s + 10) as target:
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
def journeys(api: Driver, settings: SuiteSettings, receiver: WebhookReceiver, rng: random.Random) -> dict[str, Journey]:
    """The scripted task journeys (completed, failed, polled, cancelled), walked once per session."""
    run_id = f"{rng.getrandbits(32):08x}"
    plan = JourneyPlan(
        complete=settings.complete,
        long=settings.long,
        fail=settings.fail,
        webhook_url=lambda name: receiver.url(f"{name}-{run_id}"),
        task_deadline_s=settings.task_deadline_s,
        no_wait_deadline_s=settings.no_wait_deadline_s,
    )
    return run_journeys(api, plan)


@pytest.fixture(scope="session")
def received(journeys: dict[str, Journey], receiver: WebhookReceiver, settings: SuiteSettings) -> dict[str, Received]:
    """Per journey whose task read as ended, what the receiver got: waited for up to the deadline,
    then for duplicates. An endless task owes no webhook: none ended, nothing is waited for."""
    ended = [j for j in journeys.values() if j.terminal_seen_at is not None]
    for journey in ended:
        assert journey.terminal_seen_at is not None
        left = settings.webhook_deadline_s - (time.monotonic() - journey.terminal_seen_at)
        receiver.wait_for(receiver.token_of(journey.webhook_url), count=1, timeout_s=max(left, 0.0))
    if ended:
        time.sleep(settings.webhook_grace_s)
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
    pytestconfig: pytest.Config, settings: SuiteSettings, target_url: str, receiver: WebhookReceiver
) -> SchemathesisResult:
    """One ``st run`` of every phase against the target; its reports land in ``report_dir/schemathesis``."""
    result = run_schemathesis(
        SchemathesisSettings(
            spec_path=DEFAULT_SPEC_PATH,
            base_url=target_url,
            report_dir=settings.report_dir / "schemathesis",
            seed=settings.seed,
            max_examples=settings.max_examples,
            request_timeout_s=settings.task_deadline_s,
            webhook_sink=receiver.url("schemathesis"),
        ),
        settings.api_key,
    )
    pytestconfig.stash[ST_RESULT] = result
    return result
