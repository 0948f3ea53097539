"""The run as the index page reads it, from ``run.json`` (written by ``infsh-harness run``).

Expected keys::

    target: str                    error: str | null (why the run stopped before its steps)
    steps: [{name, part: "contract" | "load" | "drift", folder, exit_code, verdict, seconds,
             started_at (ISO 8601, UTC), gating, log}]
    skipped: [part]                (steps left out with --skip)

Paths are relative to the run's folder. A step's verdict follows from its exit code, the same way
for ``index.md``, ``run.json`` and the page (:func:`step_verdict`): 0 pass, 1 fail, 2 could not
run, 3 not valid (load: the load generator was the limit), 130 interrupted; any other code could
not run. A step that does not gate the run (the drift report of the ``wire`` profile) is
informational whatever its code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from infsh_harness.report.fields import Unreadable, integer, load_document, number, sequence, text
from infsh_harness.report.model import Verdict
from infsh_harness.report.redact import Redactor

__all__ = ["COULD_NOT_RUN", "FAILED", "RUN_RECORD", "RunView", "StepView", "log_tail", "read_run", "step_verdict"]

RUN_RECORD = "run.json"
TAIL_LINES = 20
FAILED = frozenset({"fail", "not valid"})  # a gating step with one of these fails the run (exit 1)
COULD_NOT_RUN = frozenset({"could not run", "interrupted"})  # ... and with one of these, exit 2


def step_verdict(part: str, exit_code: int | None, gating: bool = True) -> Verdict:
    """A step's verdict from its command's exit code (``None``: left out with --skip)."""
    code = exit_code
    if code is None:
        return Verdict("not run", "none", "left out (--skip)")
    if code == 0:
        return Verdict("pass", "good")
    if not gating:
        return Verdict(f"exit {code} (informational)", "warn", "does not fail the run")
    if code == 1:
        return Verdict("fail", "bad")
    if code == 3 and part == "load":
        return Verdict("not valid", "warn", "the load generator, not the server, limited what was measured")
    if code == 130:
        return Verdict("interrupted", "warn")
    return Verdict("could not run", "bad", f"exit {code}")


@dataclass(frozen=True)
class StepView:
    name: str
    part: str
    folder: str
    exit_code: int | None  # None: not run
    seconds: float | None
    gating: bool
    log: str
    started_at: float | None = None  # epoch seconds; a summary older than this is an earlier run's

    @property
    def verdict(self) -> Verdict:
        return step_verdict(self.part, self.exit_code, self.gating)


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
        if not gating:
            return Verdict("not run", "none", "No step ran.")
        failed = [s for s in gating if s.verdict.word != "pass"]
        if failed:
            said = ", ".join(f"{s.name} {s.verdict.word}" for s in failed)
            word = "could not run" if any(s.verdict.word in COULD_NOT_RUN for s in failed) else "fail"
            return Verdict(word, "bad", f"{len(failed)} of {len(gating)} steps did not pass: {said}.")
        extra = [s.name for s in self.steps if not s.gating]
        tail = f" ({', '.join(extra)}: informational)" if extra else ""
        return Verdict("pass", "good", f"Every step passed{tail}.")


def _instant(raw: Mapping[str, Any], key: str) -> float | None:
    try:
        return datetime.fromisoformat(text(raw, key)).timestamp() if text(raw, key) else None
    except ValueError:
        return None


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
        started_at=_instant(raw, "started_at"),
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
