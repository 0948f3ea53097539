"""``index.html`` of a real ``infsh-harness run`` against the embedded mock, opened in headless Chromium.

Debian's ``chromium`` driven by its ``chromedriver`` through Selenium (``make install`` installs both):
WebDriver gives clicks, the console log (every ``console.error`` and uncaught exception) and, through
Chrome's performance log, every request the page made. The page must show the verdict, the rules
with their sources (sortable, filterable), the load charts with their ceilings, the drift findings
by severity with their evidence, links to every raw file; fetch nothing; and read with JavaScript
off. A screenshot stays in the report folder (``index.png``, ``index-full.png``).
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement

from infsh_harness import report
from tests.contract.runs import MOCK_GAPS

pytestmark = pytest.mark.timeout(420)

FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--window-size=1280,1000",
)  # fmt: skip
KEYS = {"INFSH_API_KEY": "inf_browser_check_key_1", "INFSH_API_KEY_2": "inf_browser_check_key_2",
        "INFSH_API_KEY_READ": "inf_browser_check_read_key"}  # fmt: skip
FIXTURE_STEPS = [("contract", 1), ("load", 2), ("drift", None)]
GAPS = bool(MOCK_GAPS)  # the contract step's; the drift step's are tests/drift/test_probe.py's, also none
RUN_VERDICT = "fail" if GAPS else "pass"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real run, shared by every test here: the embedded mock, the contract suite (quick), 1 s of each
    load scenario (the shortest: the page is checked, not the server), both drift reports."""
    out = tmp_path_factory.mktemp("browser") / "reports"
    env = {k: v for k, v in os.environ.items() if not k.startswith("INFSH_")} | KEYS
    env["INFSH_CONTRACT_PROFILE"] = "quick"  # the contract step's quick profile: every rule still judged
    command = [sys.executable, "-m", "infsh_harness.cli", "run", "--out", str(out), "--load-time", "1s"]
    started = time.monotonic()
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=360)
    print(f"infsh-harness run took {time.monotonic() - started:.1f} s")
    # the documented mock serves the four pages: its gaps (MOCK_GAPS of tests/contract/runs.py and of
    # tests/drift/test_probe.py) are none, and the run passes; with a gap, that step and the run fail
    assert result.returncode == (1 if GAPS else 0), result.stdout + result.stderr
    contract = json.loads((out / "contract" / "summary.json").read_text())
    assert contract["broken"] == sorted(r for r, v in MOCK_GAPS.items() if v == "broken"), contract["rules"]
    assert (out / "index.html").is_file()
    return out


def _chrome(profile: Path, javascript: bool = True) -> webdriver.Chrome:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not driver:
        pytest.fail("needs Debian's chromium and chromedriver: `make install` installs them "
                    "(apt-get install chromium chromium-driver)")  # fmt: skip
    options = webdriver.ChromeOptions()
    options.binary_location = chromium  # with both paths given, Selenium Manager downloads nothing
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    if not javascript:
        options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    return webdriver.Chrome(options=options, service=Service(executable_path=driver))


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory, run_dir: Path) -> Iterator[webdriver.Chrome]:
    started = time.monotonic()  # after the run: this times the browser alone
    driver = _chrome(tmp_path_factory.mktemp("chromium"))
    driver.get("about:blank")
    yield driver
    driver.quit()
    print(f"the browser checks took {time.monotonic() - started:.1f} s")


def _open(driver: webdriver.Chrome, page: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """Load ``page``; the console entries and every URL the page requested.

    A request of the browser's own (its new-tab page, ``chrome://``) is not the page's; one to the
    network by anything at all fails the check."""
    driver.get_log("browser")
    driver.get_log("performance")
    driver.get(page.as_uri())
    console = driver.get_log("browser")
    requested = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] != "Network.requestWillBeSent":
            continue
        url = message["params"]["request"]["url"]
        assert not url.startswith(("http:", "https:", "ws:", "wss:")), f"a request to the network: {url}"
        if message["params"].get("documentURL") == page.as_uri():
            requested.append(url)
    return console, requested


@pytest.fixture
def index(browser: webdriver.Chrome, run_dir: Path) -> dict[str, Any]:
    """The run's page, freshly loaded for each test (no test sees another's clicks)."""
    console, requested = _open(browser, run_dir / "index.html")
    return {"console": console, "requested": requested}


