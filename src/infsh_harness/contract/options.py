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
from typing import Any

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
from infsh_harness.http.urls import check_base_url
from infsh_harness.rules.verdicts import MODES
from infsh_harness.spec import load_spec

__all__ = ["MAX_RATE_LIMIT_PROBE", "add_options", "dest", "flag", "settings_from"]

MAX_RATE_LIMIT_PROBE = 5000  # getTask requests the probe may send: past Get task's limit of 1000 a minute
# the options naming the environment variable of each key, and the variable read without them
_KEY_OPTIONS = (
    ("api-key-env", defaults.API_KEY_ENV),
    ("api-key-2-env", defaults.API_KEY_2_ENV),
    ("api-key-read-env", defaults.API_KEY_READ_ENV),
)
_ROLE_HELP = {"complete": "completes", "long": "runs long enough to cancel", "fail": "fails"}


def flag(name: str, prefix: str = "") -> str:
    """The flag of option ``name`` (its plain spelling, e.g. ``contract-profile``) under ``prefix``:
    ``--contract-profile`` plain, ``--infsh-profile`` as the plugin's (its prefix says whose it is)."""
    if prefix:
        name = name.removeprefix("contract-")
    return f"--{prefix}{name}"


def dest(name: str, prefix: str = "") -> str:
    """Where pytest keeps option ``name``'s value (``config.getoption(dest(...))``)."""
    return flag(name, prefix)[2:].replace("-", "_")


class _Group:
    """A pytest option group whose ``addoption("--name", ...)`` adds ``flag("name", prefix)``."""

    def __init__(self, group: pytest.OptionGroup, prefix: str) -> None:
        self.group, self.prefix = group, prefix

    def addoption(self, name: str, **kwargs: Any) -> None:
        self.group.addoption(flag(name.removeprefix("--"), self.prefix), **kwargs)


def add_options(parser: pytest.Parser, prefix: str = "") -> None:
    """The suite's options, in pytest's ``contract`` group; with ``prefix`` (the plugin's ``infsh-``)
    each flag is ``--infsh-<name>`` (see :func:`flag`), and the base URL is never taken from the
    environment, so that a run that does not name the suite's options is left alone."""
    group = _Group(parser.getgroup("infsh" if prefix else "contract", "infsh-harness contract suite"), prefix)
    group.addoption(
        "--base-url", default=None if prefix else os.environ.get(defaults.BASE_URL_ENV),
        help="server to test (default: embedded mock)",
    )  # fmt: skip
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
    group.addoption(
        "--contract-strict", action="store_true", help=f"the same as {flag('contract-mode', prefix)} strict"
    )
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
        group.addoption(
            f"--{role}-input", default=payload, help=f"JSON input for {flag(f'{role}-app', prefix)} (default {payload})"
        )
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
        "--rate-limit-probe",
        type=int,
        default=0,
        metavar="N",
        help=f"send up to N getTask requests, at the end of the run, to reach a 429 and check it (default 0: "
        f"none; at most {MAX_RATE_LIMIT_PROBE})",
    )
    group.addoption(
        "--mock-controls",
        choices=("auto", "yes", "no"),
        default="auto",
        help="whether the target has the mock's /_mock/ controls (auto: the embedded mock, or probe)",
    )
    for name, variable in _KEY_OPTIONS:
        group.addoption(
            f"--{name}", default=None, metavar="VARIABLE",
            help=f"the environment variable holding the key (default {variable}; keys never go on the command line)",
        )  # fmt: skip


def _app(config: pytest.Config, role: str, prefix: str) -> App:
    raw = config.getoption(dest(f"{role}-input", prefix))
    name = flag(f"{role}-input", prefix)
    try:
        payload = json.loads(raw)
    except ValueError:
        raise pytest.UsageError(f"{name} is not JSON: {raw!r}") from None
    if not isinstance(payload, dict):
        raise pytest.UsageError(f"{name} must be a JSON object, not {raw!r}")
    return App(str(config.getoption(dest(f"{role}-app", prefix))), payload)


def _seconds(config: pytest.Config, name: str, prefix: str, *, positive: bool = False) -> float:
    value = float(config.getoption(dest(name, prefix)))
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        kind = "positive" if positive else "non-negative"
        raise pytest.UsageError(f"{flag(name, prefix)} must be a {kind} number of seconds")
    return value


