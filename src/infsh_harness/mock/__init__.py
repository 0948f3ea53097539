"""The stateful mock of the Tasks API: a pure model (``models``) served through a profile (``profiles/``)."""

from infsh_harness.mock.app import MockApp, create_app
from infsh_harness.mock.config import NO_FAULTS, Faults, MockConfig, ServerLimits
from infsh_harness.mock.models import MockBackend

__all__ = ["NO_FAULTS", "Faults", "MockApp", "MockBackend", "MockConfig", "ServerLimits", "create_app"]
