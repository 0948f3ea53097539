"""Hostile targets: keys never written or printed whatever the server echoes, a target that stops
answering ends the run with exit 2 naming the rule being checked, Ctrl-C keeps a summary."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

from infsh_harness.rules.verdicts import EXIT_INTERRUPTED, EXIT_NOT_RUN
from tests.contract.runs import FAST, ROOT, run_suite, suite_env, summary
from tests.servers.echo import echoing
from tests.servers.hanging import hanging_app
from tests.servers.serve import serving

# one key shaped like production's, one not: both must be scrubbed, by shape and by value
CANARIES = (f"inf_canary_{secrets.token_hex(8)}", f"canary-{secrets.token_hex(8)}-secret")


def _contract(*argv: str) -> list[str]:
    return [sys.executable, "-m", "infsh_harness.cli", "contract", *argv]


def test_no_key_in_any_file_or_stream_whatever_the_server_echoes(tmp_path: Path) -> None:
    """The server names the key it was sent in every error and task, and in its answers' headers (a
    header of its own, a cookie, WWW-Authenticate, a Link URL), and breaks documented rules (so
    failures, evidence and schemathesis' reproductions are printed): no file the run writes and
    neither stream has either key."""
    out = tmp_path / "out"
    with echoing(CANARIES, bugs=["echo_key", "completed_without_output", "text_success"]) as url:
        done = subprocess.run(
            _contract("--base-url", url, "--profile", "quick", "--seed", "3", "--mock-controls", "no",
                      "--out", str(out), *FAST),
            cwd=ROOT, env=suite_env(CANARIES), capture_output=True, text=True, timeout=300,
        )  # fmt: skip
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    written = [p for p in out.rglob("*") if p.is_file()]
    assert {p.name for p in written} >= {"summary.json", "summary.md", "junit.xml", "schemathesis.har", "output.txt"}
    har = (out / "schemathesis" / "schemathesis.har").read_text(encoding="utf-8")
    assert "served_for" in har and "x-echo-key" in har.lower()  # it echoed, in bodies and headers
    for key in CANARIES:
        assert [p for p in written if key.encode() in p.read_bytes()] == [], key
        assert key not in done.stdout and key not in done.stderr


def _hanging_run(tmp_path: Path, *argv: str) -> tuple[subprocess.CompletedProcess[str], dict[str, object]]:
    with serving(hanging_app()) as url:
        result = run_suite(url, tmp_path, *argv)
    return result, summary(tmp_path)


def test_a_target_that_never_answers_a_run_ends_the_run_naming_the_rule(tmp_path: Path) -> None:
    result, data = _hanging_run(tmp_path, "--rule", "unknown-app-404", "--request-timeout", "1")
    assert result.returncode == EXIT_NOT_RUN == data["exit_code"], result.stdout
    stopped = data["stopped"]
    assert isinstance(stopped, dict) and stopped["rules"] == ["unknown-app-404"]
    assert "was not answered within 1 s" in stopped["reason"]
    assert "while checking `unknown-app-404`" in (tmp_path / "summary.md").read_text(encoding="utf-8")


def test_the_suite_deadline_bounds_the_whole_run(tmp_path: Path) -> None:
    result, data = _hanging_run(tmp_path, "--rule", "run-waits-by-default", "--suite-deadline", "3",
                                "--request-timeout", "60", "--task-deadline", "60")  # fmt: skip
    assert result.returncode == EXIT_NOT_RUN, result.stdout
    stopped = data["stopped"]
    assert isinstance(stopped, dict) and "deadline of 3 s passed" in stopped["reason"]


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


def test_ctrl_c_stops_the_run_keeps_a_summary_and_leaves_no_process(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with serving(hanging_app()) as url:
        proc = subprocess.Popen(
            _contract("--base-url", url, "--profile", "quick", "--rule", "unknown-app-404", "--request-timeout", "120",
                      "--out", str(out)),
            cwd=ROOT, env=suite_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not out.exists():  # the suite made its report folder
            time.sleep(0.2)
        time.sleep(3)  # ... and is waiting for the run that never comes
        children = _descendants(proc.pid)
        assert children, "the suite did not start"
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == EXIT_INTERRUPTED, stdout[-2000:] + stderr[-2000:]
    data = summary(out)
    assert (data["verdict"], data["exit_code"], data["interrupted"]) == ("interrupted", EXIT_INTERRUPTED, True)
    assert (out / "junit.xml").exists() and "Interrupted" in (out / "summary.md").read_text(encoding="utf-8")
    assert [pid for pid in children if _alive(pid)] == []
    assert "Traceback" not in stderr


def test_the_suite_run_directly_refuses_user_info_in_the_base_url(tmp_path: Path) -> None:
    """``pytest`` on the suite with ``http://user:password@host``: one line, the password not shown, no
    request sent (it would have become Basic auth replacing the key)."""
    result = run_suite("http://admin:s3cret-pw@127.0.0.1:9", tmp_path)
    assert result.returncode != 0 and "must not carry user-info" in result.stderr, result.stdout + result.stderr
    assert "s3cret-pw" not in result.stdout + result.stderr
    assert not (tmp_path / "summary.json").exists()
