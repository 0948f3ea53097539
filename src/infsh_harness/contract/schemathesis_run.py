"""Running schemathesis (``st run``) on the spec against a target, with the contract's own checks.

All four phases (examples, coverage, fuzzing, stateful through the spec's links), the built-in
checks and every check of :mod:`infsh_harness.contract.schemathesis_checks`. Two built-in checks
give way to ours, which name the rule by the source of the constraint at stake:
``negative_data_rejection`` to ``run_refused``, ``response_schema_conformance`` to
``response_shape`` and the other body rules. It runs as its own process — ``st`` is the tool teams
know, and its JUnit and HAR reports are its own — and the result is read back from its JUnit
report, one entry per operation plus one for stateful runs, each finding folded into the rule
verdicts by :mod:`infsh_harness.contract.schemathesis_fold`. The API key reaches ``st`` through
the environment (``${INFSH_API_KEY}`` in the config file), never on a command line; every file it
writes is scrubbed of the keys afterwards, for a server may echo one back.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

from infsh_harness.redact import scrub_file, secrets_of
from infsh_harness.spec import Spec

__all__ = [
    "FAILED_MARK",
    "PHASES",
    "SINK_ENV",
    "STATEFUL_LABEL",
    "SchemathesisResult",
    "SchemathesisSettings",
    "build_command",
    "operation_label",
    "parse_junit",
    "parse_phases",
    "run_schemathesis",
]

PHASES = ("examples", "coverage", "fuzzing", "stateful")
STATEFUL_LABEL = "Stateful tests"
PASSED_MARK = "\u2705"  # how st's summary marks a phase that passed
FAILED_MARK = "\u274c"  # ... and one in which a check failed
KEY_ENV = "INFSH_API_KEY"
KEY_2_ENV = "INFSH_API_KEY_2"
# replaced by our own checks, which tell a documented constraint from a convention; and
# use_after_free (ST301), which takes the Sessions page's ended session, still read after its
# DELETE with status `ended` (rule session-end), for a deleted resource still served
EXCLUDED_CHECKS = ("negative_data_rejection", "response_schema_conformance", "use_after_free")
SINK_ENV = "INFSH_CONTRACT_WEBHOOK_SINK"  # read by schemathesis_checks in the st process
_HOOKS = "infsh_harness.contract.schemathesis_checks"
# the key by reference only; no crash cache left behind in the working directory
_CONFIG = f'headers = {{ Authorization = "Bearer ${{{KEY_ENV}}}" }}\n\n[cache]\nenabled = false\n'


@dataclass(frozen=True)
class SchemathesisSettings:
    spec_path: Path
    base_url: str
    report_dir: Path
    seed: int
    max_examples: int = 100
    phases: Sequence[str] = PHASES
    request_timeout_s: float = 30.0
    webhook_sink: str | None = None
    run_timeout_s: float = 600.0


@dataclass(frozen=True)
class SchemathesisResult:
    exit_code: int
    seconds: float
    junit_path: Path
    har_path: Path
    output_path: Path
    failures: Mapping[str, Sequence[str]] = field(default_factory=dict)  # label -> failure texts
    errors: Mapping[str, Sequence[str]] = field(default_factory=dict)  # label -> error texts
    labels: Sequence[str] = ()
    phases: Mapping[str, str] = field(default_factory=dict)  # phase -> the mark st's summary gave it
    timed_out: bool = False  # st was stopped at its run timeout (the suite's deadline)

    def phase_passed(self, phase: str) -> bool:
        return self.phases.get(phase) == PASSED_MARK

    @property
    def crashed(self) -> bool:
        """``st`` ended without a usable report (bad config, unreachable target, a timeout)."""
        return not self.labels and self.exit_code != 0


def operation_label(spec: Spec, operation_id: str) -> str:
    """How schemathesis names an operation in its reports: ``POST /run``."""
    op = spec.operation(operation_id)
    return f"{op.method} {op.path}"


def build_command(settings: SchemathesisSettings, config_path: Path) -> list[str]:
    out = settings.report_dir
    return [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config_path),
        "run",
        str(settings.spec_path),
        "--url",
        settings.base_url,
        "--phases",
        ",".join(settings.phases),
        "--checks",
        "all",
        "--exclude-checks",
        ",".join(EXCLUDED_CHECKS),
        "--continue-on-failure",  # a convention done differently must not hide what comes after it
        "--mode",
        "all",
        "--workers",
        "1",  # the task_history check reads exchanges in the order they were answered
        "--max-examples",
        str(settings.max_examples),
        "--seed",
        str(settings.seed),
        "--generation-database",
        "none",
        "--request-timeout",
        f"{settings.request_timeout_s:g}",
        "--report",
        "junit,har",
        "--report-dir",
        str(out),
        "--report-junit-path",
        str(out / "junit.xml"),
        "--report-har-path",
        str(out / "schemathesis.har"),
        "--no-color",
    ]


def run_schemathesis(
    settings: SchemathesisSettings, api_key: str, api_key_2: str | None = None, secrets: Sequence[str] = ()
) -> SchemathesisResult:
    """Run ``st`` once; its console output goes to ``report_dir/output.txt``; ``secrets`` (the keys)
    are scrubbed from every file it wrote."""
    out = settings.report_dir
    out.mkdir(parents=True, exist_ok=True)
    junit, har, output = out / "junit.xml", out / "schemathesis.har", out / "output.txt"
    for stale in (junit, har):
        stale.unlink(missing_ok=True)
    config_path = out / "schemathesis.toml"
    config_path.write_text(_CONFIG, encoding="utf-8")
    env = {**os.environ, KEY_ENV: api_key, "SCHEMATHESIS_HOOKS": _HOOKS, "NO_COLOR": "1"}
    env.pop(SINK_ENV, None)
    env.pop(KEY_2_ENV, None)
    if api_key_2:
        env[KEY_2_ENV] = api_key_2
    if settings.webhook_sink:
        env[SINK_ENV] = settings.webhook_sink
    started, timed_out = time.monotonic(), False
    with output.open("w", encoding="utf-8") as log:
        try:
            code = subprocess.call(
                build_command(settings, config_path),
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                timeout=settings.run_timeout_s,
            )
        except subprocess.TimeoutExpired:
            log.write(f"\nschemathesis did not finish within {settings.run_timeout_s:g} s\n")
            code, timed_out = -1, True
    seconds = time.monotonic() - started
    for written in (junit, har, output):
        scrub_file(written, secrets_of([api_key, api_key_2, *secrets]))
    labels, failures, errors = parse_junit(junit) if junit.exists() else ((), {}, {})
    phases = parse_phases(output.read_text(encoding="utf-8", errors="replace"))
    return SchemathesisResult(code, seconds, junit, har, output, failures, errors, labels, phases, timed_out)


def parse_phases(console: str) -> dict[str, str]:
    """``{"stateful": "✅", ...}`` from the "Test Phases:" block of st's console summary."""
    phases: dict[str, str] = {}
    block = console.split("Test Phases:", 1)[1] if "Test Phases:" in console else ""
    for line in block.splitlines()[1:]:
        parts = line.split()
        if len(parts) != 2 or parts[1].lower() not in PHASES:
            break
        phases[parts[1].lower()] = parts[0]
    return phases


def parse_junit(path: Path) -> tuple[list[str], dict[str, list[str]], dict[str, list[str]]]:
    """``(testcase labels, failures by label, errors by label)`` of a JUnit report."""
    root = ElementTree.parse(path).getroot()
    labels: list[str] = []
    failures: dict[str, list[str]] = {}
    errors: dict[str, list[str]] = {}
    for case in root.iter("testcase"):
        label = case.get("name", "")
        labels.append(label)
        for kind, into in (("failure", failures), ("error", errors)):
            for item in case.findall(kind):
                into.setdefault(label, []).append((item.text or item.get("message") or "").strip())
    return labels, failures, errors
