"""``infsh-harness contract``: options reach the suite, bad input is one line and exit 2, reports land in --out."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from infsh_harness.cli import contract as contract_cli
from infsh_harness.cli import main


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    contract_cli.add_parser(parser.add_subparsers())
    return parser.parse_args(["contract", *argv])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--base-url", "ftp://host"], "--base-url must be an http(s) URL"),
        (["--rule", "no-such-rule"], "unknown rule no-such-rule"),
        (["--complete-input", "{oops"], "--complete-input is not JSON"),
        (["--long-input", "[1]"], "--long-input must be a JSON object"),
        (["--webhook-deadline", "-1"], "--webhook-deadline must not be negative"),
        (["--max-examples", "0"], "--max-examples must be at least 1"),
    ],
)
def test_contract_bad_input_is_one_line_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["contract", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_contract_unknown_option_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as excinfo:
        main(["contract", "--no-such-option"])
    assert excinfo.value.code == 2


def test_contract_passes_its_options_to_the_suite(tmp_path: Path) -> None:
    args = parse(
        "--base-url", "http://127.0.0.1:9", "--profile", "quick", "--seed", "4", "--rule", "one-webhook",
        "--long-app", "acme/slow", "--long-input", '{"s": 60}', "--webhook-host", "10.0.0.2", "--webhook-deadline", "3",
    )  # fmt: skip
    argv = contract_cli.build_pytest_args(args, tmp_path)
    assert argv[3] == str(contract_cli.CONTRACT_TESTS)
    joined = " ".join(argv)
    for part in (
        "--contract-profile quick", f"--report-dir {tmp_path}", "--base-url http://127.0.0.1:9", "--seed 4",
        "--rule one-webhook", "--long-app acme/slow", "--webhook-host 10.0.0.2", "--webhook-deadline 3.0",
    ):  # fmt: skip
        assert part in joined
    assert '{"s": 60}' in argv


def test_contract_runs_the_suite_on_the_embedded_mock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INFSH_BASE_URL", raising=False)
    # a rule of the Tasks page the mock honours (its error bodies are not yet the REST overview's, so
    # the rules that read an error body are broken on it: see tests/contract/test_detection.py)
    rule = "cancel-idempotent"
    code = main(["contract", "--profile", "quick", "--seed", "3", "--rule", rule, "--out", str(tmp_path)])
    assert code == 0
    data = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert data["broken"] == [] and data["rules"]["cancel-idempotent"]["verdict"] == "honoured"
    assert (tmp_path / "summary.md").exists() and (tmp_path / "junit.xml").exists()


def test_contract_fails_with_exit_1_when_a_rule_is_broken(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from infsh_harness.mock.config import MockConfig
    from infsh_harness.mock.server import serve_in_thread

    monkeypatch.setenv("INFSH_API_KEY", "inf_test_key")
    with serve_in_thread(config=MockConfig(bugs=frozenset({"cancel_flag_wrong"}))) as url:
        code = main(
            ["contract", "--base-url", url, "--profile", "quick", "--rule", "cancel-idempotent", "--out", str(tmp_path)]
        )
    assert code == 1
    assert json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))["broken"] == ["cancel-idempotent"]
