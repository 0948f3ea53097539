"""What every part of the page shares: a verdict, a part that could not be read, the raw files.

A verdict is a word (``pass``, ``fail``, ``could not run``, ...), a tone the page colours it by and
one sentence saying why. A part that did not run, or ran without leaving a readable summary, is a
:class:`Missing` part: the page says so where the part would be, never leaves it out.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = ["Missing", "RawFile", "Tone", "Verdict", "could_not_run", "not_run", "raw_files"]

Tone = Literal["good", "bad", "warn", "none"]


@dataclass(frozen=True)
class Verdict:
    word: str  # pass | fail | invalid | could not run | not run | ...
    tone: Tone
    text: str = ""  # one sentence: why


@dataclass(frozen=True)
class Missing:
    """A part with nothing to show: it was not run, or left no readable summary."""

    part: str  # contract | load | drift
    verdict: Verdict
    log: str | None = None  # the step's log, relative to the page
    log_tail: tuple[str, ...] = ()  # its last lines (keys redacted)

    kind = "missing"


def not_run(part: str, why: str) -> Missing:
    return Missing(part, Verdict("not run", "none", why))


def could_not_run(part: str, why: str, log: str | None = None, log_tail: tuple[str, ...] = ()) -> Missing:
    return Missing(part, Verdict("could not run", "bad", why), log, log_tail)


@dataclass(frozen=True)
class RawFile:
    path: str  # relative to the page, with forward slashes
    size: int

    @property
    def folder(self) -> str:
        head, _, _ = self.path.rpartition("/")
        return head or "."


def raw_files(folder: Path, exclude: frozenset[str] = frozenset()) -> tuple[RawFile, ...]:
    """Every file under ``folder`` (but ``exclude``, relative paths), sorted by path."""
    found = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        relative = path.relative_to(folder).as_posix()
        if relative not in exclude:
            found.append(RawFile(relative, path.stat().st_size))
    return tuple(found)
