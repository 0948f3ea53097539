"""The sub-commands write their part's page: ``drift --format html``, and ``load`` after every run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from infsh_harness.cli import main

pytestmark = pytest.mark.timeout(120)
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("INFSH_BASE_URL", "INFSH_API_KEY", "INFSH_API_KEY_2", "INFSH_MOCK_KEYS"):
        monkeypatch.delenv(name, raising=False)


def test_drift_html_writes_the_page_and_the_json_it_is_built_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INFSH_API_KEY", "key-without-the-usual-prefix")
    out = tmp_path / "drift"
    argv = ["drift", "--profile", "wire", "--format", "html", "--out", str(out), "--skip", "session-expired",
            "--webhook-wait", "2"]  # fmt: skip
    assert main(argv) == 1
    assert sorted(p.name for p in out.iterdir()) == ["drift.html", "drift.json"]
    page = (out / "drift.html").read_text(encoding="utf-8")
    assert 'data-severity="breaking"' in page and 'href="drift.json"' in page
    assert "key-without-the-usual-prefix" not in page  # the key given in the environment is redacted too


def test_drift_names_html_among_its_formats(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["drift", "--format", "pdf", "--out", str(tmp_path)]) == 2
    assert "choose from md, json, junit, html" in capsys.readouterr().err


def test_load_writes_its_page_even_when_nothing_could_be_measured(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "load"
    shutil.copytree(FIXTURES / "load", out)  # an earlier run's summary: it must not pass for this run's
    # nothing listens on port 9: load refuses before any scenario runs, and its page says so
    code = main(["load", "--host", "http://127.0.0.1:9", "--scenario", "run_wait", "-t", "1s", "-u", "1",
                 "--out", str(out)])  # fmt: skip
    assert code == 2
    refused = "infsh-harness load: error: no HTTP answer from http://127.0.0.1:9: ConnectError\n"
    assert capsys.readouterr().err == refused
    page = (out / "summary.html").read_text(encoding="utf-8")
    assert 'data-part="load" data-state="missing"' in page and 'data-verdict="could not run"' in page
    assert "The load run could not be made: no HTTP answer from http://127.0.0.1:9: ConnectError." in page
    assert "data-scenario=" not in page and "Against run" not in page  # nothing of the earlier run is shown
    assert 'href="summary.json"' in page  # but its files are still listed, as files
