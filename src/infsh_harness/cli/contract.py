"""``infsh-harness contract``: run the contract suite (``pytest contract_tests``) against a server.

Without ``--base-url`` (or ``INFSH_BASE_URL``) the suite starts the embedded mock. Keys come from
``INFSH_API_KEY`` and ``INFSH_API_KEY_2``, never from the command line. Reports go to ``--out``:
``summary.md``, ``summary.json``, ``summary.html``, ``junit.xml``, and schemathesis' own
``schemathesis/junit.xml`` and ``schemathesis/schemathesis.har``. Exit 0: every rule checked was
honoured; 1: the suite failed (the summary names each broken rule); 2: it could not run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from infsh_harness.contract.settings import DEFAULT_APPS, PROFILES
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
)


class UsageError(Exception):
    """Bad input: one line on stderr, exit 2."""


def add_parser(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "contract", help="run the contract suite against a server (default: the embedded mock)", description=__doc__
    )
    p.add_argument("--base-url", default=os.environ.get("INFSH_BASE_URL"), help="server to test (default: mock)")
    p.add_argument("--out", default="reports/contract", help="report folder (default reports/contract)")
    p.add_argument(
        "--profile", choices=sorted(PROFILES), default="full", help="quick (~10 s on the mock) or full (default)"
    )
    p.add_argument("--seed", type=int, default=None, help="seed, for a reproducible run (default: random, reported)")
    p.add_argument("--rule", action="append", default=[], metavar="ID", help="check only this rule (repeatable)")
    p.add_argument("--max-examples", type=int, default=None, help="schemathesis examples per operation")
    for role, (app, payload) in DEFAULT_APPS.items():
        p.add_argument(f"--{role}-app", default=None, help=f"app used as the '{role}' app (default {app})")
        p.add_argument(f"--{role}-input", default=None, help=f"its JSON input (default {payload})")
    p.add_argument("--webhook-bind", default=None, help="address the webhook receiver binds (default 127.0.0.1)")
    p.add_argument("--webhook-host", default=None, help="host put in webhook URLs, for a remote server")
    p.add_argument("--webhook-port", type=int, default=None, help="port of the webhook receiver (default: free)")
    p.add_argument("--webhook-deadline", type=float, default=None, help="seconds a webhook may take (default 10)")
    p.add_argument("--webhook-grace", type=float, default=None, help="seconds to wait for duplicates (default 1)")
    p.add_argument("--task-deadline", type=float, default=None, help="seconds a task may take to end (default 60)")
    p.add_argument("--no-wait-deadline", type=float, default=None, help="seconds wait=false may take (default 5)")
    p.set_defaults(func=main)


def _validate(args: argparse.Namespace) -> None:
    if args.base_url and not str(args.base_url).startswith(("http://", "https://")):
        raise UsageError(f"--base-url must be an http(s) URL, not {args.base_url!r}")
    if args.seed is not None and args.seed < 0:
        raise UsageError("--seed must not be negative")
    if args.max_examples is not None and args.max_examples < 1:
        raise UsageError("--max-examples must be at least 1")
    for name in ("webhook_deadline", "webhook_grace", "task_deadline", "no_wait_deadline", "webhook_port"):
        value = getattr(args, name)
        if value is not None and value < 0:
            raise UsageError(f"--{name.replace('_', '-')} must not be negative")
    try:
        rules = load_spec().rules
    except SpecError as exc:
        raise UsageError(str(exc)) from None
    unknown = [r for r in args.rule if r not in rules]
    if unknown:
        raise UsageError(f"unknown rule {', '.join(unknown)} (the spec has {', '.join(rules)})")
    for role in DEFAULT_APPS:
        raw = getattr(args, f"{role}_input")
        if raw is None:
            continue
        try:
            value = json.loads(raw)
        except ValueError:
            raise UsageError(f"--{role}-input is not JSON: {raw!r}") from None
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
    """pytest's exit code as the harness' own: 0 passed, 1 failed, 2 could not run."""
    return {0: 0, 1: 1}.get(pytest_code, 2)


def main(args: argparse.Namespace) -> int:
    try:
        _validate(args)
        if not (CONTRACT_TESTS / "conftest.py").exists():
            raise UsageError(f"the contract suite is not at {CONTRACT_TESTS}")
    except UsageError as exc:
        print(f"infsh-harness contract: error: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out).resolve()
    command = build_pytest_args(args, out)
    env = {**os.environ}
    env.pop("INFSH_BASE_URL", None)  # --base-url (already defaulted from it) is the one source
    code = _exit_code(subprocess.call(command, env=env))
    summary = out / "summary.md"
    if not summary.exists() and code != 0:  # the suite itself names the summary when it writes one
        print("infsh-harness contract: error: the suite wrote no summary (see the output above)", file=sys.stderr)
        code = 2
    from infsh_harness import report

    report.write_part("contract", out, exit_code=code, secrets=report.keys_in(os.environ))
    return code
