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
        (["--base-url", "ftp://host"], "argument --base-url: the URL must be an http:// or https:// URL"),
        (["--base-url", "http://user:pw@127.0.0.1:9"], "must not carry user-info"),
        (["--base-url", "http://::1:9"], "an IPv6 address goes in brackets"),
        (["--rule", "no-such-rule"], "unknown rule 'no-such-rule'"),
        (["--complete-input", "{oops"], "--complete-input is not JSON"),
        (["--long-input", "[1]"], "--long-input must be a JSON object"),
        (["--webhook-deadline", "-1"], "argument --webhook-deadline: expected 0 or more"),
        (["--webhook-port", "65536"], "argument --webhook-port: expected a port from 0 to 65535"),
        (["--out", __file__], "argument --out: "),
        (["--max-examples", "0"], "argument --max-examples: expected a finite number at least 1"),
        (["--mode", "lenient"], "argument --mode: invalid choice: 'lenient'"),
        (["--require-all", "--rule", "no-such-rule"], "unknown rule 'no-such-rule'"),
        (["--complete-input", "[" * 50_000], "--complete-input is not JSON"),
        (["--suite-deadline", "0"], "argument --suite-deadline: expected a positive number"),
        (["--request-timeout", "nan"], "argument --request-timeout: expected a positive number"),
        (["--rate-limit-probe", "-1"], "--rate-limit-probe: expected a finite number at least 0 and at most 5000"),
        (["--rate-limit-probe", "100000"], "--rate-limit-probe: expected a finite number at least 0 and at most 5000"),
    ],
)
def test_contract_bad_input_is_one_line_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        code = main(["contract", *argv])
    except SystemExit as exc:  # refused by the argument parser itself
        code = int(exc.code or 0)
    assert code == 2
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
        "--strict", "--require-all", "--suite-deadline", "90", "--request-timeout", "7", "--mock-controls", "no",
        "--rate-limit-probe", "1200",
    )  # fmt: skip
    argv = contract_cli.build_pytest_args(args, tmp_path)
    assert argv[3] == str(contract_cli.CONTRACT_TESTS)
    joined = " ".join(argv)
    for part in (
        "--contract-profile quick", f"--report-dir {tmp_path}", "--base-url http://127.0.0.1:9", "--seed 4",
        "--rule one-webhook", "--long-app acme/slow", "--webhook-host 10.0.0.2", "--webhook-deadline 3.0",
        "--contract-mode strict", "--require-all", "--suite-deadline 90.0", "--request-timeout 7.0",
        "--mock-controls no", "--rate-limit-probe 1200",
    ):  # fmt: skip
        assert part in joined
    assert '{"s": 60}' in argv
    assert "--contract-mode default" in " ".join(contract_cli.build_pytest_args(parse(), tmp_path))


def test_contract_runs_the_suite_on_the_embedded_mock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INFSH_BASE_URL", raising=False)
    code = main(["contract", "--profile", "quick", "--seed", "3", "--rule", "unknown-task-404", "--out", str(tmp_path)])
    assert code == 0
    data = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert (data["mode"], data["exit_code"], data["broken"]) == ("default", 0, [])
    assert [(r["id"], r["verdict"]) for r in data["rules"]] == [("unknown-task-404", "honoured")]
    assert (tmp_path / "summary.md").exists() and (tmp_path / "junit.xml").exists()


def test_contract_fails_with_exit_1_when_a_rule_is_broken(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.contract.runs import KEYS, seeded

    monkeypatch.setenv("INFSH_API_KEY", KEYS[0])
    with seeded(["unknown_task_500"]) as url:
        code = main(["contract", "--base-url", url, "--profile", "quick", "--rule", "unknown-task-404",
                     "--mock-controls", "no", "--out", str(tmp_path)])  # fmt: skip
    assert code == 1
    data = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert (data["exit_code"], data["broken"]) == (1, ["unknown-task-404"])


def test_contract_exits_2_when_the_target_cannot_be_reached(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:  # a port that was free a moment ago and has no listener
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code = main(["contract", "--base-url", f"http://127.0.0.1:{port}", "--profile", "quick", "--out", str(tmp_path)])
    assert code == 2
    data = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert data["exit_code"] == 2 and "cannot reach the target" in data["stopped"]["reason"]


def test_a_run_that_checked_no_rule_says_so_and_does_not_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Only a rule the run cannot see is selected (a 429, with no rate-limit probe asked for): every
    verdict is unchecked, which is no pass (exit 2)."""
    rule = "rate-limited-429"
    monkeypatch.delenv("INFSH_BASE_URL", raising=False)
    code = main(["contract", "--profile", "quick", "--rule", rule, "--out", str(tmp_path)])
    assert code == 2
    assert "no rule could be checked: the run judged nothing" in capsys.readouterr().err
    data = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert (data["exit_code"], data["verdict"], data["unchecked"]) == (2, "error", [rule])
    assert "the run judged nothing" in (tmp_path / "summary.md").read_text(encoding="utf-8")
