"""``infsh-harness drift``: exit codes, report files and the baseline workflow."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from infsh_harness.cli import main

pytestmark = pytest.mark.timeout(60)

FIXTURE_HAR = str(Path(__file__).resolve().parents[2] / "fixtures" / "drift" / "official-client-wire.har")
QUICK = ["--skip", "session-expired", "--webhook-wait", "3"]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("INFSH_BASE_URL", "INFSH_API_KEY", "INFSH_API_KEY_2"):
        monkeypatch.delenv(name, raising=False)


def _json(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "drift.json").read_text())
    return data


# what the documented mock does not serve of the four pages (see tests/drift/test_probe.py,
# MOCK_GAPS): nothing, so the report names no drift
MOCK_GAP_KINDS: set[str] = set()


def test_drift_against_the_embedded_documented_mock_reports_no_drift_and_the_doc_conflicts(
    tmp_path: Path,
) -> None:
    out = tmp_path / "drift"
    assert main(["drift", "--out", str(out), *QUICK]) == (1 if MOCK_GAP_KINDS else 0)
    report = _json(out)
    assert {f["kind"] for f in report["findings"]} == MOCK_GAP_KINDS
    conflicts = report["doc_conflicts"]
    assert conflicts and {c["kind"] for c in conflicts} == {"doc-conflict"} and not any(c["fails"] for c in conflicts)
    assert "## Where the documentation contradicts itself" in (out / "drift.md").read_text()
    assert '<testsuite name="doc-conflicts"' in (out / "drift.xml").read_text()


def test_the_embedded_mock_accepts_the_key_the_probe_sends(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INFSH_API_KEY", "inf_custom_key")
    out = tmp_path / "drift"
    assert main(["drift", "--format", "json", "--out", str(out), *QUICK]) == (1 if MOCK_GAP_KINDS else 0)
    findings = _json(out)["findings"]
    # the runs, reads and cancels were served: none of them is missing, and only the no-key request got 401
    missing = {f["location"]["operation"] for f in findings if f["kind"] == "missing-operation"}
    assert {"runTask", "getTask", "cancelTask"}.isdisjoint(missing)
    assert {f["kind"] for f in findings} == MOCK_GAP_KINDS


def test_doc_conflicts_fail_the_run_only_when_asked(tmp_path: Path) -> None:
    out = tmp_path / "drift"
    har = ["--har", FIXTURE_HAR, "--format", "json", "--out", str(out)]
    baseline = tmp_path / "b.json"
    assert main(["drift", *har[:2], "--baseline", str(baseline), "--update-baseline"]) == 0
    assert main(["drift", *har, "--baseline", str(baseline)]) == 0  # all drift accepted, conflicts shown
    assert _json(out)["summary"]["doc_conflicts"] > 0
    assert main(["drift", *har, "--baseline", str(baseline), "--fail-on-doc-conflicts"]) == 1
    assert all(c["fails"] for c in _json(out)["doc_conflicts"])


def test_drift_against_the_embedded_wire_mock_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "drift"
    assert main(["drift", "--profile", "wire", "--format", "json", "--out", str(out), *QUICK]) == 1
    findings = _json(out)["findings"]
    assert findings and all({"kind", "severity", "location", "expected", "observed", "id"} <= set(f) for f in findings)
    assert {f["kind"] for f in findings} >= {"missing-operation", "envelope", "version-shape"}
    assert not (out / "drift.md").exists()
    assert "failing" in capsys.readouterr().out


def test_har_only_run_and_the_baseline_workflow(tmp_path: Path) -> None:
    out, baseline = tmp_path / "drift", tmp_path / "drift-baseline.json"
    har = ["--har", FIXTURE_HAR]
    assert main(["drift", *har, "--out", str(out)]) == 1
    report = _json(out)
    assert report["sources"] == ["har:official-client-wire.har"]

    assert main(["drift", *har, "--baseline", str(baseline), "--update-baseline"]) == 0
    accepted = json.loads(baseline.read_text())["findings"]
    assert {f["id"] for f in accepted} == {f["id"] for f in report["findings"]}
    assert main(["drift", *har, "--baseline", str(baseline), "--out", str(out)]) == 0
    assert _json(out)["summary"]["new"] == 0

    # drop one accepted breaking finding: it is new again and fails the run, even with --fail-on breaking
    dropped = next(f for f in accepted if f["severity"] == "breaking")
    baseline.write_text(json.dumps({"findings": [f for f in accepted if f is not dropped]}))
    assert main(["drift", *har, "--baseline", str(baseline), "--fail-on", "breaking", "--out", str(out)]) == 1
    assert [f["id"] for f in _json(out)["findings"] if f["new"]] == [dropped["id"]]


def test_fail_on_lets_new_minor_drift_pass(tmp_path: Path) -> None:
    out, baseline = tmp_path / "drift", tmp_path / "b.json"
    har = ["--har", FIXTURE_HAR]
    assert main(["drift", *har, "--baseline", str(baseline), "--update-baseline"]) == 0
    accepted = json.loads(baseline.read_text())["findings"]
    baseline.write_text(json.dumps({"findings": [f for f in accepted if f["severity"] != "info"]}))
    assert main(["drift", *har, "--baseline", str(baseline), "--fail-on", "warning", "--out", str(out)]) == 0
    assert main(["drift", *har, "--baseline", str(baseline), "--out", str(out)]) == 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    "argv",
    [
        ["--format", "pdf"],
        ["--baseline", "{tmp}/missing.json", "--har", FIXTURE_HAR],
        ["--har", "{tmp}/missing.har"],
        ["--base-url", "http://127.0.0.1:{port}"],
        ["--base-url", "127.0.0.1:{port}"],
        ["--update-baseline", "--har", FIXTURE_HAR],
        ["--no-probe"],
        ["--spec", "{tmp}/missing.yaml", "--har", FIXTURE_HAR],
        ["--spec", "{tmp}", "--har", FIXTURE_HAR],
        ["--har", "{tmp}"],
        ["--har", "/dev/null"],
        ["--har", "{tmp}/binary.har"],
        ["--baseline", "{tmp}/binary.har", "--har", FIXTURE_HAR],
        ["--base-url", "http://user:pw@127.0.0.1:{port}"],
        ["--base-url", "http://::1:{port}"],
        ["--timeout", "nan"],
        ["--webhook-port", "65536"],
    ],
)
def test_drift_that_cannot_run_exits_2_with_one_line(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "binary.har").write_bytes(b"\x1f\x8b\x08\x00" + bytes(range(256)))
    args = [a.format(tmp=tmp_path, port=_free_port()) for a in argv]
    try:
        code = main(["drift", "--out", str(tmp_path / "out"), *args])
    except SystemExit as exc:  # a value refused where it is parsed: argparse's usage error
        code = exc.code  # type: ignore[assignment]
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("infsh-harness drift: error:")


def test_an_unknown_scenario_to_skip_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["drift", "--skip", "nope"])
    assert exit_info.value.code == 2 and "invalid choice" in capsys.readouterr().err


def _har(path: Path, entries: list[object]) -> str:
    path.write_text(json.dumps({"log": {"version": "1.2", "entries": entries}}), encoding="utf-8")
    return str(path)


_FOREIGN = {
    "request": {"method": "GET", "url": "http://127.0.0.1:9/favicon.ico", "headers": []},
    "response": {"status": 200, "headers": [], "content": {"mimeType": "image/x-icon", "text": ""}},
}


@pytest.mark.parametrize(
    "entries",
    [[], [{"request": {"method": "POST", "url": "http://127.0.0.1:9/run"}}], [_FOREIGN],
     [{"request": [], "response": {"status": 200}}, {"request": {"url": 5}, "response": {"status": "x"}}, 7]],
    ids=["empty", "unanswered", "not-the-api", "malformed"],
)  # fmt: skip
def test_a_har_with_no_usable_entry_judges_nothing_and_exits_2(
    entries: list[object], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nothing observed is not "no drift": one line saying nothing was judged, exit 2, no report."""
    har = _har(tmp_path / "capture.har", entries)
    out = tmp_path / "out"
    assert main(["drift", "--har", har, "--out", str(out)]) == 2
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if "error" in line]
    assert len(lines) == 1 and "nothing to judge" in lines[0] and "Traceback" not in captured.err
    assert "no drift" not in captured.out and not (out / "drift.json").exists()


