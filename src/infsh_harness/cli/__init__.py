"""``infsh-harness`` — one console script, one sub-command per capability.

Each sub-command lives in its own module with ``add_parser(subparsers)`` and ``main(args) -> int``;
this file only wires them up, so importing the CLI never imports locust, schemathesis or uvicorn.
Usage errors print one line and exit 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from infsh_harness._version import __version__

__all__ = ["main"]

# sub-command name -> module that implements it
COMMANDS: dict[str, str] = {
    "mock": "infsh_harness.cli.mock",
    "contract": "infsh_harness.cli.contract",
    "load": "infsh_harness.cli.load",
    "history": "infsh_harness.cli.history",
    "drift": "infsh_harness.cli.drift",
    "run": "infsh_harness.cli.run",
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # one line, whatever the arguments it quotes hold (a newline, a URL of thousands of characters)
        line = " ".join(message.split())
        self.exit(2, f"{self.prog}: error: {line if len(line) <= 500 else line[:500] + '...'}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="infsh-harness",
        description="Contract tests, a stateful mock, load runs and a drift report for the inference.sh Tasks API.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for module_name in COMMANDS.values():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if not exc.name or not module_name.startswith(exc.name):
                raise
            continue  # capability not built yet: it is simply not offered
        module.add_parser(sub)
    return parser


INTERNAL_ERROR = "internal error"  # the words of the last-resort line, which a test never expects


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run its sub-command: its exit code; 2 with one line on a usage error; 130 on Ctrl-C.

    Nothing ends in a traceback: an error no sub-command foresaw is one line on stderr (its type and
    message, keys scrubbed) and exit 2, the run could not be made."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        return int(args.func(args))
    except KeyboardInterrupt:
        print("infsh-harness: interrupted", file=sys.stderr, flush=True)
        return 130
    except Exception as exc:  # noqa: BLE001 - the last resort: one line, never a traceback
        from infsh_harness.cli.args import one_line, scrubbed

        message = one_line(scrubbed(str(exc).splitlines()[0] if str(exc) else ""), 300)
        print(f"infsh-harness: error: {INTERNAL_ERROR}: {type(exc).__name__}: {message}", file=sys.stderr)
        return 2