def _texts(elements: list[WebElement]) -> list[str]:
    return [e.text for e in elements]


def _visible_rules(driver: webdriver.Chrome) -> list[WebElement]:
    return [r for r in driver.find_elements(By.CSS_SELECTOR, "#contract-rules tbody tr") if r.is_displayed()]


def test_the_page_opens_offline_with_no_script_error(index: dict[str, Any], browser: webdriver.Chrome,
                                                     run_dir: Path) -> None:  # fmt: skip
    assert index["console"] == []  # no console.error, no uncaught exception, no CSP violation
    assert index["requested"] == [(run_dir / "index.html").as_uri()]  # the page itself, nothing else
    assert browser.execute_script("return document.documentElement.dataset.enhanced") == "true"
    source = browser.page_source
    assert not re.search(r"inf_\w", source), "a key reached the page"
    assert all(key not in source for key in KEYS.values())


def test_the_verdict_of_the_run_and_of_each_step_is_at_the_top(index: dict[str, Any], browser: webdriver.Chrome,
                                                               run_dir: Path) -> None:  # fmt: skip
    verdict = browser.find_element(By.CSS_SELECTOR, "header h1 .verdict")
    assert verdict.text == RUN_VERDICT and verdict.location["y"] < 200 and verdict.is_displayed()
    record = json.loads((run_dir / "run.json").read_text())
    rows = browser.find_elements(By.CSS_SELECTOR, "table.steps tbody tr")
    assert [r.get_attribute("data-step") for r in rows] == [s["name"] for s in record["steps"]]
    words = [r.find_element(By.CSS_SELECTOR, "td:nth-child(2) .badge").text for r in rows]
    assert words == [RUN_VERDICT, "pass", RUN_VERDICT, "exit 1 (informational)"]  # the mock's gaps (see run_dir)
    for section in ("contract", "load", "drift", "drift-wire"):
        badge = browser.find_element(By.CSS_SELECTOR, f"section#{section} h2 .badge")
        assert badge.is_displayed() and badge.text


def test_the_rules_table_has_every_rule_with_its_source_sorts_and_filters(index: dict[str, Any],
                                                                         browser: webdriver.Chrome,
                                                                         run_dir: Path) -> None:  # fmt: skip
    summary = json.loads((run_dir / "contract" / "summary.json").read_text())
    rules = summary["rules"]
    ids = [r["id"] for r in rules] if isinstance(rules, list) else list(rules)
    rows = _visible_rules(browser)
    assert sorted(r.get_attribute("data-rule") for r in rows) == sorted(ids)
    header = _texts(browser.find_elements(By.CSS_SELECTOR, "#contract-rules thead th"))
    assert header == ["rule", "title", "source", "verdict", "evidence", "reason", "tests"]
    sources = {r.get_attribute("data-source") for r in rows}
    assert sources and sources <= {"documented", "http", "convention", "not stated"}
    assert all(r.find_element(By.CSS_SELECTOR, "td:nth-child(3) .source").text for r in rows)
    # sorting: by rule id, up then down
    browser.find_element(By.CSS_SELECTOR, "#contract-rules thead th:first-child button").click()
    shown = [r.get_attribute("data-rule") for r in _visible_rules(browser)]
    assert shown == sorted(ids)
    browser.find_element(By.CSS_SELECTOR, "#contract-rules thead th:first-child button").click()
    assert [r.get_attribute("data-rule") for r in _visible_rules(browser)] == sorted(ids, reverse=True)
    # filtering: by verdict, by source, by text
    form = browser.find_element(By.CSS_SELECTOR, "form[data-filter=contract-rules]")
    assert form.is_displayed()
    honoured = form.find_element(By.CSS_SELECTOR, "input[name=verdict][value=honoured]")
    honoured.click()
    left = [r.get_attribute("data-verdict") for r in _visible_rules(browser)]
    assert "honoured" not in left and len(left) == len(ids) - sum(1 for r in rows if r.get_attribute("data-verdict")
                                                                    == "honoured")  # fmt: skip
    assert form.find_element(By.TAG_NAME, "output").text == f"{len(left)} of {len(ids)} rules shown"
    honoured.click()
    for box in form.find_elements(By.CSS_SELECTOR, "input[name=source]"):
        box.click()
    assert _visible_rules(browser) == []
    for box in form.find_elements(By.CSS_SELECTOR, "input[name=source]"):
        box.click()
    form.find_element(By.CSS_SELECTOR, "input[type=search]").send_keys("status-order")
    assert [r.get_attribute("data-rule") for r in _visible_rules(browser)] == ["status-order"]
    form.find_element(By.CSS_SELECTOR, "input[type=search]").clear()
    browser.execute_script("arguments[0].dispatchEvent(new Event('input', {bubbles: true}))", form)
    assert len(_visible_rules(browser)) == len(ids)


