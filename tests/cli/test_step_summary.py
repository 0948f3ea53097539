"""``GITHUB_STEP_SUMMARY``: run, contract, drift and load append the Markdown summary they wrote."""

from __future__ import annotations

import argparse
import os
import socket
import time
from pathlib import Path

import pytest

from infsh_harness.cli import contract, drift, load, main, run, step_summary


def test_nothing_without_the_variable(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("# contract\n", encoding="utf-8")
    assert step_summary.append(summary, environ={}) is False
    assert step_summary.append(summary, environ={step_summary.ENV: ""}) is False


def test_appends_each_summary_after_what_is_there(tmp_path: Path) -> None:
    target = tmp_path / "step.md"
    target.write_text("earlier step\n", encoding="utf-8")
    env = {step_summary.ENV: str(target)}
    for name in ("a", "b"):
        (tmp_path / f"{name}.md").write_text(f"# {name}", encoding="utf-8")
        assert step_summary.append(tmp_path / f"{name}.md", environ=env)
    assert target.read_text(encoding="utf-8") == "earlier step\n# a\n\n# b\n\n"


def test_a_summary_older_than_the_command_or_missing_is_not_appended(tmp_path: Path) -> None:
    target = tmp_path / "step.md"
    old = tmp_path / "old.md"
    old.write_text("# stale\n", encoding="utf-8")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    env = {step_summary.ENV: str(target)}
    assert step_summary.append(old, since=time.time(), environ=env) is False
    assert step_summary.append(tmp_path / "missing.md", environ=env) is False
    assert not target.exists()


def test_an_unwritable_summary_file_is_one_warning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "s.md").write_text("# s\n", encoding="utf-8")
    env = {step_summary.ENV: str(tmp_path / "no-such-folder" / "step.md")}
    assert step_summary.append(tmp_path / "s.md", environ=env) is False
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot append to GITHUB_STEP_SUMMARY" in err


def test_every_reporting_sub_command_appends_its_summary() -> None:
    for module in (run, contract, drift, load):
        assert hasattr(module.main, "__wrapped__"), f"{module.__name__}.main does not append its summary"


def test_a_decorated_main_appends_what_it_wrote_whatever_it_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "step.md"
    monkeypatch.setenv(step_summary.ENV, str(target))

    @step_summary.appends(lambda args: Path(args.out) / "s.md")
    def fake_main(args: argparse.Namespace) -> int:
        (Path(args.out) / "s.md").write_text("# failed run\n", encoding="utf-8")
        return 1

    assert fake_main(argparse.Namespace(out=str(tmp_path))) == 1
    assert target.read_text(encoding="utf-8") == "# failed run\n\n"


def test_contract_appends_its_summary_even_when_it_could_not_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "step.md"
    monkeypatch.setenv(step_summary.ENV, str(target))
    with socket.socket() as s:  # a port that was free a moment ago and has no listener
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "contract"
    code = main(["contract", "--base-url", f"http://127.0.0.1:{port}", "--profile", "quick", "--out", str(out)])
    assert code == 2
    appended = target.read_text(encoding="utf-8")
    assert appended.rstrip("\n") == (out / "summary.md").read_text(encoding="utf-8").rstrip("\n")
    assert "cannot reach the target" in appended


def test_a_usage_error_appends_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "step.md"
    monkeypatch.setenv(step_summary.ENV, str(target))
    with pytest.raises(SystemExit) as exited:  # refused where it is parsed: argparse's one line, exit 2
        main(["contract", "--base-url", "ftp://host", "--out", str(tmp_path / "c")])
    assert exited.value.code == 2
    assert not target.exists()
