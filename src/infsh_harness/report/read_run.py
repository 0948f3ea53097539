"""The run as the index page reads it, from ``run.json`` (written by ``infsh-harness run``).

Expected keys::

    target: str                    error: str | null (why the run stopped before its steps)
    steps: [{name, part: "contract" | "load" | "drift", folder, exit_code, seconds, gating, log}]
    skipped: [part]                (steps left out with --skip)

Paths are relative to the run's folder.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infsh_harness.report.fields import Unreadable, integer, load_document, number, sequence, text
from infsh_harness.report.model import Verdict
from infsh_harness.report.redact import Redactor

__all__ = ["RUN_RECORD", "RunView", "StepView", "log_tail", "read_run"]

RUN_RECORD = "run.json"
TAIL_LINES = 20


@dataclass(frozen=True)
class StepView:
    name: str
    part: str
    folder: str
    exit_code: int | None  # None: not run
    seconds: float | None
    gating: bool
    log: str

    @property
    def verdict(self) -> Verdict:
        code = self.exit_code
        if code is None:
            return Verdict("not run", "none", "left out (--skip)")
        if code == 0:
            return Verdict("pass", "good")
        if not self.gating:
            return Verdict(f"exit {code} (informational)", "warn", "does not fail the run")
        if code == 1:
            return Verdict("fail", "bad")
        if code == 130:
            return Verdict("interrupted", "warn")
        return Verdict("could not run", "bad", f"exit {code}")


@dataclass(frozen=True)
class RunView:
    target: str
    steps: tuple[StepView, ...]
    error: str

    @property
    def verdict(self) -> Verdict:
        if self.error:
            return Verdict("could not run", "bad", self.error)
        gating = [s for s in self.steps if s.gating and s.exit_code is not None]
        failed = [s for s in gating if s.exit_code != 0]
        if not gating:
            return Verdict("not run", "none", "No step ran.")
        if failed:
            said = ", ".join(f"{s.name} {s.verdict.word}" for s in failed)
            return Verdict("fail", "bad", f"{len(failed)} of {len(gating)} steps did not pass: {said}.")
        extra = [s.name for s in self.steps if not s.gating]
        tail = f" ({', '.join(extra)}: informational)" if extra else ""
        return Verdict("pass", "good", f"Every step passed{tail}.")


def _step(raw: Mapping[str, Any]) -> StepView:
    name = text(raw, "name")
    return StepView(
        name=name,
        part=text(raw, "part", name),
        folder=text(raw, "folder", name),
        exit_code=integer(raw, "exit_code"),
        seconds=number(raw, "seconds"),
        gating=raw.get("gating") is not False,
        log=text(raw, "log"),
    )


def read_run(folder: Path, redactor: Redactor) -> RunView:
    try:
        document = load_document(folder / RUN_RECORD, redactor)
    except Unreadable as exc:
        return RunView("", (), f"The run left no readable record: {exc}.")
    steps = [_step(s) for s in sequence(document, "steps") if isinstance(s, Mapping)]
    steps += [StepView(str(p), str(p), str(p), None, None, True, "") for p in sequence(document, "skipped")]
    return RunView(text(document, "target"), tuple(steps), text(document, "error"))


def log_tail(path: Path, redactor: Redactor, lines: int = TAIL_LINES) -> tuple[str, ...]:
    """The last lines of a log (redacted); nothing when it cannot be read."""
    try:
        body = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ()
    kept: Sequence[str] = body.rstrip().splitlines()[-lines:]
    return tuple(redactor.text(line) for line in kept)
