"""Child processes of a load run: the embedded mock and locust (alone, or master plus workers).

Locust patches the standard library with gevent when imported, so it never runs inside this
process: each locust node is a subprocess. Children get their own session, so a Ctrl-C at the
terminal reaches only this process, which then asks locust to stop the way locust expects
(SIGINT: stop, write CSV, HTML and JSON, exit). On Linux each child is also told to receive SIGTERM
if this process dies, so no node or mock outlives a killed run.
"""

from __future__ import annotations

import ctypes
import ipaddress
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

__all__ = [
    "LocustPlan",
    "LocustOutcome",
    "embedded_mock",
    "free_port",
    "is_loopback_url",
    "parent_death_signal",
    "parse_duration",
    "run_locust",
]

_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s?)?$")
_PR_SET_PDEATHSIG = 1


def parse_duration(text: str) -> float:
    """Seconds in ``90``, ``90s``, ``2m``, ``1h30m``, ``1m30s`` (``ValueError`` otherwise)."""
    match = _DURATION.match(text.strip().lower())
    if not text.strip() or match is None or not any(match.groups()):
        raise ValueError(f"expected a duration like 30s, 2m or 1h30m, not {text!r}")
    hours, minutes, seconds = match.groups()
    total = int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds or 0)
    if total <= 0:
        raise ValueError(f"the duration must be positive, not {text!r}")
    return total


def is_loopback_url(url: str) -> bool:
    """True when the URL's literal host is loopback (127.0.0.0/8, ::1, ``localhost``); no name is resolved."""
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def parent_death_signal() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child receive SIGTERM when this process dies (Linux only).

    ``prctl`` is looked up here, in the parent: between fork and exec the child may only call it."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)

    return preexec


def _spawn(
    argv: Sequence[str], env: Mapping[str, str], stdout: IO[str] | int, stderr: IO[str] | int = subprocess.STDOUT
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        list(argv),
        env=dict(env),
        stdout=stdout,
        stderr=stderr,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=parent_death_signal(),
        text=True,
    )


def _stop(proc: subprocess.Popen[str], grace_s: float) -> int:
    """SIGTERM, then SIGKILL after ``grace_s``; the exit code."""
    if proc.poll() is None:
        proc.terminate()
        try:
            return proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait()


@contextmanager
def embedded_mock(
    env: Mapping[str, str],
    extra_args: Sequence[str] = (),
    start_timeout_s: float = 30.0,
    log: IO[str] | int = subprocess.STDOUT,
) -> Iterator[str]:
    """``infsh-harness mock`` on a free loopback port, as a subprocess; yields its base URL.

    Its log (stderr) goes to ``log``: a file, or by default the pipe its ``listening on`` line comes by."""
    argv = [sys.executable, "-m", "infsh_harness.cli", "mock", "--host", "127.0.0.1", "--port", "0", *extra_args]
    proc = _spawn(argv, env, subprocess.PIPE, log)
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + start_timeout_s
        line = ""
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line or line.startswith("listening on "):
                break
        if not line.startswith("listening on "):
            raise RuntimeError("the embedded mock did not start")
        yield line.removeprefix("listening on ").strip()
    finally:
        _stop(proc, 10.0)
        if proc.stdout is not None:
            proc.stdout.close()


@dataclass(frozen=True)
class LocustPlan:
    """One locust run: the node command lines and where their output goes."""

    master: tuple[str, ...]  # the local runner, or the master when there are workers
    workers: tuple[tuple[str, ...], ...]
    logs: tuple[Path, ...]  # master first, then one per worker
    run_time_s: float
    start_allowance_s: float = 60.0  # start-up, waiting for workers, writing reports
    stop_signal: int = signal.SIGINT  # what makes the master stop early and still write its reports


@dataclass(frozen=True)
class LocustOutcome:
    exit_code: int | None
    interrupted: bool
    timed_out: bool
    seconds: float
    died: tuple[tuple[int, int], ...] = ()  # (worker number, exit code) of workers that ended before the master

    def crash(self) -> str | None:
        """Why the run cannot be trusted to be complete: a node that crashed or was killed; else ``None``."""
        if self.interrupted or self.timed_out:
            return None
        if self.exit_code is not None and self.exit_code != 0:
            return f"locust {_ended(self.exit_code)}"
        if self.died:
            number, code = self.died[0]
            return f"locust worker {number} {_ended(code)} before the run ended"
        return None


def _ended(code: int) -> str:
    return f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"


def run_locust(plan: LocustPlan, env: Mapping[str, str], on_start: Callable[[], None] | None = None) -> LocustOutcome:
    """Run the nodes to completion, within ``run_time_s`` plus the allowance whatever happens.

    A KeyboardInterrupt here stops the run the way locust's own Ctrl-C does, waits for its reports,
    and returns ``interrupted=True`` instead of raising.
    """
    started = time.monotonic()
    handles = [path.open("w", encoding="utf-8") for path in plan.logs]
    procs: list[subprocess.Popen[str]] = []
    interrupted = timed_out = False
    try:
        procs.append(_spawn(plan.master, env, handles[0]))
        for argv, log in zip(plan.workers, handles[1:], strict=True):
            procs.append(_spawn(argv, env, log))
        if on_start is not None:
            on_start()
        master = procs[0]
        deadline = started + plan.run_time_s + plan.start_allowance_s
        try:
            master.wait(max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            timed_out = True
            _interrupt(master, plan.stop_signal)
        except KeyboardInterrupt:
            interrupted = True
            _interrupt(master, plan.stop_signal)
        code = master.returncode
        died = tuple((n, w.returncode) for n, w in enumerate(procs[1:], 1) if w.poll() is not None and w.returncode)
        for worker in procs[1:]:  # the master tells its workers to quit; give them a moment
            try:
                worker.wait(10.0)
            except subprocess.TimeoutExpired:
                _stop(worker, 5.0)
        return LocustOutcome(code, interrupted, timed_out, time.monotonic() - started, died)
    finally:
        for proc in procs:
            if proc.poll() is None:
                _stop(proc, 5.0)
        for handle in handles:
            handle.close()


def _interrupt(proc: subprocess.Popen[str], stop_signal: int, grace_s: float = 30.0) -> None:
    """Ask locust to stop and write every report (as Ctrl-C does); harder if it does not end."""
    if proc.poll() is not None:
        return
    proc.send_signal(stop_signal)
    while True:
        try:
            proc.wait(grace_s)
            return
        except subprocess.TimeoutExpired:
            _stop(proc, 5.0)
            return
        except KeyboardInterrupt:  # a second Ctrl-C: stop waiting for the reports
            _stop(proc, 2.0)
            return


def locust_env(base: Mapping[str, str]) -> dict[str, str]:
    env = dict(base)
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("LOCUST_LOCUSTFILE", None)  # the plan names the locustfile; an inherited one must not win
    return env

