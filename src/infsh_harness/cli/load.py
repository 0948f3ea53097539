"""``infsh-harness load``: run the load scenarios, write the report, judge it against the SLOs.

Load: by default the open model, ``--rate`` tasks started per second per scenario on a schedule
fixed in advance, each timed from its due start; ``-u N`` runs the closed loop of N users instead
(see docs/load.md for which fits what).

Exit codes: 0 every objective met (and no regression against --baseline); 1 an objective
breached or a regression found (each printed with the measured value, the limit or the baseline,
and the difference); 2 the run could not be made or its input is wrong (one line on stderr); 3 the
measurement is not valid: the load generator itself was the limit (its CPU saturated, or it could
not keep to the asked rate), so nothing is said about the server; 130 interrupted (the report of
what was measured is still written).
"""

from __future__ import annotations

import argparse
import os
import signal
from pathlib import Path
from types import FrameType
from typing import Any

from infsh_harness import defaults
from infsh_harness.cli import step_summary
from infsh_harness.cli.args import (
    bind_host,
    check_base_url,
    fail,
    finite,
    is_loopback_host,
    name_arg,
    out_dir,
    port,
    server_port,
    whole,
)

__all__ = ["add_parser", "main", "parse_host"]

PROG = "infsh-harness load"
DEFAULT_RATE = 10.0  # tasks started per second per scenario (see bench/load_slo.py)
MAX_RATE = 100_000.0
MAX_SECONDS = 7 * 24 * 3600.0
MAX_IN_FLIGHT = 100_000


_rate = finite(0.0, MAX_RATE, low_open=True)
_users = whole(1, 1_000_000)
_spawn_rate = finite(0.0, MAX_RATE, low_open=True)
_workers = whole(0, 256)
_in_flight = whole(1, MAX_IN_FLIGHT)
_seconds = finite(0.0, 3600.0)
_interval_ms = finite(0.0, 3_600_000.0)
_percent = finite(0.0, 1000.0)


def _share(text: str) -> float:
    return _percent(text.strip().rstrip("%")) / 100.0


def _port(least: int) -> Any:
    return port if least == 0 else server_port


def add_parser(subparsers: Any) -> None:
    from infsh_harness.load.run import DEFAULT_SLO_PATH, SCENARIOS

    p: argparse.ArgumentParser = subparsers.add_parser(
        "load",
        help="run the load scenarios (locust) and judge them against SLOs",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--host", help="server to load, e.g. http://127.0.0.1:8080 (default: $INFSH_BASE_URL, else the embedded mock)"
    )
    p.add_argument(
        "--scenario", action="append", type=name_arg, default=[], metavar="NAME",
        help=f"scenario to run, repeatable or comma-separated: {', '.join(SCENARIOS)} (default: all)",
    )  # fmt: skip
    load = p.add_mutually_exclusive_group()
    load.add_argument("--rate", type=_rate, metavar="N",
                      help=f"open model: tasks started per second per scenario (default {DEFAULT_RATE:g})")  # fmt: skip
    load.add_argument("-u", "--users", type=_users, metavar="N", help="closed loop instead: N concurrent users")
    p.add_argument("-r", "--spawn-rate", type=_spawn_rate, help="closed loop: users started per second (default 10)")
    p.add_argument("-t", "--run-time", default="30s", help="duration of each scenario, e.g. 30s, 2m (default 30s)")
    p.add_argument(
        "--max-in-flight",
        type=_in_flight,
        default=500,
        help="open model: most tasks in flight per scenario; a start due beyond is dropped (default 500)",
    )
    p.add_argument(
        "--drain-s",
        type=_seconds,
        default=10.0,
        help="open model: longest wait for tasks in flight after the last start (s; default 10)",
    )
    p.add_argument("--workers", type=_workers, default=0, help="locust worker processes on 127.0.0.1 (default 0)")
    p.add_argument(
        "--remote-workers", type=_workers, default=0, metavar="N",
        help="also wait for N workers started on other machines (needs --master-bind)",
    )  # fmt: skip
    p.add_argument(
        "--master-bind",
        type=bind_host,
        default="127.0.0.1",
        help="address the locust master listens on (default 127.0.0.1)",
    )
    p.add_argument("--master-port", type=_port(0), default=0, help="port of the locust master (default: a free one)")
    p.add_argument("--slo", default=str(DEFAULT_SLO_PATH), help="SLO file (default: the packaged slo.yaml)")
    p.add_argument("--no-slo", action="store_true", help="judge no objective: report only (verdict 'unjudged')")
    p.add_argument("--out", type=out_dir, default="reports/load", help="report folder (default reports/load)")
    p.add_argument("--history", metavar="FILE", help="record the run in this SQLite file (created when absent)")
    p.add_argument("--baseline", metavar="last|RUN_ID",
                   help="compare with a run of --history: 'last' (the latest valid one) or its id")  # fmt: skip
    p.add_argument(
        "--min-change",
        type=_share,
        default=0.25,
        metavar="PCT",
        help="a regression is at least this much slower than the baseline (default 25%%)",
    )
    p.add_argument(
        "--min-change-ms",
        type=_interval_ms,
        default=10.0,
        metavar="MS",
        help="... and at least this many milliseconds slower (default 10)",
    )
    p.add_argument(
        "--judge-quantile",
        action="append",
        choices=("p50", "p95"),
        metavar="Q",
        help="quantiles whose regression fails the run: p50 (default), p95 (repeatable)",
    )
    p.add_argument("--allow-remote", action="store_true", help="allow a --host that is not loopback")
    p.add_argument("--poll-interval-ms", type=_interval_ms, help="run_poll: pause between polls (default 50)")
    p.add_argument("--ui", action="store_true", help="keep locust's web UI up during the run (on 127.0.0.1)")
    p.add_argument("--web-port", type=_port(1), default=8089, help="port of the web UI (default 8089)")
    p.add_argument(
        "--locust-arg", action="append", default=[], metavar="ARG",
        help="pass ARG to every locust node, e.g. --locust-arg=--cancel-after-ms=100 (repeatable)",
    )  # fmt: skip
    p.set_defaults(func=main)


