"""A load run: each chosen scenario in turn, then the report and the verdict on the objectives.

:func:`run_load` is what ``infsh-harness load`` calls; the benchmarks call it too. Scenarios run
one after another, each a locust run bounded by ``run_time_s`` (plus, in the open model, at most
``drain_s`` for the tasks still in flight), against ``host`` or, without one, an embedded mock
started for the run. Each scenario's measurement is judged valid or not (``validity.py``) before
its objectives are; with ``history`` the run is recorded, with ``baseline`` compared
(``history.py``, ``baseline.py``).
"""

from __future__ import annotations

import math
import signal
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infsh_harness import data, defaults
from infsh_harness.load.baseline import Thresholds
from infsh_harness.load.history import HistoryError, find_baseline
from infsh_harness.load.plots import plot_result
from infsh_harness.load.processes import LocustOutcome, LocustPlan, embedded_mock, free_port, locust_env, run_locust
from infsh_harness.load.report import (
    REDACTED,
    ScenarioReport,
    build_summary,
    public_url,
    scrub_files,
    write_summary,
)
from infsh_harness.load.results import ScenarioResult, read_result
from infsh_harness.load.slo import Objective, evaluate
from infsh_harness.load.tracking import track_run
from infsh_harness.load.validity import Validity, judge_generator

__all__ = [
    "DEFAULT_SLO_PATH",
    "EXIT_CODES",
    "LOAD_DIR",
    "SCENARIOS",
    "LoadOptions",
    "LoadOutcome",
    "locustfile",
    "run_load",
]

LOAD_DIR = Path(__file__).resolve().parent / "scenarios"
DEFAULT_SLO_PATH = data.path("slo.yaml")
SCENARIOS: tuple[str, ...] = ("run_wait", "run_poll", "run_cancel", "webhook")
OPEN_MODEL_SLACK_S = 2.0

EXIT_PASS, EXIT_BREACH, EXIT_ERROR, EXIT_INVALID, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
EXIT_CODES = {"pass": EXIT_PASS, "unjudged": EXIT_PASS, "fail": EXIT_BREACH, "error": EXIT_ERROR,
              "invalid": EXIT_INVALID, "interrupted": EXIT_INTERRUPTED}  # fmt: skip


def locustfile(scenario: str) -> Path:
    """The file of a scenario in ``load/scenarios/``, or any other locustfile given by path."""
    return LOAD_DIR / f"{scenario}.py" if scenario in SCENARIOS else Path(scenario)


@dataclass(frozen=True, kw_only=True)
class LoadOptions:
    """What to run, against what, and where the report goes.

    ``environ`` is the environment of every child process (the mock, each locust node): pass
    ``dict(os.environ)`` to inherit this one's; the API key is set in it from ``api_key``.
    ``rate`` set: the open model, ``rate`` tasks started per second per scenario; ``None``: the
    closed loop of ``users`` users (the CLI's default is the open model, ``cli/load.py``).
    """

    out: Path
    environ: Mapping[str, str]
    scenarios: Sequence[str] = SCENARIOS
    host: str | None = None
    rate: float | None = None
    users: int = 10
    spawn_rate: float = 10.0
    max_in_flight: int = 500  # open model: most tasks in flight per scenario
    drain_s: float = 10.0  # open model: longest wait for the tasks in flight after the last start
    run_time_s: float = 30.0
    workers: int = 0
    remote_workers: int = 0
    master_bind: str = "127.0.0.1"
    master_port: int = 0
    objectives: Mapping[str, Sequence[Objective]] = field(default_factory=dict)
    slo_file: str | None = None
    poll_interval_ms: float | None = None
    locust_args: Sequence[str] = ()
    mock_args: Sequence[str] = ()
    web_ui: bool = False
    web_port: int = 8089
    api_key: str = defaults.API_KEY
    judge: bool = True  # False: report only (--no-slo)
    history: Path | None = None
    baseline: str | None = None  # "last" or a run id of ``history``
    thresholds: Thresholds = Thresholds()
    git_commit: str | None = None

    @property
    def model(self) -> str:
        return "closed" if self.rate is None else "open"

    @property
    def user_nodes(self) -> int:
        """Locust processes that run users."""
        return max(1, self.workers + self.remote_workers)


@dataclass(frozen=True)
class LoadOutcome:
    exit_code: int
    summary: dict[str, Any]
    reports: list[ScenarioReport]
    summary_json: Path
    summary_md: Path


