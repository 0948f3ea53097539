"""``infsh-harness drift``: where the live API has drifted from its documentation.

Probes a target (``--base-url``; unset: the embedded mock) and/or reads HAR captures (``--har``),
diffs what it saw against the spec, and writes the report (``--format md,json,junit,html`` into
``--out``). Exit 0: no new drift; 1: new drift (of ``--fail-on`` severity or worse); 2: the report
could not be made (bad arguments, unreadable spec, HAR or baseline, unreachable target, nothing
observed) or is partial (``--deadline`` passed); 130: interrupted (the report has what was observed).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

from infsh_harness import defaults
from infsh_harness.cli import step_summary
from infsh_harness.cli.args import (
    base_url,
    bind_host,
    check_input_file,
    fail,
    input_file,
    name_arg,
    non_negative_float,
    one_line,
    out_dir,
    port,
    positive_float,
)
from infsh_harness.drift.baseline import BaselineError, load_baseline, write_baseline
from infsh_harness.drift.conflicts import ConflictError, conflict_findings
from infsh_harness.drift.diff import diff
from infsh_harness.drift.har import HarError, load_har
from infsh_harness.drift.model import DriftReport, Severity
from infsh_harness.drift.probe import ProbeConfig, ProbeError, ProbeResult, probe
from infsh_harness.drift.scenarios import SCENARIOS
from infsh_harness.drift.writers import FORMATS, write_reports
from infsh_harness.http.observation import Observation
from infsh_harness.rules.verdicts import EXIT_INTERRUPTED, EXIT_NOT_RUN
from infsh_harness.spec import Spec, SpecError, load_spec

__all__ = ["add_parser", "main"]

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
DEFAULT_DEADLINE_S = 900.0  # the probe of a healthy server takes well under a minute


class UsageError(Exception):
    """A problem with the command line or its inputs: one line on stderr, exit 2."""


class NothingJudged(Exception):
    """No source gave a single observation: the run judged nothing, which is not a pass (exit 2)."""


def _run_path(text: str) -> str:
    if text and (not text.startswith("/") or len(text) > 200 or not text.isprintable() or " " in text):
        raise argparse.ArgumentTypeError(f"expected a path starting with / (or ''), not {text[:100]!r}")
    return text


def add_parser(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "drift", help="report where the API has drifted from its documentation", description=__doc__
    )
    p.add_argument(
        "--base-url",
        type=base_url,
        default=os.environ.get("INFSH_BASE_URL") or None,
        help="target to probe (default: $INFSH_BASE_URL; unset: the embedded mock, unless --har)",
    )
    p.add_argument(
        "--har",
        action="append",
        type=input_file("HAR file"),
        default=[],
        metavar="FILE",
        help="a HAR capture to diff (repeatable)",
    )
    p.add_argument(
        "--spec", type=input_file("spec file"), default=None, help="OpenAPI spec (default: openapi/tasks.yaml)"
    )
    p.add_argument("--baseline", default=None, metavar="FILE", help="accepted findings; only new ones fail")
    p.add_argument("--update-baseline", action="store_true", help="write every finding to --baseline and exit 0")
    p.add_argument(
        "--format", action="append", default=None, help="md, json, junit, html (comma-separated; default all)"
    )
    p.add_argument("--out", type=out_dir, default="reports/drift", help="report folder (default reports/drift)")
    p.add_argument(
        "--fail-on",
        choices=[s.value for s in Severity],
        default="info",
        help="least severity of a new finding that fails the run (default info: any)",
    )
    p.add_argument(
        "--fail-on-doc-conflicts",
        action="store_true",
        help="also fail when the documentation's pages contradict each other (default: report them only)",
    )
    p.add_argument("--no-probe", action="store_true", help="only diff the HAR files")
    p.add_argument(
        "--profile",
        choices=["documented", "wire"],
        default="documented",
        help="profile of the embedded mock (only without --base-url)",
    )
    p.add_argument("--app", type=name_arg, default=defaults.APPS["complete"].name, help="an app that completes quickly")
    p.add_argument(
        "--slow-app",
        type=name_arg,
        default=defaults.APPS["long"].name,
        help='an app still running after ~1 s (input {"seconds": 5})',
    )
    p.add_argument("--failing-app", type=name_arg, default=defaults.APPS["fail"].name, help="an app that fails")
    p.add_argument(
        "--fallback-run-path",
        type=_run_path,
        default="/apps/run",
        help="where to create tasks if POST /run is not served ('' for nowhere; default /apps/run, "
        "where the official clients create them)",
    )
    p.add_argument(
        "--webhook-host",
        type=bind_host,
        default=None,
        help="host the target should POST webhooks to (default 127.0.0.1: the local receiver)",
    )
    p.add_argument(
        "--webhook-bind",
        type=bind_host,
        default="127.0.0.1",
        help="address the webhook receiver binds (default 127.0.0.1)",
    )
    p.add_argument("--webhook-port", type=port, default=0, help="port of the webhook receiver (default: a free one)")
    p.add_argument(
        "--webhook-wait", type=non_negative_float, default=10.0, help="seconds to wait for a webhook (default 10)"
    )
    p.add_argument("--timeout", type=positive_float, default=60.0, help="seconds per request (default 60)")
    p.add_argument(
        "--deadline", type=positive_float, default=DEFAULT_DEADLINE_S,
        help=f"seconds the whole observation may take; then the report of what was seen, exit 2 "
        f"(default {DEFAULT_DEADLINE_S:g})",
    )  # fmt: skip
    p.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=sorted(SCENARIOS),
        metavar="SCENARIO",
        help="leave a probe scenario out (repeatable)",
    )
    p.set_defaults(func=main)  # fmt: skip


def _formats(values: list[str] | None) -> list[str]:
    names = [n.strip() for v in values or ["md,json,junit,html"] for n in v.split(",") if n.strip()]
    unknown = sorted(set(names) - {*FORMATS, "html"})
    if unknown:
        raise UsageError(f"unknown format {', '.join(unknown)} (choose from {', '.join([*FORMATS, 'html'])})")
    return list(dict.fromkeys(names))


def _api_keys() -> tuple[str, str | None]:
    """The probe's key and optional second key."""
    return defaults.api_keys(os.environ)


