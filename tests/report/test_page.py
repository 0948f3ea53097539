"""The pages as written: every part shown or said missing, every file linked, nothing fetched, no key."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import pytest

from infsh_harness import report
from infsh_harness.cli.run import Outcome, Step, write_record
from infsh_harness.report.charts import draw
from infsh_harness.report.read_load import Ceiling, Chartable, HistoryPoint

FIXTURES = Path(__file__).resolve().parent / "fixtures"


class _Page(HTMLParser):
    """The attributes a page has: every element's, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))

    def attribute(self, name: str) -> list[str]:
        return [str(a[name]) for _, a in self.elements if a.get(name) is not None]


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def test_index_shows_every_part_and_says_which_could_not_run(run_folder) -> None:  # type: ignore[no-untyped-def]
    out = run_folder([("contract", 1), ("load", 2), ("drift", 1)])
    (out / "load" / "summary.json").unlink()  # the load step failed to run: no summary
    (out / "logs" / "load.log").write_text("starting\nerror: locust could not start: inf_leaked_key\n")
    html = report.write_index(out).read_text(encoding="utf-8")
    page = _parse(html)
    sections = {a["id"]: a.get("data-state") for tag, a in page.elements if tag == "section" and a.get("data-part")}
    assert sections == {"contract": "contract", "load": "missing", "drift": "drift"}
    assert '<span class="verdict badge tone-bad" data-verdict="could not run">could not run</span>' in html
    assert "The load run exited 2. The load run left no readable summary: summary.json was not written." in html
    assert "error: locust could not start: [REDACTED]" in html and "inf_leaked_key" not in html
    rules = [a for tag, a in page.elements if tag == "tr" and a.get("data-rule")]
    summary = json.loads((FIXTURES / "contract" / "summary.json").read_text())
    assert {r["data-rule"]: r["data-verdict"] for r in rules} == {r["id"]: r["verdict"] for r in summary["rules"]}
    assert {r["data-source"] for r in rules} == {"documented", "http", "convention"}
    assert page.attribute("data-severity") == ["breaking", "warning", "info"]


def test_a_skipped_step_is_said_not_run(run_folder) -> None:  # type: ignore[no-untyped-def]
    out = run_folder([("contract", 0), ("load", None), ("drift", 0)])
    html = report.write_index(out).read_text(encoding="utf-8")
    assert 'id="load" class="part part-load" data-part="load" data-state="missing"' in html
    assert "The load step was left out (--skip load)." in html
    record = json.loads((out / "run.json").read_text())
    record["steps"].append({"name": "later", "part": "soak", "exit_code": 0})
    (out / "run.json").write_text(json.dumps(record))
    html = report.write_index(out).read_text(encoding="utf-8")
    assert "The run names a part this page cannot show: &#39;soak&#39;." in html


def test_a_run_that_stopped_before_its_steps_says_why(tmp_path: Path) -> None:
    write_record(tmp_path, "http://u:pw@127.0.0.1:1", [], ["load"], error="the embedded mock did not start")
    html = report.write_index(tmp_path).read_text(encoding="utf-8")
    assert 'data-verdict="could not run"' in html and "the embedded mock did not start" in html
    assert "pw@" not in html


def test_every_raw_file_is_linked_and_nothing_is_fetched(run_folder) -> None:  # type: ignore[no-untyped-def]
    out = run_folder([("contract", 1), ("load", 2), ("drift", 1)])
    (out / "drift" / "odd name #1.txt").write_text("x")
    page_path = report.write_index(out)
    page = _parse(page_path.read_text(encoding="utf-8"))
    files = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} - {"index.html"}
    hrefs = page.attribute("href")
    assert files <= {unquote(h) for h in hrefs}
    assert all(not re.match(r"[a-z]+:", h) for h in hrefs)  # relative links only: the folder moves as a whole
    for href in (h for h in hrefs if not h.startswith("#")):
        assert (out / unquote(href)).is_file(), href
    assert page.attribute("src") == []  # no image, script or frame loaded from anywhere
    assert not [tag for tag, _ in page.elements if tag in ("link", "img", "iframe", "object", "embed")]
    assert "default-src 'none'" in page.attribute("content")[1]


def test_a_part_page_has_its_part_and_its_folder(tmp_path: Path) -> None:
    folder = tmp_path / "drift"
    folder.mkdir()
    (folder / "drift.json").write_text((FIXTURES / "drift" / "drift.json").read_text())
    (folder / "drift.md").write_text("# API drift report\n")
    page = report.write_part("drift", folder, secrets=["custom-secret-value"])
    html = page.read_text(encoding="utf-8")
    assert page.name == "drift.html" and 'href="drift.md"' in html and 'href="drift.json"' in html
    assert "inf_fixture_secret_key" not in html and "custom-secret-value" not in html
    assert html.count('class="finding"') == 4
    with pytest.raises(ValueError, match="unknown part"):
        report.write_part("nothing", folder)


def _copy(fixture: str, folder: Path) -> Path:
    folder.mkdir()
    for f in (FIXTURES / fixture).iterdir():
        if f.is_file():
            (folder / f.name).write_bytes(f.read_bytes())
    return folder


