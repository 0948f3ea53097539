"""``infsh-harness contract``: run the contract suite (``pytest contract_tests``) against a server.

Without ``--base-url`` (or ``INFSH_BASE_URL``) the suite starts the embedded mock. Keys come from
``INFSH_API_KEY`` and ``INFSH_API_KEY_2``, never from the command line. Reports go to ``--out``:
``summary.md``, ``summary.json``, ``summary.html``, ``junit.xml``, and schemathesis' own ``schemathesis/junit.xml`` and
``schemathesis/schemathesis.har``, all scrubbed of the keys.

Each rule gets a verdict: honoured, broken, differs (a convention of this project done otherwise:
reported, not failing, unless ``--strict``) or unchecked (with the reason; ``--require-all`` fails
them). Exit 0: no rule broken; 1: a rule broken (the summary names each); 2: the suite could not
run or complete (bad input, an unreachable or silent target, ``--suite-deadline``); 130: Ctrl-C,
with the summary of what was judged.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

from infsh_harness.cli import step_summary
from infsh_harness.cli.args import (
    base_url,
    bind_host,
    fail,
    name_arg,
    non_negative_float,
    out_dir,
    port,
    positive_float,
    whole,
)
from infsh_harness.contract.options import MAX_RATE_LIMIT_PROBE
from infsh_harness.contract.settings import DEFAULT_APPS, DEFAULT_REQUEST_TIMEOUT_S, DEFAULT_SUITE_DEADLINE_S, PROFILES
from infsh_harness.rules.verdicts import EXIT_INTERRUPTED, EXIT_NOT_RUN, MODES
from infsh_harness.spec import SpecError, load_spec

__all__ = ["CONTRACT_TESTS", "add_parser", "build_pytest_args", "main"]

CONTRACT_TESTS = Path(__file__).resolve().parents[1] / "contract" / "suite"
_PASS_THROUGH = (
    "webhook_bind",
    "webhook_host",
    "webhook_port",
    "webhook_deadline",
    "webhook_grace",
    "task_deadline",
    "no_wait_deadline",
    "max_examples",
    "suite_deadline",
    "request_timeout",
    "mock_controls",
    "rate_limit_probe",
)
_REQUEST_TIMEOUT_HELP = (
    f"seconds one request may take; a waited run gets --task-deadline more (default {DEFAULT_REQUEST_TIMEOUT_S:g})"
)
_STOP_WAIT_S = 15.0  # how long an interrupted suite may take to write its summary


class UsageError(Exception):
    """Bad input: one line on stderr, exit 2."""


def add_parser(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "contract", help="run the contract suite against a server (default: the embedded mock)", description=__doc__
    )
    p.add_argument(
        "--base-url",
        type=base_url,
        default=os.environ.get("INFSH_BASE_URL") or None,
        help="server to test (default: $INFSH_BASE_URL, else the embedded mock)",
    )
    p.add_argument("--out", type=out_dir, default="reports/contract", help="report folder (default reports/contract)")
    p.add_argument(
        "--profile", choices=sorted(PROFILES), default=os.environ.get("INFSH_CONTRACT_PROFILE", "full"),
        help="quick (~10 s on the mock) or full (default; INFSH_CONTRACT_PROFILE)",
    )
    p.add_argument(
        "--seed",
        type=whole(0, 2**32 - 1),
        default=None,
        help="seed, for a reproducible run (default: random, reported)",
    )
    p.add_argument(
        "--rule", action="append", type=name_arg, default=[], metavar="ID", help="check only this rule (repeatable)"
    )
    p.add_argument("--max-examples", type=whole(1, 100_000), default=None, help="schemathesis examples per operation")
    for role, (app, payload) in DEFAULT_APPS.items():
        p.add_argument(
            f"--{role}-app", type=name_arg, default=None, help=f"app used as the '{role}' app (default {app})"
        )
        p.add_argument(f"--{role}-input", default=None, help=f"its JSON input (default {payload})")
    p.add_argument(
        "--webhook-bind", type=bind_host, default=None, help="address the webhook receiver binds (default 127.0.0.1)"
    )
    p.add_argument("--webhook-host", type=bind_host, default=None, help="host put in webhook URLs, for a remote server")
    p.add_argument("--webhook-port", type=port, default=None, help="port of the webhook receiver (default: free)")
    p.add_argument(
        "--webhook-deadline", type=non_negative_float, default=None, help="seconds a webhook may take (default 10)"
    )
    p.add_argument(
        "--webhook-grace", type=non_negative_float, default=None, help="seconds to wait for duplicates (default 1)"
    )
    p.add_argument(
        "--task-deadline", type=non_negative_float, default=None, help="seconds a task may take to end (default 60)"
    )
    p.add_argument(
        "--no-wait-deadline", type=non_negative_float, default=None, help="seconds wait=false may take (default 5)"
    )
    p.add_argument(
        "--mode", choices=MODES, default="default",
        help="default: a broken documented or http rule fails the run; strict: a convention done otherwise too",
    )  # fmt: skip
    p.add_argument("--strict", action="store_true", help="the same as --mode strict")
    p.add_argument("--require-all", action="store_true", help="fail the run when a rule could not be checked")
    p.add_argument(
        "--suite-deadline", type=positive_float, default=None,
        help=f"seconds the whole run may take (default {DEFAULT_SUITE_DEADLINE_S:g})",
    )  # fmt: skip
    p.add_argument(
        "--request-timeout", type=positive_float, default=None, help=_REQUEST_TIMEOUT_HELP,
    )  # fmt: skip
    p.add_argument(
        "--mock-controls", choices=("auto", "yes", "no"), default=None,
        help="whether the target has the mock's /_mock/ controls (default auto)",
    )  # fmt: skip
    p.add_argument(
        "--rate-limit-probe", type=whole(0, MAX_RATE_LIMIT_PROBE), default=None, metavar="N",
        help="send up to N getTask requests at the end of the run to reach a 429 and check it (default 0: none)",
    )  # fmt: skip
    p.set_defaults(func=main)


def _validate(args: argparse.Namespace) -> None:
    try:
        rules = load_spec().rules
    except SpecError as exc:
        raise UsageError(str(exc)) from None
    unknown = [r for r in args.rule if r not in rules]
    if unknown:
        raise UsageError(f"unknown rule {unknown[0][:100]!r} (the spec has {', '.join(rules)})")
    for role in DEFAULT_APPS:
        raw = getattr(args, f"{role}_input")
        if raw is None:
            continue
        try:
            value = json.loads(raw)
        except (ValueError, RecursionError):
            raise UsageError(f"--{role}-input is not JSON: {raw[:100]!r}") from None
        if not isinstance(value, dict):
            raise UsageError(f"--{role}-input must be a JSON object")


def build_pytest_args(args: argparse.Namespace, out: Path) -> list[str]:
    """The ``pytest`` command line that runs the suite as ``args`` asks."""
    argv = [
        sys.executable, "-m", "pytest", str(CONTRACT_TESTS),
        "-c", str(CONTRACT_TESTS / "pytest.ini"), "--rootdir", str(CONTRACT_TESTS),
        "--contract-profile", args.profile, "--report-dir", str(out),
    ]  # fmt: skip
    if args.base_url:
        argv += ["--base-url", args.base_url]
    if args.seed is not None:
        argv += ["--seed", str(args.seed)]
    argv += ["--contract-mode", "strict" if args.strict else args.mode]
    if args.require_all:
        argv.append("--require-all")
    for rule in args.rule:
        argv += ["--rule", rule]
    for role in DEFAULT_APPS:
        for part in ("app", "input"):
            value = getattr(args, f"{role}_{part}")
            if value is not None:
                argv += [f"--{role}-{part}", value]
    for name in _PASS_THROUGH:
        value = getattr(args, name)
        if value is not None:
            argv += [f"--{name.replace('_', '-')}", str(value)]
    return argv


def _exit_code(pytest_code: int) -> int:
    """The suite's exit code (it sets pytest's to the run's own): 0, 1, 130 as they are; anything
    else (a usage error, pytest's own crash) is 2, could not run."""
    return pytest_code if pytest_code in (0, 1, EXIT_NOT_RUN, EXIT_INTERRUPTED) else EXIT_NOT_RUN


def _run(command: list[str], env: dict[str, str]) -> tuple[int, bool]:
    """Run the suite; on Ctrl-C pass one SIGINT on and give it time to write its summary.
    ``(exit code, interrupted)``. No process is left behind."""
    # its own session: a terminal's Ctrl-C reaches this process only, which passes exactly one on
    # (and, should this process die outright, it gets SIGTERM rather than being left behind)
    from infsh_harness.load.processes import parent_death_signal

    proc = subprocess.Popen(command, env=env, start_new_session=True, preexec_fn=parent_death_signal())
    try:
        return proc.wait(), False
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGINT)
        deadline = time.monotonic() + _STOP_WAIT_S
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                proc.wait(timeout=0.2)
            except (subprocess.TimeoutExpired, KeyboardInterrupt):
                pass
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        return EXIT_INTERRUPTED, True


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _fallback_summary(out: Path, args: argparse.Namespace, code: int, interrupted: bool) -> None:
    """The suite wrote no summary (it was killed, or could not start): say so in the files CI reads."""
    from infsh_harness.contract.summary import RunInfo, SuiteResult, junit_xml, render_summary, summary_data

    why = None if interrupted else "the suite wrote no summary (see its output)"
    info = RunInfo(
        target=args.base_url or "embedded mock", profile=args.profile, seed=args.seed if args.seed is not None else -1,
        seconds=0.0, mode="strict" if args.strict else args.mode, require_all=args.require_all,
        selected=tuple(args.rule), stopped=why, interrupted=interrupted,
    )  # fmt: skip
    result = SuiteResult(info, (), code)
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.md").write_text(render_summary(result), encoding="utf-8")
    (out / "summary.json").write_text(json.dumps(summary_data(result), indent=2) + "\n", encoding="utf-8")
    (out / "junit.xml").write_text(junit_xml(result), encoding="utf-8")


