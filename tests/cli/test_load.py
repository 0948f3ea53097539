"""``infsh-harness load``: refusals before anything runs, and the locust command lines it plans."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infsh_harness.cli import main
from infsh_harness.load.processes import is_loopback_url, parse_duration
from infsh_harness.load.run import LOAD_DIR, SCENARIOS, LoadOptions, plan_scenario


@pytest.fixture(autouse=True)
def _no_target_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INFSH_BASE_URL", raising=False)


def _refused(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    try:
        code = main(["load", *argv])
    except SystemExit as exc:  # argparse's own refusals
        code = int(exc.code or 0)
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    return err


def test_load_refuses_a_remote_host_without_allow_remote(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    err = _refused(capsys, "--host", "https://api.example.com", "--out", str(tmp_path))
    assert "https://api.example.com is not a loopback host; pass --allow-remote" in err
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("host", ["https://user:inf_secret@api.example.com", "http://:inf_secret@127.0.0.1:8080"])
def test_load_refuses_credentials_in_the_host(capsys: pytest.CaptureFixture[str], tmp_path: Path, host: str) -> None:
    err = _refused(capsys, "--host", host, "--allow-remote", "--out", str(tmp_path))
    assert "--host must not carry user-info" in err and "inf_secret" not in err
    assert not list(tmp_path.iterdir())


def test_load_refuses_a_remote_host_from_the_environment(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("INFSH_BASE_URL", "http://10.1.2.3:8080")
    assert "not a loopback host" in _refused(capsys, "--out", str(tmp_path))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--scenario", "run_wait,nope"], "unknown scenario 'nope'"),
        (["-t", "soon"], "-t: expected a duration like 30s, 2m or 1h30m, not 'soon'"),
        (["-t", "0s"], "the duration must be positive"),
        (["--host", "ftp://127.0.0.1"], "--host must be an http:// or https:// URL"),
        (["--remote-workers", "2"], "--remote-workers needs --master-bind"),
        (["-u", "0"], "expected a finite number at least 1"),
        (["--rate", "nan"], "--rate: expected a finite number above 0"),
        (["--rate", "inf"], "--rate: expected a finite number above 0"),
        (["--rate", "0"], "--rate: expected a finite number above 0"),
        (["--rate", "-3"], "--rate: expected a finite number above 0"),
        (["--rate", "fast"], "--rate: expected a number, not 'fast'"),
        (["--rate", "0.01", "-t", "10s"], "--rate 0.01 for 10 s plans no task start"),
        (["--rate", "5", "-u", "3"], "not allowed with argument"),
        (["--rate", "5", "-r", "3"], "-r/--spawn-rate paces closed-loop users (-u)"),
        (["-r", "nan", "-u", "2"], "-r/--spawn-rate: expected a finite number above 0"),
        (["-t", "99999999h"], "-t: at most 7 days"),
        (["-t", "1.5s"], "-t: whole seconds (locust counts in seconds), not '1.5s'"),
        (["--max-in-flight", "0"], "--max-in-flight: expected a finite number at least 1"),
        (["--drain-s", "nan"], "--drain-s: expected a finite number"),
        (["--drain-s", "-1"], "--drain-s: expected a finite number at least 0"),
        (["--workers", "1e3"], "--workers: expected a whole number"),
        (["--master-port", "70000"], "--master-port: expected a port from 0 to 65535"),
        (["--web-port", "0"], "--web-port: expected a port from 1 to 65535"),
        (["--poll-interval-ms", "inf"], "--poll-interval-ms: expected a finite number"),
        (["--min-change", "nan%"], "--min-change: expected a finite number"),
        (["--host", "http://[::1"], "--host cannot be parsed"),
        (["--host", "http://127.0.0.1:70000"], "--host port must be from 1 to 65535, not 70000"),
        (["--host", "http://127.0.0.1:0"], "--host port must be from 1 to 65535, not 0"),
        (["--host", "http://"], "--host names no host"),
        (["--host", "127.0.0.1:8080"], "--host must be an http:// or https:// URL"),
        (["--host", "http://127.0.0.1:8080/?a=1"], "--host is a base URL: no query and no fragment"),
        (["--host", "http://" + "a" * 5000 + ".com"], "--host is 5011 characters long; a base URL has at most 2048"),
        (["--host", "http://" + ("a" * 60 + ".") * 4 + "com"], "aaa... is not a loopback host"),
        (["--host", "http://::1:8080"], "an IPv6 address goes in brackets"),
        (["--master-bind", "not an address"], "--master-bind: expected an IP address or a host name"),
        (["--baseline", "last"], "--baseline compares with a run of --history FILE"),
    ],
)
def test_load_refuses_bad_input_in_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str], message: str
) -> None:
    assert message in _refused(capsys, *argv, "--out", str(tmp_path))


def test_load_refuses_a_broken_slo_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    slo = tmp_path / "slo.yaml"
    slo.write_text("run_wait:\n  time_to_terminal: {p50: fast}\n", encoding="utf-8")
    err = _refused(capsys, "--slo", str(slo), "--out", str(tmp_path / "out"))
    assert "run_wait.time_to_terminal.p50: expected a finite non-negative number, not 'fast'" in err


@pytest.mark.parametrize(("text", "seconds"), [("90", 90), ("90s", 90), ("2m", 120), ("1h30m", 5400), ("1.5s", 1.5)])
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:8080", True), ("http://127.1.2.3", True), ("http://localhost:1", True),
        ("http://[::1]:9", True), ("https://api.inference.sh", False), ("http://10.0.0.1", False),
        ("http://127.0.0.1.example.com", False), ("not a url", False),
    ],
)  # fmt: skip
def test_is_loopback_url_reads_the_literal_host(url: str, loopback: bool) -> None:
    assert is_loopback_url(url) is loopback


def test_every_scenario_has_its_locustfile() -> None:
    support = ("common", "__init__", "open_model", "monitor", "inbox")  # shared parts, not scenarios
    assert sorted(p.stem for p in LOAD_DIR.glob("*.py") if p.stem not in support) == sorted(SCENARIOS)


def test_plan_runs_one_bounded_headless_locust(tmp_path: Path) -> None:
    plan = plan_scenario(
        LoadOptions(out=tmp_path, environ={}, users=7, spawn_rate=3, run_time_s=12), "run_poll", "http://h"
    )
    argv = list(plan.master)
    assert argv[argv.index("-f") + 1] == str(LOAD_DIR / "run_poll.py")
    assert argv[argv.index("-t") + 1] == "12s" and argv[argv.index("-u") + 1] == "7"
    assert "--headless" in argv and "--master" not in argv and plan.workers == ()
    assert argv[argv.index("--csv") + 1] == str(tmp_path / "run_poll")
    assert plan.stop_signal == signal.SIGUSR1
    assert plan.logs == (tmp_path / "logs" / "run_poll.log",)


def test_plan_with_workers_binds_the_master_to_loopback(tmp_path: Path) -> None:
    options = LoadOptions(
        out=tmp_path, environ={}, workers=2, poll_interval_ms=100, locust_args=("--cancel-after-ms=5",)
    )
    plan = plan_scenario(options, "run_cancel", "http://h")
    master = list(plan.master)
    assert master[master.index("--master-bind-host") + 1] == "127.0.0.1"
    assert master[master.index("--expect-workers") + 1] == "2"
    port = master[master.index("--master-bind-port") + 1]
    assert len(plan.workers) == 2 and len(plan.logs) == 3
    for worker in plan.workers:
        assert worker[worker.index("--master-port") + 1] == port
        assert worker[-3:] == ("--poll-interval-ms", "100", "--cancel-after-ms=5")


def test_plan_with_the_web_ui_binds_it_to_loopback(tmp_path: Path) -> None:
    master = list(plan_scenario(LoadOptions(out=tmp_path, environ={}, web_ui=True), "webhook", "http://h").master)
    assert master[master.index("--web-host") + 1] == "127.0.0.1"
    assert "--autostart" in master and "--headless" not in master


@pytest.mark.parametrize(
    ("bind", "master_host"), [("127.0.0.1", "127.0.0.1"), ("0.0.0.0", "127.0.0.1"), ("10.1.2.3", "10.1.2.3")]
)
def test_plan_local_workers_reach_the_master_where_it_listens(tmp_path: Path, bind: str, master_host: str) -> None:
    options = LoadOptions(out=tmp_path, environ={}, workers=1, remote_workers=2, master_bind=bind, master_port=5557)
    (worker,) = plan_scenario(options, "run_poll", "http://h").workers
    assert worker[worker.index("--master-host") + 1] == master_host


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "sets no objective: a run would judge nothing"),
        (b"run_poll:\n  requests: {max_error_rate: 0}\n", "sets no objective for run_wait: nothing would be judged"),
        (b"run_wiat:\n  requests: {max_error_rate: 0}\n", "names an unknown scenario 'run_wiat'"),
        (b"run_wait:\n  requests: {p95: .nan}\n", "expected a finite non-negative number, not 'nan'"),
        (b"\x00\x01\x02\xff\xfe binary", "is not UTF-8 text"),
    ],
)
def test_load_refuses_an_slo_file_that_would_judge_nothing_or_wrongly(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: bytes, message: str
) -> None:
    slo = tmp_path / "slo.yaml"
    slo.write_bytes(content)
    err = _refused(capsys, "--scenario", "run_wait", "--slo", str(slo), "--out", str(tmp_path / "out"))
    assert message in err
    assert not (tmp_path / "out").exists()  # refused before anything ran


def test_load_refuses_an_unreadable_slo_file_and_history(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert "cannot read SLO file" in _refused(capsys, "--slo", str(tmp_path), "--out", str(tmp_path / "o"))
    assert "is a directory, not a file" in _refused(capsys, "--history", str(tmp_path), "--out", str(tmp_path / "o"))
    missing = ["--history", str(tmp_path / "h.sqlite"), "--baseline", "4", "--out", str(tmp_path / "o")]
    assert "names no run" in _refused(capsys, *missing)
    not_history = tmp_path / "notes.txt"
    not_history.write_text("hello\n" * 100, encoding="utf-8")
    assert "not a database" in _refused(capsys, "--history", str(not_history), "--out", str(tmp_path / "o"))


def test_plan_of_the_open_model_gives_each_process_its_share(tmp_path: Path) -> None:
    options = LoadOptions(out=tmp_path, environ={}, rate=9.0, run_time_s=12, workers=3, max_in_flight=100, drain_s=4)
    plan = plan_scenario(options, "run_wait", "http://h")
    master = list(plan.master)
    assert master[master.index("-u") + 1] == "3" and master[master.index("--stop-timeout") + 1] == "9"
    assert master[master.index("-t") + 1] == "14s"  # locust's limit a little after the schedules' 12 s
    for worker in plan.workers:
        args = list(worker)
        assert float(args[args.index("--arrival-rate") + 1]) == 3.0
        assert args[args.index("--arrival-seconds") + 1] == "12" and args[args.index("--max-in-flight") + 1] == "34"
    assert plan.start_allowance_s == 60 + 60 + 9


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(argv=st.lists(st.sampled_from(["--rate", "-u", "-r", "-t", "--host", "--max-in-flight", "--drain-s", "--workers",
                                 "--master-port", "--web-port", "--history", "--baseline", "--min-change", "--slo",
                                 "--poll-interval-ms", "--scenario", "--allow-remote", "--no-slo"])
                | st.text(max_size=30), max_size=8))  # fmt: skip
def test_no_argument_list_gives_a_traceback(argv: list[str], tmp_path: Path) -> None:
    from infsh_harness.cli import build_parser
    from infsh_harness.cli.load import _options

    parser = build_parser()
    try:
        args = parser.parse_args(["load", *argv, "--out", str(tmp_path / "out")])
    except SystemExit as exc:
        assert exc.code == 2
        return
    try:
        options = _options(args)
    except ValueError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert options.run_time_s > 0 and (options.rate is None or options.rate > 0)
