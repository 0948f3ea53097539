"""The stateful mock of the Tasks API: a pure model (``models``) rendered over HTTP (``app``)."""

from infsh_harness.mock.config import Faults, MockConfig
from infsh_harness.mock.models import MockBackend

__all__ = ["Faults", "MockBackend", "MockConfig"]
