"""The contract suite's pytest options, and the settings of one run built from them and the environment.

This module is part of the suite's plugin: like ``conftest.py`` it may read the environment (the
keys, ``INFSH_BASE_URL``, ``INFSH_CONTRACT_PROFILE``, ``INFSH_CONTRACT_SEED``). Bad input is a
``pytest.UsageError`` naming the option, which pytest prints as one line.
"""

from __future__ import annotations

import json
import math
import os
import random
from pathlib import Path

import pytest

from infsh_harness import defaults
from infsh_harness.contract.journeys import App
from infsh_harness.contract.settings import (
    DEFAULT_APPS,
    DEFAULT_REQUEST_TIMEOUT_S,
    DEFAULT_SUITE_DEADLINE_S,
    PROFILES,
    SuiteSettings,
)
from infsh_harness.rules.verdicts import MODES
from infsh_harness.spec import load_spec

__all__ = ["add_options", "settings_from"]

_ROLE_HELP = {"complete": "completes", "long": "runs long enough to cancel", "fail": "fails"}


def add_options(parser: pytest.Parser) -> None:
    """The suite's options, in pytest's ``contract`` group."""
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


def settings_from(config: pytest.Config) -> SuiteSettings:
    """The run's settings from its options and the environment (``pytest.UsageError``: one line, for bad input)."""
    base_url = config.getoption("base_url") or None
    if base_url is not None:  # the CLI's own check: httpx's parser, and user-info refused, never shown
        from infsh_harness.cli.args import check_base_url

        try:
            base_url = check_base_url(base_url)
        except ValueError as exc:
            raise pytest.UsageError(str(exc)) from None
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