def test_a_har_with_nothing_usable_beside_one_that_has_is_said_but_judged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = _har(tmp_path / "empty.har", [])
    assert main(["drift", "--har", empty, "--har", FIXTURE_HAR, "--out", str(tmp_path / "out")]) == 1
    assert f"{empty}: no usable exchange with the API" in capsys.readouterr().err


@pytest.mark.parametrize("option", ["--har", "--baseline", "--spec"])
def test_an_input_nested_too_deeply_to_read_is_one_line(
    option: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    argv = ["drift", option, str(deep), "--no-probe", "--out", str(tmp_path / "out")]
    if option != "--har":
        argv += ["--har", FIXTURE_HAR]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nested too deeply" in err[0], err


@pytest.mark.parametrize("depth", [900, 990, 5000])
def test_an_answer_nested_as_deep_as_a_server_likes_is_judged_and_scrubbed(depth: int, tmp_path: Path) -> None:
    key = "inf_deep_canary_0123"
    body = '{"a":' * depth + json.dumps(f"refused {key}") + "}" * depth
    entry = {
        "request": {"method": "GET", "url": "http://127.0.0.1:9/tasks/x", "headers": []},
        "response": {"status": 404, "headers": [{"name": "Content-Type", "value": "application/json"}],
                     "content": {"mimeType": "application/json", "text": body}},
    }  # fmt: skip
    out = tmp_path / "out"
    har = _har(tmp_path / "deep.har", [entry])
    assert main(["drift", "--har", har, "--base-url", "http://127.0.0.1:9", "--no-probe", "--out", str(out)]) in (0, 1)
    assert [p.name for p in out.iterdir() if key.encode() in p.read_bytes()] == []