def _keys(config: pytest.Config, prefix: str) -> tuple[str, str | None, str | None]:
    """The two keys and the read-only one: from ``INFSH_API_KEY`` / ``INFSH_API_KEY_2`` /
    ``INFSH_API_KEY_READ``, or the variables the key options name."""
    environ = dict(os.environ)
    for name, variable in _KEY_OPTIONS:
        chosen = config.getoption(dest(name, prefix))
        if chosen:
            if not os.environ.get(chosen):
                raise pytest.UsageError(f"{flag(name, prefix)} names {chosen}, which is not set")
            environ[variable] = os.environ[chosen]
    api_key, api_key_2 = defaults.api_keys(environ)
    return api_key, api_key_2, environ.get(defaults.API_KEY_READ_ENV) or None


def settings_from(config: pytest.Config, prefix: str = "") -> SuiteSettings:
    """The run's settings from its options (spelt with ``prefix``) and the environment
    (``pytest.UsageError``: one line, for bad input)."""

    def option(name: str) -> Any:
        return config.getoption(dest(name, prefix))

    base_url = option("base-url") or None
    if base_url is not None:  # the CLI's own check: httpx's parser, and user-info refused, never shown
        try:
            base_url = check_base_url(base_url, flag("base-url", prefix))
        except ValueError as exc:
            raise pytest.UsageError(str(exc)) from None
    seed = option("seed")
    if seed is None:
        env_seed = os.environ.get("INFSH_CONTRACT_SEED")
        if env_seed is not None and not env_seed.isdigit():
            raise pytest.UsageError(f"INFSH_CONTRACT_SEED must be a whole number, not {env_seed!r}")
        seed = int(env_seed) if env_seed else random.SystemRandom().randrange(1 << 31)
    profile = option("contract-profile")
    if profile not in PROFILES:
        raise pytest.UsageError(f"unknown profile {profile!r} (choose from {', '.join(PROFILES)})")
    mode = "strict" if option("contract-strict") else option("contract-mode")
    if mode not in MODES:
        raise pytest.UsageError(f"unknown mode {mode!r} (choose from {', '.join(MODES)})")
    max_examples = option("max-examples")
    if max_examples is not None and max_examples < 1:
        raise pytest.UsageError(f"{flag('max-examples', prefix)} must be at least 1")
    report_dir = option("report-dir")
    spec = load_spec()
    rules = tuple(option("rule"))
    unknown = [r for r in rules if r not in spec.rules]
    if unknown:
        raise pytest.UsageError(f"unknown rule(s) {', '.join(unknown)}; the spec has {', '.join(spec.rules)}")
    for name in ("webhook-deadline", "webhook-grace", "task-deadline", "no-wait-deadline"):
        _seconds(config, name, prefix)
    probe = option("rate-limit-probe")
    if not 0 <= probe <= MAX_RATE_LIMIT_PROBE:
        name = flag("rate-limit-probe", prefix)
        raise pytest.UsageError(f"{name} must be from 0 to {MAX_RATE_LIMIT_PROBE}, not {probe}")
    api_key, api_key_2, api_key_read = _keys(config, prefix)
    return SuiteSettings(
        base_url=base_url.rstrip("/") if base_url else None,
        api_key=api_key,
        api_key_2=api_key_2,
        profile=profile,
        seed=seed,
        max_examples=max_examples or PROFILES[profile],
        report_dir=Path(report_dir) if report_dir else config.rootpath / "reports" / "contract",
        complete=_app(config, "complete", prefix),
        long=_app(config, "long", prefix),
        fail=_app(config, "fail", prefix),
        webhook_bind=option("webhook-bind"),
        webhook_host=option("webhook-host"),
        webhook_port=option("webhook-port"),
        webhook_deadline_s=option("webhook-deadline"),
        webhook_grace_s=option("webhook-grace"),
        task_deadline_s=option("task-deadline"),
        no_wait_deadline_s=option("no-wait-deadline"),
        mock_controls=option("mock-controls"),
        rules=rules,
        mode=mode,
        require_all=bool(option("require-all")),
        suite_deadline_s=_seconds(config, "suite-deadline", prefix, positive=True),
        request_timeout_s=_seconds(config, "request-timeout", prefix, positive=True),
        rate_limit_probe=probe,
        api_key_read=api_key_read,
    )
