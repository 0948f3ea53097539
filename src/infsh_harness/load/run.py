"""A load run: each chosen scenario in turn, then the report and the verdict on the objectives.

:func:`run_load` is what ``infsh-harness load`` calls; the benchmarks call it too. Scenarios run
one after another, each a locust run bounded by ``run_time_s``, against ``host`` or, without one,
an embedded mock started for the run.
"""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infsh_harness import data, defaults
from infsh_harness.load.plots import plot_result
from infsh_harness.load.processes import LocustPlan, embedded_mock, free_port, locust_env, run_locust
from infsh_harness.load.report import (
    REDACTED,
    ScenarioReport,
    build_summary,
    public_url,
    scrub_files,
    write_summary,
)
from infsh_harness.load.results import read_result
from infsh_harness.load.slo import Objective, evaluate

__all__ = [
    "DEFAULT_SLO_PATH",
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

EXIT_PASS, EXIT_BREACH, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130


def locustfile(scenario: str) -> Path:
    """The file of a scenario in ``load/scenarios/``, or any other locustfile given by path."""
    return LOAD_DIR / f"{scenario}.py" if scenario in SCENARIOS else Path(scenario)


@dataclass(frozen=True, kw_only=True)
class LoadOptions:
    """What to run, against what, and where the report goes.

    ``environ`` is the environment of every child process (the mock, each locust node): pass
    ``dict(os.environ)`` to inherit this one's; the API key is set in it from ``api_key``.
    """

    out: Path
    environ: Mapping[str, str]
    scenarios: Sequence[str] = SCENARIOS
    host: str | None = None
    users: int = 10
    spawn_rate: float = 10.0
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


@dataclass(frozen=True)
class LoadOutcome:
    exit_code: int
    summary: dict[str, Any]
    reports: list[ScenarioReport]
    summary_json: Path
    summary_md: Path


def _node_args(options: LoadOptions) -> list[str]:
    """Arguments every node gets: the scenarios' own options."""
    args: list[str] = []
    if options.poll_interval_ms is not None:
        args += ["--poll-interval-ms", f"{options.poll_interval_ms:g}"]
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
    master = [
        *common,
        "-u", str(options.users), "-r", f"{options.spawn_rate:g}", "-t", f"{options.run_time_s:g}s",
        "--csv", str(out / name), "--csv-full-history",
        "--html", str(out / f"{name}.html"),
        "--json-file", str(out / f"{name}_stats"),
        "--exit-code-on-error", "0",
    ]  # fmt: skip
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
    allowance = 60.0 + (60.0 if expected else 0.0)
    # the scenarios (load/common.py) stop cleanly on SIGUSR1; any other locustfile gets locust's SIGINT
    stop = signal.SIGUSR1 if scenario in SCENARIOS else signal.SIGINT
    return LocustPlan(tuple(master), tuple(workers), tuple(log_paths), options.run_time_s, allowance, stop)


def _child_env(options: LoadOptions) -> dict[str, str]:
    env = locust_env(options.environ)
    env["INFSH_API_KEY"] = options.api_key
    return env


@contextmanager
def _target(options: LoadOptions, env: Mapping[str, str], say: Callable[[str], None]) -> Iterator[tuple[str, bool]]:
    if options.host:
        yield options.host.rstrip("/"), False
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


def _describe_workers(local: int, remote: int) -> str:
    parts = [f"{n} {kind}worker{'s' if n != 1 else ''}" for n, kind in ((local, ""), (remote, "remote ")) if n]
    return f" on {' and '.join(parts)}" if parts else ""


def _run_scenario(options: LoadOptions, scenario: str, host: str, env: Mapping[str, str],
                  say: Callable[[str], None]) -> tuple[ScenarioReport, bool]:  # fmt: skip
    name = Path(scenario).stem
    plan = plan_scenario(options, scenario, host)
    plan.logs[0].parent.mkdir(parents=True, exist_ok=True)
    _forget_previous(options.out, name)
    nodes = _describe_workers(options.workers, options.remote_workers)
    say(f"{name}: {options.users} users for {options.run_time_s:g} s{nodes}")
    if options.web_ui:
        say(f"{name}: locust web UI at http://127.0.0.1:{options.web_port}")
    outcome = run_locust(plan, env)
    result = read_result(name, options.out / name)
    status, message = "completed", ""
    if outcome.interrupted:
        status, message = "interrupted", "interrupted: the report shows what was measured until then"
    elif not (options.out / f"{name}_stats.json").exists():
        status = "error"
        reason = _last_error(plan.logs, options.api_key)
        message = f"locust wrote no statistics (exit code {outcome.exit_code}){reason}; see {plan.logs[0]}"
    elif outcome.timed_out:
        status, message = "error", f"locust did not finish within {plan.run_time_s + plan.start_allowance_s:g} s"
    # a run that could not be made is an error, not a list of objectives "missed"
    checks = evaluate(options.objectives.get(name, ()), result.targets()) if status != "error" else []
    files: dict[str, Any] = {
        "html": f"{name}.html",
        "csv": f"{name}_stats.csv",
        "history_csv": f"{name}_stats_history.csv",
        "failures_csv": f"{name}_failures.csv",
        "json": f"{name}_stats.json",
        "logs": [str(p.relative_to(options.out)) for p in plan.logs],
    }
    try:
        files["plots"] = [p.name for p in plot_result(result, options.out)]
    except (OSError, ValueError) as exc:  # a report without plots is still a report
        files["plots"] = []
        message = (message + f"; plots not written: {exc}").lstrip("; ")
    report = ScenarioReport(name, status, outcome.exit_code, outcome.seconds, result, checks, files, message)
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


def run_load(options: LoadOptions, say: Callable[[str], None] = print) -> LoadOutcome:
    """Run every scenario, write the report, and return the exit code it earns."""
    options.out.mkdir(parents=True, exist_ok=True)
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
                say(_digest(report))
                if interrupted:
                    break
    except KeyboardInterrupt:  # between scenarios, or while the mock starts
        interrupted = True
    settings = {
        "scenarios": [Path(s).stem for s in options.scenarios],
        "users": options.users,
        "spawn_rate": options.spawn_rate,
        "run_time_s": options.run_time_s,
        "workers": options.workers,
        "remote_workers": options.remote_workers,
        "poll_interval_ms": options.poll_interval_ms,
        "slo_file": options.slo_file,
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "seconds": round(time.time() - started, 3),
    }
    summary = build_summary(reports, settings, {"host": host_shown, "embedded_mock": embedded}, interrupted)
    json_path, md_path = write_summary(options.out, summary)
    scrub_files(options.out.rglob("*"), [options.api_key])
    return LoadOutcome(_exit_code(summary["verdict"]), summary, reports, json_path, md_path)


def _exit_code(verdict: str) -> int:
    return {"pass": EXIT_PASS, "fail": EXIT_BREACH, "interrupted": EXIT_INTERRUPTED}.get(verdict, EXIT_ERROR)


def _digest(report: ScenarioReport) -> str:
    targets = report.result.targets()
    requests = targets.pop("requests")
    parts = [f"{requests.count} requests, {requests.failures} failed, {requests.rps:.0f}/s"]
    for entry in targets.values():
        if entry.kind != "http":
            p50 = entry.quantile(0.5)
            parts.append(f"{entry.name} p50 {'-' if p50 is None else f'{p50:g}'} {entry.unit}")
    verdict = report.status if report.status != "completed" else ("FAIL" if report.breaches else "pass")
    lines = [f"{report.scenario}: {verdict}: " + ", ".join(parts)]
    lines += [f"  breach: {c.describe()}" for c in report.breaches]
    if report.message:
        lines.append(f"  {report.message}")
    return "\n".join(lines)

