"""The shared validators: a value in range comes back converted, anything else is one usage error
that never repeats a credential; through every sub-command, one line on stderr and exit 2."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from infsh_harness.cli import INTERNAL_ERROR, main
from infsh_harness.cli.args import (
    MAX_URL_LENGTH,
    base_url,
    bind_host,
    check_base_url,
    check_input_file,
    count,
    finite,
    input_file,
    is_loopback_host,
    name_arg,
    non_negative_float,
    out_dir,
    port,
    positive_float,
    positive_int,
    rate,
    server_port,
    whole,
)


@pytest.mark.parametrize(
    ("parse", "text", "value"),
    [(positive_int, "3", 3), (count, "0", 0), (positive_float, "0.5", 0.5), (non_negative_float, "0", 0.0),
     (rate, "1", 1.0), (rate, "0", 0.0), (port, "0", 0), (port, "65535", 65535), (server_port, "1", 1),
     (finite(0, 10, low_open=True), "10", 10.0), (whole(-3, 3), "-3", -3), (positive_int, " 7 ", 7)],
)  # fmt: skip
def test_cliargs_accept_values_in_range(parse: Callable[[str], Any], text: str, value: Any) -> None:
    assert parse(text) == value and type(parse(text)) is type(value)


@pytest.mark.parametrize(
    ("parse", "text", "message"),
    [(positive_int, "0", "expected at least 1"), (positive_int, "1.5", "expected a whole number"),
     (positive_int, "9" * 40, "expected a whole number"), (count, "-1", "expected 0 or more"),
     (positive_float, "0", "expected a positive number"), (positive_float, "nan", "expected a positive number"),
     (positive_float, "inf", "expected a positive number"), (positive_float, "1e400", "expected a positive number"),
     (positive_float, "x", "expected a number, not 'x'"), (non_negative_float, "-0.1", "expected 0 or more"),
     (non_negative_float, "-inf", "expected 0 or more"), (rate, "1.5", "expected a number from 0 to 1"),
     (rate, "nan", "from 0 to 1"), (rate, "half", "from 0 to 1"), (port, "65536", "a port from 0 to 65535"),
     (port, "-1", "a port from 0 to 65535"), (port, "http", "expected a port number"),
     (server_port, "0", "a port from 1 to 65535"), (finite(0, 10, low_open=True), "0", "above 0"),
     (finite(0, 10), "NaN", "at least 0 and at most 10"), (whole(1, 5), "6", "at least 1 and at most 5")],
)  # fmt: skip
def test_cliargs_refuse_values_out_of_range(parse: Callable[[str], Any], text: str, message: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        parse(text)


def test_a_refused_value_is_echoed_shortened() -> None:
    with pytest.raises(argparse.ArgumentTypeError) as caught:
        positive_float("x" * 10_000)
    assert len(str(caught.value)) < 200


@pytest.mark.parametrize(
    ("url", "expected"),
    [("http://127.0.0.1:8080", "http://127.0.0.1:8080"), ("https://api.inference.sh/", "https://api.inference.sh"),
     ("http://[::1]:9000/v2", "http://[::1]:9000/v2"), ("http://localhost", "http://localhost")],
)  # fmt: skip
def test_base_urls_are_read_with_httpx(url: str, expected: str) -> None:
    assert check_base_url(url) == expected == base_url(url)


@pytest.mark.parametrize(
    ("url", "message"),
    [("http://::1:8080", "an IPv6 address goes in brackets"), ("http://[::1", "cannot be parsed"),
     ("ftp://127.0.0.1", "http:// or https://"), ("127.0.0.1:8080", "http:// or https://"),
     ("http:///tasks", "names no host"), ("http://127.0.0.1:0", "port must be from 1 to 65535"),
     ("http://127.0.0.1:65536", "port must be from 1 to 65535"), ("http://127.0.0.1:-1", "port must be"),
     ("http://h:abc", "cannot be parsed"), ("http://a b", "no valid host"), ("http://h\x00", "cannot be parsed"),
     ("http://h/?x=1", "no query"), ("http://h/#top", "no fragment"), ("", "is empty"), ("   ", "is empty"),
     ("http://" + "a" * MAX_URL_LENGTH, f"at most {MAX_URL_LENGTH}"), ("http://" + "a" * 70_000, "characters long")],
)  # fmt: skip
def test_bad_base_urls_are_refused_in_one_line(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        check_base_url(url)
    assert "\n" not in str(caught.value) and len(str(caught.value)) < 300
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        base_url(url)


@pytest.mark.parametrize(
    "url",
    ["http://user:s3cret-pw@127.0.0.1:8080", "http://s3cret-pw@127.0.0.1", "https://:s3cret-pw@api.inference.sh",
     "http://user:s3cret-pw@[::1]:80", "http://user:s3cret-pw@h:notaport"],
)  # fmt: skip
def test_userinfo_is_refused_and_never_repeated(url: str) -> None:
    """``user:password@`` would become Basic auth replacing the bearer key: refused, the secret not shown."""
    with pytest.raises(ValueError) as caught:
        check_base_url(url)
    assert "s3cret-pw" not in str(caught.value)
    assert "user-info" in str(caught.value) or "cannot be parsed" in str(caught.value)


@pytest.mark.parametrize(("host", "loopback"), [("127.0.0.1", True), ("127.9.9.9", True), ("[::1]", True),
                                                ("localhost", True), ("LOCALHOST", True), ("10.0.0.1", False),
                                                ("localhost.example.com", False), ("0.0.0.0", False)])  # fmt: skip
def test_loopback_is_read_from_the_literal(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


@pytest.mark.parametrize(("text", "value"), [("127.0.0.1", "127.0.0.1"), ("::1", "::1"), ("[::1]", "::1"),
                                             ("host.docker.internal", "host.docker.internal")])  # fmt: skip
def test_bind_hosts(text: str, value: str) -> None:
    assert bind_host(text) == value


@pytest.mark.parametrize("text", ["", "a b", "http://127.0.0.1", "-bad", "x" * 300, "h\x00", "127.0.0.1:80"])
def test_bad_bind_hosts_are_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="an IP address or a host name"):
        bind_host(text)


@pytest.mark.parametrize("text", ["", "x" * 201, "tab\there", "new\nline"])
def test_bad_names_are_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="printable"):
        name_arg(text)


def test_input_files_must_be_readable_text_files(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text('{"é": 1}', encoding="utf-8")
    assert check_input_file(str(good)) == good and input_file("HAR file")(str(good)) == str(good)
    binary = tmp_path / "capture.har"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("caf\xe9: 1\n".encode("latin-1"))
    cases = {str(tmp_path): "is a directory", str(tmp_path / "none"): "does not exist", str(binary): "not text",
             str(latin): "not UTF-8", "/dev/null": "not a regular file", "a\x00b": "not a file name"}  # fmt: skip
    for text, message in cases.items():
        with pytest.raises(ValueError, match=message):
            check_input_file(text, "HAR file")
        with pytest.raises(argparse.ArgumentTypeError, match=message):
            input_file("HAR file")(text)
    assert check_input_file(str(binary), binary_ok=True) == binary


def test_out_dirs(tmp_path: Path) -> None:
    file = tmp_path / "file.txt"
    file.write_text("x", encoding="utf-8")
    assert out_dir(str(tmp_path / "new" / "deeper")) == str(tmp_path / "new" / "deeper")
    for text, message in {str(file): "is a file, not a folder", str(file / "below"): "is a file", "": "folder name",
                          "a\x00": "folder name"}.items():  # fmt: skip
        with pytest.raises(argparse.ArgumentTypeError, match=message):
            out_dir(text)


def _exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run the CLI in-process: what it printed on stderr, once it is known to have exited 2 (or argparse's exit 2)."""
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code  # type: ignore[assignment]
    captured = capsys.readouterr()
    assert code == 2, captured.out + captured.err
    return captured.err


