"""Every default the harness has, written once: keys, apps, hosts, ports, timeouts, environment names.

The CLI, the mock, the contract suite and the load scenarios read them from here. Only the edges
(the CLI, the suite's pytest plugin, the locustfiles) read the environment, and they do it through
:func:`api_keys` and :func:`mock_keys`, given the environment explicitly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "API_KEY",
    "API_KEY_2",
    "API_KEY_2_ENV",
    "API_KEY_ENV",
    "APPS",
    "BASE_URL_ENV",
    "HOST",
    "MOCK_KEYS",
    "MOCK_KEYS_ENV",
    "MOCK_PORT",
    "AppRole",
    "CONTRACT_API_VERSION",
    "TIMEOUTS",
    "Timeouts",
    "api_keys",
    "mock_keys",
    "parse_keys",
]

# --- environment names (read only at the edges) ---------------------------------------------------
BASE_URL_ENV = "INFSH_BASE_URL"
API_KEY_ENV = "INFSH_API_KEY"
API_KEY_2_ENV = "INFSH_API_KEY_2"
API_KEY_READ_ENV = "INFSH_API_KEY_READ"  # a key with the apps:read scope only (the contract suite's)
MOCK_KEYS_ENV = "INFSH_MOCK_KEYS"

# --- keys ------------------------------------------------------------------------------------------
API_KEY = "inf_test_key"
API_KEY_2 = "inf_test_key_2"
MOCK_KEYS: tuple[str, ...] = (API_KEY, API_KEY_2)

# --- what the contract suite's own requests ask for --------------------------------------------------
# X-API-Version: 2, as the official clients send it: the Tasks page's examples (the bodies its rules
# read) are version 2's bare objects. schemathesis sends the header or not, as the spec allows.
CONTRACT_API_VERSION = "2"

# --- where things listen ---------------------------------------------------------------------------
HOST = "127.0.0.1"
MOCK_PORT = 8080


@dataclass(frozen=True)
class AppRole:
    """An app the harness drives for one purpose, and the input it sends it (the mock's by default)."""

    name: str
    input: Mapping[str, Any] = field(default_factory=dict)


# role -> app: one that completes quickly, one that runs long enough to cancel, one that fails
APPS: Mapping[str, AppRole] = {
    "complete": AppRole("infsh/echo", {"prompt": "infsh-harness"}),
    "long": AppRole("infsh/sleep", {"seconds": 30}),
    "fail": AppRole("infsh/fail", {"message": "infsh-harness failure"}),
}


@dataclass(frozen=True)
class Timeouts:
    """How long the harness waits, in seconds."""

    request_s: float = 30.0  # one HTTP request
    task_s: float = 60.0  # a task to end
    no_wait_s: float = 5.0  # a ``wait=false`` run to answer
    webhook_s: float = 10.0  # a webhook after its task ended
    webhook_grace_s: float = 1.0  # a duplicate webhook after the first


TIMEOUTS = Timeouts()


def parse_keys(text: str) -> tuple[str, ...]:
    """``"a, b,,c"`` -> ``("a", "b", "c")``, each once, in order."""
    return tuple(dict.fromkeys(k.strip() for k in text.split(",") if k.strip()))


def mock_keys(environ: Mapping[str, str]) -> tuple[str, ...]:
    """The keys a mock accepts: ``INFSH_MOCK_KEYS`` when set and not empty, else :data:`MOCK_KEYS`.

    A value naming no key (``" , "``) gives ``()``, which the mock refuses: it is a mistake, not a default."""
    raw = environ.get(MOCK_KEYS_ENV)
    return parse_keys(raw) if raw else MOCK_KEYS


def api_keys(environ: Mapping[str, str]) -> tuple[str, str | None]:
    """``(key, second key)`` a client sends: ``INFSH_API_KEY`` (default :data:`API_KEY`) and
    ``INFSH_API_KEY_2``; with neither set, the target is taken for a mock and gets both defaults."""
    key = environ.get(API_KEY_ENV) or None
    key_2 = environ.get(API_KEY_2_ENV) or None
    if key is None:
        return API_KEY, key_2 or API_KEY_2
    return key, key_2


def key_values(environ: Mapping[str, str]) -> tuple[str, ...]:
    """Every key value ``environ`` gives the harness, to redact: the clients' (the read-only one too)
    and the mock's, without the ``=scope+scope`` an ``INFSH_MOCK_KEYS`` entry may carry."""
    keys = (*api_keys(environ), environ.get(API_KEY_READ_ENV), *(k.split("=", 1)[0] for k in mock_keys(environ)))
    return tuple(dict.fromkeys(k.strip() for k in keys if k and k.strip()))
