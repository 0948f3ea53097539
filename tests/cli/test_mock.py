"""``infsh-harness mock``: one ``listening on`` line then serving, keys from INFSH_MOCK_KEYS, and bad
flags answered with one line on stderr and exit 2."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from infsh_harness.cli import main as cli_main
from infsh_harness.mock.config import MockConfig, ServerLimits
from infsh_harness.mock.server import bind_socket
from infsh_harness.spec import load_spec

SPEC = load_spec()
LISTENING = re.compile(r"listening on (http://127\.0\.0\.1:(\d+))")
RUN = {"app": "infsh/echo", "input": {"x": 1}}


@contextmanager
def mock_process(*flags: str, keys: str | None = None) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Start ``infsh-harness mock --port 0``; yield it and its first stdout line."""
    env = {k: v for k, v in os.environ.items() if k != "INFSH_MOCK_KEYS"}
    if keys is not None:
        env["INFSH_MOCK_KEYS"] = keys
    proc = subprocess.Popen(
        [sys.executable, "-m", "infsh_harness.cli", "mock", "--port", "0", *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(proc.stdout.readline() if proc.stdout else ""))
    reader.start()
    reader.join(20)
    try:
        assert lines, "the mock printed nothing within 20 s"
        yield proc, lines[0]
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def test_mock_prints_one_listening_line_and_serves() -> None:
    with mock_process() as (proc, first):
        match = LISTENING.fullmatch(first.rstrip("\n"))
        assert match, first
        url = match.group(1)
        headers = {"Authorization": "Bearer inf_test_key", "X-API-Version": "2"}
        task = httpx.post(f"{url}/run", json=RUN, headers=headers, trust_env=False).json()
        assert task["status"] == SPEC.status("COMPLETED") and task["output"] == {"echo": {"x": 1}}
        other = {"Authorization": "Bearer inf_test_key_2"}  # the second default key
        assert httpx.get(f"{url}/tasks/{task['id']}", headers=other, trust_env=False).status_code == 404
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=15)
        assert proc.returncode == 130  # stopped by Ctrl-C, after a graceful shutdown
        assert out == ""  # nothing after the one line
        assert "Traceback" not in err


def test_mock_honours_infsh_mock_keys() -> None:
    with mock_process(keys=" key_one, key_two ,") as (_, first):
        match = LISTENING.fullmatch(first.strip())
        assert match, first
        url = match.group(1)
        for key, status in (("key_one", 200), ("key_two", 200), ("inf_test_key", 401)):
            response = httpx.post(f"{url}/run", json=RUN, headers={"Authorization": f"Bearer {key}"}, trust_env=False)
            assert response.status_code == status


def test_mock_flags_reach_the_mock() -> None:
    with mock_process("--rate-limit-rate", "1", "--retry-after", "3", "--phase-ms", "5") as (_, first):
        match = LISTENING.fullmatch(first.strip())
        assert match, first
        url = match.group(1)
        control = {"Authorization": "Bearer inf_test_key"}  # the controls take the mock's keys
        faults = httpx.get(f"{url}/_mock/faults", headers=control, trust_env=False).json()
        assert (faults["rate_limit_rate"], faults["retry_after_s"]) == (1.0, 3)
        assert httpx.get(f"{url}/_mock/timing", headers=control, trust_env=False).json()["phase_ms"] == 5
        response = httpx.get(f"{url}/tasks/x", headers={"Authorization": "Bearer inf_test_key"}, trust_env=False)
        assert (response.status_code, response.headers["retry-after"]) == (429, "3")


BAD_FLAGS = [
    ["--port", "abc"],
    ["--port", "70000"],
    ["--port", "-1"],
    ["--bogus"],
    ["--profile", "nope"],
    ["--error-rate", "2"],
    ["--error-status", "404"],
    ["--rate-limit-rate", "x"],
    ["--latency-ms", "5:1"],
    ["--latency-ms", "abc"],
    ["--timing", "nope"],
    ["--phase-ms", "-1"],
    ["--max-wait", "0"],
    ["--retry-after", "-1"],
    ["--webhook-delay-ms", "-5"],
    ["--host", "999.1.1.1"],
    ["--bug", "nope"],
    ["--bug", "status_backwards"],  # seeded bugs live in the tests' proxy, not in the mock
    ["--max-connections", "0"],
    ["--max-connections", "1.5"],
    ["--idle-timeout", "0"],
    ["--idle-timeout", "nan"],
    ["--header-timeout", "inf"],
    ["--header-timeout", "-1"],
    ["--max-header-bytes", "x"],
    ["--max-body-bytes", "-1"],
]


@pytest.mark.parametrize("flags", BAD_FLAGS, ids=lambda f: " ".join(f))
def test_bad_flags_give_one_line_and_exit_2(
    flags: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("INFSH_MOCK_KEYS", raising=False)
    try:
        code = cli_main(["mock", "--port", "0", *flags])
    except SystemExit as exc:  # argparse's own errors leave through SystemExit
        code = exc.code  # type: ignore[assignment]
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert len(err.splitlines()) == 1 and re.match(r"infsh-harness( mock)?: error: ", err), err


def test_empty_key_list_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INFSH_MOCK_KEYS", " , ")
    assert cli_main(["mock", "--port", "0"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.splitlines()) == 1 and "key" in err


def test_busy_port_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    busy = bind_socket("127.0.0.1", 0)
    busy.listen()
    try:
        port = busy.getsockname()[1]
        assert cli_main(["mock", "--port", str(port)]) == 2
    finally:
        busy.close()
    out, err = capsys.readouterr()
    assert out == "" and len(err.splitlines()) == 1 and str(port) in err


def test_flags_map_onto_the_config() -> None:
    from infsh_harness.cli import build_parser
    from infsh_harness.cli.mock import config_from_args

    args = build_parser().parse_args([
        "mock", "--max-wait", "0.3", "--task-ttl", "60", "--session-timeout", "30", "--latency-ms", "5:9",
        "--error-rate", "0.1", "--error-status", "503", "--timing", "realistic", "--seed", "4",
        "--webhook-drop-rate", "0.2", "--webhook-duplicate-rate", "0.3", "--webhook-delay-ms", "50",
    ])  # fmt: skip
    config = config_from_args(args, ("k",))
    assert (config.max_wait_s, config.task_ttl_s, config.session_timeout_s) == (0.3, 60, 30)
    assert (config.timing, config.seed, config.keys) == ("realistic", 4, ("k",))
    faults = config.faults
    assert (faults.latency_ms_min, faults.latency_ms_max, faults.error_rate, faults.error_status) == (5, 9, 0.1, 503)
    assert (faults.webhook_drop_rate, faults.webhook_duplicate_rate, faults.webhook_delay_ms) == (0.2, 0.3, 50)
    limits = build_parser().parse_args([
        "mock", "--max-connections", "7", "--idle-timeout", "2.5", "--header-timeout", "3", "--max-header-bytes", "900",
        "--max-body-bytes", "1000",
    ])  # fmt: skip
    assert config_from_args(limits, ("k",)).limits == ServerLimits(7, 2.5, 3.0, 900, 1000)


def test_keys_never_reach_the_config_repr() -> None:
    assert "secret_key" not in repr(MockConfig(keys=("secret_key",)))