def test_each_load_measure_is_charted_with_its_ceilings(index: dict[str, Any], browser: webdriver.Chrome,
                                                        run_dir: Path) -> None:  # fmt: skip
    summary = json.loads((run_dir / "load" / "summary.json").read_text())
    assert summary["scenarios"] and all(s["status"] == "completed" for s in summary["scenarios"])
    for scenario in summary["scenarios"]:
        article = browser.find_element(By.CSS_SELECTOR, f"article#load-{scenario['scenario']}")
        figures = {f.get_attribute("data-measure"): f for f in article.find_elements(By.CSS_SELECTOR, "figure.chart")}
        measures = {m["key"]: m for m in (scenario["requests"], *scenario["entries"])}
        charted = {m["key"] for m in measures.values() if m["kind"] != "http" or m["key"] == "requests"}
        ceilings = {c["target"] for c in scenario["slo"] if c["objective"] in ("p50", "p90", "p95", "p99", "max")}
        assert charted | ceilings == set(figures)
        for key, figure in figures.items():
            m = measures[key]
            svg = figure.find_element(By.TAG_NAME, "svg")
            assert svg.is_displayed() and svg.size["width"] > 500 and svg.size["height"] > 100
            text = svg.get_attribute("textContent")
            # the per-second panel from the timeline; the distribution of the successful samples only
            assert f"{key}: p50 / p95 / p99 each second" in text
            assert f"distribution of {m['count'] - m['failures']} samples" in text
            for c in scenario["slo"]:
                if c["target"] == key and c["objective"] in ("p50", "p95", "p99"):
                    assert f"{c['objective']} ceiling {c['limit']:g}" in text


def test_drift_findings_are_grouped_by_severity_with_their_redacted_evidence(index: dict[str, Any],
                                                                            browser: webdriver.Chrome,
                                                                            run_dir: Path) -> None:  # fmt: skip
    document = json.loads((run_dir / "drift-wire" / "drift.json").read_text())
    counts = {s: n for s, n in document["summary"]["by_severity"].items() if n}
    groups = browser.find_elements(By.CSS_SELECTOR, "section#drift-wire .severity")
    assert [g.get_attribute("data-severity") for g in groups] == list(counts)
    for group in groups:
        found = group.find_elements(By.CSS_SELECTOR, "details.finding")
        assert len(found) == counts[group.get_attribute("data-severity")]
    first = groups[0].find_element(By.CSS_SELECTOR, "details.finding")
    evidence = first.find_element(By.CSS_SELECTOR, "pre.evidence")
    assert not evidence.is_displayed()
    first.find_element(By.TAG_NAME, "summary").click()
    assert evidence.is_displayed()
    exchange = json.loads(evidence.text)
    assert exchange == document["findings"][0]["evidence"]
    assert exchange["request"]["headers"]["authorization"] == "Bearer [REDACTED]"
    new = json.loads((run_dir / "drift" / "drift.json").read_text())["summary"]["new"]
    headline = browser.find_element(By.CSS_SELECTOR, "section#drift .headline").text
    assert headline.startswith(f"{new} new findings" if new else "No drift")  # the documented mock: none


