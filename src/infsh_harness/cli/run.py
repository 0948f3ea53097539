"""``infsh-harness run``: the main job — mock, contract suite, a short load run and the drift report.

Starts the embedded mock (unless ``--base-url`` names a server), runs each step as its own
``infsh-harness`` sub-command against it, and writes ``OUT/index.md`` linking every report, and
``OUT/index.html``, one page of the whole run (from ``OUT/run.json`` and the steps' summaries).

Each step's verdict follows from its exit code, the same in ``index.md``, ``run.json`` and the page
(``report.read_run.step_verdict``): 0 pass, 1 fail, 2 could not run, 3 not valid (the load step:
its generator was the limit), 130 interrupted. The run exits 0 when every gating step passed, 1
when one failed or was not valid, 2 when one could not run (or the run stopped before its steps).
The drift report of the ``wire`` profile (what production speaks today) is informational: it shows
the gap the drift report exists to find, and does not change the exit code.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from infsh_harness import defaults, report
from infsh_harness.cli import step_summary
from infsh_harness.cli.args import base_url, fail, out_dir
from infsh_harness.load.processes import embedded_mock, is_loopback_url, parent_death_signal, parse_duration
from infsh_harness.report.fields import STALE_SLACK_S
from infsh_harness.report.read_run import COULD_NOT_RUN, FAILED, step_verdict
from infsh_harness.rules.verdicts import EXIT_INTERRUPTED

STOP_WAIT_S = 30.0  # how long an interrupted step may take to write its report (contract's suite takes up to 15 s)

__all__ = ["add_parser", "main"]


@dataclass(frozen=True)
class Step:
    name: str
    argv: tuple[str, ...]
    report: str
    gating: bool = True
    part: str = ""  # contract | load | drift (default: the name)


@dataclass(frozen=True)
class Outcome:
    step: Step
    exit_code: int
    seconds: float
    started_at: float | None = None  # epoch seconds

    @property
    def verdict(self) -> str:
        """pass | fail | could not run | not valid | interrupted | exit N (informational)."""
        return step_verdict(self.step.part or self.step.name, self.exit_code, self.step.gating).word

    def wrote(self, out: Path) -> bool:
        """Whether the step wrote its report in this run (not an earlier run's left in ``out``)."""
        path = out / self.step.report
        try:
            written = path.stat().st_mtime
        except OSError:
            return False
        return self.started_at is None or written >= self.started_at - STALE_SLACK_S


def exit_code(outcomes: Sequence[Outcome]) -> int:
    """0 every gating step passed; 1 one failed or was not valid; 2 one could not run (or was interrupted)."""
    words = {o.verdict for o in outcomes if o.step.gating}
    if words & COULD_NOT_RUN:
        return 2
    return 1 if words & FAILED else 0


def add_parser(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "run", help="mock + contract suite + short load run + drift report", description=__doc__
    )
    p.add_argument(
        "--base-url",
        type=base_url,
        default=os.environ.get("INFSH_BASE_URL") or None,
        help="server to test (default: $INFSH_BASE_URL, else the embedded mock)",
    )
    p.add_argument("--out", type=out_dir, default="reports", help="report folder (default reports/)")
    p.add_argument("--load-time", default="10s", help="duration of the load run (default 10s)")
    p.add_argument("--skip", action="append", default=[], choices=["contract", "load", "drift"])
    p.add_argument("--allow-remote", action="store_true", help="let the load step target a non-loopback host")
    p.set_defaults(func=main)


def _harness(*args: str) -> tuple[str, ...]:
    return (sys.executable, "-m", "infsh_harness.cli", *args)


@contextmanager
def _mock(profile: str, log_dir: Path) -> Iterator[str]:
    """An ``infsh-harness mock`` subprocess on a free loopback port; yields its URL.

    Its own log (refused webhooks, malformed requests from the fuzzer) goes to ``LOG_DIR/mock-PROFILE.log``.
    It accepts the keys the steps send (``INFSH_API_KEY``, ``INFSH_API_KEY_2``) beside its own."""
    with (
        (log_dir / f"mock-{profile}.log").open("w", encoding="utf-8") as log,
        embedded_mock(mock_environ(os.environ), ("--profile", profile), log=log) as url,
    ):
        yield url


def mock_environ(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` with ``INFSH_MOCK_KEYS`` extended by the keys the steps will send (the read-only
    one, ``INFSH_API_KEY_READ``, with the ``apps:read`` scope only)."""
    keys = list(defaults.mock_keys(environ))
    keys += [environ[name] for name in ("INFSH_API_KEY", "INFSH_API_KEY_2") if environ.get(name)]
    if environ.get(defaults.API_KEY_READ_ENV):
        keys.append(f"{environ[defaults.API_KEY_READ_ENV]}=apps:read")
    return {**environ, "INFSH_MOCK_KEYS": ",".join(dict.fromkeys(keys))}


def plan(
    base_url: str, out: Path, load_time: str, skip: Sequence[str], allow_remote: bool = False
) -> list[Callable[[], Step]]:
    """The steps in order; each is built just before it runs (drift reads the contract run's HAR)."""

    def contract() -> Step:
        argv = _harness("contract", "--base-url", base_url, "--out", str(out / "contract"))
        return Step("contract", argv, "contract/summary.md")

    def load() -> Step:
        argv = _harness("load", "--host", base_url, "-t", load_time, "--out", str(out / "load"))
        if allow_remote:
            argv += ("--allow-remote",)
        return Step("load", argv, "load/summary.md")

    def drift() -> Step:
        hars = [a for har in sorted((out / "contract").glob("**/*.har")) for a in ("--har", str(har))]
        argv = _harness(
            "drift", "--base-url", base_url, "--format", "md,json,junit,html", "--out", str(out / "drift"), *hars
        )
        return Step("drift", argv, "drift/drift.md")

    steps = {"contract": contract, "load": load, "drift": drift}
    return [make for name, make in steps.items() if name not in skip]


def shown(text: str) -> str:
    """``text`` with the credentials of any URL in it (``user:password@``) masked."""
    return re.sub(r"(?<=://)[^/@\s]+@", "***@", text)


class Interrupted(Exception):
    """Ctrl-C (or SIGTERM) during a step: it was told to stop and write what it has; the run ends."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.step.name)
        self.outcome = outcome


def _wait(proc: subprocess.Popen[bytes], seconds: float) -> int | None:
    """``proc``'s exit code once it ends within ``seconds`` (a second Ctrl-C does not cut the wait short)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            return proc.wait(timeout=0.2)
        except (subprocess.TimeoutExpired, KeyboardInterrupt):
            continue
    return proc.poll()


def _run(step: Step, log_dir: Path) -> Outcome:
    """Run ``step`` as its own process. On Ctrl-C it gets exactly one SIGINT and :data:`STOP_WAIT_S` to
    write its report (verdict ``interrupted``), then it is killed; :class:`Interrupted` is raised."""
    print(f"== {step.name}: {shown(' '.join(step.argv[3:]))}", flush=True)
    started, started_at = time.monotonic(), time.time()
    log_path = log_dir / f"{step.name}.log"
    with log_path.open("w", encoding="utf-8") as log:
        # its own session: a terminal's Ctrl-C reaches this process only, which passes one on; if
        # this process dies, the step gets SIGTERM (and writes its report as on a Ctrl-C)
        proc = subprocess.Popen(
            step.argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            preexec_fn=parent_death_signal(),
        )  # fmt: skip
        try:
            code = proc.wait()
        except KeyboardInterrupt:
            proc.send_signal(signal.SIGINT)
            stopped = _wait(proc, STOP_WAIT_S)
            if stopped is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            outcome = Outcome(step, EXIT_INTERRUPTED, time.monotonic() - started, started_at)
            print(f"   interrupted after {outcome.seconds:.1f} s (log: {log_path})", flush=True)
            raise Interrupted(outcome) from None
    outcome = Outcome(step, code, time.monotonic() - started, started_at)
    print(f"   {outcome.verdict} in {outcome.seconds:.1f} s (log: {log_path})", flush=True)
    return outcome


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def write_index(out: Path, target: str, outcomes: Sequence[Outcome]) -> Path:
    lines = [
        "# infsh-harness run",
        "",
        f"Target: `{shown(target)}`",
        "",
        "| step | verdict | time | report | log |",
        "|---|---|---|---|---|",
    ]
    for o in outcomes:
        report = f"[{o.step.report}]({o.step.report})" if o.wrote(out) else "(none written)"
        log = f"logs/{o.step.name}.log"
        lines.append(f"| {o.step.name} | {o.verdict} | {o.seconds:.1f} s | {report} | [{log}]({log}) |")
    path = out / "index.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def write_record(
    out: Path, target: str, outcomes: Sequence[Outcome], skipped: Sequence[str], error: str | None = None
) -> Path:
    """``OUT/run.json``: what ran, how each step ended and where its files are (the HTML index reads it)."""
    steps = [
        {
            "name": o.step.name,
            "part": o.step.part or o.step.name,
            "folder": Path(o.step.report).parent.as_posix(),
            "exit_code": o.exit_code,
            "verdict": o.verdict,
            "seconds": round(o.seconds, 3),
            "started_at": _iso(o.started_at),
            "gating": o.step.gating,
            "log": f"logs/{o.step.name}.log",
        }
        for o in outcomes
    ]
    record = {"target": shown(target), "steps": steps, "skipped": list(dict.fromkeys(skipped)), "error": error}
    path = out / "run.json"
    path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return path


def _usage_error(args: argparse.Namespace) -> str | None:
    """What is wrong with the command line, found before any step runs (None: nothing)."""
    if "load" not in args.skip:
        try:
            parse_duration(args.load_time)
        except ValueError as exc:
            return f"--load-time: {exc}"
        if args.base_url and not is_loopback_url(args.base_url) and not args.allow_remote:
            return "--base-url is not a loopback host: pass --allow-remote to load it too, or --skip load"
    return None


@step_summary.appends(lambda args: Path(args.out) / "index.md")
def main(args: argparse.Namespace) -> int:
    problem = _usage_error(args)
    if problem is not None:
        return fail("infsh-harness run", problem)
    out = Path(args.out)
    log_dir = out / "logs"
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return fail("infsh-harness run", f"cannot make the report folder {out}: {exc.strerror or exc}")
    outcomes: list[Outcome] = []
    target = args.base_url or ""
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)  # a cancelled CI job: as a Ctrl-C
    try:
        if args.base_url:
            target = args.base_url
            for make in plan(target, out, args.load_time, args.skip, args.allow_remote):
                outcomes.append(_run(make(), log_dir))
        else:
            # the embedded mock is ours: a read-only key of its own lets the contract step check session-scopes
            os.environ.setdefault(defaults.API_KEY_READ_ENV, f"inf_run_read_{secrets.token_hex(8)}")
            with _mock("documented", log_dir) as target:
                print(f"embedded mock (documented profile) at {target}", flush=True)
                for make in plan(target, out, args.load_time, args.skip):
                    outcomes.append(_run(make(), log_dir))
            if "drift" not in args.skip:
                with _mock("wire", log_dir) as wire_url:
                    wire_step = Step(
                        "drift-wire",
                        _harness(
                            "drift",
                            "--base-url",
                            wire_url,
                            "--format",
                            "md,json,html",
                            "--out",
                            str(out / "drift-wire"),
                        ),
                        "drift-wire/drift.md",
                        gating=False,
                        part="drift",
                    )
                    outcomes.append(_run(wire_step, log_dir))
    except (Interrupted, KeyboardInterrupt) as exc:
        if isinstance(exc, Interrupted):
            outcomes.append(exc.outcome)
        print("infsh-harness run: interrupted; the index has the steps run so far", file=sys.stderr, flush=True)
        write_index(out, target, outcomes)
        write_record(out, target, outcomes, args.skip, error="interrupted")
        report.write_index(out, secrets=report.keys_in(os.environ))
        return EXIT_INTERRUPTED
    except RuntimeError as exc:
        fail("infsh-harness run", exc)
        write_record(out, target, outcomes, args.skip, error=str(exc))
        report.write_index(out, secrets=report.keys_in(os.environ))
        return 2
    finally:
        signal.signal(signal.SIGTERM, previous)
    index = write_index(out, target, outcomes)
    write_record(out, target, outcomes, args.skip)
    page = report.write_index(out, secrets=report.keys_in(os.environ))
    print(f"report: {index}\nreport: {page}")
    return exit_code(outcomes)
