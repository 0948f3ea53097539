"""Running the contract suite as a user would, against servers of ``tests/servers/``.

The suite runs as its own ``pytest`` process against a base URL, with ``--mock-controls no`` where
the target is meant to look foreign; its verdicts are read back from ``summary.json``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from infsh_harness.cli.contract import CONTRACT_TESTS
from infsh_harness.mock.config import MockConfig
from infsh_harness.mock.server import serve_in_thread
from tests.servers.independent import independent_app
from tests.servers.seeded import SeededProxy
from tests.servers.serve import serving

ROOT = Path(__file__).resolve().parents[2]

# The rules of the spec that have no check in the suite and no seeded bug yet: the suite reports each
# as `unchecked` ("no check yet"), never honoured. Every rule has both today; a rule added to the spec
# without them must be listed here, or tests/contract/test_detection.py fails.
AWAITING_CHECKS: frozenset[str] = frozenset()

# What the documented mock does not serve of the four pages, as the suite judges it (rule -> verdict):
# nothing. A rule the mock breaks again is listed here with the reason, or fixed.
MOCK_GAPS: dict[str, str] = {}
# the rules no server shows a run without --rate-limit-probe (the limits themselves, a 429): unchecked
# in every default run, the mock's included; tests/contract/test_detection.py runs the probe against
# the mock serving the pages' limits, where they are honoured
WITHOUT_PROBE = frozenset({"rate-limits", "rate-limited-429", "retry-after-valid"})
# where the independent server (tests/servers/independent.py) chooses otherwise than our conventions
INDEPENDENT_CHOICES = frozenset(
    {"cancel-idempotent", "isolation-404", "run-constraints-refused", "documented-responses"}
)
KEYS = ("inf_detect_key", "inf_detect_key_2")
OTHER_KEYS = ("inf_detect_key_3", "inf_detect_key_4")  # a second run at once, with limits of its own
PROBE = ("--rate-limit-probe", "1500")  # past Get task's limit of 1000 a minute: a 429 to check
READ_KEY = "inf_detect_read_key"  # a key with the apps:read scope only (rule session-scopes)
PHASE_MS = 20  # the clean mock's phases behind the proxy: slow enough to read several, with no /_mock/ call
# short deadlines where a bug makes the suite wait one out (a missing webhook, a run that waits)
FAST = ("--webhook-deadline", "4", "--webhook-grace", "0.3", "--no-wait-deadline", "2")


@contextmanager
def seeded(bugs: Sequence[str] = (), keys: Sequence[str] = KEYS, *, upstream: str = "mock") -> Iterator[str]:
    """A clean server behind the seeded proxy: the proxy's URL. ``upstream`` is the mock (its phases
    slowed by its config) or the independent server (``tests/servers/independent.py``), which speaks
    the documented error bodies the mock does not yet."""
    if upstream not in ("mock", "independent"):
        raise ValueError(f"no upstream {upstream!r}")
    behind = (
        serving(independent_app(keys, read_keys=(READ_KEY,))) if upstream == "independent"
        else serve_in_thread(config=MockConfig(keys=(*keys, f"{READ_KEY}=apps:read"), seed=7, phase_ms=PHASE_MS))
    )  # fmt: skip
    with behind as upstream_url:
        proxy = SeededProxy(upstream_url, bugs, (*keys, READ_KEY))
        with serving(proxy) as url:
            proxy.public_url = url
            yield url


@contextmanager
def independent(keys: Sequence[str] = KEYS) -> Iterator[str]:
    with serving(independent_app(keys, read_keys=(READ_KEY,))) as url:
        yield url


def suite_env(keys: Sequence[str] = KEYS) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INFSH_", "PYTEST_"))}
    env.update(INFSH_API_KEY=keys[0], INFSH_API_KEY_2=keys[1], INFSH_API_KEY_READ=READ_KEY,
               PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")  # fmt: skip
    return env


def run_suite(
    base_url: str, report_dir: Path, *args: str, keys: Sequence[str] = KEYS, foreign: bool = True
) -> subprocess.CompletedProcess[str]:
    """``pytest contract_tests`` against ``base_url``, quick profile, as its own process (no plugins: faster)."""
    command = [
        sys.executable, "-m", "pytest", str(CONTRACT_TESTS),
        "-c", str(CONTRACT_TESTS / "pytest.ini"), "--rootdir", str(CONTRACT_TESTS),
        "--base-url", base_url, "--contract-profile", "quick", "--seed", "7", "--report-dir", str(report_dir),
        *(("--mock-controls", "no") if foreign else ()), "-p", "pytest_timeout", "-q", *args,
    ]  # fmt: skip
    return subprocess.run(command, cwd=ROOT, env=suite_env(keys), capture_output=True, text=True, timeout=300)


def summary(report_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((report_dir / "summary.json").read_text(encoding="utf-8"))
    return data


def verdicts(data: dict[str, Any]) -> dict[str, str]:
    return {r["id"]: r["verdict"] for r in data["rules"]}
