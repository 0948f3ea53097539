"""``infsh-harness history``: lists, shows and plots recorded runs; refuses what is not a history."""

from __future__ import annotations

from pathlib import Path

import pytest

from infsh_harness.cli import main
from infsh_harness.load.history import ScenarioRow, record_run
from infsh_harness.load.records import MeasureRecord


def _history(path: Path, runs: int = 3) -> Path:
    for n in range(runs):
        record = MeasureRecord("run_wait", "time_to_terminal", "ms", 100, 0, {"p50": 20.0 + n, "p95": 30.0 + n,
                               "p99": 40.0 + n}, 21.0, None, [(1000, 20, 20.0, 30.0)])  # fmt: skip
        record_run(path, {"started_at": f"2026-01-0{n + 1}T00:00:00Z", "seconds": 9.0, "git_commit": f"{n}" * 40,
                          "target": "embedded mock", "embedded_mock": True, "model": "open", "rate": 10.0,
                          "users": None, "run_time_s": 6.0, "options": {}, "verdict": "pass",
                          "harness_version": "0"}, [ScenarioRow("run_wait", "completed", True)], [record])  # fmt: skip
    return path


def test_history_lists_runs_oldest_first(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["history", str(_history(tmp_path / "h.sqlite"))]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines[1:]] == ["1", "2", "3"]
    assert "0000000000" in lines[1] and "10/s" in lines[1] and "run_wait" in lines[1]


def test_history_shows_a_run_and_plots_a_measure(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = _history(tmp_path / "h.sqlite")
    assert main(["history", str(path), "--show", "2"]) == 0
    assert "time_to_terminal" in capsys.readouterr().out
    png = tmp_path / "plot.png"
    assert main(["history", str(path), "--plot", "time_to_terminal", "--quantile", "p50", "--out", str(png)]) == 0
    assert png.read_bytes().startswith(b"\x89PNG")
    assert "in 3 runs" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--show", "9"], "has no run 9"),
        (["--plot", "nope"], "no run recorded the measure 'nope'"),
        (["--scenario", "run_wait"], "--scenario, --quantile and --out go with --plot"),
        (["--plot", "time_to_terminal", "--out", "/nonexistent/dir/x.png"], "cannot write the plot"),
    ],
)
def test_history_refuses_in_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str],
                                     message: str) -> None:  # fmt: skip
    assert main(["history", str(_history(tmp_path / "h.sqlite")), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_history_refuses_what_is_not_a_history(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["history", str(tmp_path / "absent.sqlite")]) == 2
    assert "no history file at" in capsys.readouterr().err
    binary = tmp_path / "binary.sqlite"
    binary.write_bytes(bytes(range(256)) * 16)
    assert main(["history", str(binary)]) == 2
    assert capsys.readouterr().err.count("\n") == 1
