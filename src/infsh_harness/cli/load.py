"""``infsh-harness load``: run the load scenarios, write the report, judge it against the SLOs.

Exit codes: 0 every objective met, 1 an objective breached (each breach is printed with the
measured value, the limit and the difference), 2 the run could not be made or its input is wrong,
130 interrupted (the report of what was measured is still written).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Any

from infsh_harness import defaults
from infsh_harness.cli.args import count, non_negative_float, positive_float, positive_int

__all__ = ["add_parser", "main"]

PROG = "infsh-harness load"


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
        "--scenario", action="append", default=[], metavar="NAME",
        help=f"scenario to run, repeatable or comma-separated: {', '.join(SCENARIOS)} (default: all)",
    )  # fmt: skip
    p.add_argument("-u", "--users", type=positive_int, default=10, help="concurrent users (default 10)")
    p.add_argument(
        "-r", "--spawn-rate", type=positive_float, default=10.0, help="users started per second (default 10)"
    )
    p.add_argument("-t", "--run-time", default="30s", help="duration of each scenario, e.g. 30s, 2m (default 30s)")
    p.add_argument("--workers", type=count, default=0, help="locust worker processes on 127.0.0.1 (default 0)")
    p.add_argument(
        "--remote-workers", type=count, default=0, metavar="N",
        help="also wait for N workers started on other machines (needs --master-bind)",
    )  # fmt: skip
    p.add_argument(
        "--master-bind", default="127.0.0.1", help="address the locust master listens on (default 127.0.0.1)"
    )
    p.add_argument("--master-port", type=count, default=0, help="port of the locust master (default: a free one)")
    p.add_argument("--slo", default=str(DEFAULT_SLO_PATH), help="SLO file (default: the packaged slo.yaml)")
    p.add_argument("--no-slo", action="store_true", help="judge nothing: report only")
    p.add_argument("--out", default="reports/load", help="report folder (default reports/load)")
    p.add_argument("--allow-remote", action="store_true", help="allow a --host that is not loopback")
    p.add_argument("--poll-interval-ms", type=non_negative_float, help="run_poll: pause between polls (default 50)")
    p.add_argument("--ui", action="store_true", help="keep locust's web UI up during the run (on 127.0.0.1)")
    p.add_argument("--web-port", type=positive_int, default=8089, help="port of the web UI (default 8089)")
    p.add_argument(
        "--locust-arg", action="append", default=[], metavar="ARG",
        help="pass ARG to every locust node, e.g. --locust-arg=--cancel-after-ms=100 (repeatable)",
    )  # fmt: skip
    p.set_defaults(func=main)


def _fail(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return 2


def _scenarios(values: list[str]) -> list[str]:
    names = [n.strip() for v in values for n in v.split(",") if n.strip()]
    return list(dict.fromkeys(names))


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(args: argparse.Namespace) -> int:
    from infsh_harness.load.processes import is_loopback_url, parse_duration
    from infsh_harness.load.report import public_url
    from infsh_harness.load.run import SCENARIOS, LoadOptions, run_load
    from infsh_harness.load.slo import SloError, load_slo

    scenarios = _scenarios(args.scenario) or list(SCENARIOS)
    unknown = [s for s in scenarios if s not in SCENARIOS]
    if unknown:
        return _fail(f"unknown scenario {unknown[0]!r} (choose from {', '.join(SCENARIOS)})")
    try:
        run_time_s = parse_duration(args.run_time)
    except ValueError as exc:
        return _fail(f"-t: {exc}")
    host = args.host or os.environ.get("INFSH_BASE_URL") or None
    if host is not None:
        if not host.startswith(("http://", "https://")):
            return _fail(f"--host must be an http:// or https:// URL, not {public_url(host)!r}")
        if not is_loopback_url(host) and not args.allow_remote:
            return _fail(f"{public_url(host)} is not a loopback host; pass --allow-remote to load it")
    if args.remote_workers and args.master_bind in ("127.0.0.1", "localhost", "::1"):
        return _fail("--remote-workers needs --master-bind set to an address other machines can reach")
    objectives: dict[str, Any] = {}
    slo_file = None
    if not args.no_slo:
        try:
            objectives = load_slo(args.slo)
        except SloError as exc:
            return _fail(str(exc))
        slo_file = args.slo
    options = LoadOptions(
        out=Path(args.out),
        scenarios=scenarios,
        host=host,
        users=args.users,
        spawn_rate=args.spawn_rate,
        run_time_s=run_time_s,
        workers=args.workers,
        remote_workers=args.remote_workers,
        master_bind=args.master_bind,
        master_port=args.master_port,
        objectives=objectives,
        slo_file=slo_file,
        poll_interval_ms=args.poll_interval_ms,
        locust_args=tuple(args.locust_arg),
        web_ui=args.ui,
        web_port=args.web_port,
        api_key=defaults.api_keys(os.environ)[0],
        environ=dict(os.environ),
    )
    # a CI job cancelled with SIGTERM gets the same report as a Ctrl-C
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        outcome = run_load(options, say=lambda line: print(line, flush=True))
    except (RuntimeError, OSError) as exc:
        return _fail(str(exc))
    finally:
        signal.signal(signal.SIGTERM, previous)
    from infsh_harness import report

    page = report.write_part("load", options.out, exit_code=outcome.exit_code, secrets=report.keys_in(os.environ))
    print(f"verdict: {outcome.summary['verdict']}; report: {outcome.summary_md} and {page}", flush=True)
    return outcome.exit_code