def test_every_raw_file_of_the_folder_is_linked(index: dict[str, Any], browser: webdriver.Chrome,
                                                run_dir: Path) -> None:  # fmt: skip
    links = browser.find_elements(By.CSS_SELECTOR, "#files a")
    linked = {unquote(urlsplit(a.get_property("href")).path) for a in links}
    on_disk = {str(p) for p in run_dir.rglob("*") if p.is_file() and p.name not in ("index.html", "index.png")}
    assert on_disk <= linked and all(Path(p).is_file() for p in linked)
    for part_page in ("contract/summary.html", "load/summary.html", "drift/drift.html", "drift-wire/drift.html"):
        assert str(run_dir / part_page) in linked


def test_a_step_that_could_not_run_or_did_not_run_is_said_so(browser: webdriver.Chrome, run_folder) -> None:  # type: ignore[no-untyped-def]
    out = run_folder(FIXTURE_STEPS)
    (out / "load" / "summary.json").unlink()
    (out / "logs" / "load.log").write_text("locust: error: could not start\n")
    console, requested = _open(browser, report.write_index(out))
    assert console == [] and len(requested) == 1
    assert browser.find_element(By.CSS_SELECTOR, "header h1 .verdict").text == "could not run"
    steps = {r.get_attribute("data-step"): r for r in browser.find_elements(By.CSS_SELECTOR, "table.steps tbody tr")}
    assert steps["load"].find_element(By.CSS_SELECTOR, "td:nth-child(2) .badge").text == "could not run"
    load = browser.find_element(By.CSS_SELECTOR, "section#load")
    assert load.get_attribute("data-state") == "missing" and "could not run" in load.text
    assert "locust: error: could not start" in load.find_element(By.CSS_SELECTOR, "pre.log").text
    drift = browser.find_element(By.CSS_SELECTOR, "section#drift")
    assert "not run" in drift.text and "--skip drift" in drift.text
    # a real contract summary: sources named, and the filter by source keeps one kind
    cite = browser.find_element(By.CSS_SELECTOR, "tr[data-rule=no-server-error] .cite")
    assert cite.text.startswith("RFC 9110 §15.6") and cite.is_displayed()
    quotes = browser.find_elements(By.CSS_SELECTOR, "tr[data-rule=completed-has-output] blockquote")
    assert [q.text for q in quotes] == ["| output | object | Output data (when complete) |",
                                        "| output | object | Task output (when completed) |"]  # fmt: skip
    found = browser.find_element(By.CSS_SELECTOR, "tr[data-rule=completed-has-output] details.violations")
    found.find_element(By.TAG_NAME, "summary").click()
    assert "with output None" in found.find_element(By.TAG_NAME, "li").text
    form = browser.find_element(By.CSS_SELECTOR, "form[data-filter=contract-rules]")
    for kind in ("http", "convention"):
        form.find_element(By.CSS_SELECTOR, f"input[name=source][value='{kind}']").click()
    assert {r.get_attribute("data-source") for r in _visible_rules(browser)} == {"documented"}
    assert not cite.is_displayed()


def test_the_page_reads_without_javascript(run_dir: Path, tmp_path: Path) -> None:
    driver = _chrome(tmp_path / "profile", javascript=False)
    try:
        console, _ = _open(driver, run_dir / "index.html")
        assert console == []
        assert driver.execute_script("return document.documentElement.dataset.enhanced") is None  # it did not run
        assert driver.find_element(By.CSS_SELECTOR, "header h1 .verdict").text == RUN_VERDICT  # the mock's gaps
        assert not driver.find_element(By.CSS_SELECTOR, "form[data-filter=contract-rules]").is_displayed()
        rows = driver.find_elements(By.CSS_SELECTOR, "#contract-rules tbody tr")
        assert rows and all(r.is_displayed() for r in rows)
        assert all(s.is_displayed() for s in driver.find_elements(By.CSS_SELECTOR, "figure.chart svg"))
        assert driver.find_elements(By.CSS_SELECTOR, "#files a")
    finally:
        driver.quit()


def test_a_screenshot_is_kept_in_the_report_folder(index: dict[str, Any], browser: webdriver.Chrome,
                                                   run_dir: Path) -> None:  # fmt: skip
    assert browser.save_screenshot(str(run_dir / "index.png"))
    full = browser.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
    (run_dir / "index-full.png").write_bytes(base64.b64decode(full["data"]))
    for name in ("index.png", "index-full.png"):
        png = (run_dir / name).read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    print(f"screenshot: {run_dir / 'index.png'}")
