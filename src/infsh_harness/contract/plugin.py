"""The contract suite as a pytest plugin (entry point ``pytest11``), inert unless asked.

Installed with the package, it adds the ``--infsh-*`` options (the suite's own, under a prefix:
``--infsh-base-url``, ``--infsh-profile``, ``--infsh-mode``/``--infsh-strict``, ``--infsh-report-dir``,
``--infsh-rule``, ``--infsh-api-key-env`` …) and the ``infsh_respx`` fixture, and nothing else. A run
that passes ``--infsh-base-url URL`` or ``--infsh-contract`` (the embedded mock) also collects the
suite from the installed package (alone when no paths are given, else beside them). Each suite test
is marked ``infsh_contract`` and with the ids of its rules, so ``-k unknown-task-404`` or
``-m "status-order or terminal-final"`` selects rules; the suite's ``summary.md``, ``summary.json``
and ``junit.xml`` are written as by ``infsh-harness contract`` (the same suite, on its plain option names).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from infsh_harness.contract.options import add_options, dest, settings_from

if TYPE_CHECKING:
    from infsh_harness.testing import InfshMock

__all__ = ["ACTIVE", "PREFIX", "SUITE", "SUITE_MARK", "active", "infsh_respx", "option_prefix"]

SUITE = Path(__file__).resolve().parent / "suite"
PREFIX = "infsh-"
SUITE_MARK = "infsh_contract"  # every test of the suite: `-m "not infsh_contract"` leaves the team's own
ACTIVE = "infsh-harness-contract-active"  # registered with pytest's plugin manager while the suite is asked for


class _Active:
    """The mark, among pytest's plugins, that this run asked for the suite."""


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("infsh", "infsh-harness contract suite").addoption(
        "--infsh-contract",
        action="store_true",
        help="run the contract suite (against the embedded mock unless --infsh-base-url names a server)",
    )
    add_options(parser, prefix=PREFIX)


def active(config: pytest.Config) -> bool:
    """Whether this run asked for the suite: ``--infsh-contract`` or ``--infsh-base-url``."""
    return bool(config.getoption("infsh_contract", False) or config.getoption(dest("base-url", PREFIX), None))


def option_prefix(config: pytest.Config) -> str:
    """The spelling of the suite's options in this run: the plugin's when it asked for the suite."""
    return PREFIX if active(config) else ""


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    if not active(config):
        return
    settings_from(config, PREFIX)  # bad input is one line now, not an error while collecting the suite
    if not config.pluginmanager.has_plugin(ACTIVE):
        config.pluginmanager.register(_Active(), ACTIVE)
    suite = str(SUITE)
    if config.args_source is not pytest.Config.ArgsSource.ARGS:
        config.args[:] = [suite]  # no paths given: the suite alone, not the team's own tests
    elif suite not in config.args:
        config.args.append(suite)
    from infsh_harness.spec import load_spec

    config.addinivalue_line("markers", f"{SUITE_MARK}: a test of the infsh-harness contract suite")
    for rule_id in load_spec().rules:
        config.addinivalue_line("markers", f"{rule_id}: the contract suite's tests of rule {rule_id}")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each suite test as the suite's and with its rules' ids, before ``-k`` / ``-m`` deselect."""
    if not active(config):
        return
    from infsh_harness.contract.outcomes import rules_of

    for item in items:
        if item.path.is_relative_to(SUITE):
            item.add_marker(SUITE_MARK)
        for rule_id in rules_of(item):
            item.add_marker(rule_id)


@pytest.fixture
def infsh_respx(request: pytest.FixtureRequest) -> Iterator[InfshMock]:
    """The mock behind a respx router: a team's httpx client talks to it with no server and no
    socket (``infsh_harness.testing.infsh_mock``). The documented profile at ``https://api.inference.sh``
    unless parametrized indirectly with ``infsh_mock``'s arguments::

        @pytest.mark.parametrize("infsh_respx", [{"profile": "wire"}], indirect=True)
    """
    from infsh_harness.testing import infsh_mock

    options = getattr(request, "param", None) or {}
    with infsh_mock(**options) as handle:
        yield handle