# one case of each kind per sub-command: one line on stderr naming the option, exit 2, no traceback
@pytest.mark.parametrize(
    ("argv", "words"),
    [(["mock", "--port", "65536"], "--port"), (["mock", "--latency-ms", "nan"], "--latency-ms"),
     (["mock", "--max-wait", "inf"], "--max-wait"), (["mock", "--host", "not a host"], "--host"),
     (["mock", "--error-status", "200"], "--error-status"), (["mock", "--seed", "-1"], "--seed"),
     (["contract", "--base-url", "http://::1:8080"], "brackets"),
     (["contract", "--base-url", "http://u:pw@127.0.0.1:1"], "user-info"),
     (["contract", "--suite-deadline", "nan"], "--suite-deadline"),
     (["contract", "--webhook-port", "70000"], "--webhook-port"),
     (["contract", "--max-examples", "0"], "--max-examples"),
     (["contract", "--main-input", "[" * 100_000], "--main-input"),
     (["drift", "--timeout", "inf"], "--timeout"), (["drift", "--webhook-port", "-2"], "--webhook-port"),
     (["drift", "--base-url", "http://127.0.0.1:99999"], "65535"),
     (["drift", "--base-url", "http://" + "a" * 5000], "characters long"),
     (["drift", "--fallback-run-path", "apps run"], "--fallback-run-path"),
     (["load", "--rate", "nan"], "--rate"), (["load", "--master-port", "65536"], "--master-port"),
     (["load", "--host", "http://u:pw@127.0.0.1:1"], "user-info"), (["load", "--drain-s", "inf"], "--drain-s"),
     (["run", "--base-url", "ftp://x"], "--base-url"), (["run", "--base-url", "http://u:pw@[::1]:1"], "user-info"),
     (["history", "f.sqlite", "--limit", "0"], "--limit"), (["history", "."], "is a directory, not a history file"),
     (["history", "n" * 300], "File name too long"), (["load", "--history", "n" * 300], "File name too long"),
     (["contract", "--out", "/proc/no-such/out", "--rule", "unknown-task-404"], "cannot make the report folder"),
     (["run", "--out", "/proc/no-such/out", "--skip", "load"], "cannot make the report folder")],
)  # fmt: skip
def test_every_subcommand_refuses_bad_options_in_one_line(
    argv: list[str], words: str, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("INFSH_BASE_URL", raising=False)
    err = _exit_2(argv, capsys)
    assert err.count("\n") == 1 and words in err and "Traceback" not in err, err
    assert ":pw@" not in err and INTERNAL_ERROR not in err


@pytest.mark.parametrize("command", ["contract", "drift", "run"])
def test_a_bad_base_url_in_the_environment_is_refused_too(
    command: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INFSH_BASE_URL", "http://admin:hunter2@127.0.0.1:8080")
    err = _exit_2([command], capsys)
    assert "user-info" in err and "hunter2" not in err


def test_an_error_no_subcommand_foresaw_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import infsh_harness.cli.history as history

    def boom(args: argparse.Namespace) -> int:
        raise RuntimeError("unforeseen\nsecond line with inf_leaky_key_1234")

    monkeypatch.setattr(history, "main", boom)
    assert main(["history", "f.sqlite"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and INTERNAL_ERROR in err and "RuntimeError: unforeseen" in err
    assert "inf_leaky" not in err and "Traceback" not in err
