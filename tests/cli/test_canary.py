"""Canary keys: ``drift`` (probing a server, and reading a HAR) and ``load`` against a server that
echoes the key it was sent in bodies and headers write neither key into any file nor either stream.
A server whose status line holds the key (so an HTTP parser's error quotes it) gets the same from
``drift``, ``contract`` and ``load``. (The contract suite against an echoing server:
tests/contract/test_hostile.py.)"""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers.echo import echoing, status_line_echo

ROOT = Path(__file__).resolve().parents[2]
# one key shaped like production's, one not: both must be scrubbed, by shape and by value
CANARIES = (f"inf_canary_{secrets.token_hex(8)}", f"canary-{secrets.token_hex(8)}-secret")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INFSH_", "PYTEST_"))}
    return {**env, "INFSH_API_KEY": CANARIES[0], "INFSH_API_KEY_2": CANARIES[1], "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}


def _harness(*argv: str, timeout_s: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "infsh_harness.cli", *argv], cwd=ROOT, env=_env(),
                          capture_output=True, text=True, timeout=timeout_s)  # fmt: skip


def _leaks(done: subprocess.CompletedProcess[str], out: Path) -> list[str]:
    """Where either canary turned up: a stream's name or a file's path (every file under ``out``)."""
    found = [name for name, text in (("stdout", done.stdout), ("stderr", done.stderr)) for key in CANARIES
             if key in text]  # fmt: skip
    for path in out.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path.relative_to(out)} ({key[:10]}...)" for key in CANARIES if key.encode() in data]
    return found


def test_drift_probing_an_echoing_server_writes_no_key(tmp_path: Path) -> None:
    out = tmp_path / "drift"
    with echoing(CANARIES) as url:
        done = _harness("drift", "--base-url", url, "--out", str(out), "--webhook-wait", "2", "--timeout", "20",
                        "--skip", "session-expired")  # fmt: skip
    assert done.returncode in (0, 1), done.stdout[-2000:] + done.stderr[-2000:]
    report = json.loads((out / "drift.json").read_text(encoding="utf-8"))
    assert report["summary"]["verdict"] in ("pass", "fail")
    assert {p.name for p in out.iterdir()} >= {"drift.md", "drift.json", "drift.xml", "drift.html"}
    assert "[REDACTED]" in (out / "drift.json").read_text(encoding="utf-8")  # it echoed, and was scrubbed
    assert _leaks(done, out) == []


def _entry(key: str, url: str, body: object, *, encoded: bool = False) -> dict[str, object]:
    text = json.dumps(body)
    content: dict[str, object] = {"mimeType": "application/json", "size": len(text), "text": text}
    if encoded:
        content.update(text=base64.b64encode(text.encode()).decode(), encoding="base64")
    return {
        "startedDateTime": "2026-12-01T00:00:00Z",
        "request": {"method": "GET", "url": url, "httpVersion": "HTTP/1.1",
                    "headers": [{"name": "Authorization", "value": f"Bearer {key}"},
                                {"name": "Cookie", "value": f"session={key}"}],
                    "queryString": [{"name": "key", "value": key}]},
        "response": {"status": 404, "statusText": "Not Found", "httpVersion": "HTTP/1.1",
                     "headers": [{"name": "Content-Type", "value": "application/json"},
                                 {"name": "X-Echo-Key", "value": key},
                                 {"name": "WWW-Authenticate", "value": f'Bearer realm="{key}"'}],
                     "content": content},
    }  # fmt: skip


def test_drift_reading_a_har_full_of_keys_writes_none(tmp_path: Path) -> None:
    """A capture from a careless server: the key in the request and answer headers, the URL, and in
    bodies plain and base64-encoded. The report names the exchanges and none of the keys."""
    base = "http://127.0.0.1:9"
    entries = [
        _entry(key, f"{base}/tasks/{key}?key={key}", {"error": f"no task for {key}", "code": "task_not_found"},
               encoded=encoded)
        for key in CANARIES for encoded in (False, True)
    ]  # fmt: skip
    har = tmp_path / "capture.har"
    har.write_text(json.dumps({"log": {"version": "1.2", "entries": entries}}), encoding="utf-8")
    out = tmp_path / "drift"
    done = _harness("drift", "--har", str(har), "--base-url", base, "--no-probe", "--out", str(out))
    assert done.returncode in (0, 1), done.stdout[-2000:] + done.stderr[-2000:]
    assert json.loads((out / "drift.json").read_text(encoding="utf-8"))["findings"]  # it judged what it read
    assert _leaks(done, out) == []


def test_load_against_an_echoing_server_writes_no_key(tmp_path: Path) -> None:
    out = tmp_path / "load"
    with echoing(CANARIES, phase_ms=5) as url:
        done = _harness("load", "--host", url, "--scenario", "run_wait,run_poll", "--rate", "5", "-t", "2s",
                        "--drain-s", "3", "--no-slo", "--out", str(out), timeout_s=120)  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert (out / "summary.json").exists() and any(out.rglob("*.html"))
    assert _leaks(done, out) == []


@pytest.mark.parametrize(
    "argv",
    [["drift", "--timeout", "3"], ["contract", "--profile", "quick", "--request-timeout", "3"],
     ["load", "-t", "2s", "--rate", "2", "--no-slo"]],
    ids=["drift", "contract", "load"],
)  # fmt: skip
def test_a_key_quoted_in_an_error_message_is_never_shown(argv: list[str], tmp_path: Path) -> None:
    """The server answers with the key in its status line, so the HTTP parser's error quotes it: the
    run cannot be made (exit 2, one line), and neither that line nor any file holds the key."""
    out = tmp_path / "out"
    with status_line_echo() as url:
        target = ["--host", url] if argv[0] == "load" else ["--base-url", url]
        done = _harness(*argv, *target, "--out", str(out))
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert _leaks(done, out) == []