def _probe_config(args: argparse.Namespace, base_url: str) -> ProbeConfig:
    target_host = urlsplit(base_url).hostname or ""
    webhook_host = args.webhook_host or "127.0.0.1"
    api_key, api_key_2 = _api_keys()
    return ProbeConfig(
        base_url=base_url,
        api_key=api_key,
        api_key_2=api_key_2,
        app=args.app,
        slow_app=args.slow_app,
        failing_app=args.failing_app,
        webhook_host=webhook_host,
        webhook_bind=args.webhook_bind,
        webhook_port=args.webhook_port,
        # a loopback receiver is only reachable from a loopback target, unless a host was named
        webhook_reachable=args.webhook_host is not None or target_host in _LOOPBACK,
        webhook_wait_s=args.webhook_wait,
        fallback_run_path=args.fallback_run_path or None,
        request_timeout_s=args.timeout,
        skip=frozenset(args.skip),
    )


@contextmanager
def _embedded_mock(profile: str, keys: tuple[str, ...]) -> Iterator[str]:
    """The mock in this process; it also accepts ``keys`` (the probe's), beside its default ones."""
    try:
        from infsh_harness.mock.config import MockConfig
        from infsh_harness.mock.server import serve_in_thread
    except ImportError:
        raise UsageError("no --base-url given and the embedded mock is not available") from None
    config = MockConfig(profile=profile, keys=tuple(dict.fromkeys((*defaults.MOCK_KEYS, *keys))))
    try:
        with serve_in_thread(profile=profile, config=config) as url:
            yield url
    except (ImportError, RuntimeError, ValueError) as exc:
        raise UsageError(f"the embedded mock ({profile}) could not start: {exc}") from None


@dataclass
class _Seen:
    """What the run has observed so far: kept when it is interrupted half-way."""

    observations: list[Observation] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    probed: ProbeResult | None = None  # filled by the probe as it goes

    def everything(self) -> tuple[list[Observation], list[str]]:
        extra = self.probed or ProbeResult()
        return self.observations + extra.observations, self.notes + extra.notes


def _observe(args: argparse.Namespace, spec: Spec, seen: _Seen) -> None:
    """Observations, notes and source labels from every HAR and the probe, into ``seen``."""
    for name in args.har:
        har = load_har(Path(name), spec, base_url=args.base_url)
        seen.observations += har.observations
        seen.notes += har.notes
        seen.sources.append(f"har:{Path(name).name}")
        if not har.observations:  # the run may still judge other sources: say so where it is seen
            print(f"infsh-harness drift: warning: {one_line(name)}: no usable exchange with the API", file=sys.stderr)
    if args.no_probe or (args.har and not args.base_url):
        return
    seen.probed = ProbeResult()
    if args.base_url:
        seen.sources.append(f"probe:{args.base_url}")
        probe(_probe_config(args, args.base_url), spec, result=seen.probed)
    else:
        seen.sources.append(f"probe:embedded mock ({args.profile})")
        with _embedded_mock(args.profile, tuple(k for k in _api_keys() if k)) as url:
            probe(_probe_config(args, url), spec, result=seen.probed)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