def _node_args(options: LoadOptions) -> list[str]:
    """Arguments every node gets: the scenarios' own options (the open model's schedule among them)."""
    args: list[str] = []
    if options.poll_interval_ms is not None:
        args += ["--poll-interval-ms", f"{options.poll_interval_ms:g}"]
    if options.rate is not None:
        nodes = options.user_nodes  # one scheduler per process, each a share of the rate
        in_flight = max(1, math.ceil(options.max_in_flight / nodes))
        args += [
            "--arrival-rate", repr(options.rate / nodes), "--arrival-seconds", f"{options.run_time_s:g}",
            "--max-in-flight", str(in_flight), "--drain-s", f"{options.drain_s:g}",
        ]  # fmt: skip
    return [*args, *options.locust_args]


def _local_master_host(master_bind: str) -> str:
    """Where the workers on this machine reach a master bound to ``master_bind``."""
    if master_bind in ("", "*", "0.0.0.0"):
        return "127.0.0.1"
    if master_bind == "::":
        return "::1"
    return master_bind  # a single address: the master listens there only


def plan_scenario(options: LoadOptions, scenario: str, host: str) -> LocustPlan:
    out, logs = options.out, options.out / "logs"
    name = Path(scenario).stem
    common = [sys.executable, "-m", "locust", "-f", str(locustfile(scenario)), "--host", host]
    users, spawn_rate = (options.users, options.spawn_rate) if options.rate is None else (options.user_nodes,) * 2
    # open model: the schedulers keep time (--arrival-seconds); locust's own limit comes a little later,
    # so that a scheduler that started late is not taken for interrupted
    # locust counts whole seconds
    run_time = float(math.ceil(options.run_time_s + (OPEN_MODEL_SLACK_S if options.rate is not None else 0.0)))
    master = [
        *common,
        "-u", str(users), "-r", f"{spawn_rate:g}", "-t", f"{run_time:g}s",
        "--csv", str(out / name), "--csv-full-history",
        "--html", str(out / f"{name}.html"),
        "--json-file", str(out / f"{name}_stats"),
        "--exit-code-on-error", "0",
    ]  # fmt: skip
    if options.rate is not None:  # the schedulers finish their drain before locust stops them
        master += ["--stop-timeout", f"{options.drain_s + 5:g}"]
    if options.web_ui:
        master += ["--autostart", "--autoquit", "3", "--web-host", "127.0.0.1", "--web-port", str(options.web_port)]
    else:
        master += ["--headless", "--only-summary"]
    workers: list[tuple[str, ...]] = []
    expected = options.workers + options.remote_workers
    if expected:
        port = options.master_port or free_port(options.master_bind)
        master += [
            "--master", "--master-bind-host", options.master_bind, "--master-bind-port", str(port),
            "--expect-workers", str(expected), "--expect-workers-max-wait", "60",
        ]  # fmt: skip
        master_host = _local_master_host(options.master_bind)
        worker = (*common, "--worker", "--master-host", master_host, "--master-port", str(port), *_node_args(options))
        workers = [worker] * options.workers
    master += _node_args(options)
    log_paths = [logs / f"{name}.log", *[logs / f"{name}-worker-{i + 1}.log" for i in range(len(workers))]]
    allowance = 60.0 + (60.0 if expected else 0.0) + (options.drain_s + 5 if options.rate is not None else 0.0)
    # the scenarios (load/common.py) stop cleanly on SIGUSR1; any other locustfile gets locust's SIGINT
    stop = signal.SIGUSR1 if scenario in SCENARIOS else signal.SIGINT
    return LocustPlan(tuple(master), tuple(workers), tuple(log_paths), run_time, allowance, stop)


def _child_env(options: LoadOptions) -> dict[str, str]:
    env = locust_env(options.environ)
    env["INFSH_API_KEY"] = options.api_key
    return env


@contextmanager
def _target(options: LoadOptions, env: Mapping[str, str], say: Callable[[str], None]) -> Iterator[tuple[str, bool]]:
    if options.host:
        host = options.host.rstrip("/")
        reachable(host)
        yield host, False
        return
    mock_env = dict(env)
    keys = list(defaults.mock_keys(mock_env))
    if options.api_key not in keys:
        keys.append(options.api_key)  # the embedded mock serves the key the scenarios send
    mock_env["INFSH_MOCK_KEYS"] = ",".join(keys)
    log_dir = options.out / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    # the mock's own log goes to a file: an unread pipe would block a chatty mock mid-run
    with (log_dir / "mock.log").open("w", encoding="utf-8") as log, embedded_mock(
        mock_env, options.mock_args, log=log
    ) as url:
        say(f"embedded mock at {url}")
        yield url, True


