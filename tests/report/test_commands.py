"""The sub-commands write their part's page: ``drift --format html``, and ``load`` after every run."""

from __future__ import annotations

from pathlib import Path

import pytest

from infsh_harness.cli import main

pytestmark = pytest.mark.timeout(120)


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


def test_load_writes_its_page_even_when_nothing_could_be_measured(tmp_path: Path) -> None:
    out = tmp_path / "load"
    # nothing listens on port 9: every request fails, the run is judged and reported all the same
    code = main(["load", "--host", "http://127.0.0.1:9", "--scenario", "run_wait", "-t", "1s", "-u", "1",
                 "--out", str(out)])  # fmt: skip
    assert code in (1, 2)
    page = (out / "summary.html").read_text(encoding="utf-8")
    assert 'data-part="load"' in page and 'data-scenario="run_wait"' in page
