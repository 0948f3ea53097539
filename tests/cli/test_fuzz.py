"""Fuzzing the CLI's argument parsing: arbitrary argument lists for each sub-command, run in-process
through ``main(argv)``, never end in a traceback and exit 0, 1 or 2.

Only parsing and validation run: the first thing each sub-command does once its input is accepted
(start the suite, probe or serve, run locust, plot, make its report folder) is replaced by raising
:class:`_Accepted`, so no example starts a server, sends a request or writes a file.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infsh_harness.cli import COMMANDS, INTERNAL_ERROR, build_parser, main
from tests.cli.test_history import _history

EXAMPLES = 100  # per sub-command: the six run in seconds


class _Accepted(BaseException):  # noqa: N818 - not an error: the input was accepted and would run
    """Raised where a sub-command would start doing its work; no ``except Exception`` catches it."""


def _accept(*args: Any, **kwargs: Any) -> Any:
    raise _Accepted


def _options(command: str) -> list[str]:
    """Every option string of ``command``, read from the parser itself (a new option is fuzzed too)."""
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sorted(s for a in sub.choices[command]._actions for s in a.option_strings if s not in ("-h", "--help"))


@contextlib.contextmanager
def _nothing_runs(command: str) -> Iterator[None]:
    """Patch the point where ``command`` would start its work (see the module's docstring)."""
    import infsh_harness.cli.contract as contract
    import infsh_harness.cli.drift as drift
    import infsh_harness.cli.run as run
    import infsh_harness.load.plots as plots
    import infsh_harness.load.run as load_run
    import infsh_harness.mock.server as mock_server

    original_usage_error = run._usage_error

    def run_stops_once_accepted(args: argparse.Namespace) -> str | None:
        problem = original_usage_error(args)
        if problem is None:
            raise _Accepted
        return problem

    patches = {
        "mock": [mock.patch.object(mock_server, "bind_socket", _accept)],
        "contract": [mock.patch.object(contract, "build_pytest_args", _accept)],
        "drift": [mock.patch.object(drift, "_observe", _accept), mock.patch.object(drift, "write_baseline", _accept)],
        "load": [mock.patch.object(load_run, "run_load", _accept)],
        "history": [mock.patch.object(plots, "plot_history", _accept)],
        "run": [mock.patch.object(run, "_usage_error", run_stops_once_accepted)],
    }[command]
    with contextlib.ExitStack() as stack:
        for patch in patches:
            stack.enter_context(patch)
        yield


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Paths of each kind a fuzzed option may name: text, binary, a folder, missing, a load history."""
    root = tmp_path_factory.mktemp("fuzz")
    (root / "text.yaml").write_text("run_wait:\n  time_to_terminal: {p50: 100}\n", encoding="utf-8")
    (root / "bad.json").write_text('{"log": {"entries": [1, {"request": []}]}}', encoding="utf-8")
    (root / "binary.har").write_bytes(bytes(range(256)) * 4)
    (root / "empty").write_bytes(b"")
    (root / "folder").mkdir()
    _history(root / "history.sqlite")
    names = ("text.yaml", "bad.json", "binary.har", "empty", "folder", "none", "history.sqlite")
    return {name: str(root / name) for name in names}


_NUMBERS = ["0", "-1", "1", "0.5", "nan", "NaN", "inf", "-inf", "1e400", "65535", "65536", "99999999999999999999",
            "1_000", "0x10", " 3 ", "", "1s", "2m", "30s", "10%", "25%", "-0"]  # fmt: skip
_URLS = ["http://127.0.0.1:1", "http://[::1]:1", "http://::1:8080", "http://[::1", "http://u:pw@127.0.0.1:1",
         "https://api.example.com", "ftp://x", "http://", "http:///x", "http://h:0", "http://h:-1", "127.0.0.1:80",
         "http://a b", "http://h/?q=1", "http://" + "a" * 3000, "http://h\x00", "//h",
         "http://localhost./"]  # fmt: skip
_WORDS = ["documented", "wire", "quick", "full", "strict", "default", "fast", "realistic", "last", "1", "p50",
          "run_wait", "run_poll,webhook", "md,json", "html", "pdf", "info", "breaking", "auto", "yes", "no",
          "unknown-task-404", "{}", "[1]", '{"x": 1}', "[" * 2000, "{oops", "0.0.0.0", "::1", "localhost",
          "time_to_terminal", "--", "-", "--no-such-option", "n" * 300, "d/" * 3000]  # fmt: skip


def _value(files: dict[str, str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(_NUMBERS), st.sampled_from(_URLS), st.sampled_from(_WORDS),
        st.sampled_from(sorted(files.values())), st.text(max_size=40),
        st.text(alphabet=st.characters(codec="utf-8"), max_size=300),
    )  # fmt: skip


def _argv(command: str, files: dict[str, str]) -> st.SearchStrategy[list[str]]:
    options = _options(command)
    pair = st.tuples(st.sampled_from(options), _value(files)).map(list)
    lone = st.sampled_from(options).map(lambda o: [o])
    stray = _value(files).map(lambda v: [v])  # a positional argument (history's FILE) or a stray one
    parts = st.lists(st.one_of(pair, lone), max_size=6)
    return st.tuples(parts, st.lists(stray, max_size=1)).map(
        lambda p: [command, *(token for part in p[0] for token in part), *(token for s in p[1] for token in s)]
    )


def _run(argv: list[str]) -> tuple[int | str, str]:
    """``main(argv)``: its exit code ("accepted" when it would have run) and what it printed on stderr."""
    stderr, stdout = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(stdout):
        try:
            code: int | str = main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
        except _Accepted:
            code = "accepted"
    return code, stderr.getvalue()


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_no_argument_list_gives_a_traceback(
    command: str, files: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # a relative path an example names is read here, never written
    for name in [n for n in os.environ if n.startswith("INFSH_")]:
        monkeypatch.delenv(name)

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])  # fmt: skip
    @given(argv=_argv(command, files))
    def check(argv: list[str]) -> None:
        with _nothing_runs(command):
            code, err = _run(argv)
        assert code in (0, 1, 2, "accepted"), (argv, code, err)
        assert "Traceback" not in err and INTERNAL_ERROR not in err, (argv, err)
        if code == 2:  # could not run: one line
            assert len(err.strip().splitlines()) == 1, (argv, err)

    check()
    assert list(tmp_path.iterdir()) == []  # nothing was written


def test_the_fuzzer_reaches_accepted_input(
    files: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The patches stop a valid command line before it runs (so the fuzz test's "accepted" is real)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("INFSH_BASE_URL", raising=False)
    accepted = {"mock": ["--port", "0"], "contract": ["--profile", "quick"], "drift": ["--har", files["bad.json"]],
                "load": ["-t", "2s"], "run": ["--skip", "load"],
                "history": [files["history.sqlite"], "--plot", "time_to_terminal"]}  # fmt: skip
    for command, argv in accepted.items():
        with _nothing_runs(command):
            assert _run([command, *argv]) == ("accepted", ""), command