def reachable(host: str, timeout_s: float = 10.0) -> None:
    """Any HTTP answer from ``host`` will do; ``RuntimeError`` (could not run) when there is none."""
    import httpx

    try:
        httpx.get(host + "/", timeout=timeout_s, trust_env=False, follow_redirects=False)
    except httpx.HTTPError as exc:
        raise RuntimeError(f"no HTTP answer from {public_url(host)}: {type(exc).__name__}") from None


def _describe_load(options: LoadOptions) -> str:
    parts = [f"{n} {kind}worker{'s' if n != 1 else ''}"
             for n, kind in ((options.workers, ""), (options.remote_workers, "remote ")) if n]  # fmt: skip
    nodes = f" on {' and '.join(parts)}" if parts else ""
    load = f"{options.users} users" if options.rate is None else f"{options.rate:g} tasks/s"
    return f"{load} for {options.run_time_s:g} s{nodes}"


def _status(outcome: LocustOutcome, result: ScenarioResult, plan: LocustPlan, options: LoadOptions,
            name: str) -> tuple[str, str]:  # fmt: skip
    """(completed | interrupted | error, why): a run that could not be made is never judged."""
    if outcome.interrupted:
        return "interrupted", "interrupted: the report shows what was measured until then"
    if not (options.out / f"{name}_stats.json").exists():
        reason = _last_error(plan.logs, options.api_key)
        return "error", f"locust wrote no statistics (exit code {outcome.exit_code}){reason}; see {plan.logs[0]}"
    if outcome.timed_out:
        return "error", f"locust did not finish within {plan.run_time_s + plan.start_allowance_s:g} s"
    crash = outcome.crash()
    if crash:
        return "error", f"{crash}{_last_error(plan.logs, options.api_key)}; see {plan.logs[0]}"
    if result.exceptions:
        first = result.exceptions[0]
        total = sum(e.occurrences for e in result.exceptions)
        message = first.error.replace(options.api_key, REDACTED) if options.api_key else first.error
        return "error", f"the scenario's code raised {total} errors, e.g. {message!r}; see {name}_exceptions.csv"
    requests = result.requests
    if requests.count == 0:
        return "error", "no request was made"
    if requests.unanswered == requests.count:
        return "error", f"none of the {requests.count} requests got an HTTP answer"
    return "completed", ""


def _run_scenario(options: LoadOptions, scenario: str, host: str, env: Mapping[str, str],
                  say: Callable[[str], None]) -> tuple[ScenarioReport, bool]:  # fmt: skip
    name = Path(scenario).stem
    plan = plan_scenario(options, scenario, host)
    plan.logs[0].parent.mkdir(parents=True, exist_ok=True)
    _forget_previous(options.out, name)
    say(f"{name}: {_describe_load(options)}")
    if options.web_ui:
        say(f"{name}: locust web UI at http://127.0.0.1:{options.web_port}")
    outcome = run_locust(plan, env)
    result = read_result(name, options.out / name)
    status, message = _status(outcome, result, plan, options, name)
    judged = status == "completed" and options.judge
    checks = evaluate(options.objectives.get(name, ()), result.targets()) if judged else []
    validity = judge_generator(result.generator) if status == "completed" else Validity(True)
    files: dict[str, Any] = {
        "html": f"{name}.html",
        "csv": f"{name}_stats.csv",
        "history_csv": f"{name}_stats_history.csv",
        "failures_csv": f"{name}_failures.csv",
        "json": f"{name}_stats.json",
        "timeline": f"{name}_timeline.json",
        "generator": f"{name}_generator.json",
        "logs": [str(p.relative_to(options.out)) for p in plan.logs],
    }
    try:
        files["plots"] = [p.name for p in plot_result(result, options.out)]
    except (OSError, ValueError) as exc:  # a report without plots is still a report
        files["plots"] = []
        message = (message + f"; plots not written: {exc}").lstrip("; ")
    report = ScenarioReport(name, status, outcome.exit_code, outcome.seconds, result, checks, files, message,
                            validity)  # fmt: skip
    return report, outcome.interrupted


def _last_error(logs: Sequence[Path], secret: str) -> str:
    """``: <the last error line of the locust logs>``, or nothing."""
    for log in logs:
        try:
            lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        for line in reversed(lines):
            if "error" in line.lower() and line.strip():
                text = line.split(": ", 1)[-1].strip() if "/ERROR/" in line else line.strip()
                return ": " + (text.replace(secret, REDACTED) if secret else text)[:300]
    return ""


