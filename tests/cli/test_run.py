"""``infsh-harness run``: steps in order, drift fed by the contract run's HAR, an index of reports."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from infsh_harness.cli import main
from infsh_harness.cli.run import Outcome, Step, exit_code, mock_environ, plan, write_index


def test_runall_plan_orders_steps_and_honours_skip(tmp_path: Path) -> None:
    names = [make().name for make in plan("http://127.0.0.1:1", tmp_path, "5s", [])]
    assert names == ["contract", "load", "drift"]
    assert [make().name for make in plan("http://127.0.0.1:1", tmp_path, "5s", ["load"])] == ["contract", "drift"]


def test_runall_drift_reads_the_har_written_by_the_contract_step(tmp_path: Path) -> None:
    steps = plan("http://127.0.0.1:1", tmp_path, "5s", ["contract", "load"])
    assert "--har" not in steps[0]().argv
    har = tmp_path / "contract" / "schemathesis" / "schemathesis.har"
    har.parent.mkdir(parents=True)
    har.write_text("{}")
    argv = steps[0]().argv
    assert argv[argv.index("--har") + 1] == str(har)


def test_runall_index_links_reports_and_marks_failures(tmp_path: Path) -> None:
    (tmp_path / "drift").mkdir()
    (tmp_path / "drift" / "drift.md").write_text("# report\n")
    outcomes = [
        Outcome(Step("drift", ("x",), "drift/drift.md"), 0, 1.0),
        Outcome(Step("load", ("x",), "load/summary.md"), 1, 2.0),
        Outcome(Step("drift-wire", ("x",), "drift-wire/drift.md", gating=False), 1, 3.0),
    ]
    text = write_index(tmp_path, "http://127.0.0.1:1", outcomes).read_text()
    assert "| drift | pass | 1.0 s | [drift/drift.md](drift/drift.md)" in text
    assert "| load | fail | 2.0 s | (none written)" in text
    assert "exit 1 (informational)" in text


def test_runall_says_a_step_could_not_run_or_was_not_valid_and_exits_accordingly(tmp_path: Path) -> None:
    (tmp_path / "load").mkdir()
    (tmp_path / "load" / "summary.md").write_text("# an earlier run's\n")
    later = time.time() + 60  # the step started after the report was written: the report is not this run's

    def outcome(name: str, code: int, gating: bool = True, started_at: float | None = None) -> Outcome:
        return Outcome(Step(name, ("x",), f"{name}/summary.md", gating=gating), code, 1.0, started_at)

    text = write_index(tmp_path, "http://127.0.0.1:1", [outcome("contract", 2), outcome("load", 3, started_at=later),
                                                         outcome("drift", 130)]).read_text()  # fmt: skip
    assert "| contract | could not run |" in text and "| drift | interrupted |" in text
    assert "| load | not valid | 1.0 s | (none written) |" in text
    assert outcome("load", 3, started_at=time.time() - 60).wrote(tmp_path)  # written by the step: linked
    assert exit_code([outcome("contract", 0), outcome("drift", 1, gating=False)]) == 0
    assert exit_code([outcome("contract", 1), outcome("load", 0)]) == 1
    assert exit_code([outcome("contract", 0), outcome("load", 3)]) == 1  # not valid fails the run
    assert exit_code([outcome("contract", 1), outcome("load", 2)]) == 2  # could not run outweighs a failure
    assert exit_code([outcome("load", 130)]) == 2 and exit_code([outcome("drift", 2, gating=False)]) == 0
    assert outcome("contract", 3).verdict == "could not run"  # "not valid" is the load step's alone


def test_runall_drift_only_on_the_embedded_mock(tmp_path: Path) -> None:
    out = tmp_path / "reports"
    result = subprocess.run(
        [sys.executable, "-m", "infsh_harness.cli", "run", "--out", str(out), "--skip", "contract", "--skip", "load"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    # the documented mock serves the four pages: the drift report against them finds nothing
    # (tests/drift/test_probe.py, MOCK_GAPS), and the run passes
    assert result.returncode == 0, result.stdout + result.stderr
    index = (out / "index.md").read_text()
    assert "| drift | pass |" in index
    assert "| drift-wire | exit 1 (informational) |" in index  # the wire profile drifts, by design
    assert (out / "drift" / "drift.json").exists() and (out / "drift-wire" / "drift.json").exists()
    page = (out / "index.html").read_text()  # the skipped steps are said so, the others shown
    assert 'data-part="contract" data-state="missing"' in page and 'data-part="load" data-state="missing"' in page
    assert "The load step was left out (--skip load)." in page and 'data-part="drift" data-state="drift"' in page
    assert (out / "drift" / "drift.html").exists() and (out / "drift-wire" / "drift.html").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--base-url", "ftp://x"], "argument --base-url: the URL must be an http:// or https:// URL"),
        (["--base-url", "http://me:pw@127.0.0.1:1"], "argument --base-url: the URL must not carry user-info"),
        (["--load-time", "soon"], "--load-time: expected a duration"),
        (["--base-url", "https://tasks.example"], "pass --allow-remote to load it too, or --skip load"),
    ],
)
def test_runall_refuses_bad_input_before_any_step(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str], message: str
) -> None:
    try:
        code = main(["run", "--out", str(tmp_path / "out"), *argv])
    except SystemExit as exc:  # refused where it is parsed: argparse's usage error
        code = exc.code  # type: ignore[assignment]
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_runall_mock_accepts_the_keys_the_steps_send() -> None:
    env = mock_environ({"INFSH_API_KEY": "inf_ci", "PATH": "/bin"})
    assert env["INFSH_MOCK_KEYS"] == "inf_test_key,inf_test_key_2,inf_ci" and env["PATH"] == "/bin"
    env = mock_environ({"INFSH_MOCK_KEYS": "k1, k2", "INFSH_API_KEY": "k1", "INFSH_API_KEY_2": "k3"})
    assert env["INFSH_MOCK_KEYS"] == "k1,k2,k3"


def test_runall_index_masks_credentials_in_the_target(tmp_path: Path) -> None:
    text = write_index(tmp_path, "https://user:secret@tasks.example", []).read_text()
    assert "secret" not in text and "https://***@tasks.example" in text
