"""The defaults every part reads, and the key values the reports are scrubbed of."""

from __future__ import annotations

from infsh_harness import defaults
from infsh_harness.report import keys_in


def test_key_values_strip_the_scopes_of_a_mock_key_and_keep_the_read_only_key() -> None:
    environ = {
        "INFSH_API_KEY": "team-key-1",
        "INFSH_API_KEY_READ": "team-read-key",
        "INFSH_MOCK_KEYS": "team-key-1, reader=apps:read, other=apps:read+apps:execute",
    }
    assert defaults.key_values(environ) == ("team-key-1", "team-read-key", "reader", "other")
    assert keys_in(environ) == defaults.key_values(environ)


def test_key_values_without_an_environment_are_the_defaults() -> None:
    assert set(defaults.key_values({})) == {defaults.API_KEY, *defaults.MOCK_KEYS}
