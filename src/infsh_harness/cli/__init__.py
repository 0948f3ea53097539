"""``infsh-harness`` — one console script, one sub-command per capability.

Each sub-command lives in its own module with ``add_parser(subparsers)`` and ``main(args) -> int``;
this file only wires them up, so importing the CLI never imports locust, schemathesis or uvicorn.
Usage errors print one line and exit 2.
"""

from __future__ import annotations

import argparse
import importlib
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
        self.exit(2, f"{self.prog}: error: {message}\n")


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


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130

