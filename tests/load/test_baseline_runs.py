"""History and baselines end to end: the same build twice gives no regression verdict; a mock with
40 ms added latency gives one that names ``time_to_terminal``; ``infsh-harness history`` lists and
plots the runs. Each run: run_wait, 20 tasks/s for 6 s (enough seconds for the per-second test)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from infsh_harness.load.processes import embedded_mock

LOAD = ("load", "--scenario", "run_wait", "--rate", "20", "-t", "6s", "--no-slo")


def _compared(summary: dict[str, Any], measure: str, quantile: str) -> dict[str, Any]:
    (found,) = [c for c in summary["baseline"]["comparisons"]
                if c["measure"] == measure and c["quantile"] == quantile]  # fmt: skip
    return dict(found)


def test_same_build_twice_passes_and_added_latency_is_a_regression_naming_the_metric(tmp_path: Path, kit: Any) -> None:
    history = tmp_path / "history.sqlite"
    with embedded_mock(kit.env()) as plain:
        first = kit.run(*LOAD, "--host", plain, "--history", str(history), "--baseline", "last",
                        "--out", str(tmp_path / "1"))  # fmt: skip
        assert first.returncode == 0, first.stdout + first.stderr  # nothing recorded yet: nothing to compare
        assert "no earlier run" in kit.summary(tmp_path / "1")["baseline"]["message"]
        second = kit.run(*LOAD, "--host", plain, "--history", str(history), "--baseline", "last",
                         "--out", str(tmp_path / "2"))  # fmt: skip
    assert second.returncode == 0, second.stdout + second.stderr
    same = kit.summary(tmp_path / "2")
    assert same["verdict"] == "pass" and same["regressions"] == []
    assert same["baseline"]["run_id"] == 1 and same["history"]["run_id"] == 2
    median = _compared(same, "time_to_terminal", "p50")
    assert median["judged"] and median["verdict"] in ("same", "improvement")  # compared, not skipped
    tail = _compared(same, "time_to_terminal", "p95")
    assert not tail["judged"] and tail["verdict"] != "not compared"  # shown only: a neighbour moves it

    with embedded_mock(kit.env(), ("--latency-ms", "40")) as slow:
        third = kit.run(*LOAD, "--host", slow, "--history", str(history), "--baseline", "1",
                        "--out", str(tmp_path / "3"))  # fmt: skip
    assert third.returncode == 1, third.stdout + third.stderr
    slower = kit.summary(tmp_path / "3")
    assert slower["verdict"] == "fail" and slower["breaches"] == []  # --no-slo: the regression alone fails it
    ttt = _compared(slower, "time_to_terminal", "p50")
    assert ttt["verdict"] == "regression"
    assert ttt["change"] >= 30 and ttt["current"] >= ttt["baseline"] + 30
    line = next(r for r in slower["regressions"] if r.startswith("run_wait time_to_terminal p50"))
    assert f"{ttt['baseline']:g} ms -> {ttt['current']:g} ms" in line
    assert f"regression: {line}" in third.stdout

    with sqlite3.connect(history) as db:
        runs = db.execute("SELECT id, verdict, model, rate, target FROM runs ORDER BY id").fetchall()
        count, p50, histogram = db.execute(
            "SELECT count, p50, histogram FROM measures WHERE run_id = 3 AND measure = 'time_to_terminal'"
        ).fetchone()
    # the first judged nothing (no objective, nothing to compare with): "unjudged", which exits 0
    assert [(r[0], r[1], r[2], r[3]) for r in runs] == [(1, "unjudged", "open", 20.0), (2, "pass", "open", 20.0),
                                                        (3, "fail", "open", 20.0)]  # fmt: skip
    assert count > 100 and p50 == ttt["current"] and histogram.startswith("HISTF")

    listed = kit.run("history", str(history))
    assert listed.returncode == 0, listed.stderr
    assert [line.split()[0] for line in listed.stdout.splitlines()[1:]] == ["1", "2", "3"]
    png = tmp_path / "ttt.png"
    plotted = kit.run("history", str(history), "--plot", "time_to_terminal", "--out", str(png))
    assert plotted.returncode == 0, plotted.stderr
    assert png.read_bytes().startswith(b"\x89PNG")
    shown = kit.run("history", str(history), "--show", "3")
    assert shown.returncode == 0 and "time_to_terminal" in shown.stdout
