"""A server the suite was not built with, honest where the pages speak: it passes by default, every
documented and http rule honoured, its other choices reported as ``differs``; ``--contract-strict``
fails it on exactly those."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from infsh_harness.spec import load_spec
from tests.contract.runs import (
    AWAITING_CHECKS,
    FAST,
    INDEPENDENT_CHOICES,
    KEYS,
    OTHER_KEYS,
    PROBE,
    independent,
    run_suite,
    summary,
    verdicts,
)

SPEC = load_spec()
ITS_CHOICES = INDEPENDENT_CHOICES  # where it chooses otherwise than our conventions


@pytest.fixture(scope="module")
def default_and_strict(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, dict[str, Any]]]:
    """Both runs at once, against one server (each is mostly a process starting up and waiting), each
    with keys of its own: the rate-limit probe uses up its key's limit of reads."""
    keys = {"default": KEYS, "strict": OTHER_KEYS}

    def run(url: str, mode: str) -> tuple[int, dict[str, Any]]:
        report_dir: Path = tmp_path_factory.mktemp(mode)
        result = run_suite(url, report_dir, "--contract-mode", mode, *FAST, *PROBE, keys=keys[mode])
        return result.returncode, summary(report_dir)

    with (
        independent((*KEYS, *OTHER_KEYS)) as url,
        ThreadPoolExecutor(max_workers=2, thread_name_prefix="foreign") as pool,
    ):
        futures = {mode: pool.submit(run, url, mode) for mode in ("default", "strict")}
        return {mode: future.result(timeout=300) for mode, future in futures.items()}


def test_an_honest_foreign_server_passes_by_default_with_its_choices_as_differs(
    default_and_strict: dict[str, tuple[int, dict[str, Any]]],
) -> None:
    code, data = default_and_strict["default"]
    judged = verdicts(data)
    assert (code, data["exit_code"], data["broken"]) == (0, 0, []), data["rules"]
    assert set(data["differs"]) == ITS_CHOICES
    for rule in SPEC.rules.values():
        if rule.id in AWAITING_CHECKS:  # no check yet: said, never passed
            assert judged[rule.id] == "unchecked", (rule.id, data["rules"])
        elif not rule.is_convention:  # never a false failure, never a false reassurance
            assert judged[rule.id] == "honoured", (rule.id, data["rules"])
    # what it never gave a chance to see is said, not passed: no late cancel was answered with success
    assert judged["cancel-flag"] == "unchecked"
    differs = {r["id"]: r for r in data["rules"] if r["verdict"] == "differs"}
    assert "got 409" in differs["cancel-idempotent"]["reason"] and differs["cancel-idempotent"]["evidence"] >= 1
    assert all(r["source"]["kind"] == "convention" for r in differs.values())


def test_strict_mode_fails_it_on_those_conventions(default_and_strict: dict[str, tuple[int, dict[str, Any]]]) -> None:
    code, data = default_and_strict["strict"]
    assert (code, data["mode"], data["exit_code"]) == (1, "strict", 1)
    assert set(data["broken"]) == ITS_CHOICES and data["differs"] == []
