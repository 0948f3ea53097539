"""Test support for teams building on the Tasks API: the mock behind a respx router.

``infsh_mock()`` (a context manager) and the ``infsh_respx`` pytest fixture (from the installed
plugin) answer every request of an httpx client with the stateful mock, for both profiles, with no
server and no socket; see ``respx_mock``.
"""

from infsh_harness.mock.models import FakeClock
from infsh_harness.testing.respx_mock import DEFAULT_BASE_URL, InfshMock, infsh_mock

__all__ = ["DEFAULT_BASE_URL", "FakeClock", "InfshMock", "infsh_mock"]