class _Deadline:
    """The whole observation's bound: once ``seconds`` pass, the main thread gets a SIGINT (which
    also breaks a blocking read) and :attr:`passed` says it was the deadline, not a Ctrl-C."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.passed = False
        self._main = threading.main_thread().ident
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def _fire(self) -> None:
        self.passed = True
        if self._main is not None:
            signal.pthread_kill(self._main, signal.SIGINT)

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()


@step_summary.appends(lambda args: Path(args.out) / "drift.md")
def main(args: argparse.Namespace) -> int:
    # a CI job cancelled with SIGTERM gets the same partial report as a Ctrl-C
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        return _main(args)
    except (UsageError, NothingJudged, SpecError, HarError, BaselineError, ProbeError, ConflictError, OSError) as exc:
        return fail("infsh-harness drift", exc)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _main(args: argparse.Namespace) -> int:
    formats = _formats(args.format)
    if args.update_baseline and not args.baseline:
        raise UsageError("--update-baseline needs --baseline FILE")
    if args.no_probe and not args.har:
        raise UsageError("--no-probe needs at least one --har FILE")
    if args.baseline and not args.update_baseline:
        try:
            check_input_file(args.baseline, "baseline file")
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    try:
        spec = load_spec(args.spec)
    except RecursionError:
        raise UsageError(f"spec {args.spec} is nested too deeply to be an OpenAPI document") from None
    accepted = load_baseline(Path(args.baseline)) if args.baseline and not args.update_baseline else frozenset()
    seen = _Seen()
    interrupted = False
    stopped: str | None = None
    deadline = _Deadline(args.deadline)
    try:
        with deadline:
            _observe(args, spec, seen)
    except KeyboardInterrupt:
        if deadline.passed:
            stopped = f"the deadline of {args.deadline:g} s (--deadline) passed"
        else:
            interrupted = True
    observations, notes = seen.everything()
    sources = seen.sources
    if (interrupted or stopped) and args.update_baseline:
        print(f"infsh-harness drift: {stopped or 'interrupted'}; the baseline was left as it was", file=sys.stderr)
        return EXIT_INTERRUPTED if interrupted else EXIT_NOT_RUN
    if not observations and not interrupted and not stopped:  # nothing seen is nothing judged: never "no drift"
        why = "; ".join(n for n in notes if "no exchange" not in n) or "no exchange with the API"
        raise NothingJudged(f"nothing to judge: no observation of the API in {', '.join(sources)} ({why})")
    findings = diff(spec, observations)
    if args.update_baseline:
        count = write_baseline(Path(args.baseline), findings)
        print(f"drift: wrote {count} accepted findings to {args.baseline}")
        return 0
    report = DriftReport(
        tuple(findings), accepted, Severity(args.fail_on), tuple(notes), tuple(sources),
        conflicts=tuple(conflict_findings()), fail_on_conflicts=args.fail_on_doc_conflicts, interrupted=interrupted,
        stopped=stopped,
    )  # fmt: skip
    # the page (html) is built from drift.json, so asking for it writes that too
    files = [f for f in FORMATS if f in formats or (f == "json" and "html" in formats)]
    written = write_reports(report, Path(args.out), files)
    if "html" in formats:
        from infsh_harness import report as html_report

        code = EXIT_INTERRUPTED if interrupted else EXIT_NOT_RUN if stopped else None
        written.append(
            html_report.write_part("drift", args.out, exit_code=code, secrets=html_report.keys_in(os.environ))
        )
    summary = report.summary()
    print(
        f"drift: {summary['findings']} findings, {summary['new']} new, {summary['failing']} failing "
        f"({', '.join(f'{n} {s}' for s, n in summary['by_severity'].items())}); "
        f"{len(observations)} observations; {summary['doc_conflicts']} documentation conflicts"
    )
    for path in written:
        print(f"report: {path}")
    if interrupted:
        print("infsh-harness drift: interrupted; the report has what was observed before", file=sys.stderr)
        return EXIT_INTERRUPTED
    if stopped:
        print(f"infsh-harness drift: error: {stopped}; the report has what was observed before", file=sys.stderr)
        return EXIT_NOT_RUN
    return 1 if report.failing else 0