def test_the_load_page_draws_each_measure_with_its_ceilings(tmp_path: Path) -> None:
    html = report.write_part("load", _copy("load", tmp_path / "load")).read_text(encoding="utf-8")
    figures = re.findall(r'<figure class="chart" data-measure="([^"]+)" data-panels="(\d)">\s*<svg', html)
    # each scenario's requests together, its custom metrics, and the HTTP entries an objective bounds; each
    # with its seconds (the timeline), its distribution and the two earlier runs of the history
    assert figures == [("requests", "3"), ("POST /run", "3"), ("time_to_terminal", "3"),
                       ("requests", "3"), ("GET /tasks/{id}", "3"), ("polls_to_terminal", "3"),
                       ("time_to_terminal", "3")]  # fmt: skip
    assert "p50 / p95 / p99 each second" in html and "p10 ceiling" not in html
    assert "p95 ceiling 150 ms" in html and "p99 ceiling 500 ms (above the chart)" in html
    assert "distribution of 120 samples" in html and "distribution of 240 samples" in html and "across 3 runs" in html
    assert html.count('data-regression="yes"') == 7 and "+24.8 (+136%)" in html and "shown, not judged" in html
    assert "Against run 2" in html and "this run recorded as run 3; 2 earlier runs read from it" in html
    assert "open model: 20 tasks started per second per scenario" in html
    ids = re.findall(r'<clipPath id="([^"]+)"', html)
    assert ids and len(ids) == len(set(ids))  # the charts' ids do not collide within the page


def test_the_load_page_says_which_measurement_is_not_valid_and_which_scenario_could_not_run(tmp_path: Path) -> None:
    html = report.write_part("load", _copy("load-degraded", tmp_path / "load")).read_text(encoding="utf-8")
    page = _parse(html)
    verdicts = {a["data-scenario"]: a for tag, a in page.elements if tag == "article"}
    assert list(verdicts) == ["run_wait", "run_poll"]
    badges = re.findall(r'<h3>(\w+) <span class="badge tone-(\w+)" data-verdict="([^"]+)">', html)
    assert badges == [("run_wait", "warn", "not valid"), ("run_poll", "bad", "could not run")]
    assert "The measurement is not valid" in html and "72 starts dropped because the pool" in html
    assert "none of the 120 requests got an HTTP answer" in html
    assert "runTask: no answer (ConnectionRefusedError)" in html
    figures = re.findall(r'<figure class="chart" data-measure="([^"]+)"', html)
    assert figures == ["requests", "POST /run", "time_to_terminal"]  # run_poll measured nothing to draw


def test_a_chart_draws_every_panel_and_names_far_ceilings() -> None:
    chart = Chartable(
        scenario="s", key="m", unit="ms", quantiles={"p50": 1.0, "p95": 2.0, "p99": 3.0},
        histogram={1.0: 5, 2.0: 3, 3.0: 1}, per_second=((0, {1.0: 4}), (1, {2.0: 4, 3.0: 1})),
        ceilings=(Ceiling("p95", 2.5, True), Ceiling("p99", 100.0, True)),
        history=(HistoryPoint("a", {"p50": 1.0, "p95": 2.0, "p99": None}), HistoryPoint("b", {"p50": 1.0}, True)),
    )  # fmt: skip
    svg = draw(chart)
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert "p95 ceiling 2.5 ms" in svg and "p99 ceiling 100 ms (above the chart)" in svg
    assert "distribution of 9 samples" in svg and "across 2 runs" in svg
    empty = draw(Chartable("s", "n", "", {}, {}, (), (), ()))
    assert "no samples" in empty and "distribution of 0 samples" in empty


def test_the_run_record_names_each_step_its_part_folder_and_verdict(tmp_path: Path) -> None:
    outcomes = [
        Outcome(Step("contract", ("x",), "contract/summary.md"), 0, 1.25, 1796155200.25),
        Outcome(Step("load", ("x",), "load/summary.md"), 3, 9.0),
        Outcome(Step("drift-wire", ("x",), "drift-wire/drift.md", gating=False, part="drift"), 1, 2.0),
    ]
    record = json.loads(write_record(tmp_path, "http://127.0.0.1:1", outcomes, ["load", "load"]).read_text())
    assert record == {
        "target": "http://127.0.0.1:1",
        "steps": [
            {"name": "contract", "part": "contract", "folder": "contract", "exit_code": 0, "verdict": "pass",
             "seconds": 1.25, "started_at": "2026-12-01T20:00:00.250Z", "gating": True, "log": "logs/contract.log"},
            {"name": "load", "part": "load", "folder": "load", "exit_code": 3, "verdict": "not valid",
             "seconds": 9.0, "started_at": None, "gating": True, "log": "logs/load.log"},
            {"name": "drift-wire", "part": "drift", "folder": "drift-wire", "exit_code": 1,
             "verdict": "exit 1 (informational)", "seconds": 2.0, "started_at": None, "gating": False,
             "log": "logs/drift-wire.log"},
        ],
        "skipped": ["load"],
        "error": None,
    }  # fmt: skip