def _fail(message: str) -> int:
    return fail(PROG, message)


def _scenarios(values: list[str]) -> list[str]:
    names = [n.strip() for v in values for n in v.split(",") if n.strip()]
    return list(dict.fromkeys(names))


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def parse_host(text: str, allow_remote: bool) -> str:
    """A base URL read with httpx's parser (the one the clients use); ``ValueError`` saying what is wrong.

    Refused: another scheme, no host, a port outside 1-65535, a query or fragment, user-info (it would
    turn into Basic auth and replace the API key: the key goes in INFSH_API_KEY), and, without
    ``allow_remote``, any host that is not loopback (127.0.0.0/8, ::1, ``localhost``), by its literal.
    """
    import httpx

    url = check_base_url(text, "--host")
    host = httpx.URL(url).host
    if not allow_remote and not is_loopback_host(host):
        shown = url if len(url) <= 200 else url[:200] + "..."
        raise ValueError(f"{shown} is not a loopback host; pass --allow-remote to load it")
    return url


def _options(args: argparse.Namespace) -> Any:
    """The run's ``LoadOptions``; ``ValueError`` with the one line to print when the input is wrong."""
    from infsh_harness.load.baseline import Thresholds
    from infsh_harness.load.history import HistoryError, check_history, git_commit
    from infsh_harness.load.processes import parse_duration
    from infsh_harness.load.run import SCENARIOS, LoadOptions
    from infsh_harness.load.slo import SloError, load_slo

    scenarios = _scenarios(args.scenario) or list(SCENARIOS)
    unknown = [s for s in scenarios if s not in SCENARIOS]
    if unknown:
        raise ValueError(f"unknown scenario {unknown[0][:100]!r} (choose from {', '.join(SCENARIOS)})")
    try:
        run_time_s = parse_duration(args.run_time)
    except ValueError as exc:
        raise ValueError(f"-t: {exc}") from None
    if run_time_s > MAX_SECONDS:
        raise ValueError(f"-t: at most {MAX_SECONDS / 86400:g} days")
    if run_time_s != int(run_time_s):
        raise ValueError(f"-t: whole seconds (locust counts in seconds), not {args.run_time[:40]!r}")
    rate = None if args.users is not None else (args.rate if args.rate is not None else DEFAULT_RATE)
    if rate is not None and args.spawn_rate is not None:
        raise ValueError("-r/--spawn-rate paces closed-loop users (-u); --rate starts tasks on its own schedule")
    if rate is not None and rate * run_time_s < 1:
        raise ValueError(f"--rate {rate:g} for {run_time_s:g} s plans no task start")
    host = args.host or os.environ.get("INFSH_BASE_URL") or None
    if host is not None:
        host = parse_host(host, args.allow_remote)
    if args.remote_workers and args.master_bind in ("127.0.0.1", "localhost", "::1"):
        raise ValueError("--remote-workers needs --master-bind set to an address other machines can reach")
    if args.baseline is not None and not args.history:
        raise ValueError("--baseline compares with a run of --history FILE: give --history")
    if args.history:
        try:
            check_history(Path(args.history), args.baseline)
        except HistoryError as exc:
            raise ValueError(str(exc)) from None
        except OSError as exc:
            raise ValueError(f"--history {args.history[:100]!r}: {exc.strerror or exc}") from None
    objectives: dict[str, Any] = {}
    slo_file = None
    if not args.no_slo:
        try:
            objectives = load_slo(args.slo)
        except SloError as exc:
            raise ValueError(str(exc)) from None
        strays = [name for name in objectives if name not in SCENARIOS]
        if strays:
            raise ValueError(f"SLO file {args.slo} names an unknown scenario {strays[0][:100]!r} "
                             f"(choose from {', '.join(SCENARIOS)})")  # fmt: skip
        if not any(objectives.get(s) for s in scenarios):
            raise ValueError(f"SLO file {args.slo} sets no objective for {', '.join(scenarios)}: nothing would be "
                             "judged (pass --no-slo to only report)")  # fmt: skip
        slo_file = args.slo
    return LoadOptions(
        out=Path(args.out), scenarios=scenarios, host=host, rate=rate, users=args.users or 10,
        spawn_rate=args.spawn_rate or 10.0, run_time_s=run_time_s, max_in_flight=args.max_in_flight,
        drain_s=args.drain_s, workers=args.workers, remote_workers=args.remote_workers,
        master_bind=args.master_bind, master_port=args.master_port, objectives=objectives, slo_file=slo_file,
        poll_interval_ms=args.poll_interval_ms, locust_args=tuple(args.locust_arg), web_ui=args.ui,
        web_port=args.web_port, api_key=defaults.api_keys(os.environ)[0], environ=dict(os.environ),
        judge=not args.no_slo, history=Path(args.history) if args.history else None, baseline=args.baseline,
        thresholds=Thresholds(min_relative=args.min_change, min_ms=args.min_change_ms,
                              judged=tuple(dict.fromkeys(args.judge_quantile or ["p50"]))),
        git_commit=git_commit(Path.cwd()) if args.history else None,
    )  # fmt: skip