def _forget_previous(out: Path, name: str) -> None:
    """Remove what an earlier run left under this name: stale numbers must never pass for new ones."""
    for pattern in (f"{name}_*.csv", f"{name}_*.json", f"{name}_*.png", f"{name}.html"):
        for path in out.glob(pattern):
            path.unlink(missing_ok=True)


def _settings(options: LoadOptions, started: float) -> dict[str, Any]:
    return {
        "scenarios": [Path(s).stem for s in options.scenarios],
        "model": options.model,
        "rate": options.rate,
        "users": options.users if options.rate is None else None,
        "spawn_rate": options.spawn_rate if options.rate is None else None,
        "max_in_flight": options.max_in_flight if options.rate is not None else None,
        "drain_s": options.drain_s if options.rate is not None else None,
        "run_time_s": options.run_time_s,
        "workers": options.workers,
        "remote_workers": options.remote_workers,
        "poll_interval_ms": options.poll_interval_ms,
        "slo_file": options.slo_file,
        "locust_args": list(options.locust_args),
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "seconds": round(time.time() - started, 3),
    }


def run_load(options: LoadOptions, say: Callable[[str], None] = print) -> LoadOutcome:
    """Run every scenario, write the report, and return the exit code it earns.

    Raises ``RuntimeError`` (could not run) when the target gives no HTTP answer or the embedded
    mock does not start, and ``HistoryError`` when ``history`` or ``baseline`` cannot be used:
    both before any scenario runs.
    """
    options.out.mkdir(parents=True, exist_ok=True)
    baseline = find_baseline(options.history, options.baseline) if options.history and options.baseline else None
    env = _child_env(options)
    reports: list[ScenarioReport] = []
    interrupted = False
    started = time.time()
    embedded = False
    host_shown = public_url(options.host) if options.host else "embedded mock"
    try:
        with _target(options, env, say) as (host, embedded):
            host_shown = public_url(host)
            for scenario in options.scenarios:
                report, interrupted = _run_scenario(options, scenario, host, env, say)
                reports.append(report)
                say(_digest(report, options.judge))
                if interrupted:
                    break
    except KeyboardInterrupt:  # between scenarios, or while the mock starts
        interrupted = True
    target = {"host": host_shown, "embedded_mock": embedded}
    judged = options.judge and any(r.checks for r in reports)  # no objective checked: not a pass
    summary = build_summary(reports, _settings(options, started), target, interrupted, judged=judged)
    if options.history:
        try:
            track_run(options.history, summary, reports, baseline, options.baseline, options.thresholds,
                      options.git_commit, secret=options.api_key)  # fmt: skip
        except HistoryError as exc:  # the report is still written; the run is not recorded
            summary["history"] = {"file": str(options.history), "run_id": None, "error": str(exc)}
            summary["verdict"] = "error"
            say(f"history: {exc}")
    json_path, md_path = write_summary(options.out, summary)
    scrub_files(options.out.rglob("*"), [options.api_key])
    return LoadOutcome(EXIT_CODES.get(summary["verdict"], EXIT_ERROR), summary, reports, json_path, md_path)


def _digest(report: ScenarioReport, judge: bool) -> str:
    targets = report.result.targets()
    requests = targets.pop("requests")
    parts = [f"{requests.count} requests, {requests.failures} failed, {requests.rps:.0f}/s answered"]
    for entry in targets.values():
        if entry.kind != "http":
            p50 = entry.quantile(0.5)
            parts.append(f"{entry.name} p50 {'-' if p50 is None else f'{p50:g}'} {entry.unit}")
    arrivals = report.result.generator.arrivals if report.result.generator else None
    if arrivals is not None and arrivals.achieved_rate is not None:
        parts.append(f"started {arrivals.achieved_rate:.3g}/s of {arrivals.rate:g}/s asked")
    if report.status != "completed":
        verdict = report.status
    else:
        verdict = "NOT VALID" if not report.validity.valid else ("FAIL" if report.breaches else "pass")
    lines = [f"{report.scenario}: {verdict}: " + ", ".join(parts)]
    lines += [f"  breach: {c.describe()}" for c in report.breaches]
    lines += [f"  not valid: {reason}" for reason in report.validity.reasons]
    if report.status == "completed" and judge and not report.checks:
        lines.append("  no objective for this scenario in the SLO file: not judged")
    if report.message:
        lines.append(f"  {report.message}")
    return "\n".join(lines)