def _judged_nothing(summary: Path) -> bool:
    """Whether the summary has no rule honoured, broken or done differently (every one unchecked)."""
    try:
        counts = json.loads(summary.read_text(encoding="utf-8")).get("counts", {})
        return sum(int(counts.get(v, 0)) for v in ("honoured", "broken", "differs")) == 0
    except (OSError, ValueError, AttributeError, TypeError):
        return False  # unreadable: the exit code the suite gave stands


@step_summary.appends(lambda args: Path(args.out) / "summary.md")
def main(args: argparse.Namespace) -> int:
    try:
        _validate(args)
        if not (CONTRACT_TESTS / "conftest.py").exists():
            raise UsageError(f"the contract suite is not at {CONTRACT_TESTS}")
    except UsageError as exc:
        return fail("infsh-harness contract", exc)
    out = Path(args.out).resolve()
    command = build_pytest_args(args, out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return fail("infsh-harness contract", f"cannot make the report folder {out}: {exc.strerror or exc}")
    env = {**os.environ}
    env.pop("INFSH_BASE_URL", None)  # --base-url (already defaulted from it) is the one source
    for stale in ("summary.md", "summary.json", "junit.xml"):
        (out / stale).unlink(missing_ok=True)
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)  # a cancelled CI job: as a Ctrl-C
    try:
        pytest_code, interrupted = _run(command, env)
    finally:
        signal.signal(signal.SIGTERM, previous)
    code = EXIT_INTERRUPTED if interrupted else _exit_code(pytest_code)
    if not (out / "summary.json").exists():
        if not interrupted:
            print("infsh-harness contract: error: the suite wrote no summary (see the output above)", file=sys.stderr)
            code = EXIT_NOT_RUN
        _fallback_summary(out, args, code, interrupted)
    elif interrupted:
        print("infsh-harness contract: interrupted; the summary has what was judged", file=sys.stderr)
    elif _judged_nothing(out / "summary.json"):
        print("infsh-harness contract: error: no rule could be checked: the run judged nothing", file=sys.stderr)
        code = EXIT_NOT_RUN if code == 0 else code  # the suite says so too; never a pass either way
    from infsh_harness import report

    report.write_part("contract", out, exit_code=code, secrets=report.keys_in(os.environ))
    return code