@step_summary.appends(lambda args: Path(args.out) / "summary.md")
def main(args: argparse.Namespace) -> int:
    from infsh_harness.load.history import HistoryError
    from infsh_harness.load.run import run_load

    try:
        options = _options(args)
    except ValueError as exc:
        return _fail(str(exc))
    from infsh_harness import report

    # a CI job cancelled with SIGTERM gets the same report as a Ctrl-C
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        outcome = run_load(options, say=lambda line: print(line, flush=True))
    except (RuntimeError, OSError, HistoryError) as exc:
        code = _fail(str(exc))
        try:  # the page says the run could not be made (and shows no summary an earlier run left)
            report.write_part("load", options.out, exit_code=code, secrets=report.keys_in(os.environ), error=str(exc))
        except OSError:
            pass
        return code
    finally:
        signal.signal(signal.SIGTERM, previous)
    summary = outcome.summary
    for line in summary.get("regressions", []):
        print(f"regression: {line}", flush=True)
    if not options.judge:
        print("nothing judged (--no-slo): report only", flush=True)
    history = summary.get("history")
    recorded = f"; recorded as run {history['run_id']} in {history['file']}" if history else ""
    page = report.write_part("load", options.out, exit_code=outcome.exit_code, secrets=report.keys_in(os.environ))
    print(f"verdict: {summary['verdict']}; report: {outcome.summary_md} and {page}{recorded}", flush=True)
    return outcome.exit_code
