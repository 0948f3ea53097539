"""GitHub Actions' job summary: when ``GITHUB_STEP_SUMMARY`` names a file, a sub-command appends the
Markdown summary it wrote this time to it (``run``: its ``index.md``; the parts it runs append their
own, since they inherit the variable).

    @step_summary.appends(lambda args: Path(args.out) / "summary.md")
    def main(args: argparse.Namespace) -> int: ...

A summary left by an earlier run (older than this call) is not appended; a file that cannot be
written is one warning line on stderr, never a failure of the command.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

__all__ = ["ENV", "append", "appends"]

ENV = "GITHUB_STEP_SUMMARY"
_SLACK_S = 1.0  # file systems keep coarse modification times

Main = Callable[[argparse.Namespace], int]


def append(summary: Path, *, since: float | None = None, environ: Mapping[str, str] = os.environ) -> bool:
    """Append ``summary`` to the file ``GITHUB_STEP_SUMMARY`` names; ``True`` when it did. Nothing
    when the variable is unset or empty, when ``summary`` does not exist, or was written before ``since``."""
    target = environ.get(ENV)
    if not target or not summary.is_file():
        return False
    if since is not None and summary.stat().st_mtime < since - _SLACK_S:
        return False
    try:
        text = summary.read_text(encoding="utf-8")
        with open(target, "a", encoding="utf-8") as out:
            out.write(text if text.endswith("\n") else text + "\n")
            out.write("\n")
    except OSError as exc:
        print(f"infsh-harness: warning: cannot append to {ENV} ({target}): {exc.strerror or exc}", file=sys.stderr)
        return False
    return True


def appends(summary_of: Callable[[argparse.Namespace], Path]) -> Callable[[Main], Main]:
    """Decorate a sub-command's ``main``: once it returns, append the summary it wrote."""

    def decorate(main: Main) -> Main:
        @functools.wraps(main)
        def wrapped(args: argparse.Namespace) -> int:
            started = time.time()
            try:
                return main(args)
            finally:
                append(summary_of(args), since=started)

        return wrapped

    return decorate
